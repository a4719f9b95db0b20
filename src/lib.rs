//! `scrolldb`: an embedded, shard-per-core database for chat messages.
//!
//! Today this crate re-exports the single-shard storage engine; the shard runtime, the
//! catalog and the CQL engine arrive with their issues.

pub use scrolldb_storage as storage;

pub mod snowflake;
