//! A memtable flush as a job that runs on any thread.
//!
//! [`crate::engine::Engine::take_flush`] hands out the oldest frozen memtable with the
//! generations its SSTables will get; [`FlushJob::run`] writes and fsyncs those SSTables
//! (nothing else: the engine is not touched); [`crate::engine::Engine::install_flush`] commits
//! them in the MANIFEST with the frozen memtable's commitlog position, drops the frozen
//! memtable from reads and discards the commitlog segments it covered. A crash before the
//! install loses nothing: the MANIFEST does not list the files (open removes them) and the
//! commitlog still holds the records.

use std::path::PathBuf;
use std::sync::Arc;

use crate::commitlog::Position;
use crate::engine::open_sstable;
use crate::engine::table::table_dir;
use crate::error::{Error, Result};
use crate::io::Io;
use crate::memtable::FrozenMemtable;
use crate::model::TableId;
use crate::sstable::{BlockCache, Sstable, SstableWriter, SstableWriterOptions};

/// One SSTable a flush writes: a table's memtable, its generation and path, and the SSTable
/// whose compression dictionary it reuses.
pub(crate) struct FlushOutput {
    pub table: TableId,
    pub generation: u64,
    pub path: PathBuf,
    pub dictionary_from: Option<Arc<Sstable>>,
}

/// Work handed out by [`crate::engine::Engine::take_flush`]. `Send`: run it on any thread.
pub struct FlushJob {
    pub(crate) frozen: Arc<FrozenMemtable>,
    /// Memtables already installed, handed over to be freed on the job's thread.
    pub(crate) retired: Vec<Arc<FrozenMemtable>>,
    pub(crate) outputs: Vec<FlushOutput>,
    pub(crate) root: PathBuf,
    pub(crate) sstable_options: SstableWriterOptions,
    pub(crate) block_cache: Option<Arc<BlockCache>>,
    pub(crate) io: Io,
}

/// What a flush job did, handed back to [`crate::engine::Engine::install_flush`].
pub struct FlushResult {
    pub(crate) seq: u64,
    pub(crate) covered: Position,
    pub(crate) paths: Vec<PathBuf>,
    /// The new SSTables by table, or why the job failed.
    pub(crate) outcome: Result<Vec<(TableId, u64, Arc<Sstable>)>>,
}

impl std::fmt::Debug for FlushJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushJob")
            .field("seq", &self.frozen.seq)
            .field("bytes", &self.frozen.size_bytes)
            .finish()
    }
}

impl FlushResult {
    /// Whether the job wrote its SSTables.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Deletes the files of a result that will not be installed (through `io`, so a
    /// mirror loses them too).
    pub(crate) fn remove_outputs(&self, io: &dyn crate::io::FileIo) {
        for path in &self.paths {
            let _ = io.remove_file(path);
        }
    }

    /// The error of a failed job.
    pub fn error(&self) -> Option<&Error> {
        self.outcome.as_ref().err()
    }
}

impl FlushJob {
    /// Bytes of memtable this job flushes.
    pub fn size_bytes(&self) -> usize {
        self.frozen.size_bytes
    }

    /// Writes the SSTables. On failure the files written so far are removed.
    pub fn run(mut self) -> FlushResult {
        self.retired.clear();
        let paths: Vec<PathBuf> = self.outputs.iter().map(|o| o.path.clone()).collect();
        let outcome = self.write_all();
        let result = FlushResult {
            seq: self.frozen.seq,
            covered: self.frozen.covered,
            paths,
            outcome,
        };
        if let Err(e) = &result.outcome {
            tracing::warn!(error = %e, "a memtable flush failed; it will be retried");
            result.remove_outputs(&*self.io);
        }
        result
    }

    fn write_all(&self) -> Result<Vec<(TableId, u64, Arc<Sstable>)>> {
        let mut written = Vec::with_capacity(self.outputs.len());
        for out in &self.outputs {
            let Some(memtable) = self.frozen.tables.get(&out.table) else {
                continue;
            };
            let dir = table_dir(&self.root, out.table);
            if !dir.exists() {
                self.io
                    .create_dir_all(&dir)
                    .map_err(|e| Error::io(&dir, e))?;
                let tables = self.root.join("tables");
                self.io
                    .sync_dir(&tables)
                    .map_err(|e| Error::io(&tables, e))?;
            }
            let mut writer = SstableWriter::create_with_io(
                self.io.clone(),
                &out.path,
                self.sstable_options.clone(),
                memtable.partition_count(),
            )?;
            if let Some(newest) = &out.dictionary_from {
                writer.reuse_dictionary(newest.dictionary_bytes())?;
            }
            for (key, p) in memtable.partitions_from(None) {
                writer.add_partition_borrowed(
                    key,
                    p.deletion,
                    &p.range_tombstones,
                    p.rows.values(),
                )?;
            }
            writer.finish()?;
            written.push((
                out.table,
                out.generation,
                open_sstable(
                    &self.io,
                    self.block_cache.as_ref(),
                    &out.path,
                    out.generation,
                )?,
            ));
        }
        Ok(written)
    }
}
