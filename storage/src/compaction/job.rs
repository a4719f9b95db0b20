//! A compaction job: merge some immutable SSTables of one table into one new SSTable.
//!
//! A job is `Send` and owns everything it reads (`Arc`s of its inputs and of the SSTables
//! its purge check consults, a snapshot of the memtable's timestamps), so [`CompactionJob::run`]
//! may run on any thread while the engine keeps serving reads and writes. It writes only a
//! new file, which no manifest names yet; the engine makes it live in
//! [`crate::engine::Engine::install`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::compaction::picker::CompactionReason;
use crate::compaction::purge::{Overlap, PartitionPurge};
use crate::error::{Error, Result};
use crate::io::Io;
use crate::model::{DecoratedKey, Direction, LocalSecs, Slice, TableId};
use crate::read::{MergedRows, PartitionSource, SourceRows};
use crate::sstable::{
    BlockCache, PartitionIter, PartitionReader, Sstable, SstableWriter, SstableWriterOptions,
};

/// Work handed out by [`crate::engine::Engine::pick_compaction`].
pub struct CompactionJob {
    pub(crate) id: u64,
    pub(crate) table: TableId,
    pub(crate) reason: CompactionReason,
    pub(crate) inputs: Vec<(u64, Arc<Sstable>)>,
    pub(crate) output_generation: u64,
    pub(crate) output_path: PathBuf,
    pub(crate) gc_before: LocalSecs,
    pub(crate) now: LocalSecs,
    pub(crate) overlap: Overlap,
    pub(crate) sstable_options: SstableWriterOptions,
    /// The engine's block cache, for the output only: the job reads its inputs through
    /// handles of its own so a compaction does not flush the cache of hot blocks.
    pub(crate) block_cache: Option<Arc<BlockCache>>,
    /// The engine's I/O backend, through which the output is written and fsynced.
    pub(crate) io: Io,
}

/// What a job did, handed back to [`crate::engine::Engine::install`].
pub struct CompactionResult {
    pub(crate) id: u64,
    pub(crate) table: TableId,
    pub(crate) reason: CompactionReason,
    pub(crate) inputs: Vec<u64>,
    pub(crate) input_tombstones: u64,
    pub(crate) output_generation: u64,
    /// The new SSTable (`None` when nothing survived), or why the job failed.
    pub(crate) outcome: Result<Option<Arc<Sstable>>>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl std::fmt::Debug for CompactionJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gens: Vec<u64> = self.inputs.iter().map(|(g, _)| *g).collect();
        f.debug_struct("CompactionJob")
            .field("id", &self.id)
            .field("table", &self.table)
            .field("reason", &self.reason)
            .field("inputs", &gens)
            .field("output", &self.output_generation)
            .finish()
    }
}

impl CompactionResult {
    pub fn table(&self) -> TableId {
        self.table
    }

    pub fn inputs(&self) -> &[u64] {
        &self.inputs
    }

