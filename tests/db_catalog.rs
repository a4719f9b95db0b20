//! The catalog through the public API: persistence across reopen, table options pushed to
//! every shard (on CREATE and on open), and drops removing data files.

mod common;

use common::*;
use scrolldb::catalog::TableParams;
use scrolldb::storage::types::Value;
use scrolldb::{Db, Delete, Options};
use std::path::Path;

fn opts() -> Options {
    Options {
        pin_threads: false,
        ..Options::with_shards(2)
    }
}

/// Table directories under every shard's engine.
fn table_dirs(root: &Path) -> usize {
    (0..2)
        .map(|i| {
            std::fs::read_dir(root.join(format!("shard-{i}")).join("tables"))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum()
}

/// Writes and deletes one partition in each of 20 channels, flushes, waits past a zero
/// grace period and compacts: what is left on disk shows which grace period the shards use.
fn tombstones_left_after_compaction(db: &Db, table: &str) -> usize {
    for channel in 0..20 {
        db.insert(
            "chat",
            table,
            &[
                ("channel_id", Value::BigInt(channel)),
                ("bucket", Value::Int(0)),
                ("message_id", Value::BigInt(1)),
            ],
        )
        .unwrap();
        db.delete("chat", table, &Delete::Partition { key: key(channel) })
            .unwrap();
    }
    db.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    db.compact(Some(("chat", table))).unwrap();
    db.stats().unwrap().sstable_count()
}

#[test]
fn gc_grace_reaches_every_shard_on_create_and_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    create_messages(&db);
    let mut schema = messages_schema();
    schema.name = "no_grace".into();
    schema.params = TableParams {
        gc_grace_seconds: 0,
        ..TableParams::default()
    };
    db.create_table(schema, false).unwrap();
    // Default grace (10 days): the tombstones stay.
    let kept = tombstones_left_after_compaction(&db, "messages");
    assert!(kept >= 2, "{kept}");
    // Zero grace: compaction purges everything of no_grace; messages' SSTables remain.
    assert_eq!(tombstones_left_after_compaction(&db, "no_grace"), kept);
    drop(db);

    // After reopen the options come from the stored catalog.
    let db = Db::open(dir.path(), opts()).unwrap();
    let t = db.catalog().table("chat", "no_grace").unwrap().clone();
    assert_eq!(t.params.gc_grace_seconds, 0);
    assert_eq!(tombstones_left_after_compaction(&db, "no_grace"), kept);
}

#[test]
fn drops_remove_files_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    create_messages(&db);
    let mut other = messages_schema();
    other.name = "other".into();
    db.create_table(other, false).unwrap();
    for channel in 0..20 {
        send(&db, channel, 1);
        db.insert(
            "chat",
            "other",
            &[
                ("channel_id", Value::BigInt(channel)),
                ("bucket", Value::Int(0)),
                ("message_id", Value::BigInt(1)),
            ],
        )
        .unwrap();
    }
    db.flush().unwrap();
    let before = table_dirs(dir.path());
    assert!(before >= 3, "{before}");
    db.drop_table("chat", "other", false).unwrap();
    assert!(table_dirs(dir.path()) < before);
    let version = db.catalog().version;
    drop(db);

    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.catalog().version, version);
    assert!(db.catalog().table("chat", "other").is_none());
    assert_eq!(channel_ids(&db, 5), vec![1]);
    assert!(db.drop_keyspace("chat", false).unwrap());
    assert_eq!(table_dirs(dir.path()), 0);
    drop(db);

    let db = Db::open(dir.path(), opts()).unwrap();
    assert!(db.catalog().keyspaces.is_empty());
    // Recreating gets a new table id: old data cannot come back.
    create_messages(&db);
    assert!(channel_ids(&db, 5).is_empty());
}
