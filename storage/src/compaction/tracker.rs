//! The engine's compaction bookkeeping: running jobs and the SSTables they hold, the
//! tombstone compactions that freed nothing, and counters.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{LocalSecs, TableId};

/// Compaction counters, reported in `EngineStats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionStats {
    pub jobs_started: u64,
    pub jobs_installed: u64,
    pub jobs_failed: u64,
    pub running: u64,
    /// Bytes of input SSTables read and output SSTables written by installed jobs (write
    /// amplification is `bytes_written` plus flushed bytes over bytes ingested).
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub tombstone_compactions: u64,
    /// Single-SSTable tombstone compactions that dropped nothing (never repeated).
    pub futile_tombstone_compactions: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    pub next_job_id: u64,
    /// Job id to its table and input generations.
    pub running: BTreeMap<u64, (TableId, Vec<u64>)>,
    /// Generations written by a tombstone compaction that freed nothing.
    pub futile: BTreeSet<u64>,
    /// What the SSTable set looked like (flush + install count) and when, at the last
    /// inline pick that found nothing: no need to look again until one changes.
    pub last_idle_pick: Option<(u64, LocalSecs)>,
    pub stats: CompactionStats,
}

impl Tracker {
    pub fn is_compacting(&self, generation: u64) -> bool {
        self.running.values().any(|(_, g)| g.contains(&generation))
    }
}
