//! A shard's background thread: runs one job at a time (a memtable flush or a compaction)
//! off the shard thread, and hands the result back for the shard thread to install.
//!
//! The shard thread alone touches the engine, so it takes the jobs and installs their
//! results; the job itself (which only reads immutable memtables and SSTables, and writes
//! and fsyncs its new SSTable) runs here. [`super::flusher`] and [`super::compactor`] say
//! which jobs to take and how to install them.

use crate::error::{Error, Result};
use crate::storage::compaction::{CompactionJob, CompactionResult};
use crate::storage::engine::{FlushJob, FlushResult};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

/// Work a background thread runs.
pub trait Job: Send + 'static {
    type Output: Send + 'static;
    fn run(self) -> Self::Output;
}

impl Job for FlushJob {
    type Output = FlushResult;
    fn run(self) -> FlushResult {
        FlushJob::run(self)
    }
}

impl Job for CompactionJob {
    type Output = CompactionResult;
    fn run(self) -> CompactionResult {
        CompactionJob::run(self)
    }
}

pub struct Background<J: Job> {
    /// The shard's index, for the log.
    pub index: usize,
    what: &'static str,
    jobs: Option<Sender<J>>,
    results: Receiver<J::Output>,
    running: bool,
    thread: Option<JoinHandle<()>>,
}

impl<J: Job> Background<J> {
    /// Starts thread `scrolldb-<what>-<index>`.
    pub fn spawn(index: usize, what: &'static str) -> Result<Background<J>> {
        let (job_tx, job_rx) = crossbeam_channel::bounded::<J>(1);
        let (result_tx, result_rx) = crossbeam_channel::bounded::<J::Output>(1);
        let thread = std::thread::Builder::new()
            .name(format!("scrolldb-{what}-{index}"))
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(job.run()).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io(format!("shard-{index} {what} thread"), e))?;
        Ok(Background {
            index,
            what,
            jobs: Some(job_tx),
            results: result_rx,
            running: false,
            thread: Some(thread),
        })
    }

    /// Whether a job is out (and no new one may start).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Whether the thread takes jobs (false once stopped or gone).
    pub fn is_open(&self) -> bool {
        self.jobs.is_some()
    }

    /// Hands `job` to the thread.
    pub fn submit(&mut self, job: J) {
        if let Some(jobs) = &self.jobs {
            if jobs.send(job).is_ok() {
                self.running = true;
                return;
            }
        }
        self.gone();
    }

    /// The running job's result if it has finished, without waiting.
    pub fn try_finished(&mut self) -> Option<J::Output> {
        if !self.running {
            return None;
        }
        match self.results.try_recv() {
            Ok(result) => {
                self.running = false;
                Some(result)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.gone();
                None
            }
        }
    }

    /// The running job's result, waiting for it; `None` when no job is out.
    pub fn wait_finished(&mut self) -> Option<J::Output> {
        if !self.running {
            return None;
        }
        match self.results.recv() {
            Ok(result) => {
                self.running = false;
                Some(result)
            }
            Err(_) => {
                self.gone();
                None
            }
        }
    }

    /// Takes no more jobs, waits for the running job's result and returns it, and joins the
    /// thread (which ends when its job channel closes).
    pub fn stop(&mut self) -> Option<J::Output> {
        self.jobs = None;
        let result = self.wait_finished();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        result
    }

    fn gone(&mut self) {
        if self.jobs.is_some() {
            tracing::error!(shard = self.index, "the {} thread is gone", self.what);
        }
        self.running = false;
        self.jobs = None;
    }
}
