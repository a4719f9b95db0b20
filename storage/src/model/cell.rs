//! Cells: one column's value at one write timestamp, and how two versions reconcile.

use bytes::Bytes;
use std::cmp::Ordering;

/// Write timestamp in microseconds since the Unix epoch (CQL's `USING TIMESTAMP` unit).
pub type Timestamp = i64;

/// Wall-clock seconds since the Unix epoch, as Cassandra's `localDeletionTime`.
pub type LocalSecs = i64;

/// One version of one column (or of a row's primary-key liveness marker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub timestamp: Timestamp,
    pub value: CellValue,
}

/// What a cell holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CellValue {
    /// A value that lives until overwritten.
    Live(Bytes),
    /// A value written with a TTL: live until `expires_at`, then a tombstone.
    Expiring {
        value: Bytes,
        ttl_secs: u32,
        expires_at: LocalSecs,
    },
    /// A deletion (a null write); `deleted_at` is when it was written, for gc grace.
    Tombstone { deleted_at: LocalSecs },
}

impl Cell {
    pub fn live(timestamp: Timestamp, value: impl Into<Bytes>) -> Self {
        Cell {
            timestamp,
            value: CellValue::Live(value.into()),
        }
    }

    pub fn expiring(
        timestamp: Timestamp,
        value: impl Into<Bytes>,
        ttl_secs: u32,
        now: LocalSecs,
    ) -> Self {
        Cell {
            timestamp,
            value: CellValue::Expiring {
                value: value.into(),
                ttl_secs,
                expires_at: now.saturating_add(i64::from(ttl_secs)),
            },
        }
    }

    pub fn tombstone(timestamp: Timestamp, deleted_at: LocalSecs) -> Self {
        Cell {
            timestamp,
            value: CellValue::Tombstone { deleted_at },
        }
    }

    /// Whether the cell holds a readable value at wall-clock second `now`.
    pub fn is_live(&self, now: LocalSecs) -> bool {
        match &self.value {
            CellValue::Live(_) => true,
            CellValue::Expiring { expires_at, .. } => now < *expires_at,
            CellValue::Tombstone { .. } => false,
        }
    }

    /// The value, if the cell is not a tombstone (expiry is not considered).
    pub fn bytes(&self) -> Option<&Bytes> {
        match &self.value {
            CellValue::Live(v) | CellValue::Expiring { value: v, .. } => Some(v),
            CellValue::Tombstone { .. } => None,
        }
    }

    /// Remaining time to live in seconds at `now`, for CQL's `ttl(col)`.
    pub fn ttl_remaining(&self, now: LocalSecs) -> Option<i64> {
        match &self.value {
            CellValue::Expiring { expires_at, .. } => Some((*expires_at - now).max(0)),
            _ => None,
        }
    }

    /// Approximate bytes this cell takes in memory, for memtable accounting.
    pub fn heap_size(&self) -> usize {
        24 + self.bytes().map_or(0, |b| b.len())
    }

    fn rank(&self) -> u8 {
        match self.value {
            CellValue::Live(_) => 0,
            CellValue::Expiring { .. } => 1,
            CellValue::Tombstone { .. } => 2,
        }
    }

    fn local_time(&self) -> LocalSecs {
        match self.value {
            CellValue::Live(_) => LocalSecs::MAX,
            CellValue::Expiring { expires_at, .. } => expires_at,
            CellValue::Tombstone { deleted_at } => deleted_at,
        }
    }

    /// Orders two versions of one cell: the greater one wins reconciliation.
    ///
    /// Cassandra's rule: the higher timestamp wins; on a tie a tombstone beats an expiring
    /// cell, which beats a plain live one; then the later local deletion/expiry time wins;
    /// then the greater value (unsigned bytes) wins, so every replica picks the same cell.
    pub fn reconcile_order(&self, other: &Cell) -> Ordering {
        self.timestamp
            .cmp(&other.timestamp)
            .then_with(|| self.rank().cmp(&other.rank()))
            .then_with(|| match (self.rank(), other.rank()) {
                (0, 0) => Ordering::Equal,
                _ => self.local_time().cmp(&other.local_time()),
            })
            .then_with(|| self.bytes().cmp(&other.bytes()))
    }

    /// The version that wins between `self` and `other`.
    pub fn reconcile(self, other: Cell) -> Cell {
        if other.reconcile_order(&self) == Ordering::Greater {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_timestamp_wins() {
        let a = Cell::live(10, &b"a"[..]);
        let b = Cell::live(11, &b"0"[..]);
        assert_eq!(a.clone().reconcile(b.clone()), b);
        assert_eq!(b.clone().reconcile(a), b);
    }

    #[test]
    fn tie_prefers_tombstone_then_expiring_then_greater_value() {
        let live = Cell::live(5, &b"z"[..]);
        let exp = Cell::expiring(5, &b"a"[..], 10, 100);
        let dead = Cell::tombstone(5, 1);
        assert_eq!(live.clone().reconcile(dead.clone()), dead);
        assert_eq!(dead.clone().reconcile(exp.clone()), dead);
        assert_eq!(live.clone().reconcile(exp.clone()), exp);
        let small = Cell::live(5, &b"a"[..]);
        assert_eq!(small.clone().reconcile(live.clone()), live);
        assert_eq!(live.clone().reconcile(small), live);
    }

    #[test]
    fn expiry_makes_cell_dead() {
        let c = Cell::expiring(1, &b"v"[..], 10, 1000);
        assert!(c.is_live(1009));
        assert!(!c.is_live(1010));
        assert_eq!(c.ttl_remaining(1004), Some(6));
    }
}
