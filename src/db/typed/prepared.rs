//! Bulk inserts by column position: [`Db::prepare_insert`] and [`Db::insert_rows`].
//!
//! On two CPUs the callers' threads share the cores with the shards, so every microsecond
//! a caller spends per row is one the shards cannot use. A prepared insert therefore does
//! on the caller only what routing needs: names are resolved once (at prepare), each call
//! checks types and serializes each row's partition key (its token picks the shard). The
//! rest (clustering keys, value serialization, cells) runs on the owning shard
//! ([`RowBatch::into_mutations`]), in parallel across shards, and the rows of one shard
//! travel as one message and share one commitlog batch (one fsync in group commit).

use super::keys::invalid_from;
use super::rows::{InsertPlan, RowBatch, WriteStamp};
use super::WriteOptions;
use crate::catalog::{ColumnKind, TableSchema};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::shard::{wait, wait_async, Pending, Request};
use crate::storage::clock::{now_micros, now_secs};
use crate::storage::types::Value;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::Arc;

/// An insert into one table of rows given by column position, resolved once and run many
/// times (as a CQL prepared statement is). Cheap to clone; holds its [`Db`] open.
///
/// If the table's schema changes (any DDL) after `prepare_insert`, each call resolves the
/// columns again (the slow path), so a dropped table or column fails as it should.
#[derive(Clone, Debug)]
pub struct PreparedInsert {
    db: Db,
    keyspace: String,
    table: String,
    columns: Vec<String>,
    plan: Arc<InsertPlan>,
    /// The catalog generation the plan was resolved against.
    generation: u64,
}

impl Db {
    /// Prepares an insert of rows whose values follow `columns` (every key column among
    /// them; omitted regular columns are left alone, as in [`Db::insert`]).
    pub fn prepare_insert(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<PreparedInsert> {
        let generation = self.catalog_generation();
        let schema = self.table(keyspace, table)?;
        Ok(PreparedInsert {
            db: self.clone(),
            keyspace: keyspace.into(),
            table: table.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            plan: Arc::new(plan(&schema, columns)?),
            generation,
        })
    }

    /// Inserts many rows of one table (see [`Db::prepare_insert`] and
    /// [`PreparedInsert::execute`]). Plain threads only.
    pub fn insert_rows(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        opts: WriteOptions,
    ) -> Result<()> {
        self.prepare_insert(keyspace, table, columns)?
            .execute(rows, opts)
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
        self.prepare_insert(keyspace, table, columns)?
            .execute_async(rows, opts)
            .await
    }
}

impl PreparedInsert {
    /// Inserts `rows` (values in the prepared column order). Rows are routed by partition
    /// key; each shard gets its rows as one message, builds their mutations itself and
    /// writes them as one commitlog batch. Every row of the call gets the same write
    /// timestamp. Types are checked before anything is sent, so a bad row fails the whole
    /// call and writes nothing; across shards the call is not atomic (an unlogged batch).
    /// Plain threads only (see [`crate::shard::wait`]).
    pub fn execute(&self, rows: Vec<Vec<Value>>, opts: WriteOptions) -> Result<()> {
        let mut pending = Vec::new();
        for (shard, batch) in self.route(rows, opts)? {
            pending.push(self.db.shards()[shard].submit(
                |reply| Request::InsertRows { batch, reply },
                self.db.backpressure(),
            )?);
        }
        first_error(pending.into_iter().map(wait))
    }

    /// [`PreparedInsert::execute`] for async code.
    pub async fn execute_async(&self, rows: Vec<Vec<Value>>, opts: WriteOptions) -> Result<()> {
        let mut pending: Vec<Pending<()>> = Vec::new();
        for (shard, batch) in self.route(rows, opts)? {
            pending.push(
                self.db.shards()[shard]
                    .submit_async(
                        |reply| Request::InsertRows { batch, reply },
                        self.db.backpressure(),
                    )
                    .await?,
            );
        }
        let mut results = Vec::with_capacity(pending.len());
        for p in pending {
            results.push(wait_async(p).await);
        }
        first_error(results.into_iter())
    }

