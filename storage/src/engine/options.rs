//! Engine configuration.

use crate::commitlog::{CommitlogOptions, PeriodicSyncThread};
use crate::compaction::{CompactionConfig, CompactionMode};
use crate::io::IoMode;
use crate::mirror::MirrorOptions;
use crate::read::TombstoneThresholds;
use crate::sstable::SstableWriterOptions;

/// Default [`EngineOptions::commitlog_preallocate_bytes`]: the file size changes once per
/// 4 MiB of appends (about 14,000 chat messages) instead of on every one.
pub const DEFAULT_COMMITLOG_PREALLOCATE_BYTES: u64 = 4 << 20;

/// How an engine runs; `Default` gives what a chat workload wants.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub commitlog: CommitlogOptions,
    /// Which thread runs the commitlog's periodic fsyncs (by default the owner's, in `tick`
    /// and `apply`; `Background` starts a `commitlog-sync` thread so the owner never waits).
    pub commitlog_sync_thread: PeriodicSyncThread,
    /// Bytes the commitlog grows its active segment by ahead of the appends (0: not at all;
    /// see [`crate::commitlog::Commitlog::preallocate`]): an fdatasync then writes data only,
    /// not the file size too, which made group-commit fsyncs about 1.5x slower.
    pub commitlog_preallocate_bytes: u64,
    /// Flush the memtables to SSTables once they hold about this many bytes.
    pub memtable_flush_bytes: usize,
    /// Frozen memtables (full, waiting for or in their flush) allowed before a write must
    /// wait: with [`FlushMode::External`] `flush_backlogged` turns true at this many, and one
    /// more makes the write flush the oldest inline. Memory for memtables is bounded by
    /// `(max_frozen_memtables + 1) x memtable_flush_bytes`.
    pub max_frozen_memtables: usize,
    /// How SSTables are written. Compactions use it as is; see `flush_zstd_level`.
    pub sstable: SstableWriterOptions,
    /// zstd level of the SSTables a memtable flush writes. A flush sits on the write path
    /// and its output is rewritten by compaction at `sstable.zstd_level`, so it favours
    /// speed, as RocksDB's practice of light compression above the bottom level does.
    /// Level 1 cost about 8% less CPU over a whole ingest than level 3 (workload bench,
    /// scale 0.05); the default -5 (literals without Huffman coding) gave +12% messages/s
    /// over level 1 at scale 0.2 and reads its blocks faster, for about 38% more bytes in
    /// flushed SSTables until compaction rewrites them (docs/BENCHMARKS.md).
    pub flush_zstd_level: i32,
    /// zstd level of the SSTables background compactions write (`pick_compaction`); `None`
    /// uses `sstable.zstd_level`. A major compaction (`compact_table`, `compact_all`) always
    /// uses `sstable.zstd_level`. A lower level here trades some bytes on disk, until the
    /// next major compaction or a larger tier rewrites them, for the CPU that background
    /// compactions take from writers on a small machine.
    pub background_compaction_zstd_level: Option<i32>,
    pub tombstones: TombstoneThresholds,
    /// Who runs background compaction (by default `tick` does, inline).
    pub compaction_mode: CompactionMode,
    /// Who writes a full memtable to SSTables (by default the writing thread, inline).
    pub flush_mode: FlushMode,
    /// Bytes of decompressed SSTable blocks kept in memory for reads (0 = no cache).
    pub block_cache_bytes: u64,
    /// How commitlog and SSTable writes reach the disk (io_uring or std::fs).
    pub io: IoMode,
    /// A second directory that gets a copy of every file the engine writes (super-disk,
    /// see [`crate::mirror`]); `None` writes the local directory only.
    pub mirror: Option<MirrorOptions>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            commitlog: CommitlogOptions::default(),
            commitlog_sync_thread: PeriodicSyncThread::default(),
            commitlog_preallocate_bytes: DEFAULT_COMMITLOG_PREALLOCATE_BYTES,
            memtable_flush_bytes: 64 << 20,
            max_frozen_memtables: crate::engine::MAX_FROZEN_MEMTABLES,
            sstable: SstableWriterOptions::default(),
            flush_zstd_level: -5,
            background_compaction_zstd_level: None,
            tombstones: TombstoneThresholds::default(),
            compaction_mode: CompactionMode::default(),
            flush_mode: FlushMode::default(),
            block_cache_bytes: 64 << 20,
            io: IoMode::default(),
            mirror: None,
        }
    }
}

/// Who writes the SSTables of a memtable that passed `memtable_flush_bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlushMode {
    /// The thread whose write filled the memtable flushes it before the write returns.
    #[default]
    Inline,
    /// The memtable is frozen (still readable) and another thread runs the job from
    /// `Engine::take_flush`, handing the result to `Engine::install_flush`.
    External,
}

/// Per-table settings the catalog pushes into every shard's engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableOptions {
    /// Tombstones younger than this are kept by compaction (CQL `gc_grace_seconds`).
    pub gc_grace_secs: i64,
    /// CQL `compaction`, parsed with [`CompactionConfig::parse`].
    pub compaction: CompactionConfig,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            gc_grace_secs: 864_000,
            compaction: CompactionConfig::default(),
        }
    }
}
