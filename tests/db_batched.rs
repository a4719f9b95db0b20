//! The batched data path: `Db::insert_rows` (rows built into mutations on their shards)
//! and `Db::read_chain` (one page over several partitions), against the one-at-a-time
//! calls they replace, on one and several shards.

mod common;

use common::{create_messages, ids};
use scrolldb::storage::model::{ReadQuery, Slice, TableId};
use scrolldb::storage::types::{serialize_partition_key, Value};
use scrolldb::{Db, Error, Options, Select, WriteOptions};

const COLUMNS: [&str; 5] = ["channel_id", "bucket", "message_id", "author_id", "content"];

fn open(shards: usize) -> Db {
    let db = Db::temporary_with(Options {
        pin_threads: false,
        ..Options::with_shards(shards)
    })
    .unwrap();
    create_messages(&db);
    db
}

fn row(channel: i64, bucket: i32, id: i64) -> Vec<Value> {
    vec![
        Value::BigInt(channel),
        Value::Int(bucket),
        Value::BigInt(id),
        Value::BigInt(id * 7),
        Value::Text(format!("message {id} of {channel}/{bucket}")),
    ]
}

fn bucket_ids(db: &Db, channel: i64, bucket: i32) -> Vec<i64> {
    let key = vec![Value::BigInt(channel), Value::Int(bucket)];
    ids(&db.select(&Select::new("chat", "messages", key)).unwrap())
}

#[test]
fn insert_rows_writes_what_insert_writes() {
    for shards in [1, 3] {
        let db = open(shards);
        // Many partitions (spread over every shard), several calls, in varied column order.
        let mut rows = Vec::new();
        for channel in 1..=20i64 {
            for id in 1..=5 {
                rows.push(row(channel, (id % 2) as i32, channel * 100 + id));
            }
        }
        for chunk in rows.chunks(17) {
            db.insert_rows(
                "chat",
                "messages",
                &COLUMNS,
                chunk.to_vec(),
                WriteOptions::default(),
            )
            .unwrap();
        }
        for channel in 1..=20i64 {
            for bucket in 0..2 {
                let mut expected: Vec<i64> = (1..=5)
                    .filter(|id| id % 2 == i64::from(bucket))
                    .map(|id| channel * 100 + id)
                    .collect();
                expected.reverse();
                assert_eq!(
                    bucket_ids(&db, channel, bucket),
                    expected,
                    "{shards} shards"
                );
            }
        }
        // Values land in their columns, whatever order the call names them in.
        let reordered = ["content", "message_id", "bucket", "channel_id"];
        let values = vec![
            Value::Text("reordered".into()),
            Value::BigInt(9),
            Value::Int(4),
            Value::BigInt(77),
        ];
        db.insert_rows(
            "chat",
            "messages",
            &reordered,
            vec![values],
            WriteOptions::default(),
        )
        .unwrap();
        let key = vec![Value::BigInt(77), Value::Int(4)];
        let page = db.select(&Select::new("chat", "messages", key)).unwrap();
        assert_eq!(page.rows.len(), 1);
        assert_eq!(
            page.rows[0].get("content"),
            Some(&Value::Text("reordered".into()))
        );
        assert_eq!(page.rows[0].get("message_id"), Some(&Value::BigInt(9)));
        // Omitted regular columns write nothing, so no tombstone hides an earlier value.
        assert_eq!(page.rows[0].get("author_id"), None);
        db.insert_rows(
            "chat",
            "messages",
            &["channel_id", "bucket", "message_id", "author_id"],
            vec![vec![
                Value::BigInt(77),
                Value::Int(4),
                Value::BigInt(9),
                Value::BigInt(5),
            ]],
            WriteOptions::default(),
        )
        .unwrap();
        let key = vec![Value::BigInt(77), Value::Int(4)];
        let page = db.select(&Select::new("chat", "messages", key)).unwrap();
        assert_eq!(
            page.rows[0].get("content"),
            Some(&Value::Text("reordered".into()))
        );
        assert_eq!(page.rows[0].get("author_id"), Some(&Value::BigInt(5)));
    }
}

