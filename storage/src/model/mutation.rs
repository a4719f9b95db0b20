//! Mutations: every change to one partition of one table, applied atomically.

use bytes::Bytes;

use super::clustering::{Bound, Slice};
use super::deletion::DeletionTime;
use super::row::Row;

/// Identifies a table inside an engine (assigned by the catalog).
pub type TableId = u32;

/// A deletion of a clustering range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeTombstone {
    pub slice: Slice,
    pub deletion: DeletionTime,
}

impl RangeTombstone {
    pub fn new(start: Bound, end: Bound, deletion: DeletionTime) -> Self {
        RangeTombstone {
            slice: Slice::new(start, end),
            deletion,
        }
    }
}

/// A change to one partition: what a single CQL statement (or unlogged batch entry) writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutation {
    pub table: TableId,
    /// The partition key, serialized as Cassandra serializes it for its token
    /// (see `crate::types::partition_key`).
    pub partition_key: Bytes,
    pub partition_deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    /// Rows; several entries for one clustering key are reconciled on apply.
    pub rows: Vec<Row>,
}

impl Mutation {
    pub fn new(table: TableId, partition_key: impl Into<Bytes>) -> Self {
        Mutation {
            table,
            partition_key: partition_key.into(),
            partition_deletion: None,
            range_tombstones: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn with_row(mut self, row: Row) -> Self {
        self.rows.push(row);
        self
    }

    /// Whether the mutation changes nothing.
    pub fn is_empty(&self) -> bool {
        self.partition_deletion.is_none()
            && self.range_tombstones.is_empty()
            && self.rows.is_empty()
    }
}
