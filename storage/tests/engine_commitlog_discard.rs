//! A flush rotates the commitlog and deletes the segments it covered; what was written after
//! the flush (only in the commitlog) still comes back on reopen; restarts without writes do
//! not pile up empty segments.

use std::path::Path;

use bytes::Bytes;
use scrolldb_storage::commitlog::segment;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

fn mutation(partition: u64, id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(
        0,
        Cell::live(id as i64, Bytes::from(format!("message {id}"))),
    );
    Mutation::new(1, Bytes::copy_from_slice(&partition.to_be_bytes())).with_row(row)
}

fn segments(dir: &Path) -> Vec<u64> {
    segment::list(&dir.join("commitlog"))
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

fn row_count(engine: &mut Engine, partition: u64) -> usize {
    let q = ReadQuery::partition(1, Bytes::copy_from_slice(&partition.to_be_bytes()));
    engine.read(&q).unwrap().rows.len()
}

#[test]
fn flush_deletes_the_segments_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    for id in 0..100 {
        engine.apply(mutation(id % 4, id)).unwrap();
    }
    let before = segments(dir.path());
    assert_eq!(before.len(), 1, "one active segment: {before:?}");
    engine.flush().unwrap();
    let after = segments(dir.path());
    assert_eq!(
        after.len(),
        1,
        "only the fresh active segment is left: {after:?}"
    );
    assert!(
        after[0] > before[0],
        "the flushed segment is gone: {after:?}"
    );
    let seg_bytes = std::fs::metadata(
        dir.path()
            .join("commitlog")
            .join(segment::file_name(after[0])),
    )
    .unwrap()
    .len();
    assert_eq!(
        seg_bytes,
        segment::HEADER_BYTES,
        "the new segment holds no record"
    );

    // A flush with nothing new appended makes no new segment.
    engine.flush().unwrap();
    assert_eq!(segments(dir.path()), after);

    // Writes after the flush live only in the commitlog and must replay.
    for id in 100..130 {
        engine.apply(mutation(id % 4, id)).unwrap();
    }
    engine.close().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(
        engine.replay_report().records,
        30,
        "only the unflushed records replay"
    );
    let total: usize = (0..4).map(|p| row_count(&mut engine, p)).sum();
    assert_eq!(total, 130);

    // Reopen made the old active segment a closed one; the next flush drops it too.
    engine.flush().unwrap();
    assert_eq!(segments(dir.path()).len(), 1);
    drop(engine);
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(engine.replay_report().records, 0);
    let total: usize = (0..4).map(|p| row_count(&mut engine, p)).sum();
    assert_eq!(total, 130);
}

#[test]
fn disk_bytes_after_flush_are_sstables_plus_an_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    for id in 0..2_000 {
        engine.apply(mutation(id % 16, id)).unwrap();
    }
    let appended = engine.stats().commitlog.bytes_appended;
    assert!(engine.disk_bytes() >= appended);
    engine.flush().unwrap();
    let s = engine.stats();
    assert_eq!(s.disk_bytes, s.sstable_bytes + segment::HEADER_BYTES);
}

#[test]
fn restarts_without_writes_do_not_pile_up_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    for id in 0..10 {
        engine.apply(mutation(1, id)).unwrap();
    }
    engine.close().unwrap();
    // The unflushed writes' segment stays (it is all there is of them); each open adds an
    // empty one, which the next open deletes.
    for _ in 0..5 {
        let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        assert_eq!(row_count(&mut engine, 1), 10);
        engine.close().unwrap();
        assert!(
            segments(dir.path()).len() <= 2,
            "{:?}",
            segments(dir.path())
        );
    }
    // Flushed and restarted: nothing but the active segment.
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.flush().unwrap();
    engine.close().unwrap();
    for _ in 0..3 {
        Engine::open(dir.path(), EngineOptions::default())
            .unwrap()
            .close()
            .unwrap();
        assert_eq!(segments(dir.path()).len(), 1, "{:?}", segments(dir.path()));
    }
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(row_count(&mut engine, 1), 10);
}
