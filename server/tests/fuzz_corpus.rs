//! Replays `fuzz/corpus/frame/` through the `frame` fuzz target so CI exercises what the
//! fuzzer found without cargo-fuzz.

use std::path::Path;

#[test]
fn frame_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/frame");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            scrolldb_server::fuzz_targets::frame::run(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "corpus {} is empty", dir.display());
}
