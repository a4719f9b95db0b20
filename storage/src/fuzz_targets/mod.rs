//! Entry points of the cargo-fuzz targets in `fuzz/`. They live in the crate so that an
//! ordinary test (`tests/fuzz_corpus.rs`) replays every corpus file through the same code.
//! Each must never panic, whatever its input.

pub mod commitlog_replay;
pub mod compaction;
pub mod sstable_block;
