//! Typed access for Rust programs, no CQL: rows by column name with
//! [`Value`]s, encoded with `storage::types` exactly as the CQL engine encodes them, so data
//! written here reads back through CQL and the other way round.
//!
//! Omitted columns write nothing (no tombstones for unset columns). Every call has a sync
//! form (plain threads) and an `_async` form (tokio).

mod keys;
mod prepared;
pub mod rows;
mod select;
mod write;

use crate::storage::types::Value;
use bytes::Bytes;
use std::sync::Arc;

pub use prepared::PreparedInsert;
pub use select::Select;

/// One end of a clustering range, as values of the first clustering columns (a prefix).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum KeyBound {
    #[default]
    Unbounded,
    Included(Vec<Value>),
    Excluded(Vec<Value>),
}

/// Write timestamp and TTL of an insert, update or delete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Microseconds since the Unix epoch; `None` for now.
    pub timestamp: Option<i64>,
    /// Seconds; `None` for the table's `default_time_to_live`; `Some(0)` for none.
    pub ttl_secs: Option<u32>,
}

/// What a delete removes. `key` is the partition key values in key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Delete {
    /// The whole partition.
    Partition { key: Vec<Value> },
    /// One row (all clustering values given).
    Row {
        key: Vec<Value>,
        clustering: Vec<Value>,
    },
    /// A clustering range, bounds in clustering order (`start` first).
    Range {
        key: Vec<Value>,
        start: KeyBound,
        end: KeyBound,
    },
    /// Some columns of one row (the row stays if anything else of it is live).
    Columns {
        key: Vec<Value>,
        clustering: Vec<Value>,
        columns: Vec<String>,
    },
}

/// One page of a select: the selected rows and, when the page is full, where the next
/// page starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub columns: Arc<Vec<String>>,
    pub rows: Vec<TypedRow>,
    /// Pass back in [`Select::paging_state`] for the next page; `None` when this page was
    /// not full (no more rows).
    pub paging_state: Option<Bytes>,
}

/// A selected row: one value (or null) per selected column.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedRow {
    pub columns: Arc<Vec<String>>,
    pub values: Vec<Option<Value>>,
}

impl TypedRow {
    /// The value of column `name`; `None` when null or not selected.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let i = self.columns.iter().position(|c| c == name)?;
        self.values.get(i)?.as_ref()
    }
}
