//! Helpers shared by the `db_*` integration tests: the messages table and its rows.
#![allow(dead_code)]

use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use scrolldb::storage::types::{CqlType, Order, Value};
use scrolldb::{Db, Page, Select};
use std::collections::BTreeMap;

pub fn column(name: &str, ty: CqlType, kind: ColumnKind) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty,
        id: 0,
        kind,
    }
}

/// `chat.messages`: PRIMARY KEY ((channel_id, bucket), message_id), message_id DESC.
pub fn messages_schema() -> TableSchema {
    TableSchema {
        keyspace: "chat".into(),
        name: "messages".into(),
        id: 0,
        uuid: [0; 16],
        columns: vec![
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
            column(
                "message_id",
                CqlType::BigInt,
                ColumnKind::Clustering {
                    position: 0,
                    order: Order::Desc,
                },
            ),
            column("author_id", CqlType::BigInt, ColumnKind::Regular),
            column("content", CqlType::Text, ColumnKind::Regular),
        ],
        params: TableParams::default(),
    }
}

pub fn create_messages(db: &Db) {
    db.create_keyspace(
        KeyspaceDef {
            name: "chat".into(),
            replication: BTreeMap::new(),
            durable_writes: true,
        },
        true,
    )
    .unwrap();
    db.create_table(messages_schema(), true).unwrap();
}

pub fn key(channel: i64) -> Vec<Value> {
    vec![Value::BigInt(channel), Value::Int(0)]
}

pub fn send(db: &Db, channel: i64, id: i64) {
    db.insert(
        "chat",
        "messages",
        &[
            ("channel_id", Value::BigInt(channel)),
            ("bucket", Value::Int(0)),
            ("message_id", Value::BigInt(id)),
            ("author_id", Value::BigInt(channel * 1000 + id)),
            ("content", Value::Text(format!("message {id} in {channel}"))),
        ],
    )
    .unwrap();
}

pub fn ids(page: &Page) -> Vec<i64> {
    page.rows
        .iter()
        .map(|r| match r.get("message_id") {
            Some(Value::BigInt(i)) => *i,
            other => panic!("message_id {other:?}"),
        })
        .collect()
}

/// Every message id of a channel, newest first.
pub fn channel_ids(db: &Db, channel: i64) -> Vec<i64> {
    ids(&db
        .select(&Select::new("chat", "messages", key(channel)))
        .unwrap())
}
