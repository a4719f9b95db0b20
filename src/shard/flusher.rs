//! A shard's flush thread: writes full memtables to SSTables without stalling the shard.
//!
//! The shard thread owns the engine: it takes a job (`Engine::take_flush`, the oldest frozen
//! memtable) and installs its result (`Engine::install_flush`); the job, which writes and
//! fsyncs the SSTables, runs here. It is a thread of its own, not the compaction thread, so a
//! flush never waits behind a long compaction. One job runs at a time, which keeps installs
//! in freeze order. When the engine's frozen memtables reach their limit, writes wait for
//! the running job (`wait_if_backlogged`), so memory stays bounded.

use crate::error::{Error, Result};
use crate::storage::engine::{Engine, FlushJob, FlushResult};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

pub struct Flusher {
    index: usize,
    jobs: Option<Sender<FlushJob>>,
    results: Receiver<FlushResult>,
    running: bool,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    pub fn spawn(index: usize) -> Result<Flusher> {
        let (job_tx, job_rx) = crossbeam_channel::bounded::<FlushJob>(1);
        let (result_tx, result_rx) = crossbeam_channel::bounded::<FlushResult>(1);
        let thread = std::thread::Builder::new()
            .name(format!("scrolldb-flush-{index}"))
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(job.run()).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io(format!("shard-{index} flush thread"), e))?;
        Ok(Flusher {
            index,
            jobs: Some(job_tx),
            results: result_rx,
            running: false,
            thread: Some(thread),
        })
    }

    /// Installs a finished job, then starts the next flush, if a memtable is frozen.
    pub fn poll(&mut self, engine: &mut Engine) {
        if self.running {
            match self.results.try_recv() {
                Ok(result) => self.install(engine, result),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    tracing::error!(shard = self.index, "the flush thread is gone");
                    self.running = false;
                    self.jobs = None;
                    return;
                }
            }
        }
        self.start(engine);
    }

    /// Before a write: if the engine would otherwise flush inline (too many frozen
    /// memtables), waits for the running job instead, installs it and starts the next.
    pub fn wait_if_backlogged(&mut self, engine: &mut Engine) {
        if !engine.flush_backlogged() {
            return;
        }
        if !self.running {
            self.start(engine);
        }
        if self.running {
            match self.results.recv() {
                Ok(result) => self.install(engine, result),
                Err(_) => {
                    tracing::error!(shard = self.index, "the flush thread is gone");
                    self.running = false;
                    self.jobs = None;
                }
            }
            self.start(engine);
        }
    }

    /// Waits for the running job (its output is installed) and stops the thread. Called
    /// before the engine closes; frozen memtables not flushed stay in the commitlog.
    pub fn stop(&mut self, engine: &mut Engine) {
        self.jobs = None;
        if self.running {
            if let Ok(result) = self.results.recv() {
                self.install(engine, result);
            }
            self.running = false;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn start(&mut self, engine: &mut Engine) {
        if self.running {
            return;
        }
        let Some(jobs) = &self.jobs else { return };
        if let Some(job) = engine.take_flush() {
            if jobs.send(job).is_ok() {
                self.running = true;
            }
        }
    }

    fn install(&mut self, engine: &mut Engine, result: FlushResult) {
        self.running = false;
        if let Err(e) = engine.install_flush(result) {
            tracing::error!(shard = self.index, error = %e, "a memtable flush failed; retrying");
        }
    }
}
