//! Reads and scans over tombstones: the warning and failure thresholds are configurable and
//! counted in stats, and token-range scans over tombstone-heavy data return bounded pages
//! (possibly empty, with a resume position) instead of walking or failing without bound.

use bytes::Bytes;
use scrolldb_storage::clock::now_secs;
use scrolldb_storage::engine::{Engine, EngineOptions, ScanQuery};
use scrolldb_storage::error::Error;
use scrolldb_storage::model::{Cell, DeletionTime, Mutation, ReadQuery, Row};
use scrolldb_storage::read::TombstoneThresholds;

const TABLE: u32 = 1;

fn open(dir: &std::path::Path, warn: u64, fail: u64) -> Engine {
    let opts = EngineOptions {
        tombstones: TombstoneThresholds {
            warn,
            fail: Some(fail),
        },
        ..EngineOptions::default()
    };
    Engine::open(dir, opts).unwrap()
}

fn pk(p: u32) -> Bytes {
    Bytes::copy_from_slice(&p.to_be_bytes())
}

/// `deleted` rows deleted one by one, then `live` rows after them, in partition `p`.
fn fill(engine: &mut Engine, p: u32, deleted: u32, live: u32) {
    let now = now_secs();
    for i in 0..deleted + live {
        let mut row = Row::new(Bytes::copy_from_slice(&i.to_be_bytes()));
        row.marker = Some(Cell::live(1, Bytes::new()));
        if i < deleted {
            row.deletion = Some(DeletionTime::new(2, now));
        }
        engine
            .apply(Mutation::new(TABLE, pk(p)).with_row(row))
            .unwrap();
    }
}

#[test]
fn thresholds_warn_and_fail_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path(), 10, 100);
    fill(&mut engine, 1, 50, 1);
    fill(&mut engine, 2, 200, 1);
    engine.flush().unwrap();
    let r = engine.read(&ReadQuery::partition(TABLE, pk(1))).unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.stats.tombstones_scanned, 50);
    let err = engine
        .read(&ReadQuery::partition(TABLE, pk(2)))
        .unwrap_err();
    assert!(
        matches!(err, Error::TombstoneOverwhelm { threshold: 100, .. }),
        "{err}"
    );
    let stats = engine.stats();
    assert_eq!(stats.reads_over_tombstone_warning, 1);
    assert_eq!(stats.reads_failed_on_tombstones, 1);
    assert_eq!(stats.tombstone_thresholds.warn, 10);
    assert_eq!(stats.tombstone_thresholds.fail, Some(100));
}

#[test]
fn a_scan_pages_through_a_partition_full_of_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    // Failure at 1,000 tombstones: a plain read of this partition fails, a scan must not.
    let mut engine = open(dir.path(), 100, 1_000);
    fill(&mut engine, 1, 5_000, 3);
    engine.flush().unwrap();
    assert!(engine.read(&ReadQuery::partition(TABLE, pk(1))).is_err());
    let mut q = ScanQuery::all(TABLE);
    let mut pages = 0;
    let mut live = Vec::new();
    loop {
        let page = engine.scan(&q).unwrap();
        pages += 1;
        for (_, rows) in page.partitions {
            live.extend(rows);
        }
        match page.resume {
            Some(pos) => q.resume = Some(pos),
            None => break,
        }
        assert!(pages < 1_000, "the scan does not make progress");
    }
    assert_eq!(live.len(), 3);
    // About 5,000 tombstones in pages of ~100: dozens of (mostly empty) pages.
    assert!((45..=60).contains(&pages), "{pages} pages");
}

#[test]
fn a_scan_over_deleted_partitions_returns_empty_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path(), 1_000, 100_000);
    for p in 0..300 {
        let mut m = Mutation::new(TABLE, pk(p));
        m.rows.push({
            let mut row = Row::new(Bytes::from_static(b"c"));
            row.marker = Some(Cell::live(1, Bytes::new()));
            row
        });
        engine.apply(m).unwrap();
        let mut d = Mutation::new(TABLE, pk(p));
        d.partition_deletion = Some(DeletionTime::new(2, now_secs()));
        engine.apply(d).unwrap();
    }
    let mut q = ScanQuery::all(TABLE);
    q.max_partitions = 50;
    let mut pages = 0;
    loop {
        let page = engine.scan(&q).unwrap();
        pages += 1;
        assert!(page.partitions.is_empty());
        match page.resume {
            Some(pos) => q.resume = Some(pos),
            None => break,
        }
    }
    assert_eq!(pages, 6);
}
