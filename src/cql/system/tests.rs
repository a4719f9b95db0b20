use super::*;
use crate::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use crate::storage::types::Order;
use std::collections::BTreeMap;
use std::sync::Arc;

fn catalog() -> Catalog {
    let mut c = Catalog {
        version: [7; 16],
        ..Catalog::default()
    };
    c.keyspaces.insert(
        "chat".into(),
        KeyspaceDef {
            name: "chat".into(),
            replication: BTreeMap::from([
                ("class".into(), "SimpleStrategy".into()),
                ("replication_factor".into(), "1".into()),
            ]),
            durable_writes: true,
        },
    );
    let col = |name: &str, ty: CqlType, id, kind| ColumnDef {
        name: name.into(),
        ty,
        id,
        kind,
    };
    let table = TableSchema {
        keyspace: "chat".into(),
        name: "messages".into(),
        id: 1,
        uuid: [9; 16],
        columns: vec![
            col(
                "channel_id",
                CqlType::BigInt,
                0,
                ColumnKind::PartitionKey { position: 0 },
            ),
            col(
                "bucket",
                CqlType::Int,
                1,
                ColumnKind::PartitionKey { position: 1 },
            ),
            col(
                "message_id",
                CqlType::BigInt,
                2,
                ColumnKind::Clustering {
                    position: 0,
                    order: Order::Desc,
                },
            ),
            col(
                "tags",
                CqlType::Set {
                    elem: Box::new(CqlType::Text),
                    frozen: true,
                },
                3,
                ColumnKind::Regular,
            ),
        ],
        params: TableParams::default(),
    };
    c.tables
        .insert(("chat".into(), "messages".into()), Arc::new(table));
    c
}

fn rows(ks: &str, table: &str) -> SystemRows {
    system_table(&catalog(), &NodeInfo::default(), ks, table)
        .expect("a system table")
        .expect("rows")
}

/// The value of `column` in `row`, decoded.
fn get(t: &SystemRows, row: usize, column: &str) -> Option<Value> {
    let i = t.0.iter().position(|c| c.name == column).expect(column);
    t.1[row][i].as_ref().map(|b| {
        t.0[i]
            .ty
            .deserialize(b)
            .expect("value decodes as its column type")
    })
}

fn text_of(v: Option<Value>) -> String {
    match v {
        Some(Value::Text(s)) => s,
        other => panic!("not text: {other:?}"),
    }
}

#[test]
fn every_row_has_one_decodable_value_per_column() {
    let all = [
        ("system", "local"),
        ("system", "peers"),
        ("system", "peers_v2"),
        ("system_schema", "keyspaces"),
        ("system_schema", "tables"),
        ("system_schema", "columns"),
        ("system_schema", "types"),
        ("system_schema", "functions"),
        ("system_schema", "aggregates"),
        ("system_schema", "triggers"),
        ("system_schema", "indexes"),
        ("system_schema", "views"),
        ("system_schema", "dropped_columns"),
    ];
    for (ks, table) in all {
        let t = rows(ks, table);
        assert!(t.0.iter().all(|c| c.keyspace == ks && c.table == table));
        for row in &t.1 {
            assert_eq!(row.len(), t.0.len(), "{ks}.{table}");
            for (spec, v) in t.0.iter().zip(row) {
                if let Some(b) = v {
                    spec.ty.deserialize(b).expect("decodes");
                }
            }
        }
    }
    assert!(system_table(&catalog(), &NodeInfo::default(), "system", "nope").is_none());
    assert!(system_table(&catalog(), &NodeInfo::default(), "chat", "messages").is_none());
}

#[test]
fn local_describes_this_node() {
    let t = rows("system", "local");
    assert_eq!(t.1.len(), 1);
    assert_eq!(text_of(get(&t, 0, "key")), "local");
    assert_eq!(text_of(get(&t, 0, "cluster_name")), "scrolldb");
    assert_eq!(text_of(get(&t, 0, "data_center")), "datacenter1");
    assert_eq!(text_of(get(&t, 0, "rack")), "rack1");
    assert_eq!(text_of(get(&t, 0, "cql_version")), "3.3.1");
    assert_eq!(text_of(get(&t, 0, "release_version")), "3.0.8");
    assert_eq!(text_of(get(&t, 0, "native_protocol_version")), "4");
    assert_eq!(text_of(get(&t, 0, "bootstrapped")), "COMPLETED");
    assert_eq!(
        text_of(get(&t, 0, "partitioner")),
        "org.apache.cassandra.dht.Murmur3Partitioner"
    );
    assert_eq!(get(&t, 0, "schema_version"), Some(Value::Uuid([7; 16])));
    let Some(Value::Set(tokens)) = get(&t, 0, "tokens") else {
        panic!("tokens")
    };
    assert!(!tokens.is_empty());
    assert_eq!(
        get(&t, 0, "rpc_address"),
        Some(Value::Inet("127.0.0.1".parse().unwrap()))
    );
    let Some(Value::Uuid(host)) = get(&t, 0, "host_id") else {
        panic!("host_id")
    };
    assert_eq!(host[6] >> 4, 4, "a version 4 uuid");
    assert_eq!(rows("system", "peers").1.len(), 0);
    assert_eq!(rows("system", "peers_v2").1.len(), 0);
}

