//! `system_schema.keyspaces`, `tables` and `columns`, from the catalog.
//!
//! Class names are shown fully qualified as Cassandra stores them: drivers match on
//! `org.apache.cassandra.locator.SimpleStrategy`, and cqlsh's DESCRIBE prints what it reads.

use super::{
    boolean, cell, double, frozen_map, frozen_set, int, specs, text, text_map, text_set, uuid,
    SystemRows,
};
use super::{VirtualTable, VIRTUAL_TABLES};
use crate::catalog::{Catalog, ColumnKind, TableParams};
use crate::cql::result::ColumnSpec;
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

pub fn tables_layout() -> Vec<ColumnSpec> {
    let mut layout = vec![
        ("keyspace_name", CqlType::Text),
        ("table_name", CqlType::Text),
    ];
    layout.extend(option_columns());
    specs("system_schema", "tables", &layout)
}

pub fn tables(catalog: &Catalog) -> SystemRows {
    let mut rows: Vec<_> = VIRTUAL_TABLES
        .iter()
        .map(|v| {
            let params = TableParams {
                comment: format!("virtual table {}.{}", v.keyspace, v.table),
                ..TableParams::default()
            };
            table_row(v.keyspace, v.table, &params, virtual_table_uuid(v))
        })
        .collect();
    rows.extend(
        catalog
            .tables
            .values()
            .map(|t| table_row(&t.keyspace, &t.name, &t.params, t.uuid)),
    );
    (tables_layout(), rows)
}

/// A stable id for a virtual table, derived from its name.
fn virtual_table_uuid(v: &VirtualTable) -> [u8; 16] {
    let name = format!("{}.{}", v.keyspace, v.table);
    let (a, b) = crate::storage::token::murmur3_x64_128(name.as_bytes());
    let mut id = [0u8; 16];
    let (hi, lo) = id.split_at_mut(8);
    hi.copy_from_slice(&a.to_be_bytes());
    lo.copy_from_slice(&b.to_be_bytes());
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    id
}

fn table_row(
    keyspace: &str,
    name: &str,
    p: &TableParams,
    id: [u8; 16],
) -> Vec<Option<bytes::Bytes>> {
    let gc_grace = i32::try_from(p.gc_grace_seconds).unwrap_or(i32::MAX);
    vec![
        text(keyspace),
        text(name),
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
        uuid(id),
        int(2048),
        int(0),
        int(128),
        double(0.0),
        text("99PERCENTILE"),
    ]
}

pub fn columns_layout() -> Vec<ColumnSpec> {
    specs(
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
    )
}

fn column_row(
    keyspace: &str,
    table: &str,
    name: &str,
    kind: ColumnKind,
    ty: &CqlType,
) -> Vec<Option<bytes::Bytes>> {
    let (kind, position, order) = match kind {
        ColumnKind::PartitionKey { position } => ("partition_key", i32::from(position), "none"),
        ColumnKind::Clustering { position, order } => (
            "clustering",
            i32::from(position),
            if order == Order::Desc { "desc" } else { "asc" },
        ),
        ColumnKind::Regular => ("regular", -1, "none"),
    };
    vec![
        text(keyspace),
        text(table),
        text(name),
        text(order),
        cell(Value::Blob(bytes::Bytes::copy_from_slice(name.as_bytes()))),
        text(kind),
        int(position),
        text(&ty.to_string()),
    ]
}

pub fn columns(catalog: &Catalog) -> SystemRows {
    let mut rows = Vec::new();
    for v in VIRTUAL_TABLES {
        let Some(layout) = super::layout(v.keyspace, v.table) else {
            continue;
        };
        for (i, c) in layout.iter().enumerate() {
            let position = u16::try_from(i).unwrap_or(u16::MAX);
            let kind = if i < v.partition_key {
                ColumnKind::PartitionKey { position }
            } else if i < v.partition_key + v.clustering {
                ColumnKind::Clustering {
                    position: position.saturating_sub(v.partition_key as u16),
                    order: Order::Asc,
                }
            } else {
                ColumnKind::Regular
            };
            rows.push(column_row(v.keyspace, v.table, &c.name, kind, &c.ty));
        }
    }
    for t in catalog.tables.values() {
        for c in &t.columns {
            rows.push(column_row(&t.keyspace, &t.name, &c.name, c.kind, &c.ty));
        }
    }
    (columns_layout(), rows)
}
