//! A shard's flush thread: writes full memtables to SSTables without stalling the shard.
//!
//! The shard thread takes a job (`Engine::take_flush`, the oldest frozen memtable) and
//! installs its result (`Engine::install_flush`); the job, which writes and fsyncs the
//! SSTables, runs on a [`Background`] thread of its own, not the compaction thread, so a
//! flush never waits behind a long compaction. One job runs at a time, which keeps installs
//! in freeze order. When the engine's frozen memtables reach their limit, writes wait for
//! the running job (`wait_if_backlogged`), so memory stays bounded.

use super::background::Background;
use crate::error::Result;
use crate::storage::engine::{Engine, FlushJob, FlushResult};

pub struct Flusher(Background<FlushJob>);

impl Flusher {
    pub fn spawn(index: usize) -> Result<Flusher> {
        Ok(Flusher(Background::spawn(index, "flush")?))
    }

    /// Installs a finished job, then starts the next flush, if a memtable is frozen.
    pub fn poll(&mut self, engine: &mut Engine) {
        if let Some(result) = self.0.try_finished() {
            self.install(engine, result);
        }
        self.start(engine);
    }

    /// Before a write: if the engine would otherwise flush inline (too many frozen
    /// memtables), waits for the running job instead, installs it and starts the next.
    pub fn wait_if_backlogged(&mut self, engine: &mut Engine) {
        if !engine.flush_backlogged() {
            return;
        }
        self.start(engine);
        if let Some(result) = self.0.wait_finished() {
            self.install(engine, result);
            self.start(engine);
        }
    }

    /// Waits for the running job (its output is installed) and stops the thread. Called
    /// before the engine closes; frozen memtables not flushed stay in the commitlog.
    pub fn stop(&mut self, engine: &mut Engine) {
        if let Some(result) = self.0.stop() {
            self.install(engine, result);
        }
    }

    fn start(&mut self, engine: &mut Engine) {
        if self.0.is_running() || !self.0.is_open() {
            return;
        }
        if let Some(job) = engine.take_flush() {
            self.0.submit(job);
        }
    }

    fn install(&self, engine: &mut Engine, result: FlushResult) {
        if let Err(e) = engine.install_flush(result) {
            tracing::error!(shard = self.0.index, error = %e, "a memtable flush failed; retrying");
        }
    }
}
