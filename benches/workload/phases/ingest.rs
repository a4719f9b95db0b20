//! Phase 1 with periodic sync: write every message in send order, then measure the
//! write and space amplification, before and after a major compaction.
//!
//! The data loaded here is what the read phases read, so it runs whenever they do.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::channel_index::ChannelIndex;
use crate::cpu::thread_cpu_s;
use crate::disk::{dir_bytes, process_write_bytes};
use crate::engines;
use crate::generator::{Message, MessageStream, Workload};
use crate::latency::Latency;
use crate::report::Report;
use crate::store::{Durability, Result, Store};

pub const PHASE: &str = "ingest";

pub struct Load<'a> {
    pub workload: &'a Arc<Workload>,
    pub message_count: u64,
    pub batch_messages: usize,
    pub dir: &'a Path,
    pub engine: &'a str,
}

/// What the load leaves for the later steps.
pub struct Loaded {
    pub index: ChannelIndex,
    pub user_bytes: u64,
    /// `/proc/self/io` before the first write, for write amplification.
    io_start: Option<u64>,
}

/// Messages generated ahead of the writes at a time: all of them up to scale 0.2, so a
/// phase's timed writes never wait for the generator; at larger scales the timer stops while
/// the next chunk is generated, keeping memory near 250 MB (about 240 bytes per message).
pub const CHUNK_MESSAGES: usize = 1_000_000;

/// Writes the data, flushes, waits for background work; reports only into `Some(report)`.
///
/// What `periodic_messages_per_s` times is the engine's writes alone: the messages (and the
/// channel index the read phases need) are generated into memory first, with the timer
/// stopped, so the cost of generating them, the same for every engine, does not dilute the
/// comparison. Generation time is reported as `generation_s`.
pub fn load(store: &mut dyn Store, load: &Load, report: Option<&mut Report>) -> Result<Loaded> {
    let mut index = ChannelIndex::new(load.workload.seed);
    let mut user_bytes = 0u64;
    let mut batch_latency = Latency::new();
    let mut stream = MessageStream::main(Arc::clone(load.workload), load.message_count);
    let mut chunk: Vec<Message> = Vec::new();
    let (mut generation_s, mut ingest_s) = (0.0f64, 0.0f64);
    let mut written = 0u64;
    let mut stall_s = 0.0f64;
    let mut writer_cpu_s = Some(0.0f64);
    let io_start = process_write_bytes();
    loop {
        let t = Instant::now();
        chunk.clear();
        chunk.extend(stream.by_ref().take(CHUNK_MESSAGES));
        for message in &chunk {
            index.observe(message);
            user_bytes += message.user_bytes();
        }
        generation_s += t.elapsed().as_secs_f64();
        if chunk.is_empty() {
            break;
        }
        eprintln!(
            "[{}] generated {} messages in {generation_s:.1} s",
            load.engine,
            written + chunk.len() as u64
        );
        let stall_before = store.write_stall_s();
        let cpu_before = thread_cpu_s();
        ingest_s += write_chunk(store, load, &chunk, written, &mut batch_latency)?;
        writer_cpu_s = match (writer_cpu_s, cpu_before, thread_cpu_s()) {
            (Some(sum), Some(a), Some(b)) => Some(sum + b - a),
            _ => None,
        };
        if let (Some(a), Some(b)) = (stall_before, store.write_stall_s()) {
            stall_s += b - a;
        }
        written += chunk.len() as u64;
    }
    drop(chunk);

    store.flush()?;
    store.wait_idle()?;
    let io_after_ingest = process_write_bytes();
    let disk_bytes = dir_bytes(load.dir)?;

    if let Some(report) = report {
        let (e, user) = (load.engine, user_bytes as f64);
        let messages = load.message_count as f64;
        report.number(PHASE, "messages", e, messages);
        report.number(PHASE, "user_bytes", e, user);
        report.number(PHASE, "generation_s", e, generation_s);
        report.number(PHASE, "periodic_messages_per_s", e, messages / ingest_s);
        if let Some(cpu_s) = writer_cpu_s {
            let per_message_us = cpu_s * 1e6 / messages;
            report.number(PHASE, "writer_cpu_us_per_message", e, per_message_us);
        }
        if store.write_stall_s().is_some() {
            report.number(PHASE, "flush_wait_share", e, stall_s / ingest_s);
        }
        let write_p99_us = batch_latency.quantile_us(0.99);
        report.number(PHASE, "periodic_write_latency_us_p99", e, write_p99_us);
        if let (Some(a), Some(b)) = (io_start, io_after_ingest) {
            report.number(PHASE, "write_amp_incl_flush", e, (b - a) as f64 / user);
        }
        report.number(PHASE, "disk_bytes_after_ingest", e, disk_bytes as f64);
        report.number(PHASE, "space_amp_after_ingest", e, disk_bytes as f64 / user);
    }
    Ok(Loaded {
        index,
        user_bytes,
        io_start,
    })
}

