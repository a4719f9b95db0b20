//! Shards through the public API: routing, reopen, changes of shard count (resharding on
//! open, including after an interrupted reshard), cross-shard scans, concurrency and
//! back-pressure.

mod common;

use common::*;
use scrolldb::storage::commitlog::SyncMode;
use scrolldb::storage::engine::ScanQuery;
use scrolldb::storage::model::DecoratedKey;
use scrolldb::storage::types::Value;
use scrolldb::{Backpressure, Db, Delete, Error, Options, WriteOptions};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn opts(shards: usize) -> Options {
    Options {
        pin_threads: false,
        ..Options::with_shards(shards)
    }
}

/// 40 channels x 25 messages, some flushed, some only in the commitlog, with deletes and a
/// TTL'd message; returns what every channel must read back.
fn fill(db: &Db) -> Vec<(i64, Vec<i64>)> {
    create_messages(db);
    for channel in 1..=40 {
        for id in 1..=20 {
            send(db, channel, id);
        }
    }
    db.flush().unwrap();
    for channel in 1..=40 {
        for id in 21..=25 {
            send(db, channel, id);
        }
        db.delete(
            "chat",
            "messages",
            &Delete::Row {
                key: key(channel),
                clustering: vec![Value::BigInt(3)],
            },
        )
        .unwrap();
    }
    db.delete("chat", "messages", &Delete::Partition { key: key(40) })
        .unwrap();
    db.insert_with(
        "chat",
        "messages",
        &[
            ("channel_id", Value::BigInt(1)),
            ("bucket", Value::Int(0)),
            ("message_id", Value::BigInt(100)),
        ],
        WriteOptions {
            timestamp: None,
            ttl_secs: Some(3600),
        },
    )
    .unwrap();
    (1..=40)
        .map(|channel| {
            let mut ids: Vec<i64> = (1..=25).rev().filter(|&i| i != 3).collect();
            if channel == 1 {
                ids.insert(0, 100);
            }
            if channel == 40 {
                ids.clear();
            }
            (channel, ids)
        })
        .collect()
}

fn check(db: &Db, expected: &[(i64, Vec<i64>)]) {
    for (channel, ids) in expected {
        assert_eq!(&channel_ids(db, *channel), ids, "channel {channel}");
    }
}

fn shard_dirs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_str().unwrap().starts_with("shard-")
        })
        .count()
}

#[test]
fn partitions_land_on_their_shards_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(4)).unwrap();
    let expected = fill(&db);
    let stats = db.stats().unwrap();
    assert_eq!(stats.shards.len(), 4);
    // Every shard got some of the 40 channels.
    for s in &stats.shards {
        assert!(s.engine.writes > 0, "shard {} got no writes", s.shard);
    }
    check(&db, &expected);
    db.close().unwrap();
    assert!(matches!(
        db.insert("chat", "messages", &[]),
        Err(Error::Closed)
    ));
    drop(db);

    let db = Db::open(dir.path(), opts(4)).unwrap();
    check(&db, &expected);
    assert!(db.catalog().table("chat", "messages").is_some());
}

#[test]
fn a_directory_is_opened_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(1)).unwrap();
    assert!(matches!(
        Db::open(dir.path(), opts(1)),
        Err(Error::Invalid(_))
    ));
    drop(db);
    Db::open(dir.path(), opts(1)).unwrap();
}

#[test]
fn write_with_four_read_with_two_then_three() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(4)).unwrap();
    let expected = fill(&db);
    drop(db);

    let db = Db::open(dir.path(), opts(2)).unwrap();
    assert_eq!(shard_dirs(dir.path()), 2);
    assert!(!dir.path().join("reshard").exists());
    check(&db, &expected);
    // New writes after resharding land on the new owners and survive another reshard.
    send(&db, 41, 1);
    drop(db);

    let db = Db::open(dir.path(), opts(3)).unwrap();
    assert_eq!(shard_dirs(dir.path()), 3);
    check(&db, &expected);
    assert_eq!(channel_ids(&db, 41), vec![1]);
}

