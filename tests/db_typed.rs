//! The typed embedding API end to end: DDL, insert/update/delete, select with slices,
//! order, limits and paging, on several shards.

use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use scrolldb::storage::types::{CqlType, Order, Value};
use scrolldb::{Db, Delete, Error, KeyBound, Options, Select, WriteOptions};
use std::collections::BTreeMap;

fn column(name: &str, ty: CqlType, kind: ColumnKind) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty,
        id: 0,
        kind,
    }
}

fn messages_schema() -> TableSchema {
    TableSchema {
        keyspace: "chat".into(),
        name: "messages".into(),
        id: 0,
        uuid: [0; 16],
        columns: vec![
            column("content", CqlType::Text, ColumnKind::Regular),
            column(
                "message_id",
                CqlType::BigInt,
                ColumnKind::Clustering {
                    position: 0,
                    order: Order::Desc,
                },
            ),
            column("author_id", CqlType::BigInt, ColumnKind::Regular),
            column(
                "channel_id",
                CqlType::BigInt,
                ColumnKind::PartitionKey { position: 0 },
            ),
            column(
                "bucket",
                CqlType::Int,
                ColumnKind::PartitionKey { position: 1 },
            ),
        ],
        params: TableParams::default(),
    }
}

fn setup(shards: usize) -> Db {
    let db = Db::temporary_with(Options::with_shards(shards)).unwrap();
    let ks = KeyspaceDef {
        name: "chat".into(),
        replication: BTreeMap::new(),
        durable_writes: true,
    };
    assert!(db.create_keyspace(ks.clone(), false).unwrap());
    assert!(!db.create_keyspace(ks.clone(), true).unwrap());
    assert!(matches!(
        db.create_keyspace(ks, false),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(db.create_table(messages_schema(), false).unwrap());
    db
}

fn send(db: &Db, channel: i64, id: i64, text: &str) {
    db.insert(
        "chat",
        "messages",
        &[
            ("channel_id", Value::BigInt(channel)),
            ("bucket", Value::Int(0)),
            ("message_id", Value::BigInt(id)),
            ("author_id", Value::BigInt(7)),
            ("content", Value::Text(text.into())),
        ],
    )
    .unwrap();
}

fn ids(page: &scrolldb::Page) -> Vec<i64> {
    page.rows
        .iter()
        .map(|r| match r.get("message_id") {
            Some(Value::BigInt(i)) => *i,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn key(channel: i64) -> Vec<Value> {
    vec![Value::BigInt(channel), Value::Int(0)]
}

#[test]
fn catalog_orders_columns_and_assigns_ids() {
    let db = setup(2);
    let t = db.catalog().table("chat", "messages").unwrap().clone();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["channel_id", "bucket", "message_id", "author_id", "content"]
    );
    let ids: Vec<u32> = t.columns.iter().map(|c| c.id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    assert_eq!(t.uuid[6] >> 4, 4);
    let v1 = db.catalog().version;
    let mut other = messages_schema();
    other.name = "other".into();
    db.create_table(other, false).unwrap();
    assert_ne!(db.catalog().version, v1);
    assert_ne!(db.catalog().table("chat", "other").unwrap().id, t.id);

    let mut bad = messages_schema();
    bad.name = "bad".into();
    bad.columns[1].ty = CqlType::Duration;
    assert!(matches!(
        db.create_table(bad, false),
        Err(Error::Invalid(_))
    ));
    let mut nokeyspace = messages_schema();
    nokeyspace.keyspace = "nope".into();
    assert!(matches!(
        db.create_table(nokeyspace, false),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn newest_first_slices_paging_and_reverse() {
    let db = setup(3);
    for channel in 1..=5 {
        for id in 1..=30 {
            send(&db, channel, id, &format!("m{id}"));
        }
    }
    let newest = db
        .select(&Select::new("chat", "messages", key(3)).limit(10))
        .unwrap();
    assert_eq!(ids(&newest), (21..=30).rev().collect::<Vec<_>>());
    assert_eq!(
        newest.rows[0].get("content"),
        Some(&Value::Text("m30".into()))
    );
    assert_eq!(newest.rows[0].get("channel_id"), Some(&Value::BigInt(3)));

    // Scroll back with the paging state.
    let mut all = ids(&newest);
    let mut state = newest.paging_state.clone();
    while state.is_some() {
        let page = db
            .select(
                &Select::new("chat", "messages", key(3))
                    .limit(10)
                    .page(state.clone()),
            )
            .unwrap();
        all.extend(ids(&page));
        state = page.paging_state;
    }
    assert_eq!(all, (1..=30).rev().collect::<Vec<_>>());

    // Older than 10 (message_id < 10, DESC order: start bound after 10), oldest first.
    let before = db
        .select(
            &Select::new("chat", "messages", key(3))
                .range(
                    KeyBound::Excluded(vec![Value::BigInt(10)]),
                    KeyBound::Unbounded,
                )
                .reversed()
                .limit(3)
                .columns(&["message_id"]),
        )
        .unwrap();
    assert_eq!(ids(&before), vec![1, 2, 3]);
    assert_eq!(before.rows[0].values.len(), 1);
}

#[test]
fn every_kind_of_delete_and_update() {
    let db = setup(2);
    for id in 1..=10 {
        send(&db, 1, id, "x");
    }
    let all = |db: &Db| ids(&db.select(&Select::new("chat", "messages", key(1))).unwrap());
    db.delete(
        "chat",
        "messages",
        &Delete::Row {
            key: key(1),
            clustering: vec![Value::BigInt(10)],
        },
    )
    .unwrap();
    assert_eq!(all(&db), (1..=9).rev().collect::<Vec<_>>());
    // DESC: the range from 8 down to 5.
    db.delete(
        "chat",
        "messages",
        &Delete::Range {
            key: key(1),
            start: KeyBound::Included(vec![Value::BigInt(8)]),
            end: KeyBound::Included(vec![Value::BigInt(5)]),
        },
    )
    .unwrap();
    assert_eq!(all(&db), vec![9, 4, 3, 2, 1]);
    db.delete(
        "chat",
        "messages",
        &Delete::Columns {
            key: key(1),
            clustering: vec![Value::BigInt(9)],
            columns: vec!["content".into()],
        },
    )
    .unwrap();
    db.update(
        "chat",
        "messages",
        &[
            ("channel_id", Some(Value::BigInt(1))),
            ("bucket", Some(Value::Int(0))),
            ("message_id", Some(Value::BigInt(4))),
            ("content", Some(Value::Text("edited".into()))),
            ("author_id", None),
        ],
        WriteOptions::default(),
    )
    .unwrap();
    let page = db.select(&Select::new("chat", "messages", key(1))).unwrap();
    assert_eq!(page.rows[0].get("content"), None);
    assert_eq!(page.rows[0].get("author_id"), Some(&Value::BigInt(7)));
    assert_eq!(
        page.rows[1].get("content"),
        Some(&Value::Text("edited".into()))
    );
    assert_eq!(page.rows[1].get("author_id"), None);
    db.delete("chat", "messages", &Delete::Partition { key: key(1) })
        .unwrap();
    assert!(all(&db).is_empty());

    // Type and name errors are Invalid.
    let bad = db.insert("chat", "messages", &[("channel_id", Value::Int(1))]);
    assert!(matches!(bad, Err(Error::Invalid(_))));
    let bad = db.insert("chat", "messages", &[("nope", Value::Int(1))]);
    assert!(matches!(bad, Err(Error::Invalid(_))));
    assert!(matches!(
        db.insert("chat", "nope", &[]),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn ttl_truncate_and_drop() {
    let db = setup(2);
    send(&db, 1, 1, "a");
    db.insert_with(
        "chat",
        "messages",
        &[
            ("channel_id", Value::BigInt(1)),
            ("bucket", Value::Int(0)),
            ("message_id", Value::BigInt(2)),
        ],
        WriteOptions {
            timestamp: None,
            ttl_secs: Some(1000),
        },
    )
    .unwrap();
    let page = db.select(&Select::new("chat", "messages", key(1))).unwrap();
    assert_eq!(ids(&page), vec![2, 1]);
    db.flush().unwrap();
    db.truncate("chat", "messages").unwrap();
    assert!(db
        .select(&Select::new("chat", "messages", key(1)))
        .unwrap()
        .rows
        .is_empty());
    send(&db, 1, 3, "after truncate");
    assert_eq!(
        ids(&db.select(&Select::new("chat", "messages", key(1))).unwrap()),
        vec![3]
    );
    db.flush().unwrap();
    let before = db.stats().unwrap().sstable_count();
    assert!(before > 0);
    assert!(db.drop_table("chat", "messages", false).unwrap());
    assert!(!db.drop_table("chat", "messages", true).unwrap());
    assert_eq!(db.stats().unwrap().sstable_count(), 0);
    assert!(db.drop_keyspace("chat", false).unwrap());
    assert!(db.catalog().keyspaces.is_empty());
}

#[test]
fn bad_selects_are_invalid_not_panics() {
    let db = setup(2);
    send(&db, 1, 1, "x");
    let bad_state = Select::new("chat", "messages", key(1))
        .limit(1)
        .page(Some(bytes::Bytes::from_static(b"\x09garbage")));
    assert!(matches!(db.select(&bad_state), Err(Error::Invalid(_))));
    let empty_state = Select::new("chat", "messages", key(1)).page(Some(bytes::Bytes::new()));
    assert!(matches!(db.select(&empty_state), Err(Error::Invalid(_))));
    let unknown = Select::new("chat", "messages", key(1)).columns(&["nope"]);
    assert!(matches!(db.select(&unknown), Err(Error::Invalid(_))));
    let short_key = Select::new("chat", "messages", vec![Value::BigInt(1)]);
    assert!(matches!(db.select(&short_key), Err(Error::Invalid(_))));
    let wrong_type = Select::new("chat", "messages", vec![Value::Int(1), Value::Int(0)]);
    assert!(matches!(db.select(&wrong_type), Err(Error::Invalid(_))));
    let bad_bound = Select::new("chat", "messages", key(1)).range(
        KeyBound::Included(vec![Value::Text("x".into())]),
        KeyBound::Unbounded,
    );
    assert!(matches!(db.select(&bad_bound), Err(Error::Invalid(_))));
    // An empty slice reads nothing.
    let empty = Select::new("chat", "messages", key(1)).range(
        KeyBound::Included(vec![Value::BigInt(0)]),
        KeyBound::Included(vec![Value::BigInt(5)]),
    );
    assert!(db.select(&empty).unwrap().rows.is_empty());
    assert_eq!(
        Error::AlreadyExists {
            keyspace: "chat".into(),
            table: String::new()
        }
        .to_string(),
        "keyspace chat already exists"
    );
}
