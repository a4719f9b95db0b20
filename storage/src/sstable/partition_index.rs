//! The partition index: one variable-size entry per partition, in ring order, followed by a
//! fixed-width array of their offsets so a lookup binary-searches it in place (through the
//! memory map) without loading it.
//!
//! Entry: token i64 LE, bytes key, partition deletions (`codec::row`, base timestamp 0),
//! then the partition's clustering index (`clustering_index`). The section ends with one
//! u64 LE offset per entry (relative to the section start).

use bytes::Bytes;
use std::cmp::Ordering;

use crate::codec::row::{put_partition_deletions, read_partition_deletions};
use crate::codec::varint::{put_bytes, Reader};
use crate::error::{Error, Result};
use crate::model::{DecoratedKey, DeletionTime, RangeTombstone};

use super::clustering_index::{self, ClusteringIndex, Span};
use super::footer::read_u64;

/// Tokens per chunk of a [`TokenIndex`]: 8 tokens are 64 bytes, one or two cache lines.
const TOKENS_PER_CHUNK: usize = 8;

/// The token of every partition index entry, in order, with the first token of every
/// chunk of [`TOKENS_PER_CHUNK`] beside them. A plain binary search of 130,000 tokens (1 MiB)
/// takes a cache and TLB miss at most of its 17 steps, and a read pays it in every SSTable
/// for every bucket of a cold channel; here the search runs in the chunk heads (an eighth
/// of the size, which stays in the CPU cache better across reads), then inside one chunk.
#[derive(Clone, Debug, Default)]
pub struct TokenIndex {
    tokens: Vec<i64>,
    heads: Vec<i64>,
}

impl TokenIndex {
    pub fn new(tokens: Vec<i64>) -> Self {
        let heads = tokens.iter().step_by(TOKENS_PER_CHUNK).copied().collect();
        TokenIndex { tokens, heads }
    }

    #[cfg(test)]
    pub fn tokens(&self) -> &[i64] {
        &self.tokens
    }

    /// Index of the first token not less than `token` (`tokens.partition_point(< token)`).
    #[inline]
    pub fn lower_bound(&self, token: i64) -> usize {
        // Chunks before `c` start below `token`, chunk `c` starts at or above it: the
        // answer is in `(c - 1) * CHUNK + 1 ..= c * CHUNK`.
        let c = self.heads.partition_point(|&t| t < token);
        let lo = c.saturating_sub(1).saturating_mul(TOKENS_PER_CHUNK);
        let hi = c
            .saturating_mul(TOKENS_PER_CHUNK)
            .min(self.tokens.len())
            .max(lo);
        lo + self
            .tokens
            .get(lo..hi)
            .unwrap_or_default()
            .partition_point(|&t| t < token)
    }
}

/// Appends one partition's entry.
pub fn encode_entry(
    out: &mut Vec<u8>,
    key: &DecoratedKey,
    deletion: Option<&DeletionTime>,
    range_tombstones: &[RangeTombstone],
    spans: &[Span],
) {
    out.extend_from_slice(&key.token.to_le_bytes());
    put_bytes(out, &key.key);
    put_partition_deletions(out, deletion, range_tombstones, 0);
    clustering_index::encode(out, spans);
}

/// A decoded entry; the clustering index stays borrowed from the file.
pub struct Entry<'a> {
    pub key: DecoratedKey,
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub clustering: ClusteringIndex<'a>,
}

/// A view of the partition index section.
#[derive(Clone, Copy)]
pub struct PartitionIndex<'a> {
    entries: &'a [u8],
    offsets: &'a [u8],
    len: usize,
}

