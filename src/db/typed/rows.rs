//! Bulk inserts by column position, built into mutations on the shards.
//!
//! On two CPUs the callers' threads share the cores with the shards, so every microsecond a
//! caller spends per row is one the shards cannot use. [`Db::insert_rows`] therefore does on
//! the caller only what routing needs: name lookups once per call, type checks, and each
//! row's partition key (its token picks the shard). The rest (clustering key encoding, value
//! serialization, cells) runs on the owning shard ([`RowBatch::into_mutations`]), in parallel
//! across shards; the rows of one shard travel as one message and share one commitlog batch.

use super::keys::{check_type, invalid_from};
use super::write::{effective_ttl, make_cell};
use super::WriteOptions;
use crate::catalog::{ColumnDef, ColumnKind, TableSchema};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::shard::{wait, wait_async, Pending, Request};
use crate::storage;
use crate::storage::clock::{now_micros, now_secs};
use crate::storage::model::{ColumnId, Mutation, Row, TableId};
use crate::storage::types::{encode_clustering, serialize_partition_key, CqlType, Order, Value};
use bytes::Bytes;
use std::sync::Arc;

/// What a shard needs to turn rows into mutations; shared by the batches of one call.
#[derive(Debug)]
pub struct RowLayout {
    table: TableId,
    /// By value position: the column id of a regular column, `None` for a key column.
    regular: Vec<Option<ColumnId>>,
    /// The value positions of the clustering columns, in key order.
    clustering_positions: Vec<usize>,
    clustering_types: Vec<(CqlType, Order)>,
    /// Write time (µs), TTL and its reference second: fixed once per call, so every row of
    /// a call carries the same timestamp (as the statements of one CQL batch do).
    timestamp: i64,
    ttl_secs: u32,
    now_secs: i64,
}

/// The rows of one call that one shard owns, with their serialized partition keys.
#[derive(Debug)]
pub struct RowBatch {
    layout: Arc<RowLayout>,
    rows: Vec<(Bytes, Vec<Value>)>,
}

