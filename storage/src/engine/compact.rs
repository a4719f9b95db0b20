//! The engine's side of compaction: picking jobs from a table's live SSTables, installing
//! their results through the manifest, running them inline from `tick`, and manual major
//! compaction. The decisions and the merge live in [`crate::compaction`].

use std::sync::Arc;

use crate::clock::now_secs;
use crate::compaction::picker::{self, Candidate, CompactionReason, Pick};
use crate::compaction::purge::Overlap;
use crate::compaction::{CompactionJob, CompactionMode, CompactionResult};
use crate::engine::table::sstable_path;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{LocalSecs, TableId};
use crate::sstable::{Sstable, SstableWriterOptions};

/// Partitions of a candidate sampled by the cheap "would other SSTables block the purge"
/// check before a single-SSTable tombstone compaction.
const PURGE_CHECK_SAMPLE: usize = 16;

impl Engine {
    /// Compacts every table (manual major compaction).
    pub fn compact_all(&mut self) -> Result<()> {
        let tables: Vec<TableId> = self.tables.keys().copied().collect();
        for t in tables {
            self.compact_table(t)?;
        }
        Ok(())
    }

    /// Major compaction of one table into a single SSTable, purging what gc grace allows.
    /// The memtable is flushed first so its data takes part. SSTables a background job holds
    /// are left out (and count as outside data for the purge check).
    pub fn compact_table(&mut self, table: TableId) -> Result<()> {
        self.compact_table_at(table, now_secs())
    }

    /// [`Engine::compact_table`] with an explicit wall clock (seconds), for tests.
    pub fn compact_table_at(&mut self, table: TableId, now: LocalSecs) -> Result<()> {
        self.flush()?;
        let Some(t) = self.tables.get(&table) else {
            return Ok(());
        };
        let generations: Vec<u64> = t
            .sstables
            .iter()
            .map(|(g, _)| *g)
            .filter(|g| !self.compaction.is_compacting(*g))
            .collect();
        if generations.is_empty() {
            return Ok(());
        }
        let pick = Pick {
            generations,
            reason: CompactionReason::Major,
        };
        let Some(job) = self.start_job(table, pick, now) else {
            return Ok(());
        };
        let result = job.run();
        self.install(result)
    }

    /// The next background compaction, if any table needs one. Its inputs are reserved
    /// until its result is passed to [`Engine::install`] (which must happen, also on error).
    pub fn pick_compaction(&mut self) -> Option<CompactionJob> {
        self.pick_compaction_at(now_secs())
    }

    /// [`Engine::pick_compaction`] with an explicit wall clock (seconds), for tests.
    pub fn pick_compaction_at(&mut self, now: LocalSecs) -> Option<CompactionJob> {
        let tables: Vec<TableId> = self.tables.keys().copied().collect();
        for table in tables {
            if let Some(pick) = self.pick_for_table(table, now) {
                return self.start_job(table, pick, now);
            }
        }
        None
    }

    fn pick_for_table(&self, table: TableId, now: LocalSecs) -> Option<Pick> {
        let t = self.tables.get(&table)?;
        let config = &t.options.compaction;
        let gc_before = now.saturating_sub(t.options.gc_grace_secs);
        let live: Vec<&(u64, Arc<Sstable>)> = t
            .sstables
            .iter()
            .filter(|(g, _)| !self.compaction.is_compacting(*g))
            .collect();
        let candidates: Vec<Candidate> = live
            .iter()
            .map(|(g, s)| candidate(*g, s, now, gc_before, self.compaction.futile.contains(g)))
            .collect();
        picker::pick(config, &candidates, |generation| {
            let Some((_, sst)) = t.sstables.iter().find(|(g, _)| *g == generation) else {
                return true;
            };
            purge_blocked(sst, generation, t)
        })
    }