impl<'a> PartitionIndex<'a> {
    /// `section` is the whole (checksum-verified) section; `len` the footer's partition count.
    pub fn new(section: &'a [u8], len: u64) -> Result<Self> {
        let offsets_bytes = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(8))
            .filter(|&n| n <= section.len())
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "{len} partitions do not fit in the partition index"
                ))
            })?;
        let split = section.len() - offsets_bytes;
        let (entries, offsets) = section.split_at(split);
        Ok(PartitionIndex {
            entries,
            offsets,
            len: offsets_bytes / 8,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn entry_reader(&self, i: usize) -> Result<Reader<'a>> {
        let bad = || Error::Malformed(format!("partition index entry {i} out of range"));
        let at = read_u64(self.offsets, i.checked_mul(8).ok_or_else(bad)?).ok_or_else(bad)?;
        let at = usize::try_from(at).map_err(|_| bad())?;
        Ok(Reader::new(self.entries.get(at..).ok_or_else(bad)?))
    }

    /// The token and key bytes of entry `i`, for the binary search.
    fn key_at(&self, i: usize) -> Result<(i64, &'a [u8])> {
        let mut r = self.entry_reader(i)?;
        let token = r.slice(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(token);
        let n = r.len()?;
        Ok((i64::from_le_bytes(a), r.slice(n)?))
    }

    pub fn entry(&self, i: usize) -> Result<Entry<'a>> {
        let mut r = self.entry_reader(i)?;
        let (token, key) = self.key_at(i)?;
        r.slice(8)?;
        let n = r.len()?;
        r.slice(n)?;
        let (deletion, range_tombstones) = read_partition_deletions(&mut r, 0)?;
        let clustering = ClusteringIndex::read(&mut r)?;
        Ok(Entry {
            key: DecoratedKey {
                token,
                key: Bytes::copy_from_slice(key),
            },
            deletion,
            range_tombstones,
            clustering,
        })
    }

    /// Index of the first entry not less than `key` (or, with `inclusive == false`, the
    /// first entry greater than it).
    pub fn lower_bound(&self, key: &DecoratedKey, inclusive: bool) -> Result<usize> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (token, k) = self.key_at(mid)?;
            let ord = token.cmp(&key.token).then_with(|| k.cmp(&key.key[..]));
            let before = match ord {
                Ordering::Less => true,
                Ordering::Equal => !inclusive,
                Ordering::Greater => false,
            };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// Index of the entry for exactly `key`, searching the map alone (the reference
    /// [`PartitionIndex::find_in`] is tested against).
    #[cfg(test)]
    pub fn find(&self, key: &DecoratedKey) -> Result<Option<usize>> {
        let i = self.lower_bound(key, true)?;
        if i >= self.len {
            return Ok(None);
        }
        let (token, k) = self.key_at(i)?;
        Ok((token == key.token && k == &key.key[..]).then_some(i))
    }

    /// The token of every entry, in order: what [`PartitionIndex::find_in`] searches.
    pub fn tokens(&self) -> Result<Vec<i64>> {
        (0..self.len)
            .map(|i| self.key_at(i).map(|(t, _)| t))
            .collect()
    }

    /// [`PartitionIndex::find`] with the entries' tokens (from [`PartitionIndex::tokens`])
    /// in memory: the binary search walks one dense array instead of touching the offsets
    /// and an entry in the map at every step; only entries of an equal token are read.
    pub fn find_in(&self, tokens: &TokenIndex, key: &DecoratedKey) -> Result<Option<usize>> {
        let mut i = tokens.lower_bound(key.token);
        let tokens = &tokens.tokens[..];
        while tokens.get(i) == Some(&key.token) {
            let (_, k) = self.key_at(i)?;
            match k.cmp(&key.key[..]) {
                Ordering::Equal => return Ok(Some(i)),
                Ordering::Greater => return Ok(None),
                Ordering::Less => i += 1,
            }
        }
        Ok(None)
    }

    /// Partition key bytes of every entry, for building the bloom filter.
    pub fn keys(&self) -> impl Iterator<Item = Result<&'a [u8]>> + '_ {
        (0..self.len).map(|i| self.key_at(i).map(|(_, k)| k))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod find_tests {
    use super::*;

    #[test]
    fn find_in_agrees_with_find_across_token_collisions() {
        // Tokens with several keys each (collisions), in (token, key) order.
        let keys: Vec<DecoratedKey> = [(-5, "a"), (0, "a"), (0, "c"), (0, "e"), (7, "b")]
            .iter()
            .map(|(t, k)| DecoratedKey {
                token: *t,
                key: Bytes::from(k.as_bytes().to_vec()),
            })
            .collect();
        let mut section = Vec::new();
        let mut offsets = Vec::new();
        for k in &keys {
            offsets.push(section.len() as u64);
            encode_entry(&mut section, k, None, &[], &[]);
        }
        for o in offsets {
            section.extend_from_slice(&o.to_le_bytes());
        }
        let index = PartitionIndex::new(&section, keys.len() as u64).unwrap();
        let tokens = TokenIndex::new(index.tokens().unwrap());
        assert_eq!(tokens.tokens(), &[-5, 0, 0, 0, 7]);
        let probes = [
            (-5, "a"),
            (0, "a"),
            (0, "b"),
            (0, "c"),
            (0, "e"),
            (0, "f"),
            (7, "b"),
            (7, "a"),
            (8, "a"),
            (-9, "a"),
        ];
        for (t, k) in probes {
            let key = DecoratedKey {
                token: t,
                key: Bytes::from(k.as_bytes().to_vec()),
            };
            let found = index.find_in(&tokens, &key).unwrap();
            assert_eq!(found, index.find(&key).unwrap(), "{t} {k}");
            assert_eq!(found.is_some(), keys.contains(&key), "{t} {k}");
        }
    }

    #[test]
    fn token_index_lower_bound_agrees_with_partition_point() {
        for len in [0usize, 1, 2, 63, 64, 65, 127, 128, 129, 1000] {
            // Runs of equal tokens that straddle chunk boundaries.
            let tokens: Vec<i64> = (0..len as i64).map(|i| (i / 3) * 10 - 500).collect();
            let index = TokenIndex::new(tokens.clone());
            for probe in -520..(len as i64 / 3) * 10 - 480 {
                assert_eq!(
                    index.lower_bound(probe),
                    tokens.partition_point(|&t| t < probe),
                    "len {len} probe {probe}"
                );
            }
            assert_eq!(index.lower_bound(i64::MIN), 0);
            assert_eq!(
                index.lower_bound(i64::MAX),
                tokens.partition_point(|&t| t < i64::MAX)
            );
        }
    }
}
