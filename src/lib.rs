//! `scrolldb`: an embedded, shard-per-core database for chat messages.

pub use scrolldb_storage as storage;

pub mod catalog;
pub mod cql;
pub mod snowflake;
