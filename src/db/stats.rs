//! Counters of every shard, for operators, benchmarks and tests.

use super::Db;
use crate::error::Result;
use crate::shard::{wait, Request};
use crate::storage::engine::EngineStats;

/// One shard's counters.
#[derive(Clone, Debug)]
pub struct ShardStats {
    pub shard: usize,
    /// Requests waiting in the shard's queue when the stats were taken.
    pub queue_depth: usize,
    /// `"io_uring"` or `"plain"`.
    pub io_backend: &'static str,
    /// Memtable bytes, SSTable count, disk bytes, tombstones scanned, commitlog...
    pub engine: EngineStats,
}

#[derive(Clone, Debug, Default)]
pub struct DbStats {
    pub shards: Vec<ShardStats>,
}

impl DbStats {
    pub fn memtable_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.engine.memtable_bytes).sum()
    }

    pub fn sstable_count(&self) -> usize {
        self.shards.iter().map(|s| s.engine.sstable_count).sum()
    }

    pub fn disk_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.engine.disk_bytes).sum()
    }

    pub fn writes(&self) -> u64 {
        self.shards.iter().map(|s| s.engine.writes).sum()
    }

    pub fn reads(&self) -> u64 {
        self.shards.iter().map(|s| s.engine.reads).sum()
    }

    pub fn tombstones_scanned(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.engine.tombstones_scanned)
            .sum()
    }

    pub fn queue_depth(&self) -> usize {
        self.shards.iter().map(|s| s.queue_depth).sum()
    }
}

impl Db {
    /// Every shard's counters.
    pub fn stats(&self) -> Result<DbStats> {
        self.check_open()?;
        let mut pending = Vec::with_capacity(self.shard_count());
        let mut depths = Vec::with_capacity(self.shard_count());
        for shard in self.shards() {
            depths.push((shard.queue_depth(), shard.io_backend()));
            pending.push(shard.submit(Request::Stats, super::Backpressure::Wait)?);
        }
        let mut stats = DbStats::default();
        for (shard, (p, (queue_depth, io_backend))) in pending.into_iter().zip(depths).enumerate() {
            stats.shards.push(ShardStats {
                shard,
                queue_depth,
                io_backend,
                engine: wait(p)?,
            });
        }
        Ok(stats)
    }
}
