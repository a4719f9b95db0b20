//! The engine of one shard: commitlog, memtables, SSTables, and the manifest tying them.
//!
//! Write path: a batch of mutations is appended to the commitlog as one write, synced as
//! the sync mode says (group commit: before `apply` returns), then applied to the memtables.
//! Once the memtables pass `memtable_flush_bytes` they are frozen and flushed to SSTables
//! (inline, or by a [`FlushJob`] on another thread with [`FlushMode::External`]) and the
//! commitlog segments they cover are dropped. Reads merge the active memtable, the frozen
//! ones (newest first) and every SSTable the bloom filter does not rule out. No thread is
//! started here: jobs (flush and compaction) run wherever the owner sends them. The one
//! exception is opt-in: with `EngineOptions::commitlog_sync_thread = Background` the
//! commitlog runs its periodic fsyncs on a `commitlog-sync` thread of its own.

mod compact;
mod flush;
pub mod flush_job;
pub mod manifest;
mod open;
pub mod options;
mod scan;
mod table;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use flush::MAX_FROZEN_MEMTABLES;
pub use flush_job::{FlushJob, FlushResult};
pub use options::{EngineOptions, FlushMode, TableOptions, DEFAULT_COMMITLOG_PREALLOCATE_BYTES};
pub use scan::{ScanPage, ScanPosition, ScanQuery};

use crate::codec::encode_mutation_into;
use crate::commitlog::{Commitlog, CommitlogStats, ReplayReport};
use crate::compaction::{CompactionStats, Tracker};
use crate::error::{Error, Result};
use crate::io::Io;
use crate::model::{DecoratedKey, Mutation, ReadQuery, ReadResult, ReadStats, TableId};
use crate::read::{read_partition, PartitionSource, SourceRows};
use crate::sstable::{BlockCache, BlockCacheStats, KeyHash, Sstable};
use manifest::Manifest;
use table::Table;

/// Counters an operator or a benchmark reads.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    pub memtable_bytes: usize,
    pub sstable_count: usize,
    /// Bytes of SSTables plus commitlog segments.
    pub disk_bytes: u64,
    pub sstable_bytes: u64,
    pub writes: u64,
    pub reads: u64,
    pub flushes: u64,
    pub compactions: u64,
    pub tombstones_scanned: u64,
    pub reads_over_tombstone_warning: u64,
    /// Reads that failed on the tombstone failure threshold.
    pub reads_failed_on_tombstones: u64,
    /// The thresholds in force (`EngineOptions::tombstones`).
    pub tombstone_thresholds: crate::read::TombstoneThresholds,
    pub commitlog: CommitlogStats,
    pub compaction: CompactionStats,
    /// Zero when the cache is off (`block_cache_bytes: 0`).
    pub block_cache: BlockCacheStats,
}

/// One shard's storage engine. See the module documentation.
pub struct Engine {
    dir: PathBuf,
    opts: EngineOptions,
    commitlog: Commitlog,
    manifest: Manifest,
    tables: BTreeMap<TableId, Table>,
    /// Bytes of the active memtables.
    memtable_bytes: usize,
    /// Memtables waiting for their flush, oldest first; reads merge them newest first.
    frozen: VecDeque<Arc<crate::memtable::FrozenMemtable>>,
    next_frozen_seq: u64,
    /// The frozen memtable whose `FlushJob` is out, if one is.
    flush_taken: Option<u64>,
    /// Installed frozen memtables waiting to be freed by the next flush job's thread.
    retired: Vec<Arc<crate::memtable::FrozenMemtable>>,
    stats: EngineStats,
    replay: ReplayReport,
    compaction: Tracker,
    /// Decompressed blocks shared by all SSTables of this engine; `None` when disabled.
    block_cache: Option<Arc<BlockCache>>,
    /// The I/O backend chosen at open; the commitlog holds a handle to it too.
    io: Io,
}

impl Engine {
    /// Opens (or creates) the engine in `dir`, replaying its commitlog.
    pub fn open(dir: impl AsRef<Path>, opts: EngineOptions) -> Result<Engine> {
        open::open(dir.as_ref(), opts, None)
    }

    /// Opens the engine writing through `io` instead of the backend `opts.io` names: the
    /// seam for wrapping I/O (mirroring to a second disk, fault injection in tests).
    pub fn open_with_io(dir: impl AsRef<Path>, opts: EngineOptions, io: Io) -> Result<Engine> {
        open::open(dir.as_ref(), opts, Some(io))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Name of the I/O backend in use (`"io_uring"` or `"plain"`).
    pub fn io_backend(&self) -> &'static str {
        self.io.name()
    }

