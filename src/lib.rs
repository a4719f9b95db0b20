//! `scrolldb`: an embedded, shard-per-core database for chat messages.
//!
//! - [`Db`]: open a database directory (or a temporary one), run one pinned thread per
//!   shard, each the only owner of one storage engine; DDL, typed and storage-level reads
//!   and writes (module [`db`]);
//! - [`catalog`]: keyspaces and tables, persisted atomically and applied on every shard;
//! - [`shard`]: the shard threads, their bounded queues and the token-to-shard routing;
//! - [`cql`]: the CQL language on top of [`Db`];
//! - [`coalesce`]: identical concurrent reads made one, per-partition and per-shard read
//!   limits with `Overloaded` beyond them (hot channels);
//! - [`snowflake`]: time-ordered 64-bit ids and their ten-day buckets.
//!
//! It does not own the storage format (crate `scrolldb-storage`, re-exported as
//! [`storage`]) or the network protocol (crate `scrolldb-server`).

#![deny(clippy::unwrap_used)]

pub use scrolldb_storage as storage;

pub mod catalog;
pub mod coalesce;
pub mod cql;
pub mod db;
pub mod error;
pub mod shard;
pub mod snowflake;

pub use db::typed::{Delete, KeyBound, Page, PreparedInsert, Select, TypedRow, WriteOptions};
pub use db::{Backpressure, Db, DbStats, IoMode, Options, ShardStats};
pub use error::{Error, Result};
