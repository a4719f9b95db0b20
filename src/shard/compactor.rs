//! A shard's compaction thread: background compaction without stalling the shard.
//!
//! The shard thread owns the engine, so it alone picks a job (`Engine::pick_compaction`) and
//! installs its result (`Engine::install`, one MANIFEST commit); the job itself, which reads
//! the immutable input SSTables and writes the output, runs here. The shard keeps serving
//! reads and writes meanwhile. One job runs per shard at a time, which bounds the disk
//! bandwidth and memory compaction takes from the shard.

use crate::error::{Error, Result};
use crate::storage::compaction::{CompactionJob, CompactionResult};
use crate::storage::engine::Engine;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

pub struct Compactor {
    index: usize,
    jobs: Option<Sender<CompactionJob>>,
    results: Receiver<CompactionResult>,
    running: bool,
    thread: Option<JoinHandle<()>>,
}

impl Compactor {
    pub fn spawn(index: usize) -> Result<Compactor> {
        let (job_tx, job_rx) = crossbeam_channel::bounded::<CompactionJob>(1);
        let (result_tx, result_rx) = crossbeam_channel::bounded::<CompactionResult>(1);
        let thread = std::thread::Builder::new()
            .name(format!("scrolldb-compact-{index}"))
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(job.run()).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io(format!("shard-{index} compaction thread"), e))?;
        Ok(Compactor {
            index,
            jobs: Some(job_tx),
            results: result_rx,
            running: false,
            thread: Some(thread),
        })
    }

    /// Installs a finished job, then starts the next one the engine picks, if any.
    pub fn poll(&mut self, engine: &mut Engine) {
        if self.running {
            match self.results.try_recv() {
                Ok(result) => self.install(engine, result),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    tracing::error!(shard = self.index, "the compaction thread is gone");
                    self.running = false;
                    return;
                }
            }
        }
        let Some(jobs) = &self.jobs else { return };
        if let Some(job) = engine.pick_compaction() {
            if jobs.send(job).is_ok() {
                self.running = true;
            }
        }
    }

    /// Waits for the running job (its output is installed, so the work is not wasted) and
    /// stops the thread. Called before the engine closes.
    pub fn stop(&mut self, engine: &mut Engine) {
        self.jobs = None;
        if self.running {
            tracing::info!(
                shard = self.index,
                "waiting for a running compaction to finish"
            );
            if let Ok(result) = self.results.recv() {
                self.install(engine, result);
            }
            self.running = false;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn install(&mut self, engine: &mut Engine, result: CompactionResult) {
        self.running = false;
        if let Err(e) = engine.install(result) {
            tracing::error!(shard = self.index, error = %e, "installing a compaction failed");
        }
    }
}
