//! `system_schema.keyspaces`, `tables` and `columns`, from the catalog.
//!
//! Class names are shown fully qualified as Cassandra stores them: drivers match on
//! `org.apache.cassandra.locator.SimpleStrategy`, and cqlsh's DESCRIBE prints what it reads.

use super::{
    boolean, cell, double, frozen_map, frozen_set, int, specs, text, text_map, text_set, uuid,
    SystemRows,
};
use crate::catalog::{Catalog, ColumnKind, TableSchema};
use crate::storage::types::{CqlType, Order, Value};
use std::collections::BTreeMap;

/// Keyspaces that always exist, shown with Cassandra's `LocalStrategy`.
const BUILTIN_KEYSPACES: &[&str] = &["system", "system_schema"];

const STRATEGY_PACKAGE: &str = "org.apache.cassandra.locator.";
const COMPACTION_PACKAGE: &str = "org.apache.cassandra.db.compaction.";

/// `SimpleStrategy` becomes `org.apache.cassandra.locator.SimpleStrategy`; a name that already
/// has a package is kept.
fn qualified(class: &str, package: &str) -> String {
    if class.contains('.') {
        class.to_string()
    } else {
        format!("{package}{class}")
    }
}

/// A class-bearing options map with its `class` qualified.
fn with_qualified_class(map: &BTreeMap<String, String>, package: &str) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let v = if k == "class" {
                qualified(v, package)
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

fn map_cell(map: &BTreeMap<String, String>) -> Option<bytes::Bytes> {
    text_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

pub fn keyspaces(catalog: &Catalog) -> SystemRows {
    let columns = specs(
        "system_schema",
        "keyspaces",
        &[
            ("keyspace_name", CqlType::Text),
            ("durable_writes", CqlType::Boolean),
            ("replication", frozen_map(CqlType::Text, CqlType::Text)),
        ],
    );
    let mut rows = Vec::new();
    for name in BUILTIN_KEYSPACES {
        if catalog.keyspace(name).is_none() {
            let replication = BTreeMap::from([(
                "class".to_string(),
                format!("{STRATEGY_PACKAGE}LocalStrategy"),
            )]);
            rows.push(vec![text(name), boolean(true), map_cell(&replication)]);
        }
    }
    for ks in catalog.keyspaces.values() {
        let replication = with_qualified_class(&ks.replication, STRATEGY_PACKAGE);
        rows.push(vec![
            text(&ks.name),
            boolean(ks.durable_writes),
            map_cell(&replication),
        ]);
    }
    (columns, rows)
}

/// The table option columns shared by `tables` and `views`, in Cassandra's order, after
/// `keyspace_name` and the table's name.
pub(super) fn option_columns() -> Vec<(&'static str, CqlType)> {
    vec![
        ("bloom_filter_fp_chance", CqlType::Double),
        ("caching", frozen_map(CqlType::Text, CqlType::Text)),
        ("comment", CqlType::Text),
        ("compaction", frozen_map(CqlType::Text, CqlType::Text)),
        ("compression", frozen_map(CqlType::Text, CqlType::Text)),
        ("crc_check_chance", CqlType::Double),
        ("dclocal_read_repair_chance", CqlType::Double),
        ("default_time_to_live", CqlType::Int),
        ("extensions", frozen_map(CqlType::Text, CqlType::Blob)),
        ("flags", frozen_set(CqlType::Text)),
        ("gc_grace_seconds", CqlType::Int),
        ("id", CqlType::Uuid),
        ("max_index_interval", CqlType::Int),
        ("memtable_flush_period_in_ms", CqlType::Int),
        ("min_index_interval", CqlType::Int),
        ("read_repair_chance", CqlType::Double),
        ("speculative_retry", CqlType::Text),
    ]
}

pub fn tables(catalog: &Catalog) -> SystemRows {
    let mut layout = vec![
        ("keyspace_name", CqlType::Text),
        ("table_name", CqlType::Text),
    ];
    layout.extend(option_columns());
    let columns = specs("system_schema", "tables", &layout);
    let rows = catalog.tables.values().map(|t| table_row(t)).collect();
    (columns, rows)
}

fn table_row(t: &TableSchema) -> Vec<Option<bytes::Bytes>> {
    let p = &t.params;
    let gc_grace = i32::try_from(p.gc_grace_seconds).unwrap_or(i32::MAX);
    vec![
        text(&t.keyspace),
        text(&t.name),
        double(0.01),
        text_map([("keys", "ALL"), ("rows_per_partition", "NONE")]),
        text(&p.comment),
        map_cell(&with_qualified_class(&p.compaction, COMPACTION_PACKAGE)),
        map_cell(&p.compression),
        double(1.0),
        double(0.0),
        int(p.default_time_to_live),
        cell(Value::Map(Vec::new())),
        // Every scrolldb table is a CQL3 table: neither dense nor super.
        text_set(["compound"]),
        int(gc_grace),
        uuid(t.uuid),
        int(2048),
        int(0),
        int(128),
        double(0.0),
        text("99PERCENTILE"),
    ]
}

pub fn columns(catalog: &Catalog) -> SystemRows {
    let columns = specs(
        "system_schema",
        "columns",
        &[
            ("keyspace_name", CqlType::Text),
            ("table_name", CqlType::Text),
            ("column_name", CqlType::Text),
            ("clustering_order", CqlType::Text),
            ("column_name_bytes", CqlType::Blob),
            ("kind", CqlType::Text),
            ("position", CqlType::Int),
            ("type", CqlType::Text),
        ],
    );
    let mut rows = Vec::new();
    for t in catalog.tables.values() {
        for c in &t.columns {
            let (kind, position, order) = match c.kind {
                ColumnKind::PartitionKey { position } => {
                    ("partition_key", i32::from(position), "none")
                }
                ColumnKind::Clustering { position, order } => (
                    "clustering",
                    i32::from(position),
                    if order == Order::Desc { "desc" } else { "asc" },
                ),
                ColumnKind::Regular => ("regular", -1, "none"),
            };
            rows.push(vec![
                text(&t.keyspace),
                text(&t.name),
                text(&c.name),
                text(order),
                cell(Value::Blob(bytes::Bytes::copy_from_slice(
                    c.name.as_bytes(),
                ))),
                text(kind),
                int(position),
                text(&c.ty.to_string()),
            ]);
        }
    }
    (columns, rows)
}
