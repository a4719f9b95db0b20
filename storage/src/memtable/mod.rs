//! The memtable: recent writes of one table, sorted in memory until flushed to an SSTable.
//!
//! Partitions are kept in ring order (token, then key) so a flush writes them in SSTable
//! order and token-range scans can merge the memtable with SSTables. A write finds its
//! partition through a hash index instead of walking that order (one probe rather than a
//! tree walk over tens of thousands of partitions); only a new partition enters the order.
//! The index holds short keys in place ([`index::IndexKey`]), so the probe compares bytes
//! it already has instead of following a pointer to them.
//! Row bytes are copied into a [`arena::ByteArena`] and rows kept in an in-order run
//! ([`rows::Rows`]), so a row costs about one allocation instead of five or more.

mod arena;
mod frozen;
mod index;
mod partition;
pub mod rows;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;

pub use frozen::FrozenMemtable;
pub use partition::MemPartition;

use index::{IndexKey, TokenHasher};

use crate::model::{DecoratedKey, Mutation};

/// The unflushed writes of one table.
#[derive(Debug, Default)]
pub struct Memtable {
    /// Partitions in the order they were first written; `index` and `order` point here.
    partitions: Vec<MemPartition>,
    /// Partition → slot in `partitions`, for writes.
    index: HashMap<IndexKey, usize, BuildHasherDefault<TokenHasher>>,
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
        let index_key = IndexKey::of(&key);
        let slot = match self.index.get(&index_key) {
            Some(&slot) => slot,
            None => {
                added += 96 + key.key.len();
                let slot = self.partitions.len();
                self.partitions.push(MemPartition::default());
                self.index.insert(index_key, slot);
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
            .get(&IndexKey::of(key))
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