    /// The state of the directory's mirror, when it has one (see [`crate::mirror`]).
    pub fn mirror_status(&self) -> Option<crate::mirror::MirrorStatus> {
        self.io.mirror_status()
    }

    /// The engine's I/O backend, for an owner that wants the mirror's status after handing
    /// the engine to another thread.
    pub fn io_handle(&self) -> Io {
        self.io.clone()
    }

    /// What commitlog replay found when the engine opened (truncated tails, skipped records).
    pub fn replay_report(&self) -> &ReplayReport {
        &self.replay
    }

    /// Sets a table's options (creating its empty state if the engine has not seen it yet).
    pub fn set_table_options(&mut self, table: TableId, options: TableOptions) {
        self.tables.entry(table).or_default().options = options;
    }

    /// Shorthand for the `gc_grace_seconds` table option.
    pub fn set_gc_grace_secs(&mut self, table: TableId, secs: i64) {
        self.tables.entry(table).or_default().options.gc_grace_secs = secs;
    }

    /// Applies one mutation; durable per the sync mode when it returns.
    pub fn apply(&mut self, mutation: Mutation) -> Result<()> {
        self.apply_batch(vec![mutation])
    }

    /// Applies several mutations with one commitlog write and (in group commit) one fsync.
    /// Each mutation is atomic; the batch as a whole is not a transaction.
    pub fn apply_batch(&mut self, mutations: Vec<Mutation>) -> Result<()> {
        for m in &mutations {
            if m.partition_key.is_empty() {
                return Err(Error::InvalidRequest("empty partition key".into()));
            }
        }
        self.commitlog
            .append_encoded(&mutations, encode_mutation_into)?;
        self.commitlog.sync_if_due()?;
        for m in mutations {
            self.apply_to_memtable(m);
        }
        if self.memtable_bytes >= self.opts.memtable_flush_bytes {
            self.flush_on_size()?;
        }
        Ok(())
    }

    fn apply_to_memtable(&mut self, m: Mutation) {
        self.stats.writes += 1;
        self.memtable_bytes += self.tables.entry(m.table).or_default().memtable.apply(m);
    }

    /// Reads one partition: merges the memtable and SSTables, applies tombstones, stops at
    /// the limit, walks forward or backward natively.
    pub fn read(&mut self, query: &ReadQuery) -> Result<ReadResult> {
        self.stats.reads += 1;
        let result = self.read_inner(query);
        match &result {
            Ok(r) => {
                self.stats.tombstones_scanned += r.stats.tombstones_scanned;
                if r.stats.tombstones_scanned > self.opts.tombstones.warn {
                    self.stats.reads_over_tombstone_warning += 1;
                }
            }
            Err(Error::TombstoneOverwhelm { scanned, .. }) => {
                self.stats.tombstones_scanned += scanned;
                self.stats.reads_failed_on_tombstones += 1;
            }
            Err(_) => {}
        }
        result
    }

    fn read_inner(&self, query: &ReadQuery) -> Result<ReadResult> {
        if query.slice.is_empty() || query.limit == Some(0) {
            return Ok(ReadResult::default());
        }
        let key = DecoratedKey::new(query.partition_key.clone());
        let Some((sources, stats, sstables)) =
            self.partition_sources(query.table, &key, &query.slice, query.direction)?
        else {
            return Ok(ReadResult::default());
        };
        let blocks_before: u64 = sstables.iter().map(|s| s.blocks_read()).sum();
        let mut result = read_partition(sources, query, self.opts.tombstones, stats)?;
        let blocks_after: u64 = sstables.iter().map(|s| s.blocks_read()).sum();
        result.stats.blocks_read = blocks_after - blocks_before;
        Ok(result)
    }

