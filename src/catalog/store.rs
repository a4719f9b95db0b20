//! The catalog on disk: `catalog.json` in the database directory, replaced atomically
//! (write a temporary file, fsync it, rename it over the old one, fsync the directory), so
//! a crash leaves either the old or the new catalog, never a mix.
//!
//! JSON because the catalog is small, rarely written and worth reading by eye. Types are
//! stored as their CQL names and parsed back with `CqlType::parse`.

use super::schema::{Catalog, ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use super::uuid::{from_hex, to_hex};
use crate::error::{Error, Result};
use crate::storage::model::TableId;
use crate::storage::types::{CqlType, Order};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub const CATALOG_FILE: &str = "catalog.json";
const FORMAT_VERSION: u32 = 1;

/// The catalog and the next table id to hand out (ids are never reused).
#[derive(Clone, Debug, Default)]
pub struct StoredCatalog {
    pub catalog: Catalog,
    pub next_table_id: TableId,
}

#[derive(Serialize, Deserialize)]
struct CatalogFile {
    format: u32,
    version: String,
    next_table_id: TableId,
    keyspaces: Vec<KeyspaceRecord>,
    tables: Vec<TableRecord>,
}

#[derive(Serialize, Deserialize)]
struct KeyspaceRecord {
    name: String,
    replication: BTreeMap<String, String>,
    durable_writes: bool,
}

#[derive(Serialize, Deserialize)]
struct TableRecord {
    keyspace: String,
    name: String,
    id: TableId,
    uuid: String,
    columns: Vec<ColumnRecord>,
    default_time_to_live: i32,
    gc_grace_seconds: i64,
    compaction: BTreeMap<String, String>,
    compression: BTreeMap<String, String>,
    comment: String,
}

#[derive(Serialize, Deserialize)]
struct ColumnRecord {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    id: u32,
    /// "partition_key", "clustering" or "regular".
    kind: String,
    position: u16,
    desc: bool,
}

/// Loads the catalog of `dir`; an empty catalog when there is none yet.
pub fn load(dir: &Path) -> Result<StoredCatalog> {
    let path = dir.join(CATALOG_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoredCatalog::default()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let corrupt =
        |reason: String| Error::Storage(crate::storage::Error::corruption(&path, 0, reason));
    let file: CatalogFile =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("catalog: {e}")))?;
    if file.format != FORMAT_VERSION {
        return Err(Error::Storage(crate::storage::Error::UnsupportedVersion {
            file: path.clone(),
            found: file.format,
            supported: FORMAT_VERSION,
        }));
    }
    let mut catalog = Catalog {
        version: from_hex(&file.version).ok_or_else(|| corrupt("bad schema version".into()))?,
        ..Catalog::default()
    };
    for ks in file.keyspaces {
        catalog.keyspaces.insert(
            ks.name.clone(),
            KeyspaceDef {
                name: ks.name,
                replication: ks.replication,
                durable_writes: ks.durable_writes,
            },
        );
    }
    for t in file.tables {
        let table = decode_table(t).map_err(corrupt)?;
        catalog.tables.insert(
            (table.keyspace.clone(), table.name.clone()),
            Arc::new(table),
        );
    }
    Ok(StoredCatalog {
        catalog,
        next_table_id: file.next_table_id,
    })
}

fn decode_table(t: TableRecord) -> std::result::Result<TableSchema, String> {
    let uuid = from_hex(&t.uuid).ok_or_else(|| format!("table {}: bad uuid", t.name))?;
    let mut columns = Vec::with_capacity(t.columns.len());
    for c in t.columns {
        let ty = CqlType::parse(&c.ty).map_err(|e| format!("column {}: {e}", c.name))?;
        let kind = match c.kind.as_str() {
            "partition_key" => ColumnKind::PartitionKey {
                position: c.position,
            },
            "clustering" => ColumnKind::Clustering {
                position: c.position,
                order: if c.desc { Order::Desc } else { Order::Asc },
            },
            "regular" => ColumnKind::Regular,
            other => return Err(format!("column {}: unknown kind {other}", c.name)),
        };
        columns.push(ColumnDef {
            name: c.name,
            ty,
            id: c.id,
            kind,
        });
    }
    Ok(TableSchema {
        keyspace: t.keyspace,
        name: t.name,
        id: t.id,
        uuid,
        columns,
        params: TableParams {
            default_time_to_live: t.default_time_to_live,
            gc_grace_seconds: t.gc_grace_seconds,
            compaction: t.compaction,
            compression: t.compression,
            comment: t.comment,
        },
    })
}

