//! The catalog of keyspaces and tables: their definitions ([`schema`]), persisted atomically
//! in the database directory and applied on every shard.

pub mod schema;

pub use schema::{Catalog, ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
