//! Rows by column position, built into mutations on the shard that owns them.
//!
//! The caller's side (names resolved once, type checks, partition keys, routing) is
//! [`super::prepared::PreparedInsert`]; what the shard runs is [`RowBatch::into_mutations`].

use super::write::make_cell;
use crate::storage;
use crate::storage::model::{ColumnId, Mutation, Row, TableId};
use crate::storage::types::{encode_clustering, CqlType, Order, Value};
use bytes::Bytes;
use std::sync::Arc;

/// How one table's rows, given by value position, become mutations. Built once per
/// prepared insert and shared (an `Arc`) by every batch it sends.
#[derive(Debug)]
pub struct InsertPlan {
    pub(super) table: TableId,
    /// By value position: the column's type (checked on the caller).
    pub(super) types: Vec<CqlType>,
    /// By value position: the column's name (for error messages).
    pub(super) names: Vec<String>,
    /// Value positions of the partition key columns, in key order.
    pub(super) partition: Vec<usize>,
    /// Value positions of the clustering columns, in key order.
    pub(super) clustering: Vec<usize>,
    pub(super) clustering_types: Vec<(CqlType, Order)>,
    /// By value position: the regular column's id; `None` for a key column.
    pub(super) regular: Vec<Option<ColumnId>>,
    /// The table's `default_time_to_live`, seconds.
    pub(super) default_ttl_secs: u32,
}

/// Write time, TTL and the TTL's reference second: fixed once per call, so every row of a
/// call carries the same timestamp (as the statements of one CQL batch do).
#[derive(Clone, Copy, Debug)]
pub struct WriteStamp {
    pub timestamp: i64,
    pub ttl_secs: u32,
    pub now_secs: i64,
}

/// The rows of one call that one shard owns, with their serialized partition keys.
#[derive(Debug)]
pub struct RowBatch {
    pub(super) plan: Arc<InsertPlan>,
    pub(super) stamp: WriteStamp,
    pub(super) rows: Vec<(Bytes, Vec<Value>)>,
}

impl RowBatch {
    /// Builds the rows' mutations (on the shard): a liveness marker and one cell per
    /// regular value, as [`crate::Db::insert`] writes them.
    pub fn into_mutations(self) -> storage::Result<Vec<Mutation>> {
        let (plan, stamp) = (&self.plan, self.stamp);
        let cell = |v: Bytes| make_cell(stamp.timestamp, v, stamp.ttl_secs, stamp.now_secs);
        let mut out = Vec::with_capacity(self.rows.len());
        let mut clustering: Vec<Value> = Vec::with_capacity(plan.clustering.len());
        for (key, values) in self.rows {
            clustering.clear();
            for &i in &plan.clustering {
                let value = values.get(i).cloned().ok_or_else(|| {
                    storage::Error::InvalidRequest("a clustering value is missing".into())
                })?;
                clustering.push(value);
            }
            let mut row = Row::new(encode_clustering(&plan.clustering_types, &clustering)?);
            row.marker = Some(cell(Bytes::new()));
            for (id, value) in plan.regular.iter().zip(values) {
                if let Some(id) = id {
                    row.set(*id, cell(value.serialize()));
                }
            }
            out.push(Mutation::new(plan.table, key).with_row(row));
        }
        Ok(out)
    }

    /// Rows in this batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::options::{Backpressure, Options};
    use crate::shard::{Request, Shard};
    use crate::storage::engine::{Engine, EngineOptions};
    use crate::storage::model::ReadQuery;

    fn batch(clustering_type: CqlType, clustering: Value, key: &[u8]) -> RowBatch {
        let plan = InsertPlan {
            table: 1,
            types: vec![CqlType::Blob, clustering_type.clone(), CqlType::Int],
            names: vec!["k".into(), "c".into(), "v".into()],
            partition: vec![0],
            clustering: vec![1],
            clustering_types: vec![(clustering_type, Order::Asc)],
            regular: vec![None, None, Some(3)],
            default_ttl_secs: 0,
        };
        let key = Bytes::copy_from_slice(key);
        RowBatch {
            plan: Arc::new(plan),
            stamp: WriteStamp {
                timestamp: 1,
                ttl_secs: 0,
                now_secs: 1,
            },
            rows: vec![(
                key.clone(),
                vec![Value::Blob(key), clustering, Value::Int(5)],
            )],
        }
    }

    /// A row the shard cannot build (here a clustering type the key encoding refuses)
    /// fails its own request; the writes queued with it are applied.
    #[test]
    fn a_row_the_shard_cannot_build_fails_only_its_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path(), EngineOptions::default()).expect("engine");
        let shard = Shard::spawn(0, engine, &Options::with_shards(1), None).expect("shard");
        let bad = batch(CqlType::Duration, Value::Int(0), b"bad");
        let good = batch(CqlType::Int, Value::Int(7), b"good");
        let bad = shard
            .submit(
                |reply| Request::InsertRows { batch: bad, reply },
                Backpressure::Wait,
            )
            .expect("submit");
        let good = shard
            .submit(
                |reply| Request::InsertRows { batch: good, reply },
                Backpressure::Wait,
            )
            .expect("submit");
        assert!(matches!(
            crate::shard::wait(bad),
            Err(crate::Error::Storage(storage::Error::InvalidRequest(_)))
        ));
        crate::shard::wait(good).expect("the good write");
        let rows = shard
            .call(
                |reply| Request::Read {
                    query: ReadQuery::partition(1, Bytes::from_static(b"good")),
                    reply,
                },
                Backpressure::Wait,
            )
            .expect("read")
            .rows;
        assert_eq!(rows.len(), 1);
        let rows = shard
            .call(
                |reply| Request::Read {
                    query: ReadQuery::partition(1, Bytes::from_static(b"bad")),
                    reply,
                },
                Backpressure::Wait,
            )
            .expect("read")
            .rows;
        assert!(rows.is_empty());
        shard.shutdown().expect("shutdown");
    }
}