fn encode(stored: &StoredCatalog) -> CatalogFile {
    let catalog = &stored.catalog;
    CatalogFile {
        format: FORMAT_VERSION,
        version: to_hex(&catalog.version),
        next_table_id: stored.next_table_id,
        keyspaces: catalog
            .keyspaces
            .values()
            .map(|k| KeyspaceRecord {
                name: k.name.clone(),
                replication: k.replication.clone(),
                durable_writes: k.durable_writes,
            })
            .collect(),
        tables: catalog.tables.values().map(|t| encode_table(t)).collect(),
    }
}

fn encode_table(t: &TableSchema) -> TableRecord {
    TableRecord {
        keyspace: t.keyspace.clone(),
        name: t.name.clone(),
        id: t.id,
        uuid: to_hex(&t.uuid),
        columns: t
            .columns
            .iter()
            .map(|c| {
                let (kind, position, desc) = match c.kind {
                    ColumnKind::PartitionKey { position } => ("partition_key", position, false),
                    ColumnKind::Clustering { position, order } => {
                        ("clustering", position, order == Order::Desc)
                    }
                    ColumnKind::Regular => ("regular", 0, false),
                };
                ColumnRecord {
                    name: c.name.clone(),
                    ty: c.ty.to_string(),
                    id: c.id,
                    kind: kind.to_string(),
                    position,
                    desc,
                }
            })
            .collect(),
        default_time_to_live: t.params.default_time_to_live,
        gc_grace_seconds: t.params.gc_grace_seconds,
        compaction: t.params.compaction.clone(),
        compression: t.params.compression.clone(),
        comment: t.params.comment.clone(),
    }
}

/// Writes the catalog atomically and durably.
pub fn store(dir: &Path, stored: &StoredCatalog) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(&encode(stored))
        .map_err(|e| Error::invalid(format!("cannot encode the catalog: {e}")))?;
    write_atomically(dir, CATALOG_FILE, &bytes)
}

/// Replaces `dir/name` with `bytes`: temporary file, fsync, rename, directory fsync.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)
}

/// Makes a directory's entries (new, renamed or removed files) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::uuid::random_v4;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().catalog.tables.is_empty());
        let mut catalog = Catalog {
            version: random_v4(),
            ..Catalog::default()
        };
        catalog.keyspaces.insert(
            "chat".into(),
            KeyspaceDef {
                name: "chat".into(),
                replication: BTreeMap::from([("class".into(), "SimpleStrategy".into())]),
                durable_writes: true,
            },
        );
        let table = TableSchema {
            keyspace: "chat".into(),
            name: "messages".into(),
            id: 7,
            uuid: random_v4(),
            columns: vec![
                ColumnDef {
                    name: "channel_id".into(),
                    ty: CqlType::BigInt,
                    id: 0,
                    kind: ColumnKind::PartitionKey { position: 0 },
                },
                ColumnDef {
                    name: "message_id".into(),
                    ty: CqlType::BigInt,
                    id: 1,
                    kind: ColumnKind::Clustering {
                        position: 0,
                        order: Order::Desc,
                    },
                },
                ColumnDef {
                    name: "tags".into(),
                    ty: CqlType::parse("frozen<map<text, frozen<list<int>>>>").unwrap(),
                    id: 2,
                    kind: ColumnKind::Regular,
                },
            ],
            params: TableParams {
                default_time_to_live: 60,
                ..TableParams::default()
            },
        };
        catalog
            .tables
            .insert(("chat".into(), "messages".into()), Arc::new(table));
        let stored = StoredCatalog {
            catalog,
            next_table_id: 8,
        };
        store(dir.path(), &stored).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.catalog, stored.catalog);
        assert_eq!(back.next_table_id, 8);

        fs::write(dir.path().join(CATALOG_FILE), b"{\"format\": 1").unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(Error::Storage(crate::storage::Error::Corruption { .. }))
        ));
    }
}
