//! Tombstone purge: only past gc grace and only when no source outside the compaction holds
//! older data for the partition; covered data dropped; expired TTL cells purged;
//! single-SSTable tombstone compaction, never repeated when it freed nothing; and the nearly
//! empty channel shrinking to almost nothing.

use bytes::Bytes;
use scrolldb_storage::clock::now_secs;
use scrolldb_storage::compaction::{CompactionMode, CompactionReason, TombstoneCompaction};
use scrolldb_storage::engine::{Engine, EngineOptions, TableOptions};
use scrolldb_storage::model::{
    Bound, Cell, DeletionTime, Mutation, RangeTombstone, ReadQuery, Row,
};
use scrolldb_storage::read::TombstoneThresholds;

const TABLE: u32 = 1;

fn open(dir: &std::path::Path) -> Engine {
    let opts = EngineOptions {
        compaction_mode: CompactionMode::External,
        tombstones: TombstoneThresholds {
            warn: u64::MAX,
            fail: None,
        },
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir, opts).unwrap();
    engine.set_table_options(
        TABLE,
        TableOptions {
            gc_grace_secs: 0,
            compaction: scrolldb_storage::compaction::CompactionConfig {
                tombstones: TombstoneCompaction {
                    threshold: 0.2,
                    interval_secs: 0,
                    unchecked: true,
                },
                ..Default::default()
            },
        },
    );
    engine
}

fn pk(p: u8) -> Bytes {
    Bytes::from(vec![b'p', p])
}

fn ck(i: u32) -> Bytes {
    Bytes::copy_from_slice(&i.to_be_bytes())
}

fn write(engine: &mut Engine, p: u8, i: u32, ts: i64) {
    let mut row = Row::new(ck(i));
    row.marker = Some(Cell::live(ts, Bytes::new()));
    row.set(0, Cell::live(ts, Bytes::from(vec![7u8; 40])));
    engine
        .apply(Mutation::new(TABLE, pk(p)).with_row(row))
        .unwrap();
}

fn delete_row(engine: &mut Engine, p: u8, i: u32, ts: i64, at: i64) {
    let mut row = Row::new(ck(i));
    row.deletion = Some(DeletionTime::new(ts, at));
    engine
        .apply(Mutation::new(TABLE, pk(p)).with_row(row))
        .unwrap();
}

fn rows(engine: &mut Engine, p: u8) -> usize {
    engine
        .read(&ReadQuery::partition(TABLE, pk(p)))
        .unwrap()
        .rows
        .len()
}

#[test]
fn tombstone_shadowing_an_sstable_outside_the_compaction_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    let now = now_secs();
    write(&mut engine, 1, 1, 10);
    engine.flush().unwrap();
    // Hours old: the droppable-tombstone estimate counts whole hour buckets.
    delete_row(&mut engine, 1, 1, 20, now - 10_000);
    engine.flush().unwrap();
    assert_eq!(rows(&mut engine, 1), 0);
    let job = engine
        .pick_compaction_at(now)
        .expect("tombstone compaction");
    assert_eq!(job.reason(), CompactionReason::Tombstones);
    engine.install(job.run()).unwrap();
    assert_eq!(rows(&mut engine, 1), 0, "the tombstone must not be purged");
    let stats = engine.stats().compaction;
    assert_eq!(
        stats.futile_tombstone_compactions,
        stats.tombstone_compactions
    );
    // Freed nothing: never picked again for that reason.
    let again = engine.pick_compaction_at(now);
    assert!(
        again
            .as_ref()
            .is_none_or(|j| j.reason() != CompactionReason::Tombstones),
        "{again:?}"
    );
    // A major compaction sees both sides and drops the row and its tombstone.
    engine.compact_table_at(TABLE, now).unwrap();
    assert_eq!(engine.stats().sstable_count, 0);
    drop(engine);
    let mut engine = open(dir.path());
    assert_eq!(rows(&mut engine, 1), 0);
}

#[test]
fn tombstone_shadowing_the_memtable_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    let now = now_secs();
    delete_row(&mut engine, 1, 1, 20, now - 10_000);
    engine.flush().unwrap();
    // Older data arrives later (a late replica write): it lands in the memtable.
    write(&mut engine, 1, 1, 10);
    engine.compact_table_at(TABLE, now).unwrap(); // flushes first: both sides compacted together
    assert_eq!(rows(&mut engine, 1), 0);
    let dir2 = tempfile::tempdir().unwrap();
    let mut engine = open(dir2.path());
    delete_row(&mut engine, 1, 1, 20, now - 10_000);
    engine.flush().unwrap();
    write(&mut engine, 1, 1, 10);
    // The flushed SSTable's age is measured from a clock read after its flush: a second
    // boundary between an earlier read and the flush would make it -1 s old, too young
    // even for an interval of 0.
    let job = engine
        .pick_compaction_at(now_secs())
        .expect("tombstone compaction");
    engine.install(job.run()).unwrap();
    assert_eq!(
        rows(&mut engine, 1),
        0,
        "purging would resurrect the memtable's row"
    );
    engine.flush().unwrap();
    assert_eq!(rows(&mut engine, 1), 0);
}