impl RowBatch {
    /// Builds the rows' mutations (on the shard): a liveness marker and one cell per
    /// regular value, as [`Db::insert`] writes them.
    pub fn into_mutations(self) -> storage::Result<Vec<Mutation>> {
        let layout = &self.layout;
        let mut out = Vec::with_capacity(self.rows.len());
        let mut clustering: Vec<Value> = Vec::with_capacity(layout.clustering_positions.len());
        let cell = |v: Bytes| make_cell(layout.timestamp, v, layout.ttl_secs, layout.now_secs);
        for (key, values) in self.rows {
            clustering.clear();
            for &i in &layout.clustering_positions {
                let value = values.get(i).cloned().ok_or_else(|| {
                    storage::Error::InvalidRequest("a clustering value is missing".into())
                })?;
                clustering.push(value);
            }
            let mut row = Row::new(encode_clustering(&layout.clustering_types, &clustering)?);
            row.marker = Some(cell(Bytes::new()));
            for (id, value) in layout.regular.iter().zip(values) {
                if let Some(id) = id {
                    row.set(*id, cell(value.serialize()));
                }
            }
            out.push(Mutation::new(layout.table, key).with_row(row));
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Db {
    /// Inserts many rows of one table: `columns` names each row's values in order (every
    /// key column among them; omitted regular columns are left alone, as in
    /// [`Db::insert`]). Rows are routed by partition key; each shard receives its rows as
    /// one message, builds their mutations itself and writes them as one commitlog batch.
    /// Every row of the call gets the same write timestamp. Types are checked before
    /// anything is sent, so a bad row fails the whole call and writes nothing. Across
    /// shards the call is not atomic (an unlogged batch). Plain threads only.
    pub fn insert_rows(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        opts: WriteOptions,
    ) -> Result<()> {
        let mut pending = Vec::new();
        for (shard, batch) in self.route_rows(keyspace, table, columns, rows, opts)? {
            pending.push(self.shards()[shard].submit(
                |reply| Request::InsertRows { batch, reply },
                self.backpressure(),
            )?);
        }
        wait_rows(pending.into_iter().map(wait))
    }

    /// [`Db::insert_rows`] for async code.
    pub async fn insert_rows_async(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        opts: WriteOptions,
    ) -> Result<()> {
        let mut pending: Vec<Pending<()>> = Vec::new();
        for (shard, batch) in self.route_rows(keyspace, table, columns, rows, opts)? {
            pending.push(
                self.shards()[shard]
                    .submit_async(
                        |reply| Request::InsertRows { batch, reply },
                        self.backpressure(),
                    )
                    .await?,
            );
        }
        let mut results = Vec::with_capacity(pending.len());
        for p in pending {
            results.push(wait_async(p).await);
        }
        wait_rows(results.into_iter())
    }

    /// The caller's share of an insert: checks, partition keys, and the rows grouped by
    /// owning shard.
    fn route_rows(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        opts: WriteOptions,
    ) -> Result<Vec<(usize, RowBatch)>> {
        let schema = self.table(keyspace, table)?;
        let Positions {
            defs,
            partition,
            clustering,
            regular,
        } = positions(&schema, columns)?;
        let layout = Arc::new(RowLayout {
            table: schema.id,
            regular,
            clustering_positions: clustering,
            clustering_types: schema.clustering_types(),
            timestamp: opts.timestamp.unwrap_or_else(now_micros),
            ttl_secs: effective_ttl(&schema, opts),
            now_secs: now_secs(),
        });
        let mut groups: Vec<Vec<(Bytes, Vec<Value>)>> = vec![Vec::new(); self.shard_count()];
        let mut key_parts = Vec::with_capacity(partition.len());
        for values in rows {
            if values.len() != columns.len() {
                return Err(Error::invalid(format!(
                    "a row has {} values for {} columns",
                    values.len(),
                    columns.len()
                )));
            }
            for (column, v) in defs.iter().zip(&values) {
                check_type(column, v)?;
            }
            key_parts.clear();
            for &p in &partition {
                if let Some(v) = values.get(p) {
                    key_parts.push(v.serialize());
                }
            }
            let key = serialize_partition_key(&key_parts).map_err(invalid_from)?;
            let shard = self.shard_of(&key);
            if let Some(group) = groups.get_mut(shard) {
                group.push((key, values));
            }
        }
        Ok(groups
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(shard, rows)| {
                let layout = Arc::clone(&layout);
                (shard, RowBatch { layout, rows })
            })
            .collect())
    }
}

/// Where a call's columns sit in its rows.
struct Positions<'a> {
    /// By value position.
    defs: Vec<&'a ColumnDef>,
    /// Value positions of the partition key columns, in key order.
    partition: Vec<usize>,
    /// Value positions of the clustering columns, in key order.
    clustering: Vec<usize>,
    /// By value position: the regular column's id, `None` for a key column.
    regular: Vec<Option<ColumnId>>,
}

/// Resolves `columns` once per call; refuses unknown, repeated and missing key columns.
fn positions<'a>(schema: &'a TableSchema, columns: &[&str]) -> Result<Positions<'a>> {
    let mut partition: Vec<Option<usize>> = vec![None; schema.partition_key().count()];
    let mut clustering: Vec<Option<usize>> = vec![None; schema.clustering().count()];
    let mut regular = Vec::with_capacity(columns.len());
    let mut defs = Vec::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let twice = || Error::invalid(format!("column {name} given twice"));
        if columns[..i].contains(name) {
            return Err(twice());
        }
        let column = schema.column(name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown column {name} in {}.{}",
                schema.keyspace, schema.name
            ))
        })?;
        defs.push(column);
        let key_slot = match column.kind {
            ColumnKind::PartitionKey { position } => partition.get_mut(usize::from(position)),
            ColumnKind::Clustering { position, .. } => clustering.get_mut(usize::from(position)),
            ColumnKind::Regular => {
                regular.push(Some(column.id));
                continue;
            }
        };
        regular.push(None);
        match key_slot {
            Some(slot) => *slot = Some(i),
            None => return Err(Error::invalid(format!("column {name}: bad key position"))),
        }
    }
    let missing = |kind: &str| Error::invalid(format!("a {kind} column is missing"));
    Ok(Positions {
        defs,
        partition: partition
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| missing("partition key"))?,
        clustering: clustering
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| missing("clustering"))?,
        regular,
    })
}

/// The first error among the shards' answers, after all have arrived; a build error on a
/// shard (a clustering value the key encoding refuses) is the caller's `Invalid`.
fn wait_rows(results: impl Iterator<Item = Result<()>>) -> Result<()> {
    let mut first_error = None;
    for r in results {
        if let Err(e) = r {
            first_error.get_or_insert(match e {
                Error::Storage(s) => invalid_from(s),
                other => other,
            });
        }
    }
    first_error.map_or(Ok(()), Err)
}