    /// The sources of one partition (memtable first, then the SSTables the bloom filter
    /// does not rule out), restricted to `slice` in `direction`; `None` for an unknown table.
    /// Also returns the SSTables that hold the partition, for block accounting.
    #[allow(clippy::type_complexity)]
    pub(crate) fn partition_sources(
        &self,
        table: TableId,
        key: &DecoratedKey,
        slice: &crate::model::Slice,
        direction: crate::model::Direction,
    ) -> Result<
        Option<(
            Vec<PartitionSource<'_>>,
            ReadStats,
            Vec<&crate::sstable::Sstable>,
        )>,
    > {
        let table_id = table;
        let Some(table) = self.tables.get(&table) else {
            return Ok(None);
        };
        let mut stats = ReadStats::default();
        let mut sources = Vec::with_capacity(table.sstables.len() + 1);
        if let Some(p) = table.memtable.get(key) {
            sources.push(PartitionSource {
                deletion: p.deletion,
                range_tombstones: p.range_tombstones.clone(),
                rows: SourceRows::mem_partition(p, slice, direction),
            });
        }
        for frozen in self.frozen.iter().rev() {
            if let Some(p) = frozen.tables.get(&table_id).and_then(|m| m.get(key)) {
                sources.push(PartitionSource {
                    deletion: p.deletion,
                    range_tombstones: p.range_tombstones.clone(),
                    rows: SourceRows::mem_partition(p, slice, direction),
                });
            }
        }
        let mut holders = Vec::new();
        // Every table's filter is probed with the same hashes: hash the key once.
        let hash = KeyHash::new(&key.key);
        for (_, sst) in &table.sstables {
            if !sst.may_contain_hashed(key, &hash) {
                continue;
            }
            stats.sstables_read += 1;
            if let Some(p) = sst.find_partition(key)? {
                holders.push(&**sst);
                sources.push(PartitionSource {
                    deletion: p.deletion(),
                    range_tombstones: p.range_tombstones().to_vec(),
                    rows: SourceRows::sstable(p.rows(slice, direction)),
                });
            }
        }
        Ok(Some((sources, stats, holders)))
    }

    /// Does time-based work: the periodic commitlog sync. The owning thread calls it
    /// regularly (every few milliseconds) so acknowledged writes are never at risk longer
    /// than the sync period, even when no new write arrives.
    pub fn tick(&mut self) -> Result<()> {
        self.commitlog.tick()?;
        self.compact_on_tick()
    }

    /// Forces an fsync of the commitlog now.
    pub fn sync(&mut self) -> Result<()> {
        self.commitlog.sync()
    }

    /// Bytes the engine's files take on disk (SSTables and commitlog).
    pub fn disk_bytes(&self) -> u64 {
        self.stats().disk_bytes
    }

    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        s.memtable_bytes =
            self.memtable_bytes + self.frozen.iter().map(|f| f.size_bytes).sum::<usize>();
        s.sstable_count = self.tables.values().map(|t| t.sstables.len()).sum();
        s.sstable_bytes = self
            .tables
            .values()
            .flat_map(|t| t.sstables.iter())
            .map(|(_, sst)| sst.file_size())
            .sum();
        s.commitlog = self.commitlog.stats();
        s.compaction = self.compaction.stats.clone();
        s.tombstone_thresholds = self.opts.tombstones;
        s.compaction.running = self.compaction.running.len() as u64;
        s.block_cache = self
            .block_cache
            .as_ref()
            .map(|c| c.stats())
            .unwrap_or_default();
        s.disk_bytes = s.sstable_bytes + dir_size(&self.dir.join("commitlog"));
        s
    }

    /// The block cache's counters alone (cheap, unlike [`Engine::stats`]).
    pub fn block_cache_stats(&self) -> BlockCacheStats {
        self.block_cache
            .as_ref()
            .map(|c| c.stats())
            .unwrap_or_default()
    }

    /// Removes a table: its memtable, SSTables and files. Its commitlog records are flushed
    /// past first so that replay cannot bring it back.
    pub fn drop_table(&mut self, table: TableId) -> Result<()> {
        self.flush()?;
        let Some(t) = self.tables.remove(&table) else {
            return Ok(());
        };
        self.manifest.tables.remove(&table);
        self.manifest.store(&self.dir, &*self.io)?;
        drop(t);
        let dir = table::table_dir(&self.dir, table);
        match self.io.remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&dir, e)),
        }
    }

    /// Closes the engine after syncing the commitlog. Nothing is flushed: replay on the next
    /// open restores the memtables.
    pub fn close(self) -> Result<()> {
        self.commitlog.close()
    }
}

/// Opens SSTable `generation` at `path`, sharing the engine's block cache if it has one.
/// Opens it through `io`: a mirrored engine reads it through the mirror, which answers a
/// failed local read from the mirror's copy (`Sstable::open_io`).
fn open_sstable(
    io: &crate::io::Io,
    cache: Option<&Arc<BlockCache>>,
    path: &Path,
    generation: u64,
) -> Result<Arc<Sstable>> {
    Sstable::open_io(io, path, cache.map(|c| (Arc::clone(c), generation)))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
