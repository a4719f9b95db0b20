//! Property test of compaction against a model: the `compaction` fuzz target's run, driven by
//! proptest's random bytes (and shrunk by it on failure). See
//! `scrolldb_storage::fuzz_targets::compaction` for the operations and what is checked.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn compaction_never_changes_a_read(data in prop::collection::vec(any::<u8>(), 0..900)) {
        scrolldb_storage::fuzz_targets::compaction::run(&data);
    }
}
