//! CREATE / DROP KEYSPACE, CREATE / DROP TABLE and TRUNCATE: statements to catalog
//! definitions for the `Db`, and the SCHEMA_CHANGE they return.

use crate::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use crate::cql::ast::{CreateKeyspace, CreateTable, OptionValue};
use crate::cql::result::CqlError;
use crate::storage::types::{check_clustering_type, CqlType, Order};
use std::collections::BTreeMap;

/// Keyspaces users may not create, alter or drop.
pub const SYSTEM_KEYSPACES: &[&str] = &[
    "system",
    "system_schema",
    "system_auth",
    "system_distributed",
    "system_traces",
];

/// Cassandra's limit on keyspace and table names.
const MAX_NAME_LEN: usize = 48;

fn check_name(name: &str, what: &str) -> Result<(), CqlError> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(CqlError::invalid(format!(
            "{what} name must not be empty, more than {MAX_NAME_LEN} characters long, or contain non-alphanumeric-underscore characters (got \"{name}\")"
        )));
    }
    Ok(())
}

pub(crate) fn check_user_keyspace(name: &str) -> Result<(), CqlError> {
    if SYSTEM_KEYSPACES.contains(&name) {
        return Err(CqlError::new(
            crate::cql::result::ErrorKind::Unauthorized,
            format!("{name} keyspace is not user-modifiable."),
        ));
    }
    Ok(())
}

pub(crate) fn keyspace_def(k: &CreateKeyspace) -> Result<KeyspaceDef, CqlError> {
    check_name(&k.name, "Keyspace")?;
    check_user_keyspace(&k.name)?;
    let class = k.replication.get("class").ok_or_else(|| {
        CqlError::new(
            crate::cql::result::ErrorKind::Config,
            "Missing mandatory replication strategy class",
        )
    })?;
    let known = [
        "SimpleStrategy",
        "NetworkTopologyStrategy",
        "LocalStrategy",
        "org.apache.cassandra.locator.SimpleStrategy",
        "org.apache.cassandra.locator.NetworkTopologyStrategy",
    ];
    if !known.contains(&class.as_str()) {
        return Err(CqlError::new(
            crate::cql::result::ErrorKind::Config,
            format!("Unable to find replication strategy class '{class}'"),
        ));
    }
    let mut replication = k.replication.clone();
    if let Some(short) = class.strip_prefix("org.apache.cassandra.locator.") {
        replication.insert("class".into(), short.to_string());
    }
    Ok(KeyspaceDef {
        name: k.name.clone(),
        replication,
        durable_writes: k.durable_writes.unwrap_or(true),
    })
}

/// Table options scrolldb accepts and ignores, as they only tune Cassandra internals.
const IGNORED_OPTIONS: &[&str] = &[
    "bloom_filter_fp_chance",
    "caching",
    "crc_check_chance",
    "dclocal_read_repair_chance",
    "read_repair_chance",
    "speculative_retry",
    "min_index_interval",
    "max_index_interval",
    "memtable_flush_period_in_ms",
    "tombstone_gc",
    "paxos_grace_seconds",
    "additional_write_policy",
    "read_repair",
    "extensions",
];

fn int_option(name: &str, v: &OptionValue) -> Result<i64, CqlError> {
    match v {
        OptionValue::Constant(c) => c.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            CqlError::new(
                crate::cql::result::ErrorKind::Config,
                format!("{name} must be a non-negative integer, got {c}"),
            )
        }),
        OptionValue::Map(_) => Err(CqlError::syntax(format!(
            "Invalid value for property '{name}'"
        ))),
    }
}

fn params(options: &[(String, OptionValue)]) -> Result<TableParams, CqlError> {
    let mut p = TableParams::default();
    for (name, v) in options {
        match (name.as_str(), v) {
            ("default_time_to_live", v) => {
                let ttl = int_option(name, v)?;
                if ttl > super::write::MAX_TTL_SECS {
                    return Err(CqlError::new(
                        crate::cql::result::ErrorKind::Config,
                        format!(
                            "default_time_to_live must be less than or equal to {} (got {ttl})",
                            super::write::MAX_TTL_SECS
                        ),
                    ));
                }
                p.default_time_to_live = ttl as i32;
            }
            ("gc_grace_seconds", v) => p.gc_grace_seconds = int_option(name, v)?,
            ("compaction", OptionValue::Map(m)) => {
                if !m.contains_key("class") {
                    return Err(CqlError::new(
                        crate::cql::result::ErrorKind::Config,
                        "Missing sub-option 'class' for the 'compaction' option.",
                    ));
                }
                p.compaction = m.clone();
            }
            ("compression", OptionValue::Map(m)) => p.compression = m.clone(),
            ("comment", OptionValue::Constant(c)) => p.comment = c.clone(),
            ("cdc", _) => {
                return Err(CqlError::invalid("CDC is not supported by scrolldb"));
            }
            (n, _) if IGNORED_OPTIONS.contains(&n) => {}
            (n, _) => return Err(CqlError::syntax(format!("Unknown property '{n}'"))),
        }
    }
    Ok(p)
}

