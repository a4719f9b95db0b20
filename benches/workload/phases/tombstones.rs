//! Phase 4: one fresh channel, many messages, all deleted row by row but the newest;
//! how long reading its newest 50 takes right after the deletes, after a flush, and
//! after a compaction past the tombstones' grace period.
//!
//! It runs on a store of its own, so the bytes on disk are the tombstoned channel's alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::disk::dir_bytes;
use crate::engines;
use crate::generator::{MessageStream, Workload};
use crate::latency::Latency;
use crate::phases::{newest_across, Digest};
use crate::report::{Report, Value};
use crate::store::{Durability, Result, Store};

pub const PHASE: &str = "tombstones";

/// Reads per measurement; the median is reported so one cold read does not decide it.
const READS_PER_POINT: usize = 5;

pub struct TombstoneRun<'a> {
    pub workload: &'a Arc<Workload>,
    pub message_count: u64,
    pub batch_messages: usize,
    pub dir: &'a Path,
    pub engine: &'a str,
}

/// `Ok(false)` when the engine is not available.
pub fn run(run: &TombstoneRun, report: &mut Report) -> Result<bool> {
    let Some(mut owned) = engines::open(run.engine, run.dir, Durability::Periodic)? else {
        return Ok(false);
    };
    let store = &mut *owned;
    let (e, channel_id) = (run.engine, run.workload.fresh_channel);

    let mut buckets: Vec<i32> = Vec::new();
    let mut batch = Vec::with_capacity(run.batch_messages);
    for message in MessageStream::fresh_channel(Arc::clone(run.workload), run.message_count) {
        if buckets.last() != Some(&message.bucket) {
            buckets.push(message.bucket);
        }
        batch.push(message);
        if batch.len() >= run.batch_messages {
            store.ingest(&batch)?;
            batch.clear();
        }
    }
    store.ingest(&batch)?;

    // Every message but the last (the newest), oldest first, one delete each.
    let start = Instant::now();
    let deletes = run.message_count - 1;
    let stream = MessageStream::fresh_channel(Arc::clone(run.workload), run.message_count);
    for message in stream.take(deletes as usize) {
        store.delete(channel_id, message.bucket, message.message_id)?;
    }
    let delete_s = start.elapsed().as_secs_f64();
    report.number(PHASE, "messages", e, run.message_count as f64);
    report.number(PHASE, "deletes_per_s", e, deletes as f64 / delete_s);

    let read = |store: &mut dyn Store, report: &mut Report, point: &str| -> Result<()> {
        let (latency_us, digest) = read_newest(store, channel_id, &buckets)?;
        report.number(PHASE, &format!("read_newest50_us_{point}"), e, latency_us);
        report.set(
            PHASE,
            &format!("result_digest_{point}"),
            e,
            Value::Text(digest),
        );
        Ok(())
    };
    read(store, report, "after_deletes")?;

    store.flush()?;
    store.wait_idle()?;
    read(store, report, "after_flush")?;
    let disk_before = dir_bytes(run.dir)?;

    store.set_gc_grace_secs(0)?;
    // Tombstones written in this second are not yet past a zero grace period.
    std::thread::sleep(Duration::from_millis(1_100));
    let t = Instant::now();
    store.compact()?;
    store.wait_idle()?;
    report.number(PHASE, "major_compaction_s", e, t.elapsed().as_secs_f64());
    read(store, report, "after_compaction")?;
    report.number(PHASE, "disk_bytes_before_compaction", e, disk_before as f64);
    report.number(
        PHASE,
        "disk_bytes_after_compaction",
        e,
        dir_bytes(run.dir)? as f64,
    );
    // At rest: replaced files and flushed logs an engine deletes lazily are gone on close.
    drop(owned);
    let at_rest = dir_bytes(run.dir)? as f64;
    report.number(PHASE, "disk_bytes_after_close", e, at_rest);
    Ok(true)
}

/// Median latency in µs of reading the newest page, and the digest of what was read.
fn read_newest(store: &mut dyn Store, channel_id: i64, buckets: &[i32]) -> Result<(f64, String)> {
    let mut latency = Latency::new();
    let mut digest = Digest::new();
    for i in 0..READS_PER_POINT {
        let t = Instant::now();
        let rows = newest_across(store, channel_id, buckets.iter().rev().copied(), Vec::new())?;
        latency.record(t.elapsed());
        if i == 0 {
            digest.add(&rows);
        }
    }
    Ok((latency.quantile_us(0.5), digest.hex()))
}
