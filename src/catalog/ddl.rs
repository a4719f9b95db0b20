//! DDL as pure functions from one catalog snapshot to the next: validation, id assignment
//! and a fresh schema version. The database persists the result and applies it to shards.

use super::schema::{ColumnKind, KeyspaceDef, TableSchema};
use super::store::StoredCatalog;
use super::uuid::random_v4;
use crate::error::{Error, Result};
use crate::storage::compaction::CompactionConfig;
use crate::storage::model::TableId;
use crate::storage::types::{check_clustering_type, CqlType};
use std::sync::Arc;

/// Cassandra's limit on keyspace and table names.
pub const MAX_NAME_LEN: usize = 48;

/// `Ok(None)` when nothing changes (`IF NOT EXISTS` on an existing keyspace).
pub fn create_keyspace(
    current: &StoredCatalog,
    def: KeyspaceDef,
    if_not_exists: bool,
) -> Result<Option<StoredCatalog>> {
    check_name("keyspace", &def.name)?;
    if current.catalog.keyspace(&def.name).is_some() {
        return if if_not_exists {
            Ok(None)
        } else {
            Err(Error::AlreadyExists {
                keyspace: def.name,
                table: String::new(),
            })
        };
    }
    let mut next = current.clone();
    next.catalog.keyspaces.insert(def.name.clone(), def);
    next.catalog.version = random_v4();
    Ok(Some(next))
}

/// The new catalog and the ids of the dropped keyspace's tables; `Ok(None)` when the
/// keyspace does not exist and `if_exists` is set.
pub fn drop_keyspace(
    current: &StoredCatalog,
    name: &str,
    if_exists: bool,
) -> Result<Option<(StoredCatalog, Vec<TableId>)>> {
    if current.catalog.keyspace(name).is_none() {
        return if if_exists {
            Ok(None)
        } else {
            Err(Error::NotFound(format!("keyspace {name}")))
        };
    }
    let mut next = current.clone();
    next.catalog.keyspaces.remove(name);
    let dropped: Vec<TableId> = current.catalog.tables_in(name).map(|t| t.id).collect();
    next.catalog.tables.retain(|(ks, _), _| ks != name);
    next.catalog.version = random_v4();
    Ok(Some((next, dropped)))
}

/// Validates `schema`, puts its columns in the documented order, assigns the table id,
/// uuid and column ids. Returns the new catalog and the table as stored.
pub fn create_table(
    current: &StoredCatalog,
    mut schema: TableSchema,
    if_not_exists: bool,
) -> Result<Option<(StoredCatalog, Arc<TableSchema>)>> {
    check_name("table", &schema.name)?;
    if current.catalog.keyspace(&schema.keyspace).is_none() {
        return Err(Error::NotFound(format!("keyspace {}", schema.keyspace)));
    }
    if current
        .catalog
        .table(&schema.keyspace, &schema.name)
        .is_some()
    {
        return if if_not_exists {
            Ok(None)
        } else {
            Err(Error::AlreadyExists {
                keyspace: schema.keyspace,
                table: schema.name,
            })
        };
    }
    check_columns(&schema)?;
    if schema.params.gc_grace_seconds < 0 || schema.params.default_time_to_live < 0 {
        return Err(Error::invalid(
            "gc_grace_seconds and default_time_to_live must not be negative",
        ));
    }
    CompactionConfig::parse(&schema.params.compaction).map_err(|e| match e {
        crate::storage::Error::InvalidRequest(m) => Error::Invalid(m),
        other => Error::Invalid(other.to_string()),
    })?;
    schema
        .columns
        .sort_by(|a, b| order_key(&a.kind, &a.name).cmp(&order_key(&b.kind, &b.name)));
    for (id, column) in schema.columns.iter_mut().enumerate() {
        column.id = id as u32;
    }
    let mut next = current.clone();
    schema.id = next.next_table_id;
    next.next_table_id = next
        .next_table_id
        .checked_add(1)
        .ok_or_else(|| Error::invalid("table ids are exhausted"))?;
    schema.uuid = random_v4();
    let table = Arc::new(schema);
    next.catalog.tables.insert(
        (table.keyspace.clone(), table.name.clone()),
        Arc::clone(&table),
    );
    next.catalog.version = random_v4();
    Ok(Some((next, table)))
}

/// The new catalog and the dropped table's id; `Ok(None)` if absent and `if_exists`.
pub fn drop_table(
    current: &StoredCatalog,
    keyspace: &str,
    name: &str,
    if_exists: bool,
) -> Result<Option<(StoredCatalog, TableId)>> {
    let Some(table) = current.catalog.table(keyspace, name) else {
        return if if_exists {
            Ok(None)
        } else {
            Err(Error::NotFound(format!("table {keyspace}.{name}")))
        };
    };
    let id = table.id;
    let mut next = current.clone();
    next.catalog
        .tables
        .remove(&(keyspace.to_string(), name.to_string()));
    next.catalog.version = random_v4();
    Ok(Some((next, id)))
}

/// Partition key columns by position, then clustering columns by position, then regular
/// columns by name: the order `SELECT *` shows.
fn order_key<'a>(kind: &ColumnKind, name: &'a str) -> (u8, u16, &'a str) {
    match *kind {
        ColumnKind::PartitionKey { position } => (0, position, ""),
        ColumnKind::Clustering { position, .. } => (1, position, ""),
        ColumnKind::Regular => (2, 0, name),
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits or underscores"
        )))
    }
}

fn check_columns(schema: &TableSchema) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    let mut pk_positions = Vec::new();
    let mut ck_positions = Vec::new();
    for c in &schema.columns {
        if c.name.is_empty() {
            return Err(Error::invalid("a column needs a name"));
        }
        if !names.insert(c.name.as_str()) {
            return Err(Error::invalid(format!(
                "column {} is defined twice",
                c.name
            )));
        }
        match c.kind {
            ColumnKind::PartitionKey { position } => {
                check_key_type(&c.name, &c.ty)?;
                pk_positions.push(position);
            }
            ColumnKind::Clustering { position, .. } => {
                check_key_type(&c.name, &c.ty)?;
                check_clustering_type(&c.ty).map_err(|e| match e {
                    crate::storage::Error::InvalidRequest(m) => Error::Invalid(m),
                    other => Error::Storage(other),
                })?;
                ck_positions.push(position);
            }
            ColumnKind::Regular => {}
        }
    }
    if pk_positions.is_empty() {
        return Err(Error::invalid(format!(
            "table {} needs a partition key",
            schema.name
        )));
    }
    check_positions("partition key", pk_positions)?;
    check_positions("clustering", ck_positions)
}

/// Key columns cannot be non-frozen collections or durations (as in Cassandra).
fn check_key_type(name: &str, ty: &CqlType) -> Result<()> {
    if ty.is_collection() && !ty.is_frozen() {
        return Err(Error::invalid(format!(
            "primary key column {name} cannot be a non-frozen collection ({ty})"
        )));
    }
    if *ty == CqlType::Duration {
        return Err(Error::invalid(format!(
            "primary key column {name} cannot be a duration"
        )));
    }
    Ok(())
}

/// Positions must be exactly 0..n.
fn check_positions(what: &str, mut positions: Vec<u16>) -> Result<()> {
    positions.sort_unstable();
    if positions
        .iter()
        .enumerate()
        .all(|(i, &p)| usize::from(p) == i)
    {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} column positions {positions:?} must be 0, 1, ... without gaps or repeats"
        )))
    }
}
