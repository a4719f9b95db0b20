//! Reads cost O(1) blocks whatever the partition size: the newest or oldest 50 rows of a
//! 1,000,000-row partition, and 50 rows from the middle after a slice bound, in either
//! direction, decompress at most 3 blocks.

use bytes::Bytes;
use std::sync::Arc;

use scrolldb_storage::model::{Bound, Cell, DecoratedKey, Direction, Row, Slice};
use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};

const ROWS: u64 = 1_000_000;

fn clustering(i: u64) -> Bytes {
    Bytes::copy_from_slice(&i.to_be_bytes())
}

fn row(i: u64) -> Row {
    let mut r = Row::new(clustering(i));
    // ~50 bytes per row: key, one cell with a short text.
    r.set(
        1,
        Cell::live(
            1_700_000_000_000_000 + i as i64,
            format!("hello world message {i:09}"),
        ),
    );
    r
}

fn table(dir: &std::path::Path) -> (Arc<Sstable>, DecoratedKey) {
    let path = dir.join("big.db");
    let key = DecoratedKey::new(Bytes::from_static(b"big-channel"));
    let small = DecoratedKey::new(Bytes::from_static(b"small-channel"));
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 2).unwrap();
    let mut parts = vec![(key.clone(), ROWS), (small, 10)];
    parts.sort();
    for (k, n) in parts {
        w.add_partition(&k, None, &[], (0..n).map(row)).unwrap();
    }
    w.finish().unwrap();
    (Sstable::open(&path).unwrap(), key)
}

fn read_50(t: &Sstable, key: &DecoratedKey, slice: Slice, dir: Direction) -> (Vec<u64>, u64) {
    let p = t.partition(key).unwrap().unwrap();
    let mut it = p.rows(&slice, dir);
    let mut got = Vec::new();
    for r in it.by_ref().take(50) {
        let r = r.unwrap();
        let mut a = [0u8; 8];
        a.copy_from_slice(&r.clustering);
        got.push(u64::from_be_bytes(a));
    }
    (got, it.blocks_read())
}

#[test]
fn fifty_rows_of_a_million_row_partition_read_o1_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (t, key) = table(dir.path());
    let before = t.blocks_read();

    let (got, blocks) = read_50(&t, &key, Slice::all(), Direction::Forward);
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    assert!(blocks <= 3, "forward from the start read {blocks} blocks");

    let (got, blocks) = read_50(&t, &key, Slice::all(), Direction::Reverse);
    assert_eq!(got, (ROWS - 50..ROWS).rev().collect::<Vec<_>>());
    assert!(blocks <= 3, "reverse from the end read {blocks} blocks");

    let mid = ROWS / 2 + 7;
    let after = Slice::new(Bound::Excluded(clustering(mid)), Bound::Unbounded);
    let (got, blocks) = read_50(&t, &key, after, Direction::Forward);
    assert_eq!(got, (mid + 1..mid + 51).collect::<Vec<_>>());
    assert!(blocks <= 3, "forward from the middle read {blocks} blocks");

    // Scroll-back: the 50 rows before a message, walking backwards.
    let before_mid = Slice::new(Bound::Unbounded, Bound::Excluded(clustering(mid)));
    let (got, blocks) = read_50(&t, &key, before_mid, Direction::Reverse);
    assert_eq!(got, (mid - 50..mid).rev().collect::<Vec<_>>());
    assert!(blocks <= 3, "reverse from the middle read {blocks} blocks");

    // A bounded slice in the middle, read to its end, either way.
    let window = Slice::new(
        Bound::Included(clustering(mid)),
        Bound::Included(clustering(mid + 49)),
    );
    for dir in [Direction::Forward, Direction::Reverse] {
        let p = t.partition(&key).unwrap().unwrap();
        let mut it = p.rows(&window, dir);
        assert_eq!(it.by_ref().count(), 50);
        assert!(
            it.blocks_read() <= 3,
            "{dir:?} window read {} blocks",
            it.blocks_read()
        );
    }

    // The table-wide counter saw the same work; the partition spans thousands of blocks.
    assert!(t.blocks_read() - before <= 20);
    assert!(t.file_size() > 1_000_000);
}