    pub fn succeeded(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl CompactionJob {
    pub fn table(&self) -> TableId {
        self.table
    }

    pub fn reason(&self) -> CompactionReason {
        self.reason
    }

    /// Generations of the input SSTables.
    pub fn inputs(&self) -> Vec<u64> {
        self.inputs.iter().map(|(g, _)| *g).collect()
    }

    /// Merges the inputs into the output file (fsynced, not yet live). Never panics; an
    /// error is carried in the result so the engine can release the inputs.
    pub fn run(self) -> CompactionResult {
        let bytes_in = self.inputs.iter().map(|(_, s)| s.file_size()).sum();
        let outcome = self.write();
        let bytes_out = match &outcome {
            Ok(Some(s)) => s.file_size(),
            _ => 0,
        };
        CompactionResult {
            id: self.id,
            table: self.table,
            reason: self.reason,
            inputs: self.inputs(),
            input_tombstones: self
                .inputs
                .iter()
                .map(|(_, s)| s.stats().tombstone_count)
                .sum(),
            output_generation: self.output_generation,
            outcome,
            bytes_in,
            bytes_out,
        }
    }

    fn write(&self) -> Result<Option<Arc<Sstable>>> {
        let expected: u64 = self.inputs.iter().map(|(_, s)| s.partition_count()).sum();
        let mut writer = SstableWriter::create_with_io(
            self.io.clone(),
            &self.output_path,
            self.sstable_options.clone(),
            expected as usize,
        )?;
        let inputs = self
            .inputs
            .iter()
            .map(|(_, s)| s.reopen_uncached())
            .collect::<Result<Vec<_>>>()?;
        let mut partitions = PartitionMerge::new(inputs.iter().map(|s| &**s));
        let mut written = 0u64;
        while let Some((key, readers)) = partitions.next_partition()? {
            let purge = PartitionPurge {
                gc_before: self.gc_before,
                now: self.now,
                max_purgeable: self.overlap.max_purgeable(&key),
            };
            if write_partition(&mut writer, &key, &readers, &purge)? {
                written += 1;
            }
        }
        if written == 0 {
            // Dropping the unfinished writer removes its temporary file.
            return Ok(None);
        }
        writer.finish()?;
        let cache = self
            .block_cache
            .as_ref()
            .map(|c| (Arc::clone(c), self.output_generation));
        let output = Sstable::open_io(&self.io, &self.output_path, cache);
        output.map(Some)
    }
}

/// Merges one partition's versions, purges, and writes what is left. Returns whether
/// anything was written. Rows stream from the inputs to the writer.
fn write_partition(
    writer: &mut SstableWriter,
    key: &DecoratedKey,
    readers: &[PartitionReader<'_>],
    purge: &PartitionPurge,
) -> Result<bool> {
    let sources = readers
        .iter()
        .map(|p| PartitionSource {
            deletion: p.deletion(),
            range_tombstones: p.range_tombstones().to_vec(),
            rows: SourceRows::sstable(p.rows(&Slice::all(), Direction::Forward)),
        })
        .collect();
    let mut merged = MergedRows::new(sources, Direction::Forward, |_| true);
    let deletions = merged.deletions().clone();
    let deletion = deletions.partition.filter(|d| !purge.drops(d));
    let ranges: Vec<_> = deletions
        .ranges
        .into_iter()
        .filter(|rt| !purge.drops(&rt.deletion))
        .collect();
    let mut error: Option<Error> = None;
    let mut survivors = std::iter::from_fn(|| loop {
        match merged.next()? {
            Ok(row) => {
                if let Some(row) = purge.row(row) {
                    return Some(row);
                }
            }
            Err(e) => {
                error = Some(e);
                return None;
            }
        }
    })
    .peekable();
    let empty = survivors.peek().is_none();
    let write = !(empty && deletion.is_none() && ranges.is_empty());
    let result = if write {
        writer.add_partition(key, deletion, &ranges, &mut survivors)
    } else {
        Ok(())
    };
    drop(survivors);
    match error {
        Some(e) => Err(e),
        None => result.map(|()| write),
    }
}

/// Walks the partitions of several SSTables together in ring order.
struct PartitionMerge<'a> {
    iters: Vec<PartitionIter<'a>>,
    heads: Vec<Option<PartitionReader<'a>>>,
    primed: bool,
}

impl<'a> PartitionMerge<'a> {
    fn new(inputs: impl Iterator<Item = &'a Sstable>) -> Self {
        let iters: Vec<_> = inputs.map(|s| s.partitions_from(None)).collect();
        let heads = iters.iter().map(|_| None).collect();
        PartitionMerge {
            iters,
            heads,
            primed: false,
        }
    }

    fn pull(&mut self, i: usize) -> Result<()> {
        if let (Some(slot), Some(iter)) = (self.heads.get_mut(i), self.iters.get_mut(i)) {
            *slot = iter.next().transpose()?;
        }
        Ok(())
    }

    /// The next key and the readers of every input holding it.
    fn next_partition(&mut self) -> Result<Option<(DecoratedKey, Vec<PartitionReader<'a>>)>> {
        if !self.primed {
            for i in 0..self.iters.len() {
                self.pull(i)?;
            }
            self.primed = true;
        }
        let Some(key) = self.heads.iter().flatten().map(|p| p.key()).min().cloned() else {
            return Ok(None);
        };
        let mut readers = Vec::new();
        for i in 0..self.heads.len() {
            let here = self
                .heads
                .get(i)
                .and_then(|h| h.as_ref())
                .is_some_and(|p| *p.key() == key);
            if here {
                if let Some(p) = self.heads.get_mut(i).and_then(Option::take) {
                    readers.push(p);
                }
                self.pull(i)?;
            }
        }
        Ok(Some((key, readers)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jobs_and_results_cross_threads() {
        fn send<T: Send>() {}
        send::<super::CompactionJob>();
        send::<super::CompactionResult>();
    }
}
