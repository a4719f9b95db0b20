//! What callers ask a shard to do, each with a one-shot reply channel.

use crate::db::typed::rows::RowBatch;
use crate::storage;
use crate::storage::engine::{EngineStats, ScanPage, ScanQuery, TableOptions};
use crate::storage::model::{Mutation, ReadQuery, ReadResult, TableId};
use tokio::sync::oneshot;

/// Where a shard sends one answer. A tokio one-shot: awaitable from async code, and
/// `blocking_recv` from a plain thread.
pub type Reply<T> = oneshot::Sender<storage::Result<T>>;

/// One request to one shard's engine.
pub enum Request {
    /// Mutations of partitions this shard owns; applied as one commitlog batch.
    Apply {
        mutations: Vec<Mutation>,
        reply: Reply<()>,
    },
    /// Rows for this shard's partitions, built into mutations here (not by the caller)
    /// and applied in the same commitlog batch as the `Apply`s queued with them.
    InsertRows {
        batch: RowBatch,
        reply: Reply<()>,
    },
    Read {
        query: ReadQuery,
        reply: Reply<ReadResult>,
    },
    /// Reads `queries` one after another as one page of at most `limit` rows, and stops
    /// when the page is full; one answer per query read (a prefix of `queries`).
    ReadChain {
        queries: Vec<ReadQuery>,
        limit: usize,
        reply: Reply<Vec<ReadResult>>,
    },
    Scan {
        query: ScanQuery,
        reply: Reply<ScanPage>,
    },
    /// The catalog's options for these tables (sent on open and after every DDL).
    SetTableOptions {
        tables: Vec<(TableId, TableOptions)>,
        reply: Reply<()>,
    },
    /// Removes the tables' data and files.
    DropTables {
        tables: Vec<TableId>,
        reply: Reply<()>,
    },
    /// Removes a table's data and keeps the table with `options`.
    Truncate {
        table: TableId,
        options: TableOptions,
        reply: Reply<()>,
    },
    Flush(Reply<()>),
    /// Major compaction of one table, or of all.
    Compact {
        table: Option<TableId>,
        reply: Reply<()>,
    },
    Stats(Reply<EngineStats>),
    /// Syncs the commitlog and stops the shard thread.
    Close(Reply<()>),
}
