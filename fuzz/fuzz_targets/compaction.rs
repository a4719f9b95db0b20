#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scrolldb_storage::fuzz_targets::compaction::run(data);
});
