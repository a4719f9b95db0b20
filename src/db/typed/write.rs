//! Typed writes: insert, update and every kind of delete, built into storage mutations.

use super::keys::{bound, clustering, partition_key, split_named};
use super::{Delete, WriteOptions};
use crate::catalog::TableSchema;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::storage::clock::{now_micros, now_secs};
use crate::storage::model::{Cell, DeletionTime, Mutation, RangeTombstone, Row};
use crate::storage::types::Value;
use bytes::Bytes;

impl Db {
    /// Inserts a row: every partition key and clustering column, plus the regular columns
    /// to set. Writes the row's liveness marker, so the row exists even if every regular
    /// column is null; omitted columns are left alone.
    pub fn insert(&self, keyspace: &str, table: &str, values: &[(&str, Value)]) -> Result<()> {
        self.insert_with(keyspace, table, values, WriteOptions::default())
    }

    pub fn insert_with(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Value)],
        opts: WriteOptions,
    ) -> Result<()> {
        self.apply(vec![self.insert_mutation(keyspace, table, values, opts)?])
    }

    pub async fn insert_async(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Value)],
        opts: WriteOptions,
    ) -> Result<()> {
        let m = self.insert_mutation(keyspace, table, values, opts)?;
        self.apply_async(vec![m]).await
    }

    /// Sets (`Some`) or nulls (`None`, a cell tombstone) columns of the row that `values`'
    /// key columns name. Unlike insert, writes no liveness marker (CQL UPDATE semantics).
    pub fn update(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Option<Value>)],
        opts: WriteOptions,
    ) -> Result<()> {
        self.apply(vec![self.update_mutation(keyspace, table, values, opts)?])
    }

    pub async fn update_async(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Option<Value>)],
        opts: WriteOptions,
    ) -> Result<()> {
        let m = self.update_mutation(keyspace, table, values, opts)?;
        self.apply_async(vec![m]).await
    }

    /// Deletes a partition, a row, a clustering range or some columns of a row.
    pub fn delete(&self, keyspace: &str, table: &str, what: &Delete) -> Result<()> {
        self.delete_with(keyspace, table, what, WriteOptions::default())
    }

    pub fn delete_with(
        &self,
        keyspace: &str,
        table: &str,
        what: &Delete,
        opts: WriteOptions,
    ) -> Result<()> {
        self.apply(vec![self.delete_mutation(keyspace, table, what, opts)?])
    }

    pub async fn delete_async(
        &self,
        keyspace: &str,
        table: &str,
        what: &Delete,
        opts: WriteOptions,
    ) -> Result<()> {
        let m = self.delete_mutation(keyspace, table, what, opts)?;
        self.apply_async(vec![m]).await
    }

    /// The mutation [`Db::insert_with`] applies (for batching several into one `apply`).
    pub fn insert_mutation(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Value)],
        opts: WriteOptions,
    ) -> Result<Mutation> {
        let schema = self.table(keyspace, table)?;
        let named = split_named(&schema, values, |v| Some(v))?;
        let key = partition_key(&schema, &named.partition)?;
        let mut row = Row::new(clustering(&schema, &named.clustering, true)?);
        let (ts, now) = (opts.timestamp.unwrap_or_else(now_micros), now_secs());
        let ttl = effective_ttl(&schema, opts);
        row.marker = Some(make_cell(ts, Bytes::new(), ttl, now));
        for (column, value) in named.regular {
            row.set(column.id, make_cell(ts, value.serialize(), ttl, now));
        }
        Ok(Mutation::new(schema.id, key).with_row(row))
    }

    /// The mutation [`Db::update`] applies.
    pub fn update_mutation(
        &self,
        keyspace: &str,
        table: &str,
        values: &[(&str, Option<Value>)],
        opts: WriteOptions,
    ) -> Result<Mutation> {
        let schema = self.table(keyspace, table)?;
        let named = split_named(&schema, values, |v| v.as_ref())?;
        if named.regular.is_empty() {
            return Err(Error::invalid("an update sets at least one regular column"));
        }
        let key = partition_key(&schema, &named.partition)?;
        let mut row = Row::new(clustering(&schema, &named.clustering, true)?);
        let (ts, now) = (opts.timestamp.unwrap_or_else(now_micros), now_secs());
        let ttl = effective_ttl(&schema, opts);
        for (column, value) in named.regular {
            let cell = match value {
                Some(v) => make_cell(ts, v.serialize(), ttl, now),
                None => Cell::tombstone(ts, now),
            };
            row.set(column.id, cell);
        }
        Ok(Mutation::new(schema.id, key).with_row(row))
    }

    /// The mutation [`Db::delete_with`] applies.
    pub fn delete_mutation(
        &self,
        keyspace: &str,
        table: &str,
        what: &Delete,
        opts: WriteOptions,
    ) -> Result<Mutation> {
        let schema = self.table(keyspace, table)?;
        let deletion = DeletionTime::new(opts.timestamp.unwrap_or_else(now_micros), now_secs());
        let m = match what {
            Delete::Partition { key } => {
                let mut m = Mutation::new(schema.id, partition_key(&schema, key)?);
                m.partition_deletion = Some(deletion);
                m
            }
            Delete::Row {
                key,
                clustering: ck,
            } => {
                let mut row = Row::new(clustering(&schema, ck, true)?);
                row.deletion = Some(deletion);
                Mutation::new(schema.id, partition_key(&schema, key)?).with_row(row)
            }
            Delete::Range { key, start, end } => {
                let mut m = Mutation::new(schema.id, partition_key(&schema, key)?);
                m.range_tombstones.push(RangeTombstone::new(
                    bound(&schema, start)?,
                    bound(&schema, end)?,
                    deletion,
                ));
                m
            }
            Delete::Columns {
                key,
                clustering: ck,
                columns,
            } => {
                let mut row = Row::new(clustering(&schema, ck, true)?);
                for name in columns {
                    let column = schema
                        .column(name)
                        .filter(|c| matches!(c.kind, crate::catalog::ColumnKind::Regular))
                        .ok_or_else(|| Error::invalid(format!("{name} is not a regular column")))?;
                    row.set(
                        column.id,
                        Cell::tombstone(deletion.marked_at, deletion.deleted_at),
                    );
                }
                Mutation::new(schema.id, partition_key(&schema, key)?).with_row(row)
            }
        };
        Ok(m)
    }
}

fn effective_ttl(schema: &TableSchema, opts: WriteOptions) -> u32 {
    opts.ttl_secs
        .unwrap_or_else(|| u32::try_from(schema.params.default_time_to_live).unwrap_or(0))
}

pub(super) fn make_cell(ts: i64, value: Bytes, ttl_secs: u32, now: i64) -> Cell {
    if ttl_secs > 0 {
        Cell::expiring(ts, value, ttl_secs, now)
    } else {
        Cell::live(ts, value)
    }
}
