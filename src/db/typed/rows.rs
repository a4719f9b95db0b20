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