#[test]
fn insert_rows_survives_a_reopen_and_honours_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options {
        pin_threads: false,
        ..Options::with_shards(2)
    };
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        create_messages(&db);
        let old = WriteOptions {
            timestamp: Some(1_000),
            ttl_secs: None,
        };
        let rows: Vec<_> = (1..=30).map(|id| row(id % 4, 0, id)).collect();
        db.insert_rows("chat", "messages", &COLUMNS, rows, WriteOptions::default())
            .unwrap();
        // An older write timestamp loses to the rows already there.
        let mut stale = row(1, 0, 1);
        stale[4] = Value::Text("stale".into());
        db.insert_rows("chat", "messages", &COLUMNS, vec![stale], old)
            .unwrap();
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    for channel in 0..4 {
        let mut expected: Vec<i64> = (1..=30).filter(|id| id % 4 == channel).collect();
        expected.reverse();
        assert_eq!(bucket_ids(&db, channel, 0), expected);
    }
    let page = db
        .select(&Select::new(
            "chat",
            "messages",
            vec![Value::BigInt(1), Value::Int(0)],
        ))
        .unwrap();
    let first = page
        .rows
        .iter()
        .find(|r| r.get("message_id") == Some(&Value::BigInt(1)));
    assert_eq!(
        first.and_then(|r| r.get("content")),
        Some(&Value::Text("message 1 of 1/0".into()))
    );
}

