//! The shard thread: it owns one storage engine and serves its queue until told to close.
//!
//! Nothing else touches the engine, so the engine needs no lock. Between requests (and at
//! least every `tick_interval` when idle) the loop calls `Engine::tick`, which runs the
//! commitlog's periodic sync and any time-based engine work. Consecutive write requests
//! waiting in the queue are merged into one commitlog batch, so callers writing at the same
//! time share one fsync (group commit across callers); consecutive reads are served as one
//! batch whose replies go out together ([`reads`]), so a caller wakes once per batch. An
//! idle shard may poll its queue for `idle_spin` before it parks. Background compaction
//! jobs are picked and installed here at tick time and run on the shard's compaction thread
//! ([`Compactor`]).

use crate::error::duplicate_storage_error;
use crate::shard::compactor::Compactor;
use crate::shard::flusher::Flusher;
use crate::shard::reads;
use crate::shard::request::Request;
use crate::storage;
use crate::storage::engine::Engine;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct WorkerConfig {
    pub index: usize,
    pub room: std::sync::Arc<crate::shard::QueueRoom>,
    pub tick_interval: Duration,
    pub max_batch_requests: usize,
    /// How long an idle shard polls its queue before it parks.
    pub idle_spin: Duration,
}

/// Runs the shard until a `Close` request or until every sender is gone.
pub fn run(
    mut engine: Engine,
    rx: Receiver<Request>,
    config: WorkerConfig,
    mut compactor: Compactor,
    mut flusher: Flusher,
) {
    let mut last_tick = Instant::now();
    let mut pending: Option<Request> = None;
    loop {
        let next = match pending.take() {
            Some(r) => Ok(r),
            None => match spin_for(&rx, config.idle_spin) {
                Some(r) => Ok(r),
                None => rx.recv_timeout(config.tick_interval.saturating_sub(last_tick.elapsed())),
            },
        };
        config.room.made_room();
        match next {
            Ok(Request::Close(reply)) => {
                flusher.stop(&mut engine);
                compactor.stop(&mut engine);
                let _ = reply.send(engine.close());
                return;
            }
            Ok(first @ (Request::Apply { .. } | Request::InsertRows { .. })) => {
                flusher.wait_if_backlogged(&mut engine);
                pending = apply_batch(&mut engine, &rx, &config, first);
                flusher.poll(&mut engine);
            }
            Ok(read) if reads::is_read(&read) => {
                pending = reads::serve_batch(&mut engine, &rx, read, config.max_batch_requests);
                config.room.made_room();
            }
            Ok(other) => serve(&mut engine, other),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                flusher.stop(&mut engine);
                compactor.stop(&mut engine);
                if let Err(e) = engine.close() {
                    tracing::error!(shard = config.index, error = %e, "closing the shard's engine failed");
                }
                return;
            }
        }
        if last_tick.elapsed() >= config.tick_interval {
            if let Err(e) = engine.tick() {
                tracing::error!(shard = config.index, error = %e, "shard tick failed");
            }
            flusher.poll(&mut engine);
            compactor.poll(&mut engine);
            last_tick = Instant::now();
        }
    }
}

/// Waits up to `spin` for a request without sleeping: polls the queue, yielding the CPU
/// between polls (to a caller on this CPU, which is the likely producer). A request that
/// arrives meanwhile costs neither side a futex wake-up and the shard no context switch in.
fn spin_for(rx: &Receiver<Request>, spin: Duration) -> Option<Request> {
    if spin.is_zero() {
        return None;
    }
    let start = Instant::now();
    loop {
        if let Ok(r) = rx.try_recv() {
            return Some(r);
        }
        if start.elapsed() >= spin {
            return None;
        }
        std::thread::yield_now();
    }
}

/// Applies the write request `first` and the write requests queued right behind it as one
/// commitlog batch. Returns the first non-write request it took off the queue, to be served
/// next.
fn apply_batch(
    engine: &mut Engine,
    rx: &Receiver<Request>,
    config: &WorkerConfig,
    first: Request,
) -> Option<Request> {
    let mut mutations = Vec::new();
    let mut replies = Vec::new();
    let mut next = None;
    let mut request = Some(first);
    while let Some(r) = request.take() {
        match r {
            Request::Apply {
                mutations: more,
                reply,
            } => {
                if mutations.is_empty() {
                    mutations = more;
                } else {
                    mutations.extend(more);
                }
                replies.push(reply);
            }
            // Built here, on the shard; a row the key encoding refuses fails its own
            // request only, never the batch it would have joined.
            Request::InsertRows { batch, reply } => match batch.into_mutations() {
                Ok(more) => {
                    mutations.extend(more);
                    replies.push(reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            other => {
                next = Some(other);
                break;
            }
        }
        if replies.len() < config.max_batch_requests.max(1) {
            request = rx.try_recv().ok();
        }
    }
    if replies.is_empty() {
        return next;
    }
    match engine.apply_batch(mutations) {
        Ok(()) => replies.into_iter().for_each(|r| {
            let _ = r.send(Ok(()));
        }),
        Err(e) => {
            tracing::error!(shard = config.index, error = %e, "a write batch failed");
            for r in replies {
                let _ = r.send(Err(duplicate_storage_error(&e)));
            }
        }
    }
    next
}

fn serve(engine: &mut Engine, request: Request) {
    match request {
        Request::Scan { query, reply } => {
            let _ = reply.send(engine.scan(&query));
        }
        Request::SetTableOptions { tables, reply } => {
            for (table, options) in tables {
                engine.set_table_options(table, options);
            }
            let _ = reply.send(Ok(()));
        }
        Request::DropTables { tables, reply } => {
            let result = tables
                .into_iter()
                .try_for_each(|table| engine.drop_table(table));
            let _ = reply.send(result);
        }
        Request::Truncate {
            table,
            options,
            reply,
        } => {
            let result = engine.drop_table(table);
            engine.set_table_options(table, options);
            let _ = reply.send(result);
        }
        Request::Flush(reply) => {
            let _ = reply.send(engine.flush());
        }
        Request::Compact { table, reply } => {
            let result: storage::Result<()> = match table {
                Some(t) => engine.compact_table(t),
                None => engine.compact_all(),
            };
            let _ = reply.send(result);
        }
        Request::Stats(reply) => {
            let _ = reply.send(Ok(engine.stats()));
        }
        // Handled by the loop.
        Request::Apply { .. }
        | Request::InsertRows { .. }
        | Request::Read { .. }
        | Request::ReadChain { .. }
        | Request::Close(_) => {}
    }
}