#[test]
fn an_interrupted_reshard_is_finished_or_undone_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(4)).unwrap();
    let expected = fill(&db);
    drop(db);

    // Crash during the move (before the commit point): two dirs already moved.
    let tmp = dir.path().join("reshard.tmp");
    std::fs::create_dir(&tmp).unwrap();
    for i in 0..2 {
        std::fs::rename(
            dir.path().join(format!("shard-{i}")),
            tmp.join(format!("shard-{i}")),
        )
        .unwrap();
    }
    let db = Db::open(dir.path(), opts(4)).unwrap();
    check(&db, &expected);
    drop(db);

    // Crash during the copy (after the commit point): a partial new shard-0 exists.
    let moved = dir.path().join("reshard");
    std::fs::create_dir(&moved).unwrap();
    for i in 0..4 {
        std::fs::rename(
            dir.path().join(format!("shard-{i}")),
            moved.join(format!("shard-{i}")),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.path().join("shard-0")).unwrap();
    std::fs::write(dir.path().join("shard-0").join("junk"), b"partial").unwrap();
    let db = Db::open(dir.path(), opts(2)).unwrap();
    check(&db, &expected);
    assert!(!moved.exists());
    drop(db);

    // Crash while removing the old directories after the copy committed: a partial
    // `reshard.done` is just removed, and the new shards are kept.
    let done = dir.path().join("reshard.done");
    std::fs::create_dir_all(done.join("shard-3")).unwrap();
    let db = Db::open(dir.path(), opts(2)).unwrap();
    check(&db, &expected);
    assert!(!done.exists());
}

/// Every (partition, row) a full scan returns, page by page.
fn full_scan(db: &Db, page_rows: usize) -> Vec<(DecoratedKey, Vec<u8>)> {
    let table = db.catalog().table("chat", "messages").unwrap().id;
    let mut query = ScanQuery::all(table);
    query.page_rows = page_rows;
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = db.scan(query.clone()).unwrap();
        assert!(page.partitions.iter().map(|(_, r)| r.len()).sum::<usize>() <= page_rows);
        for (key, rows) in page.partitions {
            for row in rows {
                out.push((DecoratedKey::new(key.clone()), row.clustering.to_vec()));
            }
        }
        match page.resume {
            Some(pos) => query.resume = Some(pos),
            None => return out,
        }
    }
    panic!("the scan did not finish");
}

#[test]
fn scans_merge_shards_in_ring_order_across_pages() {
    let one = Db::temporary_with(opts(1)).unwrap();
    let four = Db::temporary_with(opts(4)).unwrap();
    fill(&one);
    fill(&four);
    let reference = full_scan(&one, 1000);
    assert_eq!(reference.len(), 39 * 24 + 1);
    let mut sorted = reference.clone();
    sorted.sort();
    let unique: BTreeSet<_> = reference.iter().cloned().collect();
    assert_eq!(unique.len(), reference.len());
    assert_eq!(sorted, reference);
    for page_rows in [1, 7, 24, 100, 5000] {
        assert_eq!(
            full_scan(&four, page_rows),
            reference,
            "page_rows {page_rows}"
        );
    }
    // A token range: (start, end].
    let table = four.catalog().table("chat", "messages").unwrap().id;
    let mut q = ScanQuery::all(table);
    q.start_token = Some(-1 << 62);
    q.end_token = Some(1 << 62);
    let page = four.scan(q).unwrap();
    assert!(page.resume.is_none());
    let expect = reference
        .iter()
        .filter(|(k, _)| k.token > -1 << 62 && k.token <= 1 << 62)
        .count();
    let got: usize = page.partitions.iter().map(|(_, r)| r.len()).sum();
    assert!(expect > 0);
    assert_eq!(got, expect);
}

#[test]
fn concurrent_writers_and_readers() {
    let db = Db::temporary_with(opts(4)).unwrap();
    create_messages(&db);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for id in 1..=150 {
                    send(&db, w, id);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut seen = [0usize; 8];
                for i in 0..300 {
                    let channel = (i + r) % 8;
                    let ids = channel_ids(&db, channel as i64);
                    // Newest first, no gaps: a writer's ids arrive in order.
                    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "{ids:?}");
                    assert!(ids.len() >= seen[channel], "rows disappeared");
                    seen[channel] = ids.len();
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.join().unwrap();
    }
    for w in 0..8 {
        assert_eq!(channel_ids(&db, w), (1..=150).rev().collect::<Vec<_>>());
    }
    assert_eq!(db.stats().unwrap().writes(), 8 * 150);
}

