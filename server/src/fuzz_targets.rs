//! Fuzz target bodies, in the library so that `cargo test` replays the committed corpus
//! (`fuzz/corpus/<target>/`) through the same code libFuzzer runs (see docs/FUZZING.md).

pub mod frame;
