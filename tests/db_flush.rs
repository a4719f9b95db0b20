//! Background memtable flushes through the database: with a tiny memtable every shard
//! freezes memtables and its flush thread writes them, while writes and reads go on; no row
//! is lost, before or after a reopen.

use scrolldb::cql::result::QueryResult;
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::{Db, Options};

const CHANNELS: i64 = 8;
const PER_CHANNEL: i64 = 200;

fn options() -> Options {
    let mut opts = Options::with_shards(2);
    opts.engine.memtable_flush_bytes = 4096;
    opts
}

fn session(db: Db) -> (CqlEngine, Session) {
    let cql = CqlEngine::new(db, NodeInfo::default());
    let mut s = Session::default();
    cql.execute_blocking(
        &mut s,
        "CREATE KEYSPACE IF NOT EXISTS chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        &[],
    )
    .unwrap();
    cql.execute_blocking(&mut s, "USE chat", &[]).unwrap();
    (cql, s)
}

fn count(cql: &CqlEngine, s: &mut Session, channel: i64) -> usize {
    let QueryResult::Rows(rows) = cql
        .execute_blocking(
            s,
            "SELECT message_id FROM messages WHERE channel_id = ?",
            &[Value::BigInt(channel)],
        )
        .unwrap()
    else {
        panic!("not rows")
    };
    rows.rows.len()
}

#[test]
fn small_memtable_ingest_keeps_every_row_across_background_flushes_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (cql, mut s) = session(Db::open(dir.path(), options()).unwrap());
    cql.execute_blocking(
        &mut s,
        "CREATE TABLE messages (channel_id bigint, message_id bigint, content text, \
         PRIMARY KEY (channel_id, message_id)) WITH CLUSTERING ORDER BY (message_id DESC)",
        &[],
    )
    .unwrap();
    for i in 0..PER_CHANNEL {
        for channel in 0..CHANNELS {
            cql.execute_blocking(
                &mut s,
                "INSERT INTO messages (channel_id, message_id, content) VALUES (?, ?, ?)",
                &[
                    Value::BigInt(channel),
                    Value::BigInt(i),
                    Value::Text(format!(
                        "message {i} of channel {channel}, padded out a bit"
                    )),
                ],
            )
            .unwrap();
        }
        if i % 50 == 49 {
            for channel in 0..CHANNELS {
                assert_eq!(count(&cql, &mut s, channel), i as usize + 1);
            }
        }
    }
    let db = cql.db().clone();
    let stats = db.stats().unwrap();
    let flushes: u64 = stats.shards.iter().map(|s| s.engine.flushes).sum();
    assert!(flushes >= 4, "only {flushes} flushes with a 4 KiB memtable");
    for channel in 0..CHANNELS {
        assert_eq!(count(&cql, &mut s, channel), PER_CHANNEL as usize);
    }
    drop(cql);
    db.close().unwrap();
    // The directory lock goes with the last handle.
    drop(db);

    let (cql, mut s) = session(Db::open(dir.path(), options()).unwrap());
    for channel in 0..CHANNELS {
        assert_eq!(
            count(&cql, &mut s, channel),
            PER_CHANNEL as usize,
            "after reopen"
        );
    }
    cql.db().clone().close().unwrap();
}
