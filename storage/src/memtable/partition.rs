//! One partition in the memtable: its deletions and its rows in clustering order.

use crate::memtable::rows::{Rows, Upserted};
use crate::model::{DeletionTime, Direction, RangeTombstone, Row, Slice};

/// Everything written to one partition since the last flush, reconciled on insert.
#[derive(Debug, Default, Clone)]
pub struct MemPartition {
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    /// In clustering order; `rows.values()` walks them all.
    pub rows: Rows,
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
            // Counted before the row moves in; a merge is charged per cell, as it may
            // replace or add cells.
            let (heap_size, cells) = (row.heap_size(), row.cells.len());
            added += match self.rows.upsert(row) {
                Upserted::Inserted => heap_size,
                Upserted::Merged => cells * 32,
            };
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
            Some(range) => Box::new(self.rows.range(range, direction == Direction::Reverse)),
        }
    }
}