#[test]
fn keyspaces_include_the_system_ones_with_full_class_names() {
    let t = rows("system_schema", "keyspaces");
    let names: Vec<String> = (0..t.1.len())
        .map(|i| text_of(get(&t, i, "keyspace_name")))
        .collect();
    assert_eq!(names, ["system", "system_schema", "chat"]);
    let Some(Value::Map(replication)) = get(&t, 2, "replication") else {
        panic!("replication")
    };
    assert!(replication.contains(&(
        Value::Text("class".into()),
        Value::Text("org.apache.cassandra.locator.SimpleStrategy".into())
    )));
    assert!(replication.contains(&(
        Value::Text("replication_factor".into()),
        Value::Text("1".into())
    )));
}

#[test]
fn tables_and_columns_describe_the_catalog() {
    let t = rows("system_schema", "tables");
    let user: Vec<usize> = in_keyspace(&t, "chat");
    assert_eq!(user.len(), 1);
    let r = user[0];
    assert_eq!(text_of(get(&t, r, "table_name")), "messages");
    assert_eq!(
        get(&t, r, "flags"),
        Some(Value::Set(vec![Value::Text("compound".into())]))
    );
    assert_eq!(get(&t, r, "gc_grace_seconds"), Some(Value::Int(864_000)));
    assert_eq!(get(&t, r, "id"), Some(Value::Uuid([9; 16])));
    let Some(Value::Map(compaction)) = get(&t, r, "compaction") else {
        panic!("compaction")
    };
    assert!(compaction.contains(&(
        Value::Text("class".into()),
        Value::Text("org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy".into())
    )));

    let c = rows("system_schema", "columns");
    let described: Vec<(String, String, i32, String, String)> = in_keyspace(&c, "chat")
        .into_iter()
        .map(|i| {
            let Some(Value::Int(p)) = get(&c, i, "position") else {
                panic!("position")
            };
            (
                text_of(get(&c, i, "column_name")),
                text_of(get(&c, i, "kind")),
                p,
                text_of(get(&c, i, "clustering_order")),
                text_of(get(&c, i, "type")),
            )
        })
        .collect();
    let want = [
        ("channel_id", "partition_key", 0, "none", "bigint"),
        ("bucket", "partition_key", 1, "none", "int"),
        ("message_id", "clustering", 0, "desc", "bigint"),
        ("tags", "regular", -1, "none", "frozen<set<text>>"),
    ];
    let want: Vec<(String, String, i32, String, String)> = want
        .iter()
        .map(|(a, b, c, d, e)| {
            (
                a.to_string(),
                b.to_string(),
                *c,
                d.to_string(),
                e.to_string(),
            )
        })
        .collect();
    assert_eq!(described, want);
}

/// The rows of `t` whose `keyspace_name` is `ks`.
fn in_keyspace(t: &SystemRows, ks: &str) -> Vec<usize> {
    (0..t.1.len())
        .filter(|&i| text_of(get(t, i, "keyspace_name")) == ks)
        .collect()
}

/// cqlsh and the Python driver only SELECT from tables their metadata knows, so every virtual
/// table is described in `system_schema.tables` and `columns`, keys included.
#[test]
fn virtual_tables_describe_themselves() {
    let t = rows("system_schema", "tables");
    let c = rows("system_schema", "columns");
    for v in VIRTUAL_TABLES {
        let listed = (0..t.1.len()).any(|i| {
            text_of(get(&t, i, "keyspace_name")) == v.keyspace
                && text_of(get(&t, i, "table_name")) == v.table
        });
        assert!(
            listed,
            "{}.{} missing from system_schema.tables",
            v.keyspace, v.table
        );
        let (layout, _) = rows(v.keyspace, v.table);
        let described: Vec<(String, String)> = (0..c.1.len())
            .filter(|&i| {
                text_of(get(&c, i, "keyspace_name")) == v.keyspace
                    && text_of(get(&c, i, "table_name")) == v.table
            })
            .map(|i| {
                (
                    text_of(get(&c, i, "column_name")),
                    text_of(get(&c, i, "kind")),
                )
            })
            .collect();
        assert_eq!(described.len(), layout.len(), "{}.{}", v.keyspace, v.table);
        for (i, (spec, (name, kind))) in layout.iter().zip(&described).enumerate() {
            assert_eq!(&spec.name, name);
            let want = if i < v.partition_key {
                "partition_key"
            } else if i < v.partition_key + v.clustering {
                "clustering"
            } else {
                "regular"
            };
            assert_eq!(kind, want, "{}.{}.{}", v.keyspace, v.table, name);
        }
    }
}
