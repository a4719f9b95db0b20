//! The engine with the buffered periodic commitlog and its background sync thread: writes
//! across memtable flushes come back after a reopen, whether the engine was closed or only
//! dropped, and a partition's rows read back in order in both directions.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use scrolldb_storage::commitlog::{CommitlogOptions, PeriodicSyncThread, SyncMode};
use scrolldb_storage::engine::{Engine, EngineOptions, FlushMode};
use scrolldb_storage::model::{Cell, Direction, Mutation, ReadQuery, Row};

fn options() -> EngineOptions {
    EngineOptions {
        commitlog: CommitlogOptions {
            sync: SyncMode::PeriodicBuffered {
                period_ms: 5,
                buffer_bytes: 4096,
            },
            segment_size_bytes: 64 << 10,
            ..CommitlogOptions::default()
        },
        commitlog_sync_thread: PeriodicSyncThread::Background,
        memtable_flush_bytes: 256 << 10,
        flush_mode: FlushMode::Inline,
        ..EngineOptions::default()
    }
}

/// Row `id` of partition `id % 7`; clustering keys arrive descending in some partitions and
/// ascending in others, with every tenth one out of order.
fn mutation(id: u64) -> Mutation {
    let partition = id % 7;
    let ck = match (partition % 2, id % 10) {
        (_, 0) => id.wrapping_mul(2_654_435_761) % 100_000,
        (0, _) => 1_000_000 - id,
        _ => 1_000_000 + id,
    };
    let mut row = Row::new(Bytes::copy_from_slice(&ck.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64 + 1, Bytes::new()));
    row.set(
        0,
        Cell::live(id as i64 + 1, Bytes::from(format!("message {id}"))),
    );
    Mutation::new(1, Bytes::copy_from_slice(&partition.to_be_bytes())).with_row(row)
}

fn rows(engine: &mut Engine, partition: u64, direction: Direction) -> Vec<Vec<u8>> {
    let mut q = ReadQuery::partition(1, Bytes::copy_from_slice(&partition.to_be_bytes()));
    q.direction = direction;
    let result = engine.read(&q).unwrap();
    result.rows.iter().map(|r| r.clustering.to_vec()).collect()
}

fn snapshot(engine: &mut Engine) -> Vec<Vec<Vec<u8>>> {
    (0..7)
        .map(|p| rows(engine, p, Direction::Forward))
        .collect()
}

#[test]
fn buffered_writes_survive_close_and_drop_across_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    for id in 0..6_000 {
        engine.apply(mutation(id)).unwrap();
        if id % 500 == 0 {
            engine.tick().unwrap();
        }
    }
    assert!(engine.stats().flushes > 0, "{:?}", engine.stats());
    let written = snapshot(&mut engine);
    for (p, forward) in written.iter().enumerate() {
        assert!(
            forward.windows(2).all(|w| w[0] < w[1]),
            "partition {p} in order"
        );
        let mut reverse = rows(&mut engine, p as u64, Direction::Reverse);
        reverse.reverse();
        assert_eq!(&reverse, forward, "partition {p} reversed");
    }
    let total: usize = written.iter().map(Vec::len).sum();
    assert!(total > 5_000, "{total}");

    engine.close().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(snapshot(&mut engine), written, "after close");
    for id in 6_000..6_100 {
        engine.apply(mutation(id)).unwrap();
    }
    let written = snapshot(&mut engine);
    // Dropped, not closed: the buffer still reaches the files (no fsync needed to reopen).
    drop(engine);
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(snapshot(&mut engine), written, "after drop");
}
