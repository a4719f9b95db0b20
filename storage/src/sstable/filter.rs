//! The bloom filter over partition keys (`bloomfilter` crate), persisted with its hash keys.
//!
//! The section is the crate's own serialization (`Bloom::as_slice`): a 45-byte header
//! (version u8 = 1, bitmap length u64 LE, hash count u32 LE, 32-byte SipHash seed) and the
//! bitmap. The seed is in the header, so the filter answers the same after a reopen.

use bloomfilter::Bloom;

use crate::error::{Error, Result};

use super::footer::read_u32;

/// A fixed seed: filters are reproducible byte for byte, and the seed is stored anyway.
const SEED: [u8; 32] = *b"scrolldb sstable bloom seed v1.!";
const HEADER_BYTES: usize = 45;
/// More hash functions than this is never what a writer chose: refuse, so a corrupt
/// header cannot make every lookup loop for billions of rounds.
const MAX_HASHES: u32 = 64;

pub type Filter = Bloom<[u8]>;

/// Builds the filter for `count` keys (at least one slot, so empty tables work too).
pub fn build<'k>(
    keys: impl Iterator<Item = Result<&'k [u8]>>,
    count: usize,
    fp_rate: f64,
) -> Result<Vec<u8>> {
    let fp = if fp_rate > 0.0 && fp_rate < 1.0 {
        fp_rate
    } else {
        0.01
    };
    let mut bloom: Filter = Bloom::new_for_fp_rate_with_seed(count.max(1), fp, &SEED)
        .map_err(|e| Error::InvalidRequest(format!("bloom filter: {e}")))?;
    for key in keys {
        bloom.set(key?);
    }
    Ok(bloom.as_slice().to_vec())
}

/// Loads a persisted filter, validating what the crate itself would panic on.
pub fn load(bytes: &[u8]) -> Result<Filter> {
    if bytes.len() <= HEADER_BYTES {
        return Err(Error::Malformed("bloom filter too short".into()));
    }
    let hashes = read_u32(bytes, 9).unwrap_or_default();
    if hashes == 0 || hashes > MAX_HASHES {
        return Err(Error::Malformed(format!(
            "bloom filter with {hashes} hashes"
        )));
    }
    Bloom::from_slice(bytes).map_err(|e| Error::Malformed(format!("bloom filter: {e}")))
}
