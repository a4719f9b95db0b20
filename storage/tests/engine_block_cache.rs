//! The engine's block cache: repeated reads are served from it with the same rows, its size
//! stays bounded, and the blocks of SSTables a compaction removed leave it.

use bytes::Bytes;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};
use scrolldb_storage::sstable::SstableWriterOptions;

const PARTITIONS: u64 = 8;

fn options(block_cache_bytes: u64) -> EngineOptions {
    EngineOptions {
        sstable: SstableWriterOptions {
            block_size_bytes: 1024,
            ..SstableWriterOptions::default()
        },
        block_cache_bytes,
        ..EngineOptions::default()
    }
}

fn mutation(id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(
        0,
        Cell::live(
            id as i64,
            Bytes::from(format!("message {id} {}", "y".repeat((id % 50) as usize))),
        ),
    );
    Mutation::new(1, Bytes::copy_from_slice(&(id % PARTITIONS).to_be_bytes())).with_row(row)
}

fn newest(partition: u64) -> ReadQuery {
    ReadQuery::partition(1, Bytes::copy_from_slice(&partition.to_be_bytes()))
        .reverse()
        .limit(50)
}

/// Two SSTables per partition, so reads merge.
fn loaded(block_cache_bytes: u64) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(block_cache_bytes)).unwrap();
    for id in 0..4_000 {
        engine.apply(mutation(id)).unwrap();
        if id == 2_000 {
            engine.flush().unwrap();
        }
    }
    engine.flush().unwrap();
    (dir, engine)
}

#[test]
fn repeated_reads_hit_the_cache_and_return_the_same_rows() {
    let (_dir, mut engine) = loaded(8 << 20);
    let (_dir_off, mut uncached) = loaded(0);
    for p in 0..PARTITIONS {
        let first = engine.read(&newest(p)).unwrap();
        let second = engine.read(&newest(p)).unwrap();
        assert_eq!(first.rows.len(), 50);
        assert_eq!(first.rows, second.rows);
        assert_eq!(first.rows, uncached.read(&newest(p)).unwrap().rows);
        assert!(
            second.stats.blocks_read > 0,
            "blocks reached are counted, cached or not"
        );
    }
    let s = engine.stats().block_cache;
    assert!(s.hits >= s.misses, "{s:?}");
    assert!(s.bytes > 0 && s.bytes <= s.capacity_bytes, "{s:?}");
    assert_eq!(uncached.stats().block_cache.hits, 0);
}

#[test]
fn cache_stays_within_its_capacity() {
    let (_dir, mut engine) = loaded(16 << 10);
    for p in 0..PARTITIONS {
        let all = ReadQuery::partition(1, Bytes::copy_from_slice(&p.to_be_bytes()));
        assert_eq!(engine.read(&all).unwrap().rows.len(), 500);
    }
    let s = engine.stats().block_cache;
    assert!(s.misses > 0 && s.bytes <= 16 << 10, "{s:?}");
}

#[test]
fn compaction_evicts_the_blocks_of_the_tables_it_replaced() {
    let (_dir, mut engine) = loaded(8 << 20);
    let before: Vec<_> = (0..PARTITIONS)
        .map(|p| engine.read(&newest(p)).unwrap().rows)
        .collect();
    assert!(engine.stats().block_cache.bytes > 0);
    engine.compact_all().unwrap();
    assert_eq!(engine.stats().sstable_count, 1);
    assert_eq!(
        engine.stats().block_cache.bytes,
        0,
        "only blocks of the removed tables were cached"
    );
    for (p, rows) in before.iter().enumerate() {
        assert_eq!(&engine.read(&newest(p as u64)).unwrap().rows, rows);
    }
    assert!(engine.stats().block_cache.bytes > 0);
}