/// One write in this many has its latency recorded. The two clock reads around every write
/// were about 5% of the writer's samples in a profile (both engines pay them; no change of
/// the writer's CPU per message was measurable on the loaded machine, though); a sample of
/// one write in 7 gives the same percentiles. 7 shares no factor with the adapters' own
/// periods (scrolldb reads its clock every 32 writes), so the sample is not locked to one
/// phase of them.
const LATENCY_SAMPLE_EVERY: u64 = 7;

/// Writes one generated chunk in `--ingest-batch` writes; returns its wall time in seconds.
fn write_chunk(
    store: &mut dyn Store,
    load: &Load,
    chunk: &[Message],
    written_before: u64,
    batch_latency: &mut Latency,
) -> Result<f64> {
    // Progress every 10%, so a scale-1 run shows it is alive.
    let progress_every = (load.message_count / 10).max(1);
    let start = Instant::now();
    let mut done = written_before;
    for (i, batch) in (0u64..).zip(chunk.chunks(load.batch_messages)) {
        if i % LATENCY_SAMPLE_EVERY == 0 {
            let t = Instant::now();
            store.ingest(batch)?;
            batch_latency.record(t.elapsed());
        } else {
            store.ingest(batch)?;
        }
        let before = done;
        done += batch.len() as u64;
        if done / progress_every != before / progress_every {
            let (e, s) = (load.engine, start.elapsed().as_secs_f64());
            eprintln!(
                "[{e}] ingest {done}/{} messages, {s:.1} s into this chunk",
                load.message_count
            );
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Runs a major compaction and reports its cost and the bytes left on disk.
pub fn compact(
    store: &mut dyn Store,
    load: &Load,
    loaded: &Loaded,
    report: Option<&mut Report>,
) -> Result<()> {
    let t = Instant::now();
    store.compact()?;
    store.wait_idle()?;
    let compact_s = t.elapsed().as_secs_f64();
    let io_after = process_write_bytes();
    let disk_bytes = dir_bytes(load.dir)?;
    if let Some(report) = report {
        let (e, user) = (load.engine, loaded.user_bytes as f64);
        report.number(PHASE, "major_compaction_s", e, compact_s);
        if let (Some(a), Some(c)) = (loaded.io_start, io_after) {
            let amp = (c - a) as f64 / user;
            report.number(PHASE, "write_amp_incl_major_compaction", e, amp);
        }
        report.number(PHASE, "disk_bytes_after_compaction", e, disk_bytes as f64);
        report.number(
            PHASE,
            "space_amp_after_compaction",
            e,
            disk_bytes as f64 / user,
        );
        let engine_bytes = store.disk_bytes()? as f64;
        report.number(PHASE, "engine_reported_disk_bytes", e, engine_bytes);
    }
    Ok(())
}

/// Closes and reopens the store, then reports the bytes on disk at rest: engines delete
/// obsolete files lazily (fjall once no version refers to them), so the figure taken
/// right after a compaction can still count the files it replaced.
pub fn reopen(
    store: Box<dyn Store>,
    load: &Load,
    loaded: &Loaded,
    report: Option<&mut Report>,
) -> Result<Box<dyn Store>> {
    drop(store);
    let disk_bytes = dir_bytes(load.dir)?;
    if let Some(report) = report {
        let (e, user) = (load.engine, loaded.user_bytes as f64);
        report.number(PHASE, "disk_bytes_after_reopen", e, disk_bytes as f64);
        report.number(PHASE, "space_amp_after_reopen", e, disk_bytes as f64 / user);
    }
    engines::open(load.engine, load.dir, Durability::Periodic)?
        .ok_or_else(|| "engine vanished between open and reopen".into())
}
