//! Reads on the shard thread, served in batches whose replies go out together.
//!
//! Every reply wakes its caller, and a caller that sleeps between replies pays a futex
//! wait and a context switch per read, on the CPUs the shards need. When reads are queued,
//! the shard serves several (up to `max_batch_requests`, and stops taking more once the batch
//! has run `READ_BATCH_BUDGET`) before it sends their replies, so a caller with many reads
//! in flight wakes once per batch, not once per read. An idle shard's single read is
//! answered at once, so light load keeps its latency.

use crate::shard::request::{Reply, Request};
use crate::storage;
use crate::storage::engine::Engine;
use crate::storage::model::{ReadQuery, ReadResult};
use crossbeam_channel::Receiver;
use std::time::{Duration, Instant};

/// How long a batch keeps taking queued reads: what the first reply of a batch may wait.
pub const READ_BATCH_BUDGET: Duration = Duration::from_micros(100);

/// An answer held until the batch ends.
enum Answer {
    One(Reply<ReadResult>, storage::Result<ReadResult>),
    Chain(Reply<Vec<ReadResult>>, storage::Result<Vec<ReadResult>>),
}

impl Answer {
    fn send(self) {
        // A caller that stopped waiting is no error of the shard's.
        match self {
            Answer::One(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Chain(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }
}

/// Whether `request` is a read [`serve_batch`] takes.
pub fn is_read(request: &Request) -> bool {
    matches!(request, Request::Read { .. } | Request::ReadChain { .. })
}

/// Serves the read `first` and the reads queued right behind it, then sends every reply.
/// Returns the first non-read request it took off the queue, to be served next.
pub fn serve_batch(
    engine: &mut Engine,
    rx: &Receiver<Request>,
    first: Request,
    max_requests: usize,
) -> Option<Request> {
    let start = Instant::now();
    let mut answers = Vec::new();
    let mut next = Some(first);
    while let Some(request) = next.take() {
        match request {
            Request::Read { query, reply } => {
                answers.push(Answer::One(reply, engine.read(&query)));
            }
            Request::ReadChain {
                queries,
                limit,
                reply,
            } => {
                answers.push(Answer::Chain(reply, read_chain(engine, queries, limit)));
            }
            other => {
                next = Some(other);
                break;
            }
        }
        if answers.len() >= max_requests.max(1) || start.elapsed() >= READ_BATCH_BUDGET {
            break;
        }
        next = rx.try_recv().ok();
    }
    answers.into_iter().for_each(Answer::send);
    next
}

/// A [`Request::ReadChain`]: partitions in order until `limit` rows.
fn read_chain(
    engine: &mut Engine,
    queries: Vec<ReadQuery>,
    limit: usize,
) -> storage::Result<Vec<ReadResult>> {
    let mut results = Vec::with_capacity(queries.len());
    let mut remaining = limit;
    for mut query in queries {
        if remaining == 0 {
            break;
        }
        query.limit = Some(query.limit.map_or(remaining, |l| l.min(remaining)));
        let result = engine.read(&query)?;
        remaining = remaining.saturating_sub(result.rows.len());
        results.push(result);
    }
    Ok(results)
}
