//! Phase 1 with periodic sync: write every message in send order, then measure the
//! write and space amplification, before and after a major compaction.
//!
//! The data loaded here is what the read phases read, so it runs whenever they do.

use std::sync::Arc;
use std::time::Instant;

use crate::channel_index::ChannelIndex;
use crate::disk::{dir_bytes, process_write_bytes};
use crate::generator::{MessageStream, Workload};
use crate::latency::Latency;
use crate::report::Report;
use crate::store::{Result, Store};

pub const PHASE: &str = "ingest";

pub struct Load<'a> {
    pub workload: &'a Arc<Workload>,
    pub message_count: u64,
    pub batch_messages: usize,
    pub dir: &'a std::path::Path,
    pub engine: &'a str,
}

pub struct Loaded {
    pub index: ChannelIndex,
    pub user_bytes: u64,
}

/// Loads the data; reports figures only when `report` is given.
pub fn load(store: &mut dyn Store, load: &Load, report: Option<&mut Report>) -> Result<Loaded> {
    let mut index = ChannelIndex::new(load.workload.seed);
    let mut batch = Vec::with_capacity(load.batch_messages);
    let mut user_bytes = 0u64;
    let mut batch_latency = Latency::new();
    let io_start = process_write_bytes();
    let start = Instant::now();
    // Progress every 10%, so a scale-1 run shows it is alive.
    let progress_every = (load.message_count / 10).max(1);
    let stream = MessageStream::main(Arc::clone(load.workload), load.message_count);
    for (i, message) in (1u64..).zip(stream) {
        if i % progress_every == 0 {
            let s = start.elapsed().as_secs_f64();
            eprintln!(
                "[{}] ingest {i}/{} messages, {s:.1} s",
                load.engine, load.message_count
            );
        }
        index.observe(&message);
        user_bytes += message.user_bytes();
        batch.push(message);
        if batch.len() >= load.batch_messages {
            let t = Instant::now();
            store.ingest(&batch)?;
            batch_latency.record(t.elapsed());
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.ingest(&batch)?;
    }
    let ingest_s = start.elapsed().as_secs_f64();

    store.flush()?;
    store.wait_idle()?;
    let io_after_ingest = process_write_bytes();
    let disk_after_ingest = dir_bytes(load.dir)?;

    let t = Instant::now();
    store.compact()?;
    store.wait_idle()?;
    let compact_s = t.elapsed().as_secs_f64();
    let io_after_compaction = process_write_bytes();
    let disk_after_compaction = dir_bytes(load.dir)?;

    if let Some(report) = report {
        let e = load.engine;
        let user = user_bytes as f64;
        report.number(PHASE, "messages", e, load.message_count as f64);
        report.number(PHASE, "user_bytes", e, user);
        report.number(
            PHASE,
            "periodic_messages_per_s",
            e,
            load.message_count as f64 / ingest_s,
        );
        report.number(
            PHASE,
            "periodic_batch_latency_us_p99",
            e,
            batch_latency.quantile_us(0.99),
        );
        if let (Some(a), Some(b), Some(c)) = (io_start, io_after_ingest, io_after_compaction) {
            report.number(PHASE, "write_amp_incl_flush", e, (b - a) as f64 / user);
            report.number(
                PHASE,
                "write_amp_incl_major_compaction",
                e,
                (c - a) as f64 / user,
            );
        }
        report.number(
            PHASE,
            "disk_bytes_after_ingest",
            e,
            disk_after_ingest as f64,
        );
        report.number(
            PHASE,
            "space_amp_after_ingest",
            e,
            disk_after_ingest as f64 / user,
        );
        report.number(PHASE, "major_compaction_s", e, compact_s);
        report.number(
            PHASE,
            "disk_bytes_after_compaction",
            e,
            disk_after_compaction as f64,
        );
        report.number(
            PHASE,
            "space_amp_after_compaction",
            e,
            disk_after_compaction as f64 / user,
        );
        report.number(
            PHASE,
            "engine_reported_disk_bytes",
            e,
            store.disk_bytes()? as f64,
        );
    }
    Ok(Loaded { index, user_bytes })
}

/// Closes and reopens the store, then reports the bytes on disk at rest: engines delete
/// obsolete files lazily (fjall once no version refers to them), so the figure taken
/// right after a compaction can still count the files it replaced.
pub fn reopen(
    store: Box<dyn Store>,
    load: &Load,
    user_bytes: u64,
    report: Option<&mut Report>,
) -> Result<Box<dyn Store>> {
    let user_bytes = user_bytes as f64;
    drop(store);
    let disk_at_rest = dir_bytes(load.dir)?;
    if let Some(report) = report {
        let e = load.engine;
        report.number(PHASE, "disk_bytes_after_reopen", e, disk_at_rest as f64);
        report.number(
            PHASE,
            "space_amp_after_reopen",
            e,
            disk_at_rest as f64 / user_bytes,
        );
    }
    crate::engines::open(load.engine, load.dir, crate::store::Durability::Periodic)?
        .ok_or_else(|| "engine vanished between open and reopen".into())
}
