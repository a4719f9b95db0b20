//! The memtable's write index: partition key → slot, probed once per write.
//!
//! Each write goes to a random partition of tens of thousands, so the probe is a cache miss
//! or two whatever is done. What can be saved is the pointer chase after it: with the key's
//! bytes on the heap, confirming the match read them from a third cache line (about one
//! tenth of the ingest writer's time in `memcmp`). Partition keys up to
//! [`IndexKey::INLINE_BYTES`] bytes (a chat `(channel_id, bucket)` key is 18) are held in
//! the index entry itself.

use std::hash::{Hash, Hasher};

use crate::model::DecoratedKey;

/// A partition key as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IndexKey {
    /// A key of at most `INLINE_BYTES` bytes, in place.
    Inline {
        token: i64,
        len: u8,
        bytes: [u8; IndexKey::INLINE_BYTES],
    },
    /// A longer key, on the heap. A key is always of the kind its length says, so the two
    /// kinds never hold the same key.
    Heap(DecoratedKey),
}

impl IndexKey {
    pub(crate) const INLINE_BYTES: usize = 30;

    pub(crate) fn of(key: &DecoratedKey) -> IndexKey {
        let mut bytes = [0u8; IndexKey::INLINE_BYTES];
        match bytes.get_mut(..key.key.len()) {
            Some(dst) => {
                dst.copy_from_slice(&key.key);
                IndexKey::Inline {
                    token: key.token,
                    len: key.key.len() as u8,
                    bytes,
                }
            }
            None => IndexKey::Heap(key.clone()),
        }
    }

    fn token(&self) -> i64 {
        match self {
            IndexKey::Inline { token, .. } => *token,
            IndexKey::Heap(k) => k.token,
        }
    }
}

impl Hash for IndexKey {
    /// The token alone (see [`TokenHasher`]); equality still compares the whole key.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_i64(self.token());
    }
}

/// Hashes an `IndexKey` by its token alone: the token is already a Murmur3 hash of the
/// key, so hashing the key bytes again buys nothing. `IndexKey`'s `Hash` writes
/// the token first (an `i64`); everything written after it is ignored. Equality still
/// compares the whole key, so colliding tokens only share a bucket.
#[derive(Default)]
pub(crate) struct TokenHasher {
    hash: Option<u64>,
}

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.hash.unwrap_or(0)
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.hash.is_none() {
            // Not reached through IndexKey; a plain FNV-1a keeps other uses correct.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            self.hash = Some(h);
        }
    }

    fn write_i64(&mut self, token: i64) {
        if self.hash.is_none() {
            self.hash = Some(token as u64);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::HashMap;
    use std::hash::BuildHasherDefault;

    #[test]
    fn short_keys_are_inline_long_ones_on_the_heap_and_both_are_found() {
        let mut index: HashMap<IndexKey, usize, BuildHasherDefault<TokenHasher>> =
            HashMap::default();
        // Keys of 0 to 60 bytes, some sharing prefixes (a shorter key is a prefix of longer).
        let keys: Vec<DecoratedKey> = (0..=60usize)
            .map(|len| DecoratedKey::new(Bytes::from(vec![7u8; len])))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            let ik = IndexKey::of(k);
            assert_eq!(
                matches!(ik, IndexKey::Inline { .. }),
                k.key.len() <= IndexKey::INLINE_BYTES
            );
            assert!(index.insert(ik, i).is_none(), "key {i} is new");
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(&IndexKey::of(k)), Some(&i));
        }
        let other = DecoratedKey::new(Bytes::from_static(b"not there"));
        assert_eq!(index.get(&IndexKey::of(&other)), None);
    }
}