/// The schema of a CREATE TABLE; the `Db` assigns the table id, uuid and column ids.
pub(crate) fn table_schema(keyspace: &str, c: &CreateTable) -> Result<TableSchema, CqlError> {
    check_name(&c.name.name, "Table")?;
    check_user_keyspace(keyspace)?;
    if c.compact_storage {
        return Err(CqlError::invalid(
            "COMPACT STORAGE is not supported by scrolldb",
        ));
    }
    if c.partition_key.is_empty() {
        return Err(CqlError::invalid(
            "No PRIMARY KEY specifed (exactly one required)",
        ));
    }
    let mut types: BTreeMap<&str, CqlType> = BTreeMap::new();
    for d in &c.columns {
        if d.is_static {
            return Err(CqlError::invalid(
                "Static columns are not supported by scrolldb",
            ));
        }
        let ty = CqlType::parse(&d.ty).map_err(|e| CqlError::invalid(e.to_string()))?;
        if types.insert(d.name.as_str(), ty).is_some() {
            return Err(CqlError::invalid(format!(
                "Multiple definition of identifier {}",
                d.name
            )));
        }
    }
    let mut key_names: Vec<&str> = Vec::new();
    for k in c.partition_key.iter().chain(&c.clustering) {
        if key_names.contains(&k.as_str()) {
            return Err(CqlError::invalid(format!(
                "Multiple definition of identifier {k}"
            )));
        }
        key_names.push(k);
    }
    // CLUSTERING ORDER BY must name the clustering columns in order.
    let mut orders = vec![Order::Asc; c.clustering.len()];
    for (i, (name, desc)) in c.clustering_order.iter().enumerate() {
        if !c.clustering.contains(name) {
            return Err(CqlError::invalid(format!(
                "Only clustering key columns can be defined in CLUSTERING ORDER directive: {name}"
            )));
        }
        if c.clustering.get(i) != Some(name) {
            return Err(CqlError::invalid(
                "The order of columns in the CLUSTERING ORDER directive must be the one of the clustering key",
            ));
        }
        if let Some(o) = orders.get_mut(i) {
            *o = if *desc { Order::Desc } else { Order::Asc };
        }
    }
    let mut columns = Vec::with_capacity(c.columns.len());
    let ty_of = |name: &str| {
        types.get(name).cloned().ok_or_else(|| {
            CqlError::invalid(format!(
                "Unknown definition {name} referenced in PRIMARY KEY"
            ))
        })
    };
    for (i, name) in c.partition_key.iter().enumerate() {
        let ty = ty_of(name)?;
        if !ty.is_frozen() {
            return Err(CqlError::invalid(format!(
                "Invalid non-frozen collection type for PRIMARY KEY component {name}"
            )));
        }
        if ty == CqlType::Duration {
            return Err(CqlError::invalid(format!(
                "duration type is not supported for PRIMARY KEY column '{name}'"
            )));
        }
        columns.push(ColumnDef {
            name: name.clone(),
            ty,
            id: 0,
            kind: ColumnKind::PartitionKey { position: i as u16 },
        });
    }
    for (i, name) in c.clustering.iter().enumerate() {
        let ty = ty_of(name)?;
        if !ty.is_frozen() {
            return Err(CqlError::invalid(format!(
                "Invalid non-frozen collection type for PRIMARY KEY component {name}"
            )));
        }
        check_clustering_type(&ty).map_err(|e| CqlError::invalid(e.to_string()))?;
        let order = orders.get(i).copied().unwrap_or_default();
        columns.push(ColumnDef {
            name: name.clone(),
            ty,
            id: 0,
            kind: ColumnKind::Clustering {
                position: i as u16,
                order,
            },
        });
    }
    for (name, ty) in &types {
        if !key_names.contains(name) {
            columns.push(ColumnDef {
                name: (*name).to_string(),
                ty: ty.clone(),
                id: 0,
                kind: ColumnKind::Regular,
            });
        }
    }
    Ok(TableSchema {
        keyspace: keyspace.to_string(),
        name: c.name.name.clone(),
        id: 0,
        uuid: [0; 16],
        columns,
        params: params(&c.options)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cql::ast::Statement;
    use crate::cql::parser::parse;

    fn create(ddl: &str) -> Result<TableSchema, CqlError> {
        let Statement::CreateTable(c) = parse(ddl)?.statement else {
            panic!()
        };
        table_schema("ks", &c)
    }

    #[test]
    fn column_order_and_params() {
        let t = create(
            "CREATE TABLE t (z text, b int, a int, y int, k bigint, PRIMARY KEY ((k, b), y)) \
             WITH CLUSTERING ORDER BY (y DESC) AND default_time_to_live = 5 AND caching = {'keys': 'ALL'}",
        )
        .unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["k", "b", "y", "a", "z"]);
        assert_eq!(
            t.columns[2].kind,
            ColumnKind::Clustering {
                position: 0,
                order: Order::Desc
            }
        );
        assert_eq!(t.params.default_time_to_live, 5);
    }

    #[test]
    fn refusals() {
        for (ddl, msg) in [
            ("CREATE TABLE t (k int, v int)", "No PRIMARY KEY"),
            ("CREATE TABLE t (k int PRIMARY KEY, v int, PRIMARY KEY (v))", "Multiple PRIMARY KEYs"),
            ("CREATE TABLE t (k int, c decimal, PRIMARY KEY (k, c))", "decimal"),
            ("CREATE TABLE t (k list<int> PRIMARY KEY)", "non-frozen collection"),
            ("CREATE TABLE t (k int, c int, d int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (d DESC)", "order of columns"),
            ("CREATE TABLE t (k int PRIMARY KEY, v nope)", "unknown type"),
            ("CREATE TABLE t (k int PRIMARY KEY, v int STATIC)", "Static"),
            ("CREATE TABLE t (k int PRIMARY KEY) WITH COMPACT STORAGE", "COMPACT STORAGE"),
            ("CREATE TABLE t (k int PRIMARY KEY) WITH foo = 1", "Unknown property"),
            ("CREATE TABLE t (k int PRIMARY KEY, k text)", "Multiple definition"),
            ("CREATE TABLE t (k int, PRIMARY KEY (x))", "Unknown definition x"),
        ] {
            let e = create(ddl).err().unwrap_or_else(|| panic!("{ddl}"));
            assert!(e.message.contains(msg), "{ddl}: {}", e.message);
        }
    }
}
