//! Deletion times: the `(markedForDeleteAt, localDeletionTime)` pair of every tombstone kind.

use super::cell::{LocalSecs, Timestamp};

/// When a row, range or partition was deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeletionTime {
    /// Write timestamp of the delete: data written at or before it is deleted.
    pub marked_at: Timestamp,
    /// Wall-clock second the delete was written, from which gc grace is counted.
    pub deleted_at: LocalSecs,
}

impl DeletionTime {
    pub fn new(marked_at: Timestamp, deleted_at: LocalSecs) -> Self {
        DeletionTime {
            marked_at,
            deleted_at,
        }
    }

    /// Whether data written at `timestamp` is shadowed by this deletion.
    pub fn deletes(&self, timestamp: Timestamp) -> bool {
        timestamp <= self.marked_at
    }

    /// Whether this deletion wins over `other` (higher timestamp, then later local time).
    pub fn supersedes(&self, other: &DeletionTime) -> bool {
        (self.marked_at, self.deleted_at) > (other.marked_at, other.deleted_at)
    }

    /// The stronger of two optional deletions.
    pub fn max(a: Option<DeletionTime>, b: Option<DeletionTime>) -> Option<DeletionTime> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.supersedes(&x) { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

/// Whether data at `timestamp` is shadowed by an optional deletion.
pub fn shadowed(deletion: Option<DeletionTime>, timestamp: Timestamp) -> bool {
    deletion.is_some_and(|d| d.deletes(timestamp))
}
