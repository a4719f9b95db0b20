//! The memtable: recent writes of one table, sorted in memory until flushed to an SSTable.
//!
//! Partitions are kept in ring order (token, then key) so a flush writes them in SSTable
//! order and token-range scans can merge the memtable with SSTables.

mod frozen;
mod partition;

use std::collections::BTreeMap;

pub use frozen::FrozenMemtable;
pub use partition::MemPartition;

use crate::model::{DecoratedKey, Mutation};

/// The unflushed writes of one table.
#[derive(Debug, Default)]
pub struct Memtable {
    partitions: BTreeMap<DecoratedKey, MemPartition>,
    size_bytes: usize,
}

impl Memtable {
    /// Applies one mutation; returns the approximate bytes of memory it added.
    pub fn apply(&mut self, m: Mutation) -> usize {
        let key = DecoratedKey::new(m.partition_key);
        let mut added = 0;
        let partition = self.partitions.entry(key).or_insert_with_key(|k| {
            added += 96 + k.key.len();
            MemPartition::default()
        });
        added += partition.apply(m.partition_deletion, m.range_tombstones, m.rows);
        self.size_bytes += added;
        added
    }

    pub fn get(&self, key: &DecoratedKey) -> Option<&MemPartition> {
        self.partitions.get(key)
    }

    /// Partitions in ring order, starting at `start` (inclusive or exclusive).
    pub fn partitions_from<'a>(
        &'a self,
        start: Option<(&DecoratedKey, bool)>,
    ) -> Box<dyn Iterator<Item = (&'a DecoratedKey, &'a MemPartition)> + 'a> {
        use std::ops::Bound;
        match start {
            None => Box::new(self.partitions.iter()),
            Some((k, true)) => Box::new(
                self.partitions
                    .range((Bound::Included(k.clone()), Bound::Unbounded)),
            ),
            Some((k, false)) => Box::new(
                self.partitions
                    .range((Bound::Excluded(k.clone()), Bound::Unbounded)),
            ),
        }
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
