//! Format 4 splits a data block into row heads and bodies only when all its rows are of one
//! partition; a block of several small partitions is one joined frame. Observable through
//! the block cache: a cold read of a small partition costs one miss (heads and bodies come
//! in one entry), a cold block of a large partition two (heads, then bodies when a row is
//! decoded), and a walk over shadowed rows of a large partition reads heads only.

use bytes::Bytes;
use std::sync::Arc;

use scrolldb_storage::model::{Cell, DecoratedKey, DeletionTime, Direction, Row, Slice};
use scrolldb_storage::read::{Merged, MergedRows, PartitionSource, SourceRows};
use scrolldb_storage::sstable::{BlockCache, Sstable, SstableWriter, SstableWriterOptions};

const SMALL_PARTITIONS: u64 = 200;
const SMALL_ROWS: u64 = 5;
const LARGE_ROWS: u64 = 3_000;

fn row(partition: u64, i: u64) -> Row {
    let mut r = Row::new(Bytes::copy_from_slice(&i.to_be_bytes()));
    let ts = 1_700_000_000_000_000 + i as i64;
    r.marker = Some(Cell::live(ts, Bytes::new()));
    r.set(
        1,
        Cell::live(
            ts,
            format!("message {i} of channel {partition}, some chat text"),
        ),
    );
    if i % 7 == 3 {
        r.set(2, Cell::tombstone(ts + 1, 1_700_000_000));
    }
    r
}

fn rows_of(partition: u64) -> u64 {
    if partition == SMALL_PARTITIONS / 2 {
        LARGE_ROWS
    } else {
        SMALL_ROWS
    }
}

fn key(partition: u64) -> DecoratedKey {
    DecoratedKey::new(Bytes::from(format!("channel-{partition}")))
}

/// Small partitions around one large one, in ring order.
fn write_table(path: &std::path::Path) -> Vec<(DecoratedKey, u64)> {
    write_table_with(path, SstableWriterOptions::default())
}

fn write_table_with(
    path: &std::path::Path,
    opts: SstableWriterOptions,
) -> Vec<(DecoratedKey, u64)> {
    let mut parts: Vec<(DecoratedKey, u64)> = (0..SMALL_PARTITIONS).map(|p| (key(p), p)).collect();
    parts.sort();
    let mut w = SstableWriter::create(path, opts, parts.len()).unwrap();
    for (k, p) in &parts {
        w.add_partition(k, None, &[], (0..rows_of(*p)).map(|i| row(*p, i)))
            .unwrap();
    }
    w.finish().unwrap();
    parts
}

fn open(path: &std::path::Path) -> (Arc<Sstable>, Arc<BlockCache>) {
    let cache = BlockCache::new(64 << 20);
    (Sstable::open_cached(path, &cache, 1).unwrap(), cache)
}

fn read(t: &Sstable, key: &DecoratedKey, direction: Direction, limit: usize) -> (Vec<Row>, u64) {
    let p = t.partition(key).unwrap().unwrap();
    let mut it = p.rows(&Slice::all(), direction);
    let rows = it
        .by_ref()
        .take(limit)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (rows, it.blocks_read())
}

#[test]
fn every_partition_reads_back_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let parts = write_table(&path);
    let (t, _cache) = open(&path);
    for (k, p) in &parts {
        let expected: Vec<Row> = (0..rows_of(*p)).map(|i| row(*p, i)).collect();
        let (forward, _) = read(&t, k, Direction::Forward, usize::MAX);
        assert_eq!(forward, expected, "partition {p}");
        let (mut reverse, _) = read(&t, k, Direction::Reverse, usize::MAX);
        reverse.reverse();
        assert_eq!(reverse, expected, "partition {p}");
    }
}

#[test]
fn a_cold_block_of_small_partitions_is_one_cache_miss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    write_table(&path);
    let (t, cache) = open(&path);
    for p in [0, 1, SMALL_PARTITIONS - 1] {
        let before = cache.stats().misses;
        let (rows, blocks) = read(&t, &key(p), Direction::Reverse, 50);
        assert_eq!(rows.len() as u64, SMALL_ROWS);
        let misses = cache.stats().misses - before;
        if p == 0 {
            assert!(misses >= 1, "a cold table's first read misses");
        }
        // At most two blocks (a partition may straddle a boundary), each one miss; a block
        // of these partitions was cached whole by an earlier read or costs one.
        assert!(
            misses <= blocks,
            "partition {p}: {misses} misses, {blocks} blocks"
        );
    }
    // A second read of the same partition is all hits.
    let before = cache.stats().misses;
    read(&t, &key(0), Direction::Forward, 50);
    assert_eq!(cache.stats().misses, before);
}

