//! A short, ordinary-test stand-in for the `commitlog_replay` fuzzer: random damage to a valid
//! segment (byte flips, truncation, appended bytes) must never make replay panic, and a log
//! that opens once must reopen clean (both checked inside the fuzz target).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use scrolldb_storage::commitlog::record::encode_record;
use scrolldb_storage::commitlog::segment::encode_header;
use scrolldb_storage::fuzz_targets::commitlog_replay::run;

fn valid_segment() -> Vec<u8> {
    let mut out = encode_header(1).to_vec();
    for i in 0..6u8 {
        encode_record(&mut out, 1, &vec![i; 1 + 7 * i as usize]);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn damaged_segments_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
        extra in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut seg = valid_segment();
        for (at, x) in flips {
            let len = seg.len();
            seg[at % len] ^= x;
        }
        seg.truncate(cut % (seg.len() + 1));
        seg.extend(extra);
        run(&seg);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        run(&data);
    }
}
