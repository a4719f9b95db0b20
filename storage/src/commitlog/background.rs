//! The fsyncs of the periodic sync modes, on a thread of the log's own.
//!
//! In `Periodic` and `PeriodicBuffered` modes nothing waits for the fsync: appends are
//! acknowledged before it. Yet done on the owner's thread, every period's `fdatasync` stops
//! the writer for as long as the disk takes, which under flush and compaction traffic is
//! milliseconds (the workload bench's writer spent a third of its time there). Here the
//! owner only hands the segment's file over and goes on; the result comes back at its next
//! call. At most one fsync is in flight: when the next period falls due before it is done,
//! the owner skips that turn, so the window of acknowledged writes at risk is the period plus
//! one fsync, as it was on the owner's thread.

use std::fs::File;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::io::{Io, SyncKind};

/// A thread that fdatasyncs the files it is handed, one at a time.
#[derive(Debug)]
pub(crate) struct BackgroundSync {
    requests: Option<SyncSender<Arc<File>>>,
    results: Receiver<std::io::Result<()>>,
    in_flight: bool,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundSync {
    pub(crate) fn spawn(io: Io) -> std::io::Result<BackgroundSync> {
        let (requests, request_rx) = mpsc::sync_channel::<Arc<File>>(1);
        let (result_tx, results) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("commitlog-sync".into())
            .spawn(move || {
                for file in request_rx {
                    if result_tx.send(io.sync(&file, SyncKind::Data)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(BackgroundSync {
            requests: Some(requests),
            results,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// Whether an fsync is still running (collect a finished one with `poll` first).
    pub(crate) fn busy(&self) -> bool {
        self.in_flight
    }

    /// The result of the fsync in flight, if it has finished.
    pub(crate) fn poll(&mut self) -> Option<std::io::Result<()>> {
        if !self.in_flight {
            return None;
        }
        match self.results.try_recv() {
            Ok(r) => {
                self.in_flight = false;
                Some(r)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.in_flight = false;
                Some(Err(thread_gone()))
            }
        }
    }

    /// Waits for the fsync in flight, if any, and returns its result.
    pub(crate) fn wait(&mut self) -> Option<std::io::Result<()>> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        Some(self.results.recv().unwrap_or_else(|_| Err(thread_gone())))
    }

    /// Starts an fdatasync of `file`. Call only when not `busy`.
    pub(crate) fn start(&mut self, file: Arc<File>) -> std::io::Result<()> {
        let sent = self.requests.as_ref().map(|tx| tx.send(file));
        match sent {
            Some(Ok(())) => {
                self.in_flight = true;
                Ok(())
            }
            _ => Err(thread_gone()),
        }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        // Closing the channel ends the thread once its fsync in flight is done.
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn thread_gone() -> std::io::Error {
    std::io::Error::other("the commitlog's sync thread is gone")
}
