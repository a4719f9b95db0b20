//! One partition in the memtable: its deletions and its rows in clustering order.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::model::{DeletionTime, Direction, RangeTombstone, Row, Slice};

/// Everything written to one partition since the last flush, reconciled on insert.
#[derive(Debug, Default, Clone)]
pub struct MemPartition {
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub rows: BTreeMap<Bytes, Row>,
}

impl MemPartition {
    /// Applies one mutation's changes; returns the bytes of memory it added (approximately).
    pub fn apply(
        &mut self,
        deletion: Option<DeletionTime>,
        range_tombstones: Vec<RangeTombstone>,
        rows: Vec<Row>,
    ) -> usize {
        let mut added = 0;
        self.deletion = DeletionTime::max(self.deletion, deletion);
        for rt in range_tombstones {
            if !self.range_tombstones.contains(&rt) {
                added += 64;
                self.range_tombstones.push(rt);
            }
        }
        for row in rows {
            match self.rows.get_mut(&row.clustering) {
                Some(existing) => {
                    added += row.cells.len() * 32;
                    existing.merge(row);
                }
                None => {
                    added += row.heap_size();
                    self.rows.insert(row.clustering.clone(), row);
                }
            }
        }
        added
    }

    /// Rows inside `slice`, in `direction`.
    pub fn rows<'a>(
        &'a self,
        slice: &Slice,
        direction: Direction,
    ) -> Box<dyn Iterator<Item = &'a Row> + 'a> {
        match slice.byte_range() {
            None => Box::new(std::iter::empty()),
            Some(range) => {
                let it = self.rows.range(range).map(|(_, r)| r);
                match direction {
                    Direction::Forward => Box::new(it),
                    Direction::Reverse => Box::new(it.rev()),
                }
            }
        }
    }
}
