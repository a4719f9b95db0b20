//! Shards: one OS thread per shard, each the only owner of one storage engine, reached
//! through a bounded queue.
//!
//! A caller builds a [`Request`] carrying a one-shot reply channel, pushes it into the
//! shard's bounded crossbeam queue (waiting or failing with `Overloaded` when it is full,
//! per [`Backpressure`]) and waits for the reply: `blocking_recv` on a plain thread, `.await`
//! in async code. No lock is shared between shards on the read or write path.

pub mod pin;
pub mod request;
pub mod routing;
mod worker;

use crate::db::options::{Backpressure, Options};
use crate::error::{Error, Result};
use crate::storage;
use crate::storage::engine::Engine;
use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

pub use request::{Reply, Request};

/// The handle to one running shard thread.
pub struct Shard {
    index: usize,
    tx: Sender<Request>,
    thread: Mutex<Option<JoinHandle<()>>>,
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
        let config = worker::WorkerConfig {
            index,
            tick_interval: opts.tick_interval.max(Duration::from_micros(100)),
            max_batch_requests: opts.max_batch_requests,
        };
        let thread = std::thread::Builder::new()
            .name(format!("scrolldb-shard-{index}"))
            .spawn(move || {
                if let Some(cpu) = cpu {
                    pin::pin_current_thread(cpu);
                }
                worker::run(engine, rx, config);
            })
            .map_err(|e| Error::io(format!("shard-{index} thread"), e))?;
        Ok(Shard {
            index,
            tx,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn index(&self) -> usize {
        self.index
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

    /// Queues a request from async code: a full queue is retried after short sleeps rather
    /// than blocking the runtime's thread.
    pub async fn submit_async<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        backpressure: Backpressure,
    ) -> Result<Pending<T>> {
        let (reply, pending) = oneshot::channel();
        let mut request = make(reply);
        let mut backoff = Duration::from_micros(50);
        loop {
            match self.tx.try_send(request) {
                Ok(()) => return Ok(pending),
                Err(TrySendError::Disconnected(_)) => return Err(Error::Closed),
                Err(TrySendError::Full(_)) if backpressure == Backpressure::Fail => {
                    return Err(Error::Overloaded)
                }
                Err(TrySendError::Full(r)) => {
                    request = r;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(5));
                }
            }
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
    pub fn shutdown(&self) -> Result<()> {
        let Some(thread) = self.thread.lock().take() else {
            return Ok(());
        };
        let result = match self.submit(Request::Close, Backpressure::Wait) {
            Ok(pending) => wait(pending),
            // The thread already stopped.
            Err(_) => Ok(()),
        };
        if thread.join().is_err() {
            tracing::error!(shard = self.index, "the shard thread panicked");
        }
        result
    }
}

/// Waits for a reply on a plain thread.
///
/// # Panics
/// When called from inside a tokio runtime thread (tokio's `blocking_recv` refuses to block
/// the runtime); use the `_async` variants there.
pub fn wait<T>(pending: Pending<T>) -> Result<T> {
    pending
        .blocking_recv()
        .map_err(|_| Error::Closed)?
        .map_err(Error::Storage)
}

pub async fn wait_async<T>(pending: Pending<T>) -> Result<T> {
    pending
        .await
        .map_err(|_| Error::Closed)?
        .map_err(Error::Storage)
}
