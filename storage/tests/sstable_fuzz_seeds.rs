//! Seeds for the `sstable_block` fuzz target, and a small in-test fuzz run over mutations of
//! them. `cargo test -p scrolldb-storage --test sstable_fuzz_seeds -- --ignored` rewrites the
//! seed files in `fuzz/corpus/sstable_block/`.

use bytes::Bytes;
use std::path::{Path, PathBuf};

use scrolldb_storage::fuzz_targets::sstable_block::run;
use scrolldb_storage::model::{Bound, Cell, DecoratedKey, DeletionTime, RangeTombstone, Row};
use scrolldb_storage::sstable::{
    decode_block_for_fuzzing, unframe_block_for_fuzzing, SstableWriter, SstableWriterOptions,
};

/// A small table with every kind of content, in 256-byte blocks so it has several (but
/// fewer than the 8 a zstd dictionary is trained on: the fuzz target decompresses a lone
/// block without one).
fn small_table(dir: &Path) -> Vec<u8> {
    let path = dir.join("seed.db");
    let opts = SstableWriterOptions {
        block_size_bytes: 256,
        ..SstableWriterOptions::default()
    };
    let mut keys: Vec<DecoratedKey> = (0..3)
        .map(|i| DecoratedKey::new(Bytes::from(format!("ch{i}"))))
        .collect();
    keys.sort();
    let mut w = SstableWriter::create(&path, opts, 3).unwrap();
    for (n, k) in keys.iter().enumerate() {
        let rows = (0..6u8).map(|i| {
            let mut r = Row::new(Bytes::from(vec![i, n as u8]));
            r.marker = Some(Cell::live(1_700_000_000_000_000, Bytes::new()));
            r.set(1, Cell::live(1_700_000_000_000_001, &b"hello chat"[..]));
            r.set(
                2,
                Cell::expiring(1_700_000_000_000_002, &b"ttl"[..], 60, 1_700_000_000),
            );
            r.set(3, Cell::tombstone(1_700_000_000_000_003, 1_700_000_000));
            if i == 3 {
                r.deletion = Some(DeletionTime::new(1_700_000_000_000_004, 1_700_000_001));
            }
            r
        });
        let rts = [RangeTombstone::new(
            Bound::Included(Bytes::from_static(b"\x01")),
            Bound::Excluded(Bytes::from_static(b"\x02")),
            DeletionTime::new(5, 6),
        )];
        let deletion = (n == 1).then(|| DeletionTime::new(1, 2));
        w.add_partition(k, deletion, &rts, rows).unwrap();
    }
    w.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// The first framed block of a table file (header is 16 bytes; block 1 starts where the
/// block table says).
fn first_block(file: &[u8]) -> Vec<u8> {
    // Footer (152 bytes): the block table section offset is its first u64.
    let footer = &file[file.len() - 152..];
    let table_at = u64::from_le_bytes(footer[..8].try_into().unwrap()) as usize;
    let end = u64::from_le_bytes(file[table_at + 8..table_at + 16].try_into().unwrap()) as usize;
    file[16..end].to_vec()
}

fn seeds(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let file = small_table(dir);
    let framed = first_block(&file);
    // A split block (format 3), decompressed as the fuzz target decodes it.
    let raw = unframe_block_for_fuzzing(&framed, 1 << 20).unwrap();
    assert!(!decode_block_for_fuzzing(&raw).unwrap().is_empty());
    vec![
        ("table.db", file),
        ("framed_block.bin", framed),
        ("raw_block.bin", raw),
        ("empty.bin", Vec::new()),
    ]
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sstable_block")
}

#[test]
#[ignore = "rewrites the checked-in fuzz seeds"]
fn write_seeds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(corpus_dir()).unwrap();
    for (name, bytes) in seeds(dir.path()) {
        assert!(bytes.len() < 8 * 1024, "{name} is {} bytes", bytes.len());
        std::fs::write(corpus_dir().join(name), bytes).unwrap();
    }
}

/// A deterministic mini-fuzzer: byte flips, truncations and splices of every seed.
#[test]
fn mutated_seeds_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (_, seed) in seeds(dir.path()) {
        run(&seed);
        if seed.is_empty() {
            continue;
        }
        for _ in 0..150 {
            let mut m = seed.clone();
            match next() % 3 {
                0 => {
                    for _ in 0..=(next() % 4) {
                        let at = (next() as usize) % m.len();
                        m[at] ^= 1 << (next() % 8);
                    }
                }
                1 => m.truncate((next() as usize) % m.len()),
                _ => {
                    let at = (next() as usize) % m.len();
                    m[at..].fill((next() % 256) as u8);
                }
            }
            run(&m);
        }
    }
}
