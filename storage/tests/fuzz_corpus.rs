//! Replays every file of every fuzz corpus (`fuzz/corpus/<target>/`) through its target, so
//! that CI exercises what the fuzzers found without needing cargo-fuzz.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).expect("read corpus file");
            run(&data);
            count += 1;
        }
    }
    assert!(count > 0, "corpus {} is empty", dir.display());
}

#[test]
fn commitlog_replay_corpus() {
    replay(
        "commitlog_replay",
        scrolldb_storage::fuzz_targets::commitlog_replay::run,
    );
}

#[test]
fn sstable_block_corpus() {
    replay(
        "sstable_block",
        scrolldb_storage::fuzz_targets::sstable_block::run,
    );
}

#[test]
fn compaction_corpus() {
    replay(
        "compaction",
        scrolldb_storage::fuzz_targets::compaction::run,
    );
}

#[test]
fn compaction_picker_corpus() {
    replay(
        "compaction_picker",
        scrolldb_storage::fuzz_targets::compaction::picker::run,
    );
}
