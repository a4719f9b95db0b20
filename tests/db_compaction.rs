//! Background compaction through the database: each shard's compaction thread keeps the
//! SSTable count bounded while writes and flushes go on, without losing a row; bad compaction
//! options are refused at CREATE TABLE.

use scrolldb::cql::result::{ErrorKind, QueryResult};
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::{Db, Options};
use std::time::{Duration, Instant};

fn engine(shards: usize) -> (CqlEngine, Session) {
    let db = Db::temporary_with(Options::with_shards(shards)).unwrap();
    let cql = CqlEngine::new(db, NodeInfo::default());
    let mut s = Session::default();
    cql.execute_blocking(
        &mut s,
        "CREATE KEYSPACE chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        &[],
    )
    .unwrap();
    cql.execute_blocking(&mut s, "USE chat", &[]).unwrap();
    (cql, s)
}

fn sstables(db: &Db) -> usize {
    db.stats()
        .unwrap()
        .shards
        .iter()
        .map(|s| s.engine.sstable_count)
        .sum()
}

#[test]
fn shards_compact_in_the_background_and_keep_every_row() {
    let (cql, mut s) = engine(2);
    cql.execute_blocking(
        &mut s,
        "CREATE TABLE messages (channel_id bigint, message_id bigint, content text, \
         PRIMARY KEY (channel_id, message_id)) WITH CLUSTERING ORDER BY (message_id DESC) \
         AND compaction = {'class': 'SizeTieredCompactionStrategy', 'min_threshold': '4', \
         'min_sstable_size': '0'}",
        &[],
    )
    .unwrap();
    let db = cql.db().clone();
    let rounds = 16;
    for round in 0..rounds {
        for channel in 0..8i64 {
            cql.execute_blocking(
                &mut s,
                "INSERT INTO messages (channel_id, message_id, content) VALUES (?, ?, ?)",
                &[
                    Value::BigInt(channel),
                    Value::BigInt(round),
                    Value::Text(format!("message {round} of channel {channel}")),
                ],
            )
            .unwrap();
        }
        db.flush().unwrap();
    }
    let compactions = |db: &Db| -> u64 {
        db.stats()
            .unwrap()
            .shards
            .iter()
            .map(|s| s.engine.compactions)
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while (compactions(&db) == 0 || sstables(&db) > 2 * 4) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(compactions(&db) > 0, "no background compaction ran");
    assert!(
        sstables(&db) <= 2 * 4,
        "{} SSTables left after {rounds} flushes on 2 shards",
        sstables(&db)
    );
    for channel in 0..8i64 {
        let QueryResult::Rows(rows) = cql
            .execute_blocking(
                &mut s,
                "SELECT message_id FROM messages WHERE channel_id = ?",
                &[Value::BigInt(channel)],
            )
            .unwrap()
        else {
            panic!("not rows")
        };
        assert_eq!(rows.rows.len(), rounds as usize, "channel {channel}");
    }
    db.close().unwrap();
}

#[test]
fn unknown_compaction_options_are_refused_at_create_table() {
    let (cql, mut s) = engine(1);
    for options in [
        "{'class': 'NoSuchStrategy'}",
        "{'class': 'SizeTieredCompactionStrategy', 'min_treshold': '4'}",
    ] {
        let err = cql
            .execute_blocking(
                &mut s,
                &format!("CREATE TABLE t (k int PRIMARY KEY, v int) WITH compaction = {options}"),
                &[],
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{options}: {err}");
    }
    let err = cql
        .execute_blocking(&mut s, "SELECT * FROM t", &[])
        .unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::Invalid,
        "the table must not exist: {err}"
    );
}
