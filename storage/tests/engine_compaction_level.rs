//! `EngineOptions::background_compaction_zstd_level` sets the zstd level of background
//! compactions only: a major compaction keeps `sstable.zstd_level`.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use scrolldb_storage::compaction::CompactionMode;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::model::{Cell, Mutation, Row};

/// Text that zstd shrinks a lot more at a high level than at its fastest.
fn text(id: u64) -> String {
    let words = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    (0..40)
        .map(|i| words[((id * 7 + i * 13 + (id ^ i) % 5) % 8) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes of the one SSTable a background compaction of four flushes writes.
fn background_output_bytes(level: Option<i32>) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        compaction_mode: CompactionMode::External,
        background_compaction_zstd_level: level,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir.path(), options).unwrap();
    for flush in 0..4u64 {
        for i in 0..2_000u64 {
            let id = flush * 2_000 + i;
            let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
            row.set(0, Cell::live(1, Bytes::from(text(id))));
            let m = Mutation::new(1, Bytes::copy_from_slice(&(id % 50).to_be_bytes()));
            engine.apply(m.with_row(row)).unwrap();
        }
        engine.flush().unwrap();
    }
    let job = engine
        .pick_compaction()
        .expect("four similar SSTables: a size-tiered job");
    engine.install(job.run()).unwrap();
    assert_eq!(engine.stats().sstable_count, 1);
    engine.stats().sstable_bytes
}

#[test]
fn background_compactions_use_their_own_level() {
    let default = background_output_bytes(None);
    let fast = background_output_bytes(Some(-7));
    assert!(
        fast > default + default / 10,
        "level -7 ({fast} bytes) should be well above the default level 3 ({default} bytes)"
    );
}
