//! The memtable: recent writes of one table, sorted in memory until flushed to an SSTable.
//!
//! Partitions are kept in ring order (token, then key) so a flush writes them in SSTable
//! order and token-range scans can merge the memtable with SSTables. A write finds its
//! partition through a hash index instead of walking that order (one probe rather than a
//! tree walk over tens of thousands of partitions); only a new partition enters the order.
//! Row bytes are copied into a [`arena::ByteArena`] and rows kept in an in-order run
//! ([`rows::Rows`]), so a row costs about one allocation instead of five or more.

mod arena;
mod frozen;
mod partition;
pub mod rows;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

pub use frozen::FrozenMemtable;
pub use partition::MemPartition;

use crate::model::{DecoratedKey, Mutation};

/// The unflushed writes of one table.
#[derive(Debug, Default)]
pub struct Memtable {
    /// Partitions in the order they were first written; `index` and `order` point here.
    partitions: Vec<MemPartition>,
    /// Partition → slot in `partitions`, for writes.
    index: HashMap<DecoratedKey, usize, BuildHasherDefault<TokenHasher>>,
    /// Partitions in ring order → slot in `partitions`, for flushes, reads and scans.
    order: BTreeMap<DecoratedKey, usize>,
    arena: arena::ByteArena,
    size_bytes: usize,
}

impl Memtable {
    /// Applies one mutation; returns the approximate bytes of memory it added.
    pub fn apply(&mut self, m: Mutation) -> usize {
        let key = DecoratedKey::new(m.partition_key);
        let mut added = 0;
        let slot = match self.index.get(&key) {
            Some(&slot) => slot,
            None => {
                added += 96 + key.key.len();
                let slot = self.partitions.len();
                self.partitions.push(MemPartition::default());
                self.index.insert(key.clone(), slot);
                self.order.insert(key, slot);
                slot
            }
        };
        let mut rows = m.rows;
        for row in &mut rows {
            self.arena.intern_row(row);
        }
        if let Some(partition) = self.partitions.get_mut(slot) {
            added += partition.apply(m.partition_deletion, m.range_tombstones, rows);
        }
        self.size_bytes += added;
        added
    }

    pub fn get(&self, key: &DecoratedKey) -> Option<&MemPartition> {
        self.index
            .get(key)
            .and_then(|&slot| self.partitions.get(slot))
    }

    /// Partitions in ring order, starting at `start` (inclusive or exclusive).
    pub fn partitions_from<'a>(
        &'a self,
        start: Option<(&DecoratedKey, bool)>,
    ) -> Box<dyn Iterator<Item = (&'a DecoratedKey, &'a MemPartition)> + 'a> {
        use std::ops::Bound;
        let keys: Box<dyn Iterator<Item = (&'a DecoratedKey, &'a usize)>> = match start {
            None => Box::new(self.order.iter()),
            Some((k, true)) => Box::new(
                self.order
                    .range((Bound::Included(k.clone()), Bound::Unbounded)),
            ),
            Some((k, false)) => Box::new(
                self.order
                    .range((Bound::Excluded(k.clone()), Bound::Unbounded)),
            ),
        };
        Box::new(keys.filter_map(|(k, &slot)| Some((k, self.partitions.get(slot)?))))
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }
}

/// Hashes a `DecoratedKey` by its token alone: the token is already a Murmur3 hash of the
/// key, so hashing the key bytes again buys nothing. `DecoratedKey`'s derived `Hash` writes
/// the token first (an `i64`); everything written after it is ignored. Equality still
/// compares the whole key, so colliding tokens only share a bucket.
#[derive(Default)]
struct TokenHasher {
    hash: Option<u64>,
}

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.hash.unwrap_or(0)
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.hash.is_none() {
            // Not reached through DecoratedKey; a plain FNV-1a keeps other uses correct.
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
    use crate::model::{Cell, Row};
    use bytes::Bytes;

    fn insert(key: &[u8], ck: u8) -> Mutation {
        let mut row = Row::new(Bytes::from(vec![ck]));
        row.set(1, Cell::live(1, b"v".to_vec()));
        Mutation::new(1, key.to_vec()).with_row(row)
    }

    #[test]
    fn partitions_are_found_by_key_and_walked_in_ring_order() {
        let mut m = Memtable::default();
        let keys: Vec<Vec<u8>> = (0..500u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(m.apply(insert(k, 1)) > 0);
            m.apply(insert(k, (i % 7) as u8 + 2));
        }
        assert_eq!(m.partition_count(), 500);
        for k in &keys {
            let dk = DecoratedKey::new(Bytes::from(k.clone()));
            let p = m.get(&dk).unwrap();
            assert_eq!(p.rows.len(), 2);
        }
        let walked: Vec<&DecoratedKey> = m.partitions_from(None).map(|(k, _)| k).collect();
        assert_eq!(walked.len(), 500);
        assert!(walked.windows(2).all(|w| w[0] < w[1]), "ring order");
        let from = walked[100].clone();
        let incl: Vec<_> = m
            .partitions_from(Some((&from, true)))
            .map(|(k, _)| k)
            .collect();
        let excl: Vec<_> = m
            .partitions_from(Some((&from, false)))
            .map(|(k, _)| k)
            .collect();
        assert_eq!((incl.len(), excl.len()), (400, 399));
        assert_eq!(incl[0], &from);
    }
}
