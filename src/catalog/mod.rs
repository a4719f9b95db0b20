//! The catalog of keyspaces and tables: their definitions ([`schema`]), DDL as pure
//! snapshot-to-snapshot functions ([`ddl`]), persisted atomically in the database directory
//! ([`store`]) and applied on every shard.

pub mod ddl;
pub mod schema;
pub mod store;
pub mod uuid;

pub use schema::{Catalog, ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
