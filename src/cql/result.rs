//! What executing a CQL statement takes and returns: the contract between the CQL engine
//! (`scrolldb::cql`) and the native protocol frontend (`scrolldb-server`).
//!
//! Values travel in their native protocol v4 binary form (`[bytes]`), already serialized, so
//! the frontend never needs to understand a column's type beyond writing its `[option]`.

use crate::storage::types::CqlType;
use bytes::Bytes;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A column of a result set or of a prepared statement's bind variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub ty: CqlType,
}

/// One bound value of a QUERY, EXECUTE or BATCH (`[value]` in the spec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoundValue {
    /// Length -1.
    Null,
    /// Length -2: "leave this alone" (skip the column, no TTL, now as timestamp, no limit).
    Unset,
    Value(Bytes),
}

/// The `<query_parameters>` of a QUERY or EXECUTE, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParams {
    pub consistency: u16,
    pub values: Vec<BoundValue>,
    /// Present when the values were sent with names (flag 0x40), one per value.
    pub names: Option<Vec<String>>,
    pub page_size: Option<i32>,
    pub paging_state: Option<Bytes>,
    pub serial_consistency: Option<u16>,
    /// Client-supplied write timestamp in microseconds (flag 0x20).
    pub timestamp: Option<i64>,
}

/// One statement of a BATCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchStatement {
    Query {
        cql: String,
        values: Vec<BoundValue>,
    },
    Prepared {
        id: Bytes,
        values: Vec<BoundValue>,
    },
}

/// `LOGGED` (0), `UNLOGGED` (1) or `COUNTER` (2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    Logged,
    Unlogged,
    Counter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub kind: BatchKind,
    pub statements: Vec<BatchStatement>,
    pub consistency: u16,
    pub serial_consistency: Option<u16>,
    pub timestamp: Option<i64>,
}

/// A page of rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowsResult {
    pub columns: Vec<ColumnSpec>,
    /// Each row holds one value per column, serialized; `None` is null.
    pub rows: Vec<Vec<Option<Bytes>>>,
    /// Present when there may be more rows: pass it back to get the next page.
    pub paging_state: Option<Bytes>,
}

/// A page of rows that every coalesced copy of one request shares: built once per flight,
/// and encoded once per flavour of the RESULT body, so a copy costs a reference and a frame
/// header instead of building and encoding 50 rows (see `crate::coalesce::memo`).
pub struct SharedRows {
    rows: RowsResult,
    /// The encoded RESULT body, with metadata (0) and without (1).
    bodies: [OnceLock<Bytes>; 2],
}

impl SharedRows {
    pub fn new(rows: RowsResult) -> SharedRows {
        SharedRows {
            rows,
            bodies: Default::default(),
        }
    }

    pub fn rows(&self) -> &RowsResult {
        &self.rows
    }

    pub fn into_rows(self) -> RowsResult {
        self.rows
    }

    /// The RESULT body for `skip_metadata`, which `encode` makes the first time it is asked
    /// for; every later call returns the same bytes.
    pub fn body(&self, skip_metadata: bool, encode: impl FnOnce(&RowsResult) -> Bytes) -> Bytes {
        let slot = &self.bodies[usize::from(skip_metadata)];
        slot.get_or_init(|| encode(&self.rows)).clone()
    }
}

impl fmt::Debug for SharedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedRows").field(&self.rows).finish()
    }
}

impl PartialEq for SharedRows {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
    }
}

impl Eq for SharedRows {}

/// What a statement answers, as the server takes it: rows a coalesced read shares between
/// its copies stay shared up to the encoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Result(QueryResult),
    SharedRows(Arc<SharedRows>),
}

impl Answer {
    /// The answer as an owned [`QueryResult`] (shared rows are copied unless this was the
    /// last reference).
    pub fn into_result(self) -> QueryResult {
        match self {
            Answer::Result(r) => r,
            Answer::SharedRows(s) => QueryResult::Rows(
                Arc::try_unwrap(s).map_or_else(|s| s.rows.clone(), SharedRows::into_rows),
            ),
        }
    }
}

/// The answer to PREPARE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedResult {
    pub id: Bytes,
    pub bind: Vec<ColumnSpec>,
    /// Indexes into `bind` of the partition key columns, in partition key order, when every
    /// partition key column is bound (what token-aware drivers route by); empty otherwise.
    pub pk_indexes: Vec<u16>,
    /// The columns a SELECT returns; empty for other statements (no result metadata).
    pub result: Vec<ColumnSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaChangeKind {
    Created,
    Updated,
    Dropped,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaChangeTarget {
    Keyspace { keyspace: String },
    Table { keyspace: String, table: String },
}

/// The result of DDL, also pushed as an EVENT to connections registered for SCHEMA_CHANGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    pub kind: SchemaChangeKind,
    pub target: SchemaChangeTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryResult {
    Void,
    Rows(RowsResult),
    SetKeyspace(String),
    Prepared(PreparedResult),
    SchemaChange(SchemaChange),
}

/// Why a statement failed, as the native protocol reports it (section 9 of the spec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 0x0000: a bug or an I/O failure on our side.
    Server,
    /// 0x000A
    Protocol,
    /// 0x0100
    BadCredentials,
    /// 0x1001: the shard or the partition is saturated; retry later.
    Overloaded,
    /// 0x1300: a read failed on the replica (for example, too many tombstones).
    ReadFailure {
        received: i32,
        block_for: i32,
        num_failures: i32,
        data_present: bool,
    },
    /// 0x2000
    Syntax,
    /// 0x2100
    Unauthorized,
    /// 0x2200: includes unknown keyspaces and tables.
    Invalid,
    /// 0x2300
    Config,
    /// 0x2400: `table` is empty when a keyspace already exists.
    AlreadyExists { keyspace: String, table: String },
    /// 0x2500: the driver re-prepares on this.
    Unprepared { id: Bytes },
}

impl ErrorKind {
    /// The protocol's error code.
    pub fn code(&self) -> i32 {
        match self {
            ErrorKind::Server => 0x0000,
            ErrorKind::Protocol => 0x000A,
            ErrorKind::BadCredentials => 0x0100,
            ErrorKind::Overloaded => 0x1001,
            ErrorKind::ReadFailure { .. } => 0x1300,
            ErrorKind::Syntax => 0x2000,
            ErrorKind::Unauthorized => 0x2100,
            ErrorKind::Invalid => 0x2200,
            ErrorKind::Config => 0x2300,
            ErrorKind::AlreadyExists { .. } => 0x2400,
            ErrorKind::Unprepared { .. } => 0x2500,
        }
    }
}

/// An error with its protocol code and a message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CqlError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CqlError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CqlError {
            kind,
            message: message.into(),
        }
    }

    pub fn syntax(message: impl Into<String>) -> Self {
        CqlError::new(ErrorKind::Syntax, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        CqlError::new(ErrorKind::Invalid, message)
    }

    pub fn server(message: impl Into<String>) -> Self {
        CqlError::new(ErrorKind::Server, message)
    }
}

impl fmt::Display for CqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (error 0x{:04X})", self.message, self.kind.code())
    }
}

impl std::error::Error for CqlError {}
