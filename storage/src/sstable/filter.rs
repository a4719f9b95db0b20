//! The bloom filter over partition keys (`bloomfilter` crate), persisted with its hash keys.
//!
//! The section is the crate's own serialization (`Bloom::as_slice`): a 45-byte header
//! (version u8 = 1, bitmap length u64 LE, hash count u32 LE, 32-byte SipHash seed) and the
//! bitmap. The seed is in the header, so the filter answers the same after a reopen.
//!
//! Lookups do not go through the crate: a read asks every SSTable of a table about the same
//! key, and the crate would hash it again for each (two SipHash-1-3 runs). [`KeyHash`] hashes
//! it once, the way the crate does, and [`Filter::check_hash`] probes each table's bitmap with
//! that; a table whose seed differs (none we write) is asked with hashes of its own.

use std::hash::{Hash, Hasher};

use bloomfilter::reexports::siphasher::sip::SipHasher13;
use bloomfilter::Bloom;

use crate::error::{Error, Result};

use super::footer::read_u32;

/// A fixed seed: filters are reproducible byte for byte, and the seed is stored anyway.
const SEED: [u8; 32] = *b"scrolldb sstable bloom seed v1.!";
const HEADER_BYTES: usize = 45;
/// More hash functions than this is never what a writer chose: refuse, so a corrupt
/// header cannot make every lookup loop for billions of rounds.
const MAX_HASHES: u32 = 64;

/// A loaded filter: the crate's bitmap, hash count and seed, probed in place.
pub struct Filter {
    seed: [u8; 32],
    hashes: u32,
    /// The bitmap without the crate's header.
    bits: Vec<u8>,
    /// `bits.len() * 8`, never zero.
    bit_count: u64,
}

/// The two SipHash-1-3 values the crate derives every probe from, for one key and seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHash {
    seed: [u8; 32],
    h: [u64; 2],
}

/// The largest u64 prime: the crate reduces derived probe hashes modulo it.
const PROBE_PRIME: u64 = 0xFFFF_FFFF_FFFF_FFC5;

impl KeyHash {
    /// The hashes of `key` under the seed this crate writes with.
    pub fn new(key: &[u8]) -> KeyHash {
        Self::with_seed(key, &SEED)
    }

    fn with_seed(key: &[u8], seed: &[u8; 32]) -> KeyHash {
        let mut h = [0u64; 2];
        for (i, out) in h.iter_mut().enumerate() {
            let mut k = [0u8; 16];
            k.copy_from_slice(seed.get(16 * i..16 * i + 16).unwrap_or(&[0; 16]));
            let mut sip = SipHasher13::new_with_key(&k);
            // As `Bloom<[u8]>` hashes an item: `Hash` for a slice (length, then bytes).
            key.hash(&mut sip);
            *out = sip.finish();
        }
        KeyHash { seed: *seed, h }
    }
}

impl Filter {
    /// Whether the filter may hold `key` (no false negatives).
    #[cfg(test)]
    pub fn check(&self, key: &[u8]) -> bool {
        self.check_hash(key, &KeyHash::new(key))
    }

    /// [`Filter::check`] with the key's hashes computed beforehand (`hash` of `key`).
    #[inline]
    pub fn check_hash(&self, key: &[u8], hash: &KeyHash) -> bool {
        let own;
        let hash = if hash.seed == self.seed {
            hash
        } else {
            own = KeyHash::with_seed(key, &self.seed);
            &own
        };
        let [h0, h1] = hash.h;
        for k_i in 0..u64::from(self.hashes) {
            let h = if k_i < 2 {
                hash.h[k_i as usize]
            } else {
                h0.wrapping_add(k_i.wrapping_mul(h1)) % PROBE_PRIME
            };
            let bit = h % self.bit_count;
            let byte = self.bits.get((bit / 8) as usize).copied().unwrap_or(0);
            if byte & (1 << (bit % 8)) == 0 {
                return false;
            }
        }
        true
    }
}

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
    let mut bloom: Bloom<[u8]> = Bloom::new_for_fp_rate_with_seed(count.max(1), fp, &SEED)
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
    // The crate validates the header (version, length); its parse is then read in place.
    let bloom: Bloom<[u8]> =
        Bloom::from_slice(bytes).map_err(|e| Error::Malformed(format!("bloom filter: {e}")))?;
    let bits = bytes.get(HEADER_BYTES..).unwrap_or_default().to_vec();
    let bit_count = (bits.len() as u64).saturating_mul(8);
    if bit_count != bloom.len() || bit_count == 0 || bloom.number_of_hash_functions() != hashes {
        return Err(Error::Malformed(
            "bloom filter header does not match".into(),
        ));
    }
    Ok(Filter {
        seed: bloom.seed(),
        hashes,
        bits,
        bit_count,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The in-place probe must answer exactly as the crate does, members or not.
    #[test]
    fn check_agrees_with_the_crate() {
        let keys: Vec<Vec<u8>> = (0..5_000u32)
            .map(|i| format!("channel-{i}-bucket-{}", i % 13).into_bytes())
            .collect();
        let bytes = build(keys.iter().map(|k| Ok(&k[..])), keys.len(), 0.01).unwrap();
        let crate_bloom: Bloom<[u8]> = Bloom::from_slice(&bytes).unwrap();
        let ours = load(&bytes).unwrap();
        for k in &keys {
            assert!(ours.check(k));
        }
        let mut positives = 0;
        for i in 0..50_000u32 {
            let probe = format!("other-{i}").into_bytes();
            assert_eq!(ours.check(&probe), crate_bloom.check(&probe[..]), "{i}");
            positives += usize::from(ours.check(&probe));
        }
        assert!(positives < 2_000, "{positives} false positives");
        // A filter with another seed is probed with its own hashes.
        let mut other: Bloom<[u8]> = Bloom::new_for_fp_rate_with_seed(100, 0.01, &[7; 32]).unwrap();
        other.set(&b"k"[..]);
        let other = load(other.as_slice()).unwrap();
        assert!(other.check_hash(b"k", &KeyHash::new(b"k")));
    }
}
