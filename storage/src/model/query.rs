//! Read requests and their results.

use bytes::Bytes;

use super::cell::LocalSecs;
use super::clustering::Slice;
use super::mutation::TableId;
use super::row::{ColumnId, Row};

/// Which way a read walks a partition, relative to the table's clustering order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// In clustering order (newest first for a `message_id DESC` table).
    Forward,
    /// Against clustering order, natively: the same cost per row as forward.
    Reverse,
}

/// Which regular columns a read returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ColumnFilter {
    All,
    /// Only these columns (sorted, unique).
    Only(Vec<ColumnId>),
}

impl ColumnFilter {
    pub fn includes(&self, column: ColumnId) -> bool {
        match self {
            ColumnFilter::All => true,
            ColumnFilter::Only(cols) => cols.binary_search(&column).is_ok(),
        }
    }
}

/// A read of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadQuery {
    pub table: TableId,
    pub partition_key: Bytes,
    pub slice: Slice,
    pub direction: Direction,
    /// At most this many live rows; `None` for all.
    pub limit: Option<usize>,
    pub columns: ColumnFilter,
    /// Wall-clock second at which TTLs are evaluated.
    pub now: LocalSecs,
}

impl ReadQuery {
    /// The whole partition, forward, every column, at the current time.
    pub fn partition(table: TableId, partition_key: impl Into<Bytes>) -> Self {
        ReadQuery {
            table,
            partition_key: partition_key.into(),
            slice: Slice::all(),
            direction: Direction::Forward,
            limit: None,
            columns: ColumnFilter::All,
            now: crate::clock::now_secs(),
        }
    }

    pub fn reverse(mut self) -> Self {
        self.direction = Direction::Reverse;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn slice(mut self, slice: Slice) -> Self {
        self.slice = slice;
        self
    }
}

/// What a read did, for tombstone thresholds, metrics and tests of read cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Row and cell tombstones (and expired cells) stepped over.
    pub tombstones_scanned: u64,
    /// Row versions taken from any source before reconciliation.
    pub rows_scanned: u64,
    /// SSTable data blocks the read reached (from the block cache or decompressed).
    pub blocks_read: u64,
    /// SSTables whose partition index was consulted (bloom filter passed).
    pub sstables_read: u64,
}

/// The live rows of a read, in the read's direction, with only the requested columns.
/// Cells keep their timestamps and expiry so callers can answer `writetime()` and `ttl()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadResult {
    pub rows: Vec<Row>,
    pub stats: ReadStats,
}
