//! Flushing the memtables to SSTables: freeze, write (inline or as a [`FlushJob`] on
//! another thread), install.
//!
//! A full memtable is frozen: it moves into the engine's list of frozen memtables (reads
//! merge them between the active memtable and the SSTables) and the commitlog rotates so its
//! records sit in closed segments. With [`FlushMode::Inline`] the owner then writes the
//! SSTables itself; with [`FlushMode::External`] another thread runs the job from
//! [`Engine::take_flush`] and the owner installs its result. Frozen memtables are installed
//! oldest first, so the MANIFEST's replay position never skips an unflushed record.

use std::sync::Arc;

use crate::engine::flush_job::{FlushJob, FlushOutput, FlushResult};
use crate::engine::options::FlushMode;
use crate::engine::table::sstable_path;
use crate::engine::Engine;
use crate::error::Result;
use crate::memtable::FrozenMemtable;
use crate::sstable::SstableWriterOptions;

/// Default [`crate::engine::EngineOptions::max_frozen_memtables`]: frozen memtables allowed
/// before a write flushes the oldest itself, which bounds memory when the flush thread falls
/// behind (the shard also makes writers wait before this is reached). With 2, one memtable
/// could wait while another was being written, and a writer that filled its memtable
/// before that flush ended stopped for it (about 10% of the workload bench's ingest at
/// scale 0.2: a 64 MiB flush takes about as long as filling the next memtable); a third
/// absorbs one slow flush (for instance behind a compaction) without stopping the writer.
pub const MAX_FROZEN_MEMTABLES: usize = 3;

impl Engine {
    /// Writes every memtable (active and frozen) to SSTables now and installs them, so that
    /// everything written before the call is in SSTables when it returns.
    pub fn flush(&mut self) -> Result<()> {
        self.freeze()?;
        while !self.frozen.is_empty() {
            self.flush_oldest_inline()?;
        }
        Ok(())
    }

    /// Called when the active memtable passed `memtable_flush_bytes`.
    pub(crate) fn flush_on_size(&mut self) -> Result<()> {
        match self.opts.flush_mode {
            FlushMode::Inline => self.flush(),
            FlushMode::External => {
                self.freeze()?;
                while self.frozen.len() > self.max_frozen() {
                    self.flush_oldest_inline()?;
                }
                Ok(())
            }
        }
    }

    /// Number of frozen memtables waiting for their flush to be installed.
    pub fn frozen_memtables(&self) -> usize {
        self.frozen.len()
    }

    /// Whether a write now would have to flush inline (the background flush is behind).
    pub fn flush_backlogged(&self) -> bool {
        self.frozen.len() >= self.max_frozen()
    }

    /// The frozen memtables allowed (`EngineOptions::max_frozen_memtables`, at least 1).
    fn max_frozen(&self) -> usize {
        self.opts.max_frozen_memtables.max(1)
    }

    /// The flush of the oldest frozen memtable, unless one is already out (jobs go out one at
    /// a time, so they are installed in order) or nothing is frozen.
    pub fn take_flush(&mut self) -> Option<FlushJob> {
        if self.flush_taken.is_some() {
            return None;
        }
        let frozen = Arc::clone(self.frozen.front()?);
        self.flush_taken = Some(frozen.seq);
        let mut job = self.flush_job(frozen);
        job.retired = std::mem::take(&mut self.retired);
        Some(job)
    }

