//! SSTables of older format versions stay readable. Version 1 stores rows without their
//! maximum timestamp (this build derives it from the cells); version 2 stores whole rows,
//! with that timestamp, in one zstd frame per block; version 3 splits every block into heads
//! and bodies (version 4 only blocks of one partition's rows). Each fixture was written by its version's writer from `fixture_rows`, and this
//! build reads its rows both ways and merges them with tombstones.

use bytes::Bytes;
use std::path::PathBuf;

use scrolldb_storage::model::{Cell, DecoratedKey, DeletionTime, Direction, Row, Slice};
use scrolldb_storage::read::{Merged, MergedRows, PartitionSource, SourceRows};
use scrolldb_storage::sstable::Sstable;

/// The rows of the fixtures (`tests/fixtures/sstable_v1.db`, `sstable_v2.db`, `sstable_v3.db`, partition
/// `channel`): every row shape, so reading a file covers rows with and without a marker,
/// cells of each kind and row tombstones. The fixtures were written from exactly these
/// rows; do not change them.
fn fixture_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0u64..300 {
        let mut row = Row::new(Bytes::copy_from_slice(&i.to_be_bytes()));
        let ts = 1_700_000_000_000_000 + (i as i64) * 10;
        match i % 5 {
            0 => {
                row.marker = Some(Cell::live(ts, Bytes::new()));
                row.set(0, Cell::live(ts, vec![b'm'; 30]));
                row.set(3, Cell::live(ts + 5, b"late".to_vec()));
            }
            1 => {
                row.set(
                    1,
                    Cell::expiring(ts + 7, b"ttl".to_vec(), 3600, 1_700_000_000),
                );
                row.set(2, Cell::tombstone(ts + 2, 1_700_000_000));
            }
            2 => {
                row.deletion = Some(DeletionTime::new(ts + 3, 1_700_000_001));
                row.set(4, Cell::live(ts + 9, b"after".to_vec()));
            }
            3 => row.deletion = Some(DeletionTime::new(ts, 1_700_000_002)),
            _ => row.marker = Some(Cell::live(ts + 1, Bytes::new())),
        }
        rows.push(row);
    }
    rows
}

fn fixture(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/sstable_v{version}.db"))
}

fn assert_fixture_version(version: u32) {
    let bytes = std::fs::read(fixture(version)).unwrap();
    assert_eq!(&bytes[8..12], &version.to_le_bytes());
    assert!(scrolldb_storage::sstable::FORMAT_VERSION > version);
}

fn assert_rows_read_back_both_ways(version: u32) {
    let table = Sstable::open(&fixture(version)).unwrap();
    let key = DecoratedKey::new(Bytes::from_static(b"channel"));
    let p = table.partition(&key).unwrap().unwrap();
    let forward: Vec<Row> = p
        .rows(&Slice::all(), Direction::Forward)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(forward, fixture_rows());
    let mut reverse: Vec<Row> = p
        .rows(&Slice::all(), Direction::Reverse)
        .collect::<Result<_, _>>()
        .unwrap();
    reverse.reverse();
    assert_eq!(reverse, fixture_rows());
}

/// A row tombstone over every fixture row at its base timestamp + 5 leaves exactly what a
/// full reconciliation leaves: the merge's skip decision reads the old rows right.
fn assert_rows_merge_with_newer_tombstones(version: u32) {
    let table = Sstable::open(&fixture(version)).unwrap();
    let key = DecoratedKey::new(Bytes::from_static(b"channel"));
    let p = table.partition(&key).unwrap().unwrap();
    let tombstones: Vec<Row> = fixture_rows()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut t = Row::new(r.clustering.clone());
            let ts = 1_700_000_000_000_000 + (i as i64) * 10;
            t.deletion = Some(DeletionTime::new(ts + 5, 1_700_000_100));
            t
        })
        .collect();
    for direction in [Direction::Forward, Direction::Reverse] {
        let sources = vec![
            PartitionSource {
                deletion: None,
                range_tombstones: Vec::new(),
                rows: SourceRows::memtable(match direction {
                    Direction::Forward => Box::new(tombstones.iter()),
                    Direction::Reverse => Box::new(tombstones.iter().rev()),
                }),
            },
            PartitionSource {
                deletion: None,
                range_tombstones: Vec::new(),
                rows: SourceRows::sstable(p.rows(&Slice::all(), direction)),
            },
        ];
        let mut merged = MergedRows::new(sources, direction, |_| true);
        let mut got = Vec::new();
        let mut deleted = 0;
        while let Some(m) = merged.next_merged().unwrap() {
            if matches!(m, Merged::Deleted { .. }) {
                deleted += 1;
            }
            got.push(m.into_row());
        }
        let mut expected: Vec<Row> = fixture_rows()
            .into_iter()
            .zip(&tombstones)
            .map(|(mut row, t)| {
                row.merge(t.clone());
                row.apply_deletion(None);
                row
            })
            .collect();
        if direction == Direction::Reverse {
            expected.reverse();
        }
        assert_eq!(got, expected, "{direction:?}");
        // Rows of shapes 0 (its newest cell ties the tombstone), 3 and 4 are fully shadowed.
        assert_eq!(deleted, 180, "{direction:?}");
    }
}

#[test]
fn the_fixture_is_version_1() {
    assert_fixture_version(1);
}

#[test]
fn version_1_rows_read_back_both_ways() {
    assert_rows_read_back_both_ways(1);
}

#[test]
fn version_1_rows_merge_with_newer_tombstones() {
    assert_rows_merge_with_newer_tombstones(1);
}

#[test]
fn the_fixture_is_version_2() {
    assert_fixture_version(2);
}

#[test]
fn version_2_rows_read_back_both_ways() {
    assert_rows_read_back_both_ways(2);
}

#[test]
fn version_2_rows_merge_with_newer_tombstones() {
    assert_rows_merge_with_newer_tombstones(2);
}

#[test]
fn the_fixture_is_version_3() {
    assert_fixture_version(3);
}

#[test]
fn version_3_rows_read_back_both_ways() {
    assert_rows_read_back_both_ways(3);
}

#[test]
fn version_3_rows_merge_with_newer_tombstones() {
    assert_rows_merge_with_newer_tombstones(3);
}