#[test]
fn tombstone_alone_in_its_partition_is_purged_past_grace_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    let now = now_secs();
    engine.set_gc_grace_secs(TABLE, 1_000);
    write(&mut engine, 1, 1, 10);
    delete_row(&mut engine, 1, 1, 20, now - 100);
    delete_row(&mut engine, 2, 1, 20, now - 5_000);
    engine.compact_table_at(TABLE, now).unwrap();
    // Partition 1's tombstone is within grace and stays (its covered row is dropped);
    // partition 2's is past grace and goes.
    assert_eq!(engine.stats().sstable_count, 1);
    assert_eq!(rows(&mut engine, 1), 0);
    let total: u64 = engine.stats().sstable_bytes;
    engine.set_gc_grace_secs(TABLE, 0);
    engine.compact_table_at(TABLE, now).unwrap();
    assert_eq!(engine.stats().sstable_count, 0, "was {total} bytes");
}

#[test]
fn partition_and_range_tombstones_drop_what_they_cover() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    engine.set_gc_grace_secs(TABLE, 864_000);
    let now = now_secs();
    for i in 0..100 {
        write(&mut engine, 1, i, 10);
        write(&mut engine, 2, i, 10);
    }
    engine.flush().unwrap();
    let mut m = Mutation::new(TABLE, pk(1));
    m.range_tombstones.push(RangeTombstone::new(
        Bound::Included(ck(10)),
        Bound::Excluded(ck(60)),
        DeletionTime::new(20, now),
    ));
    engine.apply(m).unwrap();
    let mut m = Mutation::new(TABLE, pk(2));
    m.partition_deletion = Some(DeletionTime::new(20, now));
    engine.apply(m).unwrap();
    write(&mut engine, 2, 5, 30); // newer than the partition deletion: survives
    engine.compact_table_at(TABLE, now).unwrap();
    assert_eq!(rows(&mut engine, 1), 50);
    assert_eq!(rows(&mut engine, 2), 1);
    let stats = engine.stats();
    assert_eq!(stats.sstable_count, 1);
    // The covered rows are gone from disk, the (young) tombstones are not.
    let sst_rows = sstable_rows(dir.path());
    assert_eq!(sst_rows, 50 + 1, "rows on disk");
}

#[test]
fn expired_ttl_cells_are_purged_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    engine.set_gc_grace_secs(TABLE, 100);
    let now = now_secs();
    for (i, written) in [(1u32, now - 1_000), (2, now - 50)] {
        let mut row = Row::new(ck(i));
        row.marker = Some(Cell::expiring(10, Bytes::new(), 10, written));
        row.set(
            0,
            Cell::expiring(10, Bytes::from_static(b"gone soon"), 10, written),
        );
        engine
            .apply(Mutation::new(TABLE, pk(1)).with_row(row))
            .unwrap();
    }
    engine.compact_table_at(TABLE, now).unwrap();
    assert_eq!(rows(&mut engine, 1), 0);
    // Row 1 (written 1,000 s ago) is past grace; row 2 (50 s) is expired but not yet.
    assert_eq!(sstable_rows(dir.path()), 1);
    engine.compact_table_at(TABLE, now + 100).unwrap();
    assert_eq!(engine.stats().sstable_count, 0);
}

#[test]
fn the_nearly_empty_channel_shrinks_after_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    let now = now_secs();
    let n = 20_000u32;
    for i in 0..n {
        write(&mut engine, 1, i, i64::from(i) + 1);
    }
    engine.flush().unwrap();
    for i in 0..n - 1 {
        delete_row(&mut engine, 1, i, i64::from(n) + 10, now - 10);
    }
    engine.flush().unwrap();
    let before = engine.stats().sstable_bytes;
    let newest = ReadQuery::partition(TABLE, pk(1)).reverse().limit(50);
    assert_eq!(engine.read(&newest).unwrap().rows.len(), 1);
    // The deletes' SSTable alone cannot purge (the data is outside it): compact both.
    engine.compact_table_at(TABLE, now).unwrap();
    let after = engine.stats().sstable_bytes;
    assert!(after * 100 < before, "{after} bytes after, {before} before");
    let r = engine.read(&newest).unwrap();
    assert_eq!(r.rows.len(), 1);
    assert!(r.stats.rows_scanned <= 2, "{:?}", r.stats);
}

/// Rows in all SSTables of the table, from their stats.
fn sstable_rows(dir: &std::path::Path) -> u64 {
    let tdir = dir.join("tables").join(TABLE.to_string());
    std::fs::read_dir(tdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .map(|p| {
            scrolldb_storage::sstable::Sstable::open(&p)
                .unwrap()
                .stats()
                .row_count
        })
        .sum()
}