#[test]
fn a_full_queue_fails_fast_with_overloaded_or_waits() {
    let mut o = opts(1);
    o.queue_capacity = 1;
    o.max_batch_requests = 1;
    o.backpressure = Backpressure::Fail;
    o.engine.commitlog.sync = SyncMode::GroupCommit;
    let db = Db::temporary_with(o.clone()).unwrap();
    create_messages(&db);
    let overloaded = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            let overloaded = Arc::clone(&overloaded);
            std::thread::spawn(move || {
                let mut ok = Vec::new();
                for id in 1..=300 {
                    let r = db.insert(
                        "chat",
                        "messages",
                        &[
                            ("channel_id", Value::BigInt(t)),
                            ("bucket", Value::Int(0)),
                            ("message_id", Value::BigInt(id)),
                        ],
                    );
                    match r {
                        Ok(()) => ok.push(id),
                        Err(Error::Overloaded) => {
                            overloaded.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                (t, ok)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    for (t, mut ok) in results {
        ok.reverse();
        // Exactly the acknowledged writes are there.
        assert_eq!(channel_ids(&db, t), ok);
    }
    assert!(overloaded.load(Ordering::Relaxed) > 0);
    drop(db);

    o.backpressure = Backpressure::Wait;
    let db = Db::temporary_with(o).unwrap();
    create_messages(&db);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || (1..=50).for_each(|id| send(&db, t, id)))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    for t in 0..8 {
        assert_eq!(channel_ids(&db, t).len(), 50);
    }
}

#[test]
fn async_api_from_tokio_tasks() {
    let db = Db::temporary_with(opts(2)).unwrap();
    create_messages(&db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for channel in 0..10i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for id in 1..=20 {
                    db.insert_async(
                        "chat",
                        "messages",
                        &[
                            ("channel_id", Value::BigInt(channel)),
                            ("bucket", Value::Int(0)),
                            ("message_id", Value::BigInt(id)),
                        ],
                        WriteOptions::default(),
                    )
                    .await
                    .unwrap();
                }
                let page = db
                    .select_async(&scrolldb::Select::new("chat", "messages", key(channel)).limit(5))
                    .await
                    .unwrap();
                assert_eq!(ids(&page), vec![20, 19, 18, 17, 16]);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let table = db.catalog().table("chat", "messages").unwrap().id;
        let page = db.scan_async(ScanQuery::all(table)).await.unwrap();
        assert_eq!(page.partitions.len(), 10);
    });
}

#[test]
fn async_callers_wait_for_room_without_a_timer() {
    let mut o = opts(2);
    o.queue_capacity = 1;
    o.max_batch_requests = 1;
    o.engine.commitlog.sync = SyncMode::GroupCommit;
    let db = Db::temporary_with(o).unwrap();
    create_messages(&db);
    // A current-thread runtime without the time driver: waiting must not need timers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for channel in 0..16i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for id in 1..=20 {
                    let m = db
                        .insert_mutation(
                            "chat",
                            "messages",
                            &[
                                ("channel_id", Value::BigInt(channel)),
                                ("bucket", Value::Int(0)),
                                ("message_id", Value::BigInt(id)),
                            ],
                            WriteOptions::default(),
                        )
                        .unwrap();
                    db.apply_async(vec![m]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    for channel in 0..16 {
        assert_eq!(channel_ids(&db, channel).len(), 20);
    }
}

/// Both I/O paths: io_uring where the kernel allows it, and plain file I/O.
#[test]
fn both_io_paths_write_reopen_and_reshard() {
    use scrolldb::IoMode;
    let uring = scrolldb::storage::io::uring_available();
    let mut modes = vec![(IoMode::Plain, "plain")];
    if uring {
        modes.push((IoMode::Uring, "io_uring"));
    } else {
        eprintln!("io_uring unavailable here: only the plain path runs");
    }
    for (mode, name) in modes {
        let dir = tempfile::tempdir().unwrap();
        let o = |shards| Options {
            io: mode,
            ..opts(shards)
        };
        let db = Db::open(dir.path(), o(2)).unwrap();
        assert_eq!(db.io_backend(), name);
        assert!(db
            .stats()
            .unwrap()
            .shards
            .iter()
            .all(|s| s.io_backend == name));
        let expected = fill(&db);
        drop(db);
        let db = Db::open(dir.path(), o(3)).unwrap();
        check(&db, &expected);
    }
}

/// The last handle may be dropped (and `close` called) on a runtime thread.
#[test]
fn closing_and_dropping_inside_a_runtime_does_not_panic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let db = Db::temporary_with(opts(2)).unwrap();
    create_messages(&db);
    let dir = db.dir().to_path_buf();
    rt.block_on(async move {
        let m = db
            .insert_mutation(
                "chat",
                "messages",
                &[
                    ("channel_id", Value::BigInt(1)),
                    ("bucket", Value::Int(0)),
                    ("message_id", Value::BigInt(1)),
                ],
                WriteOptions::default(),
            )
            .unwrap();
        db.apply_async(vec![m]).await.unwrap();
        let other = db.clone();
        db.close().unwrap();
        assert!(matches!(
            other.apply_async(vec![]).await,
            Err(Error::Closed)
        ));
        drop(other);
        drop(db);
    });
    assert!(!dir.exists(), "the temporary directory is removed");
}