    /// Commits a finished flush job: its SSTables enter the MANIFEST with the commitlog
    /// position of its memtable, the frozen memtable leaves the read path, and the commitlog
    /// segments it covered are deleted. A failed job returns its error and leaves the frozen
    /// memtable in place (readable, and handed out again by `take_flush`). A result whose
    /// memtable an explicit `flush` already wrote is discarded.
    pub fn install_flush(&mut self, result: FlushResult) -> Result<()> {
        if self.flush_taken == Some(result.seq) {
            self.flush_taken = None;
        }
        if self.frozen.front().map(|f| f.seq) != Some(result.seq) {
            tracing::debug!(seq = result.seq, "discarding a flush already done inline");
            result.remove_outputs(&*self.io);
            return Ok(());
        }
        let FlushResult {
            covered,
            paths,
            outcome,
            ..
        } = result;
        let written = outcome?;
        let previous = self.manifest.clone();
        self.manifest.replay_from = covered;
        for (table, generation, _) in &written {
            self.manifest
                .tables
                .entry(*table)
                .or_default()
                .insert(0, *generation);
        }
        if let Err(e) = self.manifest.store(&self.dir, &*self.io) {
            self.manifest.tables = previous.tables;
            self.manifest.replay_from = previous.replay_from;
            remove_files(&*self.io, &paths);
            return Err(e);
        }
        for (table, generation, sst) in written {
            self.tables
                .entry(table)
                .or_default()
                .sstables
                .insert(0, (generation, sst));
        }
        if let Some(done) = self.frozen.pop_front() {
            // Freeing a large memtable is a good part of a flush's cost: with external flushes
            // the next job frees it on its own thread (a bounded number wait for it).
            if self.opts.flush_mode == FlushMode::External {
                self.retired.push(done);
                if self.retired.len() > self.max_frozen() {
                    self.retired.remove(0);
                }
            }
        }
        self.stats.flushes += 1;
        self.commitlog.discard_before(covered)
    }

    /// Moves the active memtables into a new frozen memtable and rotates the commitlog. A
    /// no-op when they are empty.
    fn freeze(&mut self) -> Result<()> {
        let tables: std::collections::BTreeMap<_, _> = self
            .tables
            .iter_mut()
            .filter(|(_, t)| !t.memtable.is_empty())
            .map(|(id, t)| (*id, std::mem::take(&mut t.memtable)))
            .collect();
        if tables.is_empty() {
            self.memtable_bytes = 0;
            return Ok(());
        }
        let frozen = FrozenMemtable {
            seq: self.next_frozen_seq,
            tables,
            covered: self.commitlog.position(),
            size_bytes: self.memtable_bytes,
        };
        self.next_frozen_seq += 1;
        self.frozen.push_back(Arc::new(frozen));
        self.memtable_bytes = 0;
        // Close the segment holding the frozen records so it can be deleted at install, not
        // once it fills up (a large segment would otherwise double the bytes on disk).
        self.commitlog.rotate()
    }

    /// Writes and installs the oldest frozen memtable on this thread. A job for it that is
    /// out stays valid: its result is discarded when it comes back.
    fn flush_oldest_inline(&mut self) -> Result<()> {
        let Some(frozen) = self.frozen.front().cloned() else {
            return Ok(());
        };
        let result = self.flush_job(frozen).run();
        let taken = self.flush_taken;
        let installed = self.install_flush(result);
        // This result is not the job that is out: keep waiting for that one.
        self.flush_taken = taken;
        installed
    }

    /// Builds the job for `frozen`, reserving its SSTable generations.
    fn flush_job(&mut self, frozen: Arc<FrozenMemtable>) -> FlushJob {
        let outputs = frozen
            .tables
            .keys()
            .map(|&table| {
                let generation = self.manifest.next_generation;
                self.manifest.next_generation += 1;
                FlushOutput {
                    table,
                    generation,
                    path: sstable_path(&self.dir, table, generation),
                    dictionary_from: self
                        .tables
                        .get(&table)
                        .and_then(|t| t.sstables.first())
                        .map(|(_, s)| Arc::clone(s)),
                }
            })
            .collect();
        FlushJob {
            frozen,
            retired: Vec::new(),
            outputs,
            root: self.dir.clone(),
            // A flush favours ingest: its output is rewritten by compaction, which cuts
            // blocks at partition ends (more, smaller frames) for the reads.
            sstable_options: SstableWriterOptions {
                zstd_level: self.opts.flush_zstd_level,
                partition_cut_bytes: 0,
                ..self.opts.sstable.clone()
            },
            block_cache: self.block_cache.clone(),
            io: self.io.clone(),
        }
    }
}

fn remove_files(io: &dyn crate::io::FileIo, paths: &[std::path::PathBuf]) {
    for path in paths {
        let _ = io.remove_file(path);
    }
}
