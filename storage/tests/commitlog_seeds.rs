//! Generates the seed inputs of the `commitlog_replay` fuzz target
//! (`fuzz/corpus/commitlog_replay/`). Run on purpose only:
//! `cargo test -p scrolldb-storage --test commitlog_seeds -- --ignored`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use scrolldb_storage::commitlog::record::encode_record;
use scrolldb_storage::commitlog::segment::encode_header;

fn records(id: u64, n: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        encode_record(&mut out, id, &vec![b'a' + i; 3 + 5 * i as usize]);
    }
    out
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut valid = encode_header(1).to_vec();
    valid.extend(records(1, 4));
    let torn = valid[..valid.len() - 5].to_vec();
    let mut zero_tail = valid.clone();
    zero_tail.extend([0u8; 64]);
    let mut flipped = valid.clone();
    flipped[24 + 8 + 3 + 8 + 2] ^= 0x10; // inside record 1's payload, records 2 and 3 follow
    let mut bad_version = valid.clone();
    bad_version[8] = 2;
    vec![
        ("valid_segment", valid),
        ("torn_tail", torn),
        ("zero_filled_tail", zero_tail),
        ("flipped_byte_middle", flipped),
        ("bad_version", bad_version),
        ("records_without_header", records(1, 3)),
        ("empty", Vec::new()),
    ]
}

#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_commitlog_replay_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/commitlog_replay");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        assert!(bytes.len() < 4096);
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn seeds_replay_without_panicking() {
    for (_, bytes) in seeds() {
        scrolldb_storage::fuzz_targets::commitlog_replay::run(&bytes);
    }
}
