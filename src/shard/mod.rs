//! Shards: one OS thread per shard, each the only owner of one storage engine, reached
//! through a bounded queue.
//!
//! A caller builds a [`Request`] carrying a one-shot reply channel, pushes it into the
//! shard's bounded crossbeam queue (waiting or failing with `Overloaded` when it is full,
//! per [`Backpressure`]) and waits for the reply: parked on the reply in sync code ([`wait`]),
//! `.await` in async code. No lock is shared between shards on the read or write path.

mod background;
mod compactor;
mod flusher;
pub mod pin;
mod reads;
pub mod request;
pub mod routing;
mod worker;

use crate::db::options::{Backpressure, Options};
use crate::error::{Error, Result};
use crate::storage;
use crate::storage::engine::Engine;
use compactor::Compactor;
use crossbeam_channel::{Sender, TrySendError};
use flusher::Flusher;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

pub use request::{Reply, Request};

/// The handle to one running shard thread.
pub struct Shard {
    index: usize,
    tx: Sender<Request>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Wakes async callers waiting for room in a full queue.
    room: Arc<QueueRoom>,
    io_backend: &'static str,
}

/// How the shard thread tells async callers that its queue has room again, without them
/// polling and without a timer (so any tokio runtime works, time driver or not).
#[derive(Default)]
pub struct QueueRoom {
    waiters: AtomicUsize,
    notify: Notify,
}

impl QueueRoom {
    /// Called by the shard after taking requests off its queue; nearly free when nobody waits.
    pub fn made_room(&self) {
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.notify.notify_waiters();
        }
    }
}

/// A reply that has not arrived yet.
pub type Pending<T> = oneshot::Receiver<storage::Result<T>>;

impl Shard {
    /// Starts the thread of shard `index` owning `engine`, pinned to `cpu` if given.
    pub fn spawn(
        index: usize,
        engine: Engine,
        opts: &Options,
        cpu: Option<usize>,
    ) -> Result<Shard> {
        let (tx, rx) = crossbeam_channel::bounded(opts.queue_capacity.max(1));
        let io_backend = engine.io_backend();
        let room = Arc::new(QueueRoom::default());
        let config = worker::WorkerConfig {
            index,
            room: Arc::clone(&room),
            tick_interval: opts.tick_interval.max(Duration::from_micros(100)),
            max_batch_requests: opts.max_batch_requests,
            idle_spin: opts.idle_spin,
        };
        let compactor = Compactor::spawn(index)?;
        let flusher = Flusher::spawn(index)?;
        let thread = std::thread::Builder::new()
            .name(format!("scrolldb-shard-{index}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    pin::pin_current_thread(cpu);
                }
                worker::run(engine, rx, config, compactor, flusher);
            })
            .map_err(|e| Error::io(format!("shard-{index} thread"), e))?;
        Ok(Shard {
            index,
            tx,
            thread: Mutex::new(Some(thread)),
            room,
            io_backend,
        })
    }

    pub fn index(&self) -> usize {
        self.index
    }

    /// The engine's I/O backend (`"io_uring"` or `"plain"`).
    pub fn io_backend(&self) -> &'static str {
        self.io_backend
    }

    /// Requests waiting in this shard's queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.len()
    }

    /// Queues a request from a plain thread; see [`Backpressure`].
    pub fn submit<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        backpressure: Backpressure,
    ) -> Result<Pending<T>> {
        let (reply, pending) = oneshot::channel();
        let request = make(reply);
        match backpressure {
            Backpressure::Wait => self.tx.send(request).map_err(|_| Error::Closed)?,
            Backpressure::Fail => self.tx.try_send(request).map_err(|e| match e {
                TrySendError::Full(_) => Error::Overloaded,
                TrySendError::Disconnected(_) => Error::Closed,
            })?,
        }
        Ok(pending)
    }

    /// Queues a request from async code: a full queue is waited on (the shard wakes the
    /// waiters when it takes requests off) rather than blocking the runtime's thread.
    pub async fn submit_async<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        backpressure: Backpressure,
    ) -> Result<Pending<T>> {
        let (reply, pending) = oneshot::channel();
        let request = make(reply);
        let request = match self.tx.try_send(request) {
            Ok(()) => return Ok(pending),
            Err(TrySendError::Disconnected(_)) => return Err(Error::Closed),
            Err(TrySendError::Full(_)) if backpressure == Backpressure::Fail => {
                return Err(Error::Overloaded)
            }
            Err(TrySendError::Full(r)) => r,
        };
        self.room.waiters.fetch_add(1, Ordering::AcqRel);
        let result = self.wait_for_room(request).await;
        self.room.waiters.fetch_sub(1, Ordering::AcqRel);
        result.map(|()| pending)
    }

    async fn wait_for_room(&self, mut request: Request) -> Result<()> {
        loop {
            let mut notified = std::pin::pin!(self.room.notify.notified());
            // Registered before the retry, so a wake-up between the two is not lost.
            notified.as_mut().enable();
            match self.tx.try_send(request) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Error::Closed),
                Err(TrySendError::Full(r)) => request = r,
            }
            notified.await;
        }
    }

    /// Queues a request and waits for its answer (plain threads only).
    pub fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        backpressure: Backpressure,
    ) -> Result<T> {
        wait(self.submit(make, backpressure)?)
    }

    pub async fn call_async<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        backpressure: Backpressure,
    ) -> Result<T> {
        wait_async(self.submit_async(make, backpressure).await?).await
    }

    /// Asks the shard to close and waits for its thread to end. Idempotent.
    ///
    /// Joins the thread instead of waiting on the reply channel, so it is safe anywhere,
    /// including in the `Drop` of the last `Db` handle on a tokio runtime thread.
    pub fn shutdown(&self) -> Result<()> {
        let Some(thread) = self.thread.lock().take() else {
            return Ok(());
        };
        let pending = self.submit(Request::Close, Backpressure::Wait);
        if thread.join().is_err() {
            tracing::error!(shard = self.index, "the shard thread panicked");
        }
        match pending {
            // The thread has ended, so the reply (if any) is already there.
            Ok(mut pending) => match pending.try_recv() {
                Ok(result) => result.map_err(Error::Storage),
                Err(_) => Ok(()),
            },
            // The thread had already stopped.
            Err(_) => Ok(()),
        }
    }
}

/// Waits for a reply, blocking the calling thread.
///
/// Safe anywhere: the reply comes from a shard thread, never from the caller's runtime, so
/// parking here cannot deadlock. On a multi-thread tokio runtime the wait runs inside
/// `block_in_place`, so the runtime moves its other tasks off this thread meanwhile; on a
/// current-thread runtime the runtime simply stalls for the wait (prefer the `_async` forms
/// there).
pub fn wait<T>(pending: Pending<T>) -> Result<T> {
    block_on(pending)
        .map_err(|_| Error::Closed)?
        .map_err(Error::Storage)
}

/// Runs a future of the async API to completion on the calling thread, as [`wait`] waits
/// for one reply (the same care on a tokio runtime thread).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let in_multi_thread_runtime = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if in_multi_thread_runtime {
        tokio::task::block_in_place(|| futures_executor::block_on(future))
    } else {
        futures_executor::block_on(future)
    }
}

pub async fn wait_async<T>(pending: Pending<T>) -> Result<T> {
    pending
        .await
        .map_err(|_| Error::Closed)?
        .map_err(Error::Storage)
}
