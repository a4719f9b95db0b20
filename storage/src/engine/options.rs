//! Engine configuration.

use crate::commitlog::CommitlogOptions;
use crate::io::IoMode;
use crate::read::TombstoneThresholds;
use crate::sstable::SstableWriterOptions;

/// How an engine runs; `Default` gives what a chat workload wants.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub commitlog: CommitlogOptions,
    /// Flush the memtables to SSTables once they hold about this many bytes.
    pub memtable_flush_bytes: usize,
    pub sstable: SstableWriterOptions,
    pub tombstones: TombstoneThresholds,
    /// Bytes of decompressed SSTable blocks kept in memory for reads (0 = no cache).
    pub block_cache_bytes: u64,
    /// How commitlog and SSTable writes reach the disk (io_uring or std::fs).
    pub io: IoMode,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            commitlog: CommitlogOptions::default(),
            memtable_flush_bytes: 64 << 20,
            sstable: SstableWriterOptions::default(),
            tombstones: TombstoneThresholds::default(),
            block_cache_bytes: 64 << 20,
            io: IoMode::default(),
        }
    }
}

/// Per-table settings the catalog pushes into every shard's engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// Tombstones younger than this are kept by compaction (CQL `gc_grace_seconds`).
    pub gc_grace_secs: i64,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            gc_grace_secs: 864_000,
        }
    }
}