    /// The caller's share: checks, partition keys, and the rows grouped by owning shard.
    fn route(&self, rows: Vec<Vec<Value>>, opts: WriteOptions) -> Result<Vec<(usize, RowBatch)>> {
        self.db.check_open()?;
        let plan = if self.db.catalog_generation() == self.generation {
            Arc::clone(&self.plan)
        } else {
            let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
            let schema = self.db.table(&self.keyspace, &self.table)?;
            Arc::new(plan(&schema, &columns)?)
        };
        let stamp = WriteStamp {
            timestamp: opts.timestamp.unwrap_or_else(now_micros),
            ttl_secs: opts.ttl_secs.unwrap_or(plan.default_ttl_secs),
            now_secs: now_secs(),
        };
        let shard_count = self.db.shard_count();
        // One row (the common single insert) needs no grouping.
        let mut groups: Vec<Vec<(Bytes, Vec<Value>)>> = Vec::new();
        let mut single = None;
        let many = rows.len() > 1;
        if many {
            groups.resize_with(shard_count, Vec::new);
        }
        for values in rows {
            check_row(&plan, &values)?;
            let key = partition_key(&plan, &values)?;
            let shard = self.db.shard_of(&key);
            match groups.get_mut(shard) {
                Some(group) => group.push((key, values)),
                None => single = Some((shard, vec![(key, values)])),
            }
        }
        let batch = |rows| RowBatch {
            plan: Arc::clone(&plan),
            stamp,
            rows,
        };
        if let Some((shard, rows)) = single {
            return Ok(vec![(shard, batch(rows))]);
        }
        Ok(groups
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(shard, rows)| (shard, batch(rows)))
            .collect())
    }
}

fn check_row(plan: &InsertPlan, values: &[Value]) -> Result<()> {
    if values.len() != plan.types.len() {
        return Err(Error::invalid(format!(
            "a row has {} values for {} columns",
            values.len(),
            plan.types.len()
        )));
    }
    for ((ty, name), v) in plan.types.iter().zip(&plan.names).zip(values) {
        if !v.is_of_type(ty) {
            return Err(Error::invalid(format!(
                "value {v} is not a valid {ty} for column {name}"
            )));
        }
    }
    Ok(())
}

/// The row's serialized partition key, built in one buffer (the format of
/// `storage::types::serialize_partition_key`: one column as is, a composite as per
/// component a u16 length, the bytes and a 0).
fn partition_key(plan: &InsertPlan, values: &[Value]) -> Result<Bytes> {
    let value = |i: usize| {
        values
            .get(i)
            .ok_or_else(|| Error::invalid("a partition key value is missing"))
    };
    if let [only] = plan.partition[..] {
        return Ok(value(only)?.serialize());
    }
    let mut out = BytesMut::with_capacity(16 * plan.partition.len());
    for &i in &plan.partition {
        let at = out.len();
        out.put_u16(0);
        value(i)?.serialize_into(&mut out);
        let len = u16::try_from(out.len() - at - 2).map_err(|_| {
            Error::invalid("a partition key component is longer than the maximum of 65535")
        })?;
        if let Some(slot) = out.get_mut(at..at + 2) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        out.put_u8(0);
    }
    Ok(out.freeze())
}

/// Resolves `columns` against the table; refuses unknown, repeated and missing key columns.
fn plan(schema: &TableSchema, columns: &[&str]) -> Result<InsertPlan> {
    let mut partition: Vec<Option<usize>> = vec![None; schema.partition_key().count()];
    let mut clustering: Vec<Option<usize>> = vec![None; schema.clustering().count()];
    let (mut types, mut names, mut regular) = (Vec::new(), Vec::new(), Vec::new());
    for (i, name) in columns.iter().enumerate() {
        if columns[..i].contains(name) {
            return Err(Error::invalid(format!("column {name} given twice")));
        }
        let column = schema.column(name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown column {name} in {}.{}",
                schema.keyspace, schema.name
            ))
        })?;
        types.push(column.ty.clone());
        names.push(column.name.clone());
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
    Ok(InsertPlan {
        table: schema.id,
        types,
        names,
        partition: partition
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| missing("partition key"))?,
        clustering: clustering
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| missing("clustering"))?,
        clustering_types: schema.clustering_types(),
        regular,
        default_ttl_secs: u32::try_from(schema.params.default_time_to_live).unwrap_or(0),
    })
}

/// The first error among the shards' answers, after all have arrived; a build error on a
/// shard (a clustering value the key encoding refuses) is the caller's `Invalid`.
fn first_error(results: impl Iterator<Item = Result<()>>) -> Result<()> {
    let mut first = None;
    for r in results {
        if let Err(e) = r {
            first.get_or_insert(match e {
                Error::Storage(s) => invalid_from(s),
                other => other,
            });
        }
    }
    first.map_or(Ok(()), Err)
}