    /// Reserves a pick's inputs and builds its job.
    fn start_job(&mut self, table: TableId, pick: Pick, now: LocalSecs) -> Option<CompactionJob> {
        let t = self.tables.get(&table)?;
        let inputs: Vec<(u64, Arc<Sstable>)> = t
            .sstables
            .iter()
            .filter(|(g, _)| pick.generations.contains(g))
            .map(|(g, s)| (*g, Arc::clone(s)))
            .collect();
        if inputs.is_empty() {
            return None;
        }
        let others = t
            .sstables
            .iter()
            .filter(|(g, _)| !pick.generations.contains(g))
            .map(|(_, s)| Arc::clone(s))
            .collect();
        let memtables: Vec<&crate::memtable::Memtable> = std::iter::once(&t.memtable)
            .chain(self.frozen.iter().filter_map(|f| f.tables.get(&table)))
            .collect();
        let overlap = Overlap::new(others, &memtables);
        let gc_before = now.saturating_sub(t.options.gc_grace_secs);
        let output_generation = self.manifest.next_generation;
        self.manifest.next_generation += 1;
        let id = self.compaction.next_job_id;
        self.compaction.next_job_id += 1;
        self.compaction
            .running
            .insert(id, (table, pick.generations.clone()));
        self.compaction.stats.jobs_started += 1;
        tracing::debug!(table, reason = ?pick.reason, inputs = ?pick.generations, output = output_generation, "compaction picked");
        Some(CompactionJob {
            id,
            table,
            reason: pick.reason,
            inputs,
            output_generation,
            output_path: sstable_path(&self.dir, table, output_generation),
            gc_before,
            now,
            overlap,
            sstable_options: SstableWriterOptions {
                zstd_level: match (pick.reason, self.opts.background_compaction_zstd_level) {
                    (CompactionReason::Major, _) | (_, None) => self.opts.sstable.zstd_level,
                    (_, Some(level)) => level,
                },
                ..self.opts.sstable.clone()
            },
            block_cache: self.block_cache.clone(),
            io: self.io.clone(),
        })
    }

    /// Makes a finished job's output live: one manifest commit replaces the inputs by the
    /// output, then the input files are deleted. A failed job only releases its inputs
    /// (and its error is returned).
    pub fn install(&mut self, result: CompactionResult) -> Result<()> {
        let Some((table, inputs)) = self.compaction.running.remove(&result.id) else {
            return Err(Error::InvalidRequest(format!(
                "compaction job {} is not running",
                result.id
            )));
        };
        let output = match result.outcome {
            Ok(output) => output,
            Err(e) => {
                self.compaction.stats.jobs_failed += 1;
                remove_quietly(
                    &*self.io,
                    &sstable_path(&self.dir, table, result.output_generation),
                );
                return Err(e);
            }
        };
        let Some(t) = self.tables.get(&table) else {
            // The table was dropped while the job ran.
            if let Some(sst) = output {
                remove_quietly(&*self.io, sst.path());
            }
            return Ok(());
        };
        let mut new_set: Vec<(u64, Arc<Sstable>)> = t
            .sstables
            .iter()
            .filter(|(g, _)| !inputs.contains(g))
            .cloned()
            .collect();
        if let Some(sst) = &output {
            new_set.push((result.output_generation, Arc::clone(sst)));
        }
        new_set.sort_by_key(|(g, _)| std::cmp::Reverse(*g));
        let mut manifest = self.manifest.clone();
        manifest
            .tables
            .insert(table, new_set.iter().map(|(g, _)| *g).collect());
        if let Err(e) = manifest.store(&self.dir, &*self.io) {
            self.compaction.stats.jobs_failed += 1;
            if let Some(sst) = output {
                remove_quietly(&*self.io, sst.path());
            }
            return Err(e);
        }
        self.manifest = manifest;
        let old = match self.tables.get_mut(&table) {
            Some(t) => std::mem::replace(&mut t.sstables, new_set),
            None => Vec::new(),
        };
        let output_tombstones = output.as_ref().map_or(0, |s| s.stats().tombstone_count);
        let c = &mut self.compaction;
        for g in &inputs {
            c.futile.remove(g);
        }
        if result.reason == CompactionReason::Tombstones {
            c.stats.tombstone_compactions += 1;
            if output.is_some() && output_tombstones >= result.input_tombstones {
                c.stats.futile_tombstone_compactions += 1;
                c.futile.insert(result.output_generation);
            }
        }
        c.stats.jobs_installed += 1;
        c.stats.bytes_read += result.bytes_in;
        c.stats.bytes_written += result.bytes_out;
        self.stats.compactions += 1;
        tracing::debug!(table, reason = ?result.reason, inputs = ?inputs, bytes_in = result.bytes_in, bytes_out = result.bytes_out, "compaction installed");
        for (g, sst) in old {
            if inputs.contains(&g) {
                let path = sst.path().to_path_buf();
                drop(sst);
                remove_quietly(&*self.io, &path);
            }
        }
        Ok(())
    }