#[test]
fn insert_rows_refuses_bad_rows_and_writes_nothing() {
    let db = open(2);
    let good = row(1, 0, 1);
    let mut wrong_type = row(2, 0, 2);
    wrong_type[3] = Value::Text("not a bigint".into());
    let cases: Vec<(&[&str], Vec<Vec<Value>>)> = vec![
        (&COLUMNS, vec![good.clone(), wrong_type]),
        (&COLUMNS, vec![good.clone(), row(2, 0, 2)[..4].to_vec()]),
        (
            &["channel_id", "message_id", "content"],
            vec![vec![
                Value::BigInt(1),
                Value::BigInt(1),
                Value::Text("no bucket".into()),
            ]],
        ),
        (
            &["channel_id", "bucket", "content"],
            vec![vec![
                Value::BigInt(1),
                Value::Int(0),
                Value::Text("no message id".into()),
            ]],
        ),
        (
            &["channel_id", "bucket", "message_id", "nope"],
            vec![vec![
                Value::BigInt(1),
                Value::Int(0),
                Value::BigInt(1),
                Value::Int(3),
            ]],
        ),
        (
            &["channel_id", "bucket", "message_id", "bucket"],
            vec![vec![
                Value::BigInt(1),
                Value::Int(0),
                Value::BigInt(1),
                Value::Int(0),
            ]],
        ),
    ];
    for (columns, rows) in cases {
        let err = db
            .insert_rows("chat", "messages", columns, rows, WriteOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{columns:?}: {err:?}");
    }
    assert!(bucket_ids(&db, 1, 0).is_empty());
    assert!(bucket_ids(&db, 2, 0).is_empty());
    let err = db
        .insert_rows(
            "chat",
            "nope",
            &COLUMNS,
            vec![good],
            WriteOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

fn table(db: &Db) -> TableId {
    db.catalog().table("chat", "messages").unwrap().id
}

fn query(db: &Db, channel: i64, bucket: i32) -> ReadQuery {
    let key = serialize_partition_key(&[
        Value::BigInt(channel).serialize(),
        Value::Int(bucket).serialize(),
    ])
    .unwrap();
    ReadQuery::partition(table(db), key)
}

/// What `read_chain` must return: the queries read one by one until `limit` rows.
fn one_by_one(db: &Db, queries: &[ReadQuery], limit: usize) -> Vec<Vec<bytes::Bytes>> {
    let mut out = Vec::new();
    let mut rows = 0;
    for q in queries {
        if rows >= limit {
            break;
        }
        let mut q = q.clone();
        q.limit = Some(q.limit.map_or(limit - rows, |l| l.min(limit - rows)));
        let result = db.read(q).unwrap();
        rows += result.rows.len();
        out.push(result.rows.iter().map(|r| r.clustering.clone()).collect());
    }
    out
}

fn chain(db: &Db, queries: &[ReadQuery], limit: usize) -> Vec<Vec<bytes::Bytes>> {
    db.read_chain(queries.to_vec(), limit)
        .unwrap()
        .iter()
        .map(|r| r.rows.iter().map(|r| r.clustering.clone()).collect())
        .collect()
}

#[test]
fn read_chain_matches_reading_partition_by_partition() {
    for shards in [1, 2, 3] {
        let db = open(shards);
        // Buckets of very different sizes, some empty, spread over the shards.
        let sizes = [0usize, 3, 0, 0, 12, 1, 0, 40, 7, 0, 25, 2];
        let mut id = 0;
        for (bucket, &size) in sizes.iter().enumerate() {
            let rows: Vec<_> = (0..size)
                .map(|_| {
                    id += 1;
                    row(5, bucket as i32, id)
                })
                .collect();
            if !rows.is_empty() {
                db.insert_rows("chat", "messages", &COLUMNS, rows, WriteOptions::default())
                    .unwrap();
            }
        }
        let newest_first: Vec<ReadQuery> = (0..sizes.len() as i32)
            .rev()
            .map(|b| query(&db, 5, b))
            .collect();
        for start in 0..newest_first.len() {
            for limit in [0, 1, 2, 5, 13, 50, 100] {
                let queries = &newest_first[start..];
                assert_eq!(
                    chain(&db, queries, limit),
                    one_by_one(&db, queries, limit),
                    "{shards} shards, from {start}, limit {limit}"
                );
            }
        }
        // Queries keep their own limits, slices and direction.
        let mut mixed = vec![
            query(&db, 5, 10).limit(4),
            query(&db, 5, 7).reverse(),
            query(&db, 5, 4).slice(Slice::all()).limit(2),
            query(&db, 5, 8),
        ];
        mixed.push(query(&db, 6, 0));
        for limit in [3, 10, 30, 60] {
            assert_eq!(chain(&db, &mixed, limit), one_by_one(&db, &mixed, limit));
        }
        assert!(db.read_chain(Vec::new(), 50).unwrap().is_empty());
        db.flush().unwrap();
        assert_eq!(
            chain(&db, &newest_first, 50),
            one_by_one(&db, &newest_first, 50)
        );
    }
}

#[test]
fn async_forms_work_on_a_runtime() {
    let db = open(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut calls = Vec::new();
        for task in 0..8i64 {
            let db = db.clone();
            calls.push(tokio::spawn(async move {
                let rows = (0..25).map(|i| row(task, 0, task * 1000 + i)).collect();
                db.insert_rows_async("chat", "messages", &COLUMNS, rows, WriteOptions::default())
                    .await
            }));
        }
        for c in calls {
            c.await.unwrap().unwrap();
        }
        let queries: Vec<_> = (0..8).map(|task| query(&db, task, 0)).collect();
        let page = db.read_chain_async(queries, 60).await.unwrap();
        let counts: Vec<usize> = page.iter().map(|r| r.rows.len()).collect();
        assert_eq!(counts, vec![25, 25, 10]);
        // The sync form from inside the runtime.
        let page = db.read_chain(vec![query(&db, 3, 0)], 5).unwrap();
        assert_eq!(page[0].rows.len(), 5);
    });
}

#[test]
fn a_prepared_insert_follows_schema_changes() {
    let db = open(2);
    let insert = db.prepare_insert("chat", "messages", &COLUMNS).unwrap();
    for id in 1..=3 {
        insert
            .execute(vec![row(9, 0, id)], WriteOptions::default())
            .unwrap();
    }
    assert_eq!(bucket_ids(&db, 9, 0), vec![3, 2, 1]);
    db.drop_table("chat", "messages", false).unwrap();
    let err = insert
        .execute(vec![row(9, 0, 4)], WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // Recreated (a new table id): the same prepared insert writes into the new table.
    db.create_table(common::messages_schema(), false).unwrap();
    insert
        .execute(vec![row(9, 0, 5), row(10, 0, 6)], WriteOptions::default())
        .unwrap();
    assert_eq!(bucket_ids(&db, 9, 0), vec![5]);
    assert_eq!(bucket_ids(&db, 10, 0), vec![6]);
    db.close().unwrap();
    let err = insert
        .execute(vec![row(9, 0, 7)], WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
}
