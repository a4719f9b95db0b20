//! Rows: a clustering key, its liveness marker, its row tombstone and its cells.

use super::cell::{Cell, LocalSecs};
use super::clustering::ClusteringKey;
use super::deletion::{shadowed, DeletionTime};

/// Index of a regular column in its table (assigned by the catalog, stable for the table's life).
pub type ColumnId = u32;

/// One row version, or the merge of several.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Row {
    pub clustering: ClusteringKey,
    /// The primary-key liveness marker an INSERT writes (its value is empty), so a row whose
    /// regular columns are all null still exists. UPDATE writes no marker.
    pub marker: Option<Cell>,
    /// A row tombstone.
    pub deletion: Option<DeletionTime>,
    /// Cells sorted by column id, at most one per column.
    pub cells: Vec<(ColumnId, Cell)>,
}

impl Row {
    pub fn new(clustering: ClusteringKey) -> Self {
        Row {
            clustering,
            ..Row::default()
        }
    }

    /// Adds or reconciles a cell, keeping `cells` sorted by column id.
    pub fn set(&mut self, column: ColumnId, cell: Cell) {
        match self.cells.binary_search_by_key(&column, |(c, _)| *c) {
            Ok(i) => {
                let slot = &mut self.cells[i].1;
                if cell.reconcile_order(slot) == std::cmp::Ordering::Greater {
                    *slot = cell;
                }
            }
            Err(i) => self.cells.insert(i, (column, cell)),
        }
    }

    /// Reconciles another version of the same row into this one.
    pub fn merge(&mut self, other: Row) {
        debug_assert_eq!(self.clustering, other.clustering);
        self.marker = match (self.marker.take(), other.marker) {
            (Some(a), Some(b)) => Some(a.reconcile(b)),
            (a, b) => a.or(b),
        };
        self.deletion = DeletionTime::max(self.deletion, other.deletion);
        if self.cells.is_empty() {
            self.cells = other.cells;
        } else {
            for (column, cell) in other.cells {
                self.set(column, cell);
            }
        }
    }

    /// Drops what `deletion` (the strongest of the partition, range and row tombstones that
    /// cover this row) shadows. Returns how many tombstones (row and cell) the row carried.
    pub fn apply_deletion(&mut self, deletion: Option<DeletionTime>) -> u64 {
        let effective = DeletionTime::max(deletion, self.deletion);
        if effective.is_none() {
            return 0;
        }
        if self
            .marker
            .as_ref()
            .is_some_and(|m| shadowed(effective, m.timestamp))
        {
            self.marker = None;
        }
        self.cells
            .retain(|(_, c)| !shadowed(effective, c.timestamp));
        u64::from(self.deletion.is_some())
    }

    /// Whether the row has a live marker or any live cell at `now`.
    pub fn is_live(&self, now: LocalSecs) -> bool {
        self.marker.as_ref().is_some_and(|m| m.is_live(now))
            || self.cells.iter().any(|(_, c)| c.is_live(now))
    }

    /// Whether the row is only deletions (a row tombstone or cell tombstones, nothing live).
    pub fn tombstone_count(&self, now: LocalSecs) -> u64 {
        u64::from(self.deletion.is_some())
            + self.cells.iter().filter(|(_, c)| !c.is_live(now)).count() as u64
    }

    /// The greatest write timestamp in the row (cells, marker and deletion).
    pub fn max_timestamp(&self) -> i64 {
        let cells = self.cells.iter().map(|(_, c)| c.timestamp);
        let marker = self.marker.iter().map(|m| m.timestamp);
        let deletion = self.deletion.iter().map(|d| d.marked_at);
        cells
            .chain(marker)
            .chain(deletion)
            .max()
            .unwrap_or(i64::MIN)
    }

    /// The greatest timestamp of the marker and the cells (`i64::MIN` when the row has
    /// neither): a deletion at or above it shadows the whole row but its tombstone.
    pub fn max_data_timestamp(&self) -> i64 {
        let cells = self.cells.iter().map(|(_, c)| c.timestamp);
        let marker = self.marker.iter().map(|m| m.timestamp);
        cells.chain(marker).max().unwrap_or(i64::MIN)
    }

    /// Approximate bytes this row takes in memory, for memtable accounting.
    pub fn heap_size(&self) -> usize {
        64 + self.clustering.len()
            + self
                .cells
                .iter()
                .map(|(_, c)| 8 + c.heap_size())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn merge_reconciles_each_column() {
        let mut a = Row::new(Bytes::from_static(b"k"));
        a.set(1, Cell::live(10, &b"old"[..]));
        a.set(2, Cell::live(30, &b"keep"[..]));
        let mut b = Row::new(Bytes::from_static(b"k"));
        b.set(1, Cell::live(20, &b"new"[..]));
        b.set(3, Cell::tombstone(5, 0));
        a.merge(b);
        assert_eq!(a.cells.len(), 3);
        assert_eq!(a.cells[0].1.bytes().unwrap().as_ref(), b"new");
        assert_eq!(a.cells[1].1.bytes().unwrap().as_ref(), b"keep");
    }

    #[test]
    fn deletion_shadows_older_cells_only() {
        let mut r = Row::new(Bytes::new());
        r.set(1, Cell::live(10, &b"x"[..]));
        r.set(2, Cell::live(30, &b"y"[..]));
        r.apply_deletion(Some(DeletionTime::new(20, 0)));
        assert_eq!(r.cells.len(), 1);
        assert_eq!(r.cells[0].0, 2);
    }
}
