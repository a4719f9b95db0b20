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
/// block without one): blocks of several partitions (joined, format 4) and, in the third
/// partition's rows, blocks of one (split).
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
        let rows = (0..if n == 2 { 12u8 } else { 6 }).map(|i| {
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

/// The framed blocks of a table file, in order: the footer's first section descriptor
/// (offset u64, length u64, CRC u32) locates the block table, whose u64 entries are where
/// each block starts, the last one where the data ends.
fn blocks(file: &[u8]) -> Vec<Vec<u8>> {
    let footer = &file[file.len() - 152..];
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (table_at, table_len) = (u64_at(footer, 0) as usize, u64_at(footer, 8) as usize);
    let offsets: Vec<usize> = (0..table_len / 8)
        .map(|i| u64_at(file, table_at + 8 * i) as usize)
        .collect();
    offsets
        .windows(2)
        .map(|w| file[w[0]..w[1]].to_vec())
        .collect()
}

fn seeds(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let file = small_table(dir);
    let blocks = blocks(&file);
    // A block starting with a heads length of 0 is joined, any other split.
    let (joined, split): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|b| b[..4] == [0; 4]);
    let (joined, split) = (joined[0].clone(), split[0].clone());
    // Decompressed as the fuzz target decodes them.
    let raw_joined = unframe_block_for_fuzzing(&joined, 1 << 20).unwrap();
    let raw_split = unframe_block_for_fuzzing(&split, 1 << 20).unwrap();
    assert!(!decode_block_for_fuzzing(&raw_joined).unwrap().is_empty());
    assert!(!decode_block_for_fuzzing(&raw_split).unwrap().is_empty());
    vec![
        ("table.db", file),
        ("framed_block.bin", joined),
        ("raw_block.bin", raw_joined),
        ("framed_split_block.bin", split),
        ("raw_split_block.bin", raw_split),
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
