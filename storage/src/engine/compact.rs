//! Major compaction: merge all SSTables of a table into one, dropping shadowed data and
//! tombstones past their grace period.
//!
//! The memtable is flushed first, so the compaction sees every source of the table and no
//! data outside it can be shadowed by a tombstone it purges. (Background, size-tiered and
//! time-window strategies, and the overlap check for partial compactions, are a later step.)

use std::sync::Arc;

use crate::clock::now_secs;
use crate::engine::table::sstable_path;
use crate::engine::{open_sstable, Engine};
use crate::error::{Error, Result};
use crate::model::{
    Cell, CellValue, DecoratedKey, DeletionTime, Direction, LocalSecs, Row, Slice, TableId,
};
use crate::read::{MergedRows, PartitionSource};
use crate::sstable::{Sstable, SstableWriter};

impl Engine {
    /// Compacts every table.
    pub fn compact_all(&mut self) -> Result<()> {
        let tables: Vec<TableId> = self.tables.keys().copied().collect();
        for t in tables {
            self.compact_table(t)?;
        }
        Ok(())
    }

    /// Major compaction of one table into a single SSTable.
    pub fn compact_table(&mut self, table: TableId) -> Result<()> {
        self.flush()?;
        let Some(t) = self.tables.get(&table) else {
            return Ok(());
        };
        if t.sstables.is_empty() {
            return Ok(());
        }
        let gc_before = now_secs().saturating_sub(t.options.gc_grace_secs);
        let inputs: Vec<Arc<Sstable>> = t.sstables.iter().map(|(_, s)| Arc::clone(s)).collect();
        let generation = self.manifest.next_generation;
        let path = sstable_path(&self.dir, table, generation);
        let expected: u64 = inputs.iter().map(|s| s.stats().partition_count).sum();
        let mut writer = SstableWriter::create_with_io(
            self.io.clone(),
            &path,
            self.opts.sstable.clone(),
            expected as usize,
        )?;
        let mut written = 0u64;
        for key in merged_keys(&inputs)? {
            let mut readers = Vec::new();
            for sst in &inputs {
                if sst.may_contain(&key) {
                    if let Some(p) = sst.partition(&key)? {
                        readers.push(p);
                    }
                }
            }
            let sources = readers
                .iter()
                .map(|p| PartitionSource {
                    deletion: p.deletion(),
                    range_tombstones: p.range_tombstones().to_vec(),
                    rows: Box::new(p.rows(&Slice::all(), Direction::Forward)),
                })
                .collect();
            let mut merged = MergedRows::new(sources, Direction::Forward, |_| true);
            let deletions = merged.deletions().clone();
            let mut rows = Vec::new();
            for row in &mut merged {
                if let Some(row) = purge_row(row?, gc_before) {
                    rows.push(row);
                }
            }
            let deletion = deletions.partition.filter(|d| !purgeable(d, gc_before));
            let ranges: Vec<_> = deletions
                .ranges
                .into_iter()
                .filter(|rt| !purgeable(&rt.deletion, gc_before))
                .collect();
            if deletion.is_some() || !ranges.is_empty() || !rows.is_empty() {
                writer.add_partition(&key, deletion, &ranges, rows)?;
                written += 1;
            }
        }
        let new_set = if written > 0 {
            writer.finish()?;
            vec![(
                generation,
                open_sstable(self.block_cache.as_ref(), &path, generation)?,
            )]
        } else {
            drop(writer);
            Vec::new()
        };
        self.manifest.next_generation += 1;
        self.manifest
            .tables
            .insert(table, new_set.iter().map(|(g, _)| *g).collect());
        self.manifest.store(&self.dir)?;
        let old = match self.tables.get_mut(&table) {
            Some(t) => std::mem::replace(&mut t.sstables, new_set),
            None => Vec::new(),
        };
        self.stats.compactions += 1;
        for (_, sst) in old {
            let path = sst.path().to_path_buf();
            drop(sst);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Every partition key of the inputs, in ring order, each once.
fn merged_keys(inputs: &[Arc<Sstable>]) -> Result<Vec<DecoratedKey>> {
    let mut keys = Vec::new();
    for sst in inputs {
        for p in sst.partitions_from(None) {
            keys.push(p?.key().clone());
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn purgeable(d: &DeletionTime, gc_before: LocalSecs) -> bool {
    d.deleted_at < gc_before
}

/// Drops from a merged row the tombstones past grace; expired cells past grace go too.
/// Returns `None` when nothing of the row is left.
fn purge_row(mut row: Row, gc_before: LocalSecs) -> Option<Row> {
    let now = now_secs();
    if row.deletion.is_some_and(|d| purgeable(&d, gc_before)) {
        row.deletion = None;
    }
    let dead_past_grace = |c: &Cell| match c.value {
        CellValue::Tombstone { deleted_at } => deleted_at < gc_before,
        // An expired cell acts as a tombstone written when the cell was (Cassandra's rule).
        CellValue::Expiring {
            ttl_secs,
            expires_at,
            ..
        } => expires_at <= now && expires_at - i64::from(ttl_secs) < gc_before,
        CellValue::Live(_) => false,
    };
    if row.marker.as_ref().is_some_and(dead_past_grace) {
        row.marker = None;
    }
    row.cells.retain(|(_, c)| !dead_past_grace(c));
    if row.marker.is_none() && row.deletion.is_none() && row.cells.is_empty() {
        None
    } else {
        Some(row)
    }
}
