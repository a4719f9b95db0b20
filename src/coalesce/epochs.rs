//! Write epochs: a counter per stripe of partitions that every acknowledged write bumps, so a
//! read that starts after the write carries a different epoch than any read in flight from
//! before it, and cannot join that older read.
//!
//! Partitions share a fixed number of stripes (bounded memory, no per-partition map): a write
//! to one partition may keep reads of another partition in its stripe from joining an older
//! read, which costs a storage read and never correctness.

use crate::storage::model::TableId;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const STRIPES: usize = 4096;

pub struct WriteEpochs {
    stripes: Box<[AtomicU64]>,
    /// Bumped by schema changes and TRUNCATE, which change every partition's reads.
    global: AtomicU64,
}

/// The epoch a read starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Epoch {
    global: u64,
    stripe: u64,
}

impl Default for WriteEpochs {
    fn default() -> Self {
        WriteEpochs {
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            global: AtomicU64::new(0),
        }
    }
}

impl WriteEpochs {
    fn stripe(&self, table: TableId, partition_key: &[u8]) -> &AtomicU64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        table.hash(&mut h);
        partition_key.hash(&mut h);
        let i = (h.finish() as usize) % self.stripes.len();
        // `i` is below the length by construction; the fallback is the global counter.
        self.stripes.get(i).unwrap_or(&self.global)
    }

    /// Called once a write to the partition was applied and before it is acknowledged.
    pub fn written(&self, table: TableId, partition_key: &[u8]) {
        self.stripe(table, partition_key)
            .fetch_add(1, Ordering::SeqCst);
    }

    /// Called after DDL or TRUNCATE: no read in flight may be joined afterwards.
    pub fn everything_changed(&self) {
        self.global.fetch_add(1, Ordering::SeqCst);
    }

    pub fn current(&self, table: TableId, partition_key: &[u8]) -> Epoch {
        Epoch {
            global: self.global.load(Ordering::SeqCst),
            stripe: self.stripe(table, partition_key).load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_changes_its_partitions_epoch_only() {
        let e = WriteEpochs::default();
        let before = e.current(1, b"a");
        let other = e.current(1, b"b");
        e.written(1, b"a");
        assert_ne!(e.current(1, b"a"), before);
        if !std::ptr::eq(e.stripe(1, b"a"), e.stripe(1, b"b")) {
            assert_eq!(e.current(1, b"b"), other);
        }
        e.everything_changed();
        assert_ne!(e.current(1, b"b"), other);
    }
}
