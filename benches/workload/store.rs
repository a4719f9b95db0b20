//! The storage operations the phases need, implemented once per engine.

use crate::generator::Message;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// How a write is made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The commitlog is synced every 10 ms: at most 10 ms of acknowledged writes at risk.
    /// Both engines buffer appends in the process up to 8 KiB between writes to the OS
    /// (fjall's journal `BufWriter`; scrolldb `SyncMode::PeriodicBuffered`), so a process
    /// kill may lose that buffer too.
    Periodic,
    /// `ingest` returns only after its batch is synced to disk.
    GroupCommit,
}

/// Sync period of `Durability::Periodic`, the same for every engine.
pub const SYNC_PERIOD_MS: u64 = 10;

/// One row a read returned (content is counted, not copied out, for either engine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRow {
    pub message_id: i64,
    pub author_id: i64,
    pub content_bytes: usize,
}

/// Cumulative read-side counters of a store, for explaining latency (`WORKLOAD_READ_PROFILE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadCounters {
    pub partition_reads: u64,
    pub sstables_read: u64,
    pub blocks_read: u64,
    pub block_cache_misses: u64,
}

impl ReadCounters {
    pub fn minus(&self, earlier: &ReadCounters) -> ReadCounters {
        ReadCounters {
            partition_reads: self.partition_reads - earlier.partition_reads,
            sstables_read: self.sstables_read - earlier.sstables_read,
            blocks_read: self.blocks_read - earlier.blocks_read,
            block_cache_misses: self.block_cache_misses - earlier.block_cache_misses,
        }
    }
}

/// One engine holding the messages table.
pub trait Store: Send {
    /// Writes every message of the batch (one engine batch), durable per the store's mode.
    fn ingest(&mut self, batch: &[Message]) -> Result<()>;

    /// The newest `limit` rows of one (channel, bucket), newest first.
    fn newest(&mut self, channel_id: i64, bucket: i32, limit: usize) -> Result<Vec<ReadRow>>;

    /// The `limit` rows of one (channel, bucket) older than `message_id`, newest first.
    fn older_than(
        &mut self,
        channel_id: i64,
        bucket: i32,
        message_id: i64,
        limit: usize,
    ) -> Result<Vec<ReadRow>>;

    /// Deletes one row (a row tombstone).
    fn delete(&mut self, channel_id: i64, bucket: i32, message_id: i64) -> Result<()>;

    /// Writes the memtable out and waits for it.
    fn flush(&mut self) -> Result<()>;

    /// Compacts everything into as few files as the engine can (a major compaction).
    fn compact(&mut self) -> Result<()>;

    /// Waits until background flushes and compactions have stopped, so disk figures are
    /// taken at rest.
    fn wait_idle(&mut self) -> Result<()> {
        Ok(())
    }

    /// Sets how long tombstones must live before compaction may purge them.
    fn set_gc_grace_secs(&mut self, secs: i64) -> Result<()>;

    /// Seconds writes so far spent waiting for a background flush to finish (the engine's
    /// write stall), if the adapter can tell.
    fn write_stall_s(&self) -> Option<f64> {
        None
    }

    /// Read counters so far, if the engine keeps them.
    fn read_counters(&self) -> Option<ReadCounters> {
        None
    }

    /// Bytes on disk as the engine accounts them (the harness reports a directory walk).
    fn disk_bytes(&self) -> Result<u64>;
}
