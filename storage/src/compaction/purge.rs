//! What a compaction may drop: tombstones past gc grace that can no longer shadow anything,
//! and expired TTL cells.
//!
//! A tombstone exists to hide older data. Compaction already drops the data it covers inside
//! its inputs; the tombstone itself may go only when (1) it is older than the table's gc
//! grace, and (2) no source *outside* the compaction (another SSTable, or the memtable) may
//! hold data of the same partition written at or before the tombstone's timestamp; otherwise
//! dropping it would let that data reappear. (2) is checked per partition with each outside
//! SSTable's bloom filter and minimum timestamp, and the memtable's per-partition minimum
//! timestamp captured when the compaction was picked: Cassandra's "max purgeable timestamp".
//!
//! An expired TTL cell reads as a tombstone written at the cell's write time
//! (`expires_at - ttl`, Cassandra's rule), and is purged by the same rule. It is not
//! rewritten as a cell tombstone before that: a tombstone outranks an expiring cell of the
//! same timestamp in reconciliation, so the rewrite could hide a tied version elsewhere, and
//! a reader whose clock lags the compaction's would see the value vanish before it expires.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::memtable::Memtable;
use crate::model::{Cell, CellValue, DecoratedKey, DeletionTime, LocalSecs, Row, Timestamp};
use crate::sstable::Sstable;

/// The sources outside a compaction that could hold data its tombstones shadow.
#[derive(Clone, Debug, Default)]
pub struct Overlap {
    pub others: Vec<Arc<Sstable>>,
    /// Smallest write timestamp of each memtable partition when the compaction was picked.
    pub memtable_min_timestamp: BTreeMap<DecoratedKey, Timestamp>,
}

impl Overlap {
    /// Snapshots what matters of the memtables (the active one and any frozen ones waiting
    /// for their flush): each partition's smallest timestamp.
    pub fn new(others: Vec<Arc<Sstable>>, memtables: &[&Memtable]) -> Overlap {
        let mut memtable_min_timestamp: BTreeMap<DecoratedKey, Timestamp> = BTreeMap::new();
        for memtable in memtables {
            for (k, p) in memtable.partitions_from(None) {
                let rows = p.rows.values().map(min_row_timestamp);
                let dels = p
                    .deletion
                    .iter()
                    .chain(p.range_tombstones.iter().map(|rt| &rt.deletion))
                    .map(|d| d.marked_at);
                let min = rows.chain(dels).min().unwrap_or(Timestamp::MAX);
                let entry = memtable_min_timestamp.entry(k.clone()).or_insert(min);
                *entry = (*entry).min(min);
            }
        }
        Overlap {
            others,
            memtable_min_timestamp,
        }
    }

    /// Tombstones of `key` strictly older than this may be purged: no outside source may
    /// hold data for the partition at or before their timestamp. `Timestamp::MAX` when no
    /// outside source may hold the partition at all.
    pub fn max_purgeable(&self, key: &DecoratedKey) -> Timestamp {
        let sstables = self
            .others
            .iter()
            .filter(|s| s.may_contain(key))
            .map(|s| s.stats().min_timestamp);
        let memtable = self.memtable_min_timestamp.get(key).copied();
        sstables.chain(memtable).min().unwrap_or(Timestamp::MAX)
    }
}

fn min_row_timestamp(row: &Row) -> Timestamp {
    let cells = row.cells.iter().map(|(_, c)| c.timestamp);
    let marker = row.marker.iter().map(|m| m.timestamp);
    let deletion = row.deletion.iter().map(|d| d.marked_at);
    cells
        .chain(marker)
        .chain(deletion)
        .min()
        .unwrap_or(Timestamp::MAX)
}

/// The purge decision for one partition.
#[derive(Clone, Copy, Debug)]
pub struct PartitionPurge {
    /// Tombstones whose local deletion time is before this are past gc grace.
    pub gc_before: LocalSecs,
    /// Wall-clock second of the compaction, for TTL expiry.
    pub now: LocalSecs,
    /// Only tombstones with a timestamp below this may go (see [`Overlap::max_purgeable`]).
    pub max_purgeable: Timestamp,
}

impl PartitionPurge {
    fn purgeable(&self, marked_at: Timestamp, deleted_at: LocalSecs) -> bool {
        deleted_at < self.gc_before && marked_at < self.max_purgeable
    }

    /// Whether a partition, range or row tombstone may be dropped.
    pub fn drops(&self, d: &DeletionTime) -> bool {
        self.purgeable(d.marked_at, d.deleted_at)
    }

    /// A cell as it should be written out: `None` when it may be dropped.
    fn cell(&self, cell: Cell) -> Option<Cell> {
        match cell.value {
            CellValue::Live(_) => Some(cell),
            CellValue::Tombstone { deleted_at } => {
                (!self.purgeable(cell.timestamp, deleted_at)).then_some(cell)
            }
            CellValue::Expiring {
                ttl_secs,
                expires_at,
                ..
            } => {
                if expires_at > self.now {
                    return Some(cell);
                }
                let written_at = expires_at.saturating_sub(i64::from(ttl_secs));
                (!self.purgeable(cell.timestamp, written_at)).then_some(cell)
            }
        }
    }

    /// Drops purgeable tombstones and expired cells from a merged row (whose shadowed data
    /// the merge already removed). `None` when nothing of the row is left.
    pub fn row(&self, mut row: Row) -> Option<Row> {
        if row.deletion.as_ref().is_some_and(|d| self.drops(d)) {
            row.deletion = None;
        }
        row.marker = row.marker.take().and_then(|m| self.cell(m));
        let cells = std::mem::take(&mut row.cells);
        row.cells = cells
            .into_iter()
            .filter_map(|(col, c)| self.cell(c).map(|c| (col, c)))
            .collect();
        let empty = row.marker.is_none() && row.deletion.is_none() && row.cells.is_empty();
        (!empty).then_some(row)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn purge(max_purgeable: Timestamp) -> PartitionPurge {
        PartitionPurge {
            gc_before: 1_000,
            now: 2_000,
            max_purgeable,
        }
    }

    #[test]
    fn tombstone_goes_only_past_grace_and_below_max_purgeable() {
        let old = DeletionTime::new(50, 999);
        let young = DeletionTime::new(50, 1_000);
        assert!(purge(Timestamp::MAX).drops(&old));
        assert!(!purge(Timestamp::MAX).drops(&young));
        assert!(
            !purge(50).drops(&old),
            "outside data at ts 50 is shadowed by it"
        );
        assert!(purge(51).drops(&old));
    }

    #[test]
    fn expired_cell_goes_once_its_write_is_past_grace() {
        let mut row = Row::new(Bytes::from_static(b"k"));
        // Written at 1_500 with ttl 100: expired at 1_600, not past grace (1_500 >= 1_000).
        row.set(1, Cell::expiring(10, &b"v"[..], 100, 1_500));
        assert_eq!(purge(Timestamp::MAX).row(row.clone()), Some(row));
        // Written at 500, expired at 600: past grace, dropped, and with it the empty row.
        let mut old = Row::new(Bytes::from_static(b"k"));
        old.set(1, Cell::expiring(10, &b"v"[..], 100, 500));
        assert_eq!(purge(Timestamp::MAX).row(old.clone()), None);
        // Unless an outside source may hold an older version of the partition.
        assert_eq!(purge(10).row(old.clone()), Some(old));
    }
}
