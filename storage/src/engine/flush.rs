//! Flushing the memtables to SSTables.

use std::sync::Arc;

use crate::engine::table::{sstable_path, table_dir};
use crate::engine::{open_sstable, Engine};
use crate::error::{Error, Result};
use crate::model::TableId;
use crate::sstable::{Sstable, SstableWriter, SstableWriterOptions};

impl Engine {
    /// Writes every non-empty memtable to a new SSTable, commits them in the manifest with
    /// the commitlog position they cover, then rotates the commitlog and drops the segments the flush covered.
    pub fn flush(&mut self) -> Result<()> {
        let covered = self.commitlog.position();
        let mut written: Vec<(TableId, u64, Arc<Sstable>)> = Vec::new();
        for (&table, t) in &self.tables {
            if t.memtable.is_empty() {
                continue;
            }
            let generation = self.manifest.next_generation + written.len() as u64;
            let dir = table_dir(&self.dir, table);
            if !dir.exists() {
                self.io
                    .create_dir_all(&dir)
                    .map_err(|e| Error::io(&dir, e))?;
                let tables = self.dir.join("tables");
                self.io
                    .sync_dir(&tables)
                    .map_err(|e| Error::io(&tables, e))?;
            }
            let path = sstable_path(&self.dir, table, generation);
            let mut writer = SstableWriter::create_with_io(
                self.io.clone(),
                &path,
                SstableWriterOptions {
                    zstd_level: self.opts.flush_zstd_level,
                    ..self.opts.sstable.clone()
                },
                t.memtable.partition_count(),
            )?;
            if let Some((_, newest)) = t.sstables.first() {
                writer.reuse_dictionary(newest.dictionary_bytes())?;
            }
            for (key, p) in t.memtable.partitions_from(None) {
                writer.add_partition_borrowed(
                    key,
                    p.deletion,
                    &p.range_tombstones,
                    p.rows.values(),
                )?;
            }
            writer.finish()?;
            written.push((
                table,
                generation,
                open_sstable(&*self.io, self.block_cache.as_ref(), &path, generation)?,
            ));
        }
        self.manifest.next_generation += written.len() as u64;
        self.manifest.replay_from = covered;
        for (table, generation, _) in &written {
            self.manifest
                .tables
                .entry(*table)
                .or_default()
                .insert(0, *generation);
        }
        self.manifest.store(&self.dir, &*self.io)?;
        for (table, generation, sst) in written {
            let t = self.tables.entry(table).or_default();
            t.sstables.insert(0, (generation, sst));
            t.memtable = Default::default();
        }
        self.memtable_bytes = 0;
        self.stats.flushes += 1;
        // Close the segment holding the flushed records so it can be deleted now, not once
        // it fills up (a large segment would otherwise double the bytes on disk).
        self.commitlog.rotate()?;
        self.commitlog.discard_before(covered)
    }
}
