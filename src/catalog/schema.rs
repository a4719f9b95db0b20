//! What the catalog knows about keyspaces, tables and columns.
//!
//! These types are shared by the database (which persists and applies them), the CQL engine
//! (which plans statements against them) and the system tables drivers read on connect.

use crate::storage::model::{ColumnId, TableId};
use crate::storage::types::{CqlType, Order};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A keyspace. scrolldb is one node, so replication is kept (and shown in
/// `system_schema.keyspaces`) but not acted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyspaceDef {
    pub name: String,
    /// The `replication` map as written, e.g. `{'class': 'SimpleStrategy', 'replication_factor': '1'}`.
    pub replication: BTreeMap<String, String>,
    pub durable_writes: bool,
}

/// Where a column sits in a table's primary key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// The `position`-th (from 0) component of the partition key.
    PartitionKey {
        position: u16,
    },
    /// The `position`-th (from 0) clustering column and its clustering order.
    Clustering {
        position: u16,
        order: Order,
    },
    Regular,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    /// As stored: unquoted identifiers are lower-cased by the parser before they get here.
    pub name: String,
    pub ty: CqlType,
    /// The id the storage engine files this column's cells under; never reused in a table.
    pub id: ColumnId,
    pub kind: ColumnKind,
}

/// Table options from `WITH ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableParams {
    /// Seconds; 0 means none.
    pub default_time_to_live: i32,
    pub gc_grace_seconds: i64,
    /// The `compaction` map as written (the `class` key names the strategy).
    pub compaction: BTreeMap<String, String>,
    pub compression: BTreeMap<String, String>,
    pub comment: String,
}

impl Default for TableParams {
    fn default() -> Self {
        TableParams {
            default_time_to_live: 0,
            gc_grace_seconds: 864_000,
            compaction: BTreeMap::from([(
                "class".to_string(),
                "SizeTieredCompactionStrategy".to_string(),
            )]),
            compression: BTreeMap::from([(
                "sstable_compression".to_string(),
                "ZstdCompressor".to_string(),
            )]),
            comment: String::new(),
        }
    }
}

/// A table. `columns` holds the partition key columns in key order, then the clustering
/// columns in key order, then the regular columns sorted by name (the order of `SELECT *`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSchema {
    pub keyspace: String,
    pub name: String,
    /// The storage engine's id of this table, unique for the life of the database.
    pub id: TableId,
    /// The table's uuid as `system_schema.tables.id` shows it.
    pub uuid: [u8; 16],
    pub columns: Vec<ColumnDef>,
    pub params: TableParams,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn partition_key(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::PartitionKey { .. }))
    }

    pub fn clustering(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Clustering { .. }))
    }

    pub fn regular(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Regular))
    }

    /// The clustering columns' types and orders, as `storage::types::encode_clustering` takes them.
    pub fn clustering_types(&self) -> Vec<(CqlType, Order)> {
        self.columns
            .iter()
            .filter_map(|c| match c.kind {
                ColumnKind::Clustering { order, .. } => Some((c.ty.clone(), order)),
                _ => None,
            })
            .collect()
    }
}

/// An immutable snapshot of the whole schema. DDL makes a new snapshot with a new `version`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// `schema_version` in `system.local`: a fresh random (version 4) uuid on every change.
    pub version: [u8; 16],
    pub keyspaces: BTreeMap<String, KeyspaceDef>,
    /// Keyed by (keyspace, table).
    pub tables: BTreeMap<(String, String), Arc<TableSchema>>,
}

impl Catalog {
    pub fn keyspace(&self, name: &str) -> Option<&KeyspaceDef> {
        self.keyspaces.get(name)
    }

    pub fn table(&self, keyspace: &str, table: &str) -> Option<&Arc<TableSchema>> {
        self.tables.get(&(keyspace.to_string(), table.to_string()))
    }

    /// The tables of one keyspace, by name.
    pub fn tables_in<'a>(
        &'a self,
        keyspace: &'a str,
    ) -> impl Iterator<Item = &'a Arc<TableSchema>> {
        self.tables
            .iter()
            .filter(move |((ks, _), _)| ks == keyspace)
            .map(|(_, t)| t)
    }
}