#[test]
fn a_large_partition_keeps_heads_and_bodies_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    write_table(&path);
    let (t, cache) = open(&path);
    let large = key(SMALL_PARTITIONS / 2);

    // A walk over rows that a newer row tombstone shadows reads their heads only.
    let tombstones: Vec<Row> = (0..LARGE_ROWS)
        .rev()
        .map(|i| {
            let mut r = Row::new(Bytes::copy_from_slice(&i.to_be_bytes()));
            r.deletion = Some(DeletionTime::new(1_800_000_000_000_000, 1_700_000_100));
            r
        })
        .collect();
    let p = t.partition(&large).unwrap().unwrap();
    let sources = vec![
        PartitionSource {
            deletion: None,
            range_tombstones: Vec::new(),
            rows: SourceRows::memtable(Box::new(tombstones.iter())),
        },
        PartitionSource {
            deletion: None,
            range_tombstones: Vec::new(),
            rows: SourceRows::sstable(p.rows(&Slice::all(), Direction::Reverse)),
        },
    ];
    let mut merged = MergedRows::new(sources, Direction::Reverse, |_| true);
    let mut deleted = 0;
    while let Some(m) = merged.next_merged().unwrap() {
        assert!(matches!(m, Merged::Deleted { .. }));
        deleted += 1;
    }
    assert_eq!(deleted, LARGE_ROWS);
    let heads_only = cache.stats();
    assert!(heads_only.misses > 2, "{heads_only:?}");

    // Reading rows then fetches the bodies of the blocks read: one more miss per block
    // inside the partition; only the joined edge blocks (shared with small partitions)
    // brought their bodies with their heads.
    let (rows, blocks) = read(&t, &large, Direction::Forward, usize::MAX);
    assert_eq!(rows.len() as u64, LARGE_ROWS);
    let body_misses = cache.stats().misses - heads_only.misses;
    assert!(blocks > 10, "{blocks} blocks");
    assert!(
        (blocks - 2..=blocks).contains(&body_misses),
        "{body_misses} misses for the bodies of {blocks} blocks"
    );
}

#[test]
fn blocks_are_cut_at_partition_ends_past_the_cut_size() {
    let dir = tempfile::tempdir().unwrap();
    // Decompressed bytes and blocks of a cold read of every small partition, at a cut size.
    let cold_reads = |cut: usize| {
        let path = dir.path().join(format!("cut{cut}.db"));
        let opts = SstableWriterOptions {
            partition_cut_bytes: cut,
            ..SstableWriterOptions::default()
        };
        let parts = write_table_with(&path, opts);
        let (t, cache) = open(&path);
        let (mut bytes, mut blocks) = (0, 0);
        for (k, p) in parts.iter().filter(|(_, p)| rows_of(*p) == SMALL_ROWS) {
            let before = cache.stats().bytes;
            let (rows, read) = read(&t, k, Direction::Reverse, 50);
            assert_eq!(rows.len() as u64, SMALL_ROWS, "partition {p}");
            bytes += cache.stats().bytes - before;
            blocks += read;
            cache.evict_generation(1);
        }
        (bytes, blocks)
    };
    let (uncut_bytes, uncut_blocks) = cold_reads(0);
    let (cut_bytes, cut_blocks) = cold_reads(512);
    let small = SMALL_PARTITIONS - 1;
    // Uncut, 4 KiB blocks of ten partitions: some straddle two blocks.
    assert!(uncut_blocks > small, "{uncut_blocks} blocks");
    // Cut, no small partition (about 400 bytes) straddles: one block each, a third the size.
    assert_eq!(cut_blocks, small);
    assert!(
        cut_bytes * 3 < uncut_bytes,
        "{cut_bytes} against {uncut_bytes} bytes"
    );
}
