//! Phase 1 with group commit: N concurrent writers, each write acknowledged only after
//! its fsync, for a fixed wall time on a fresh store.
//!
//! Writers take the next message of the main stream (so data is in send order, as
//! in the periodic load) and block until it is durable; `GroupCommitter` batches what
//! they queue while a sync is in flight.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engines;
use crate::generator::{MessageStream, Workload};
use crate::group_commit::GroupCommitter;
use crate::latency::Latency;
use crate::report::Report;
use crate::store::{Durability, Result};

pub const PHASE: &str = "ingest-group";

pub struct GroupRun<'a> {
    pub workload: &'a Arc<Workload>,
    /// Upper bound of messages (the run normally ends on time first).
    pub message_count: u64,
    pub writers: usize,
    pub duration: Duration,
    pub dir: &'a Path,
    pub engine: &'a str,
}

/// Runs one writer count; `Ok(false)` when the engine is not available.
pub fn run(group: &GroupRun, report: &mut Report) -> Result<bool> {
    let Some(store) = engines::open(group.engine, group.dir, Durability::GroupCommit)? else {
        return Ok(false);
    };
    let committer = GroupCommitter::new(store);
    let stream = Mutex::new(MessageStream::main(
        Arc::clone(group.workload),
        group.message_count,
    ));
    let start = Instant::now();
    let latencies: Vec<Result<Latency>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..group.writers)
            .map(|_| scope.spawn(|| writer(&committer, &stream, start, group.duration)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("writer thread panicked".into()))
            })
            .collect()
    });
    let elapsed_s = start.elapsed().as_secs_f64();
    let mut latency = Latency::new();
    for l in latencies {
        latency.merge(&l?);
    }
    let batches = committer.batches().max(1);
    drop(committer.into_store()?);

    let (e, w) = (group.engine, group.writers);
    let messages = latency.count() as f64;
    report.number(
        PHASE,
        &format!("group_w{w}_messages_per_s"),
        e,
        messages / elapsed_s,
    );
    report.number(
        PHASE,
        &format!("group_w{w}_latency_us_p50"),
        e,
        latency.quantile_us(0.5),
    );
    report.number(
        PHASE,
        &format!("group_w{w}_latency_us_p99"),
        e,
        latency.quantile_us(0.99),
    );
    report.number(
        PHASE,
        &format!("group_w{w}_messages_per_sync"),
        e,
        messages / batches as f64,
    );
    Ok(true)
}

fn writer(
    committer: &GroupCommitter,
    stream: &Mutex<MessageStream>,
    start: Instant,
    duration: Duration,
) -> Result<Latency> {
    let mut latency = Latency::new();
    while start.elapsed() < duration {
        let next = stream.lock().map_err(|_| "stream lock poisoned")?.next();
        let Some(message) = next else { break };
        let t = Instant::now();
        committer.write(message)?;
        latency.record(t.elapsed());
    }
    Ok(latency)
}
