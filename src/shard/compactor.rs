//! A shard's compaction thread: background compaction without stalling the shard.
//!
//! The shard thread picks a job (`Engine::pick_compaction`) and installs its result
//! (`Engine::install`, one MANIFEST commit); the job runs on a [`Background`] thread, and the
//! shard keeps serving reads and writes meanwhile. One job runs per shard at a time, which
//! bounds the disk bandwidth and memory compaction takes from the shard.

use super::background::Background;
use crate::error::Result;
use crate::storage::compaction::{CompactionJob, CompactionResult};
use crate::storage::engine::Engine;

pub struct Compactor(Background<CompactionJob>);

impl Compactor {
    pub fn spawn(index: usize) -> Result<Compactor> {
        Ok(Compactor(Background::spawn(index, "compact")?))
    }

    /// Installs a finished job, then starts the next one the engine picks, if any.
    pub fn poll(&mut self, engine: &mut Engine) {
        if let Some(result) = self.0.try_finished() {
            self.install(engine, result);
        }
        if self.0.is_running() || !self.0.is_open() {
            return;
        }
        if let Some(job) = engine.pick_compaction() {
            self.0.submit(job);
        }
    }

    /// Waits for the running job (its output is installed, so the work is not wasted) and
    /// stops the thread. Called before the engine closes.
    pub fn stop(&mut self, engine: &mut Engine) {
        if self.0.is_running() {
            tracing::info!(
                shard = self.0.index,
                "waiting for a running compaction to finish"
            );
        }
        if let Some(result) = self.0.stop() {
            self.install(engine, result);
        }
    }

    fn install(&self, engine: &mut Engine, result: CompactionResult) {
        if let Err(e) = engine.install(result) {
            tracing::error!(shard = self.0.index, error = %e, "installing a compaction failed");
        }
    }
}