    /// Background compaction from `tick` in [`CompactionMode::InlineOnTick`]: runs at most
    /// one job, and looks for one only when the SSTable set changed or a second passed.
    pub(crate) fn compact_on_tick(&mut self) -> Result<()> {
        if self.opts.compaction_mode != CompactionMode::InlineOnTick {
            return Ok(());
        }
        let now = now_secs();
        let version = self.stats.flushes + self.stats.compactions;
        if self
            .compaction
            .last_idle_pick
            .is_some_and(|(v, at)| v == version && at == now)
        {
            return Ok(());
        }
        match self.pick_compaction_at(now) {
            Some(job) => {
                self.compaction.last_idle_pick = None;
                let result = job.run();
                self.install(result)
            }
            None => {
                self.compaction.last_idle_pick = Some((version, now));
                Ok(())
            }
        }
    }

    /// Runs background compactions inline until none is due (tests, benchmarks, shutdown).
    pub fn compact_until_idle(&mut self) -> Result<usize> {
        let mut jobs = 0;
        // Bounded: each job removes at least one SSTable or marks one futile.
        while let Some(job) = self.pick_compaction() {
            let result = job.run();
            self.install(result)?;
            jobs += 1;
            if jobs > 10_000 {
                break;
            }
        }
        Ok(jobs)
    }
}

fn candidate(
    generation: u64,
    sst: &Sstable,
    now: LocalSecs,
    gc_before: LocalSecs,
    futile: bool,
) -> Candidate {
    let stats = sst.stats();
    let written_secs = std::fs::metadata(sst.path())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(now, |d| d.as_secs() as i64);
    let cells = stats.row_count.saturating_add(stats.tombstone_count).max(1);
    Candidate {
        generation,
        size_bytes: sst.file_size(),
        min_timestamp: stats.min_timestamp,
        max_timestamp: stats.max_timestamp,
        age_secs: now.saturating_sub(written_secs),
        droppable_ratio: stats.estimated_droppable_tombstones(gc_before) as f64 / cells as f64,
        tombstone_compaction_futile: futile,
    }
}

/// Whether other sources would keep every sampled partition's tombstones: each is in another
/// SSTable (bloom filter) that holds data as old as the candidate's newest, or in the memtable.
fn purge_blocked(sst: &Sstable, generation: u64, table: &crate::engine::table::Table) -> bool {
    let newest = sst.stats().max_timestamp;
    let mut sampled = 0;
    for p in sst.partitions_from(None).take(PURGE_CHECK_SAMPLE) {
        let Ok(p) = p else { return false };
        sampled += 1;
        let key = p.key();
        let in_memtable = table.memtable.get(key).is_some();
        let in_other = table.sstables.iter().any(|(g, other)| {
            *g != generation && other.stats().min_timestamp <= newest && other.may_contain(key)
        });
        if !in_memtable && !in_other {
            return false;
        }
    }
    sampled > 0
}

fn remove_quietly(io: &dyn crate::io::FileIo, path: &std::path::Path) {
    match io.remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a compacted SSTable; it is removed on the next open")
        }
    }
}
