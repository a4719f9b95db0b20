//! Phases 2 and 3: open-channel (newest 50 across buckets) and scroll-back (50 older
//! than a random message of the channel's history), channels picked by popularity.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

use crate::channel_index::ChannelIndex;
use crate::generator::Workload;
use crate::latency::Latency;
use crate::phases::{newest_across, Digest, PAGE_ROWS};
use crate::report::{Report, Value};
use crate::snowflake::{bucket_of, snowflake, TIMELINE_SPAN_MS, TIMELINE_START_MS};
use crate::store::{Result, Store};

pub const OPEN_CHANNEL: &str = "open-channel";
pub const SCROLL_BACK: &str = "scroll-back";

/// Draws before giving up on finding a channel with history (only reachable at tiny
/// scales where most channels are empty).
const MAX_CHANNEL_DRAWS: usize = 10_000;

pub fn open_channel(
    store: &mut dyn Store,
    workload: &Workload,
    index: &ChannelIndex,
    reads: u64,
    engine: &str,
    report: &mut Report,
) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(workload.seed ^ 0x6f70_656e);
    // A channel with no messages is opened at the current bucket and found empty.
    let current_bucket = bucket_of(snowflake(TIMELINE_START_MS + TIMELINE_SPAN_MS, 0, 0));
    let (mut latency, mut digest, mut rows_total) = (Latency::new(), Digest::new(), 0u64);
    let start = Instant::now();
    for _ in 0..reads {
        let rank = workload.pick_channel_rank(&mut rng);
        let history = &index.channels[rank];
        let channel_id = workload.channels[rank];
        let t = Instant::now();
        let rows = if history.buckets.is_empty() {
            store.newest(channel_id, current_bucket, PAGE_ROWS)?
        } else {
            newest_across(
                store,
                channel_id,
                history.buckets.iter().rev().copied(),
                Vec::new(),
            )?
        };
        latency.record(t.elapsed());
        rows_total += rows.len() as u64;
        digest.add(&rows);
    }
    let ops_per_s = reads as f64 / start.elapsed().as_secs_f64();
    finish(
        report,
        OPEN_CHANNEL,
        engine,
        &latency,
        ops_per_s,
        rows_total,
        reads,
        digest,
    );
    Ok(())
}

pub fn scroll_back(
    store: &mut dyn Store,
    workload: &Workload,
    index: &ChannelIndex,
    reads: u64,
    engine: &str,
    report: &mut Report,
) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(workload.seed ^ 0x7363_726f_6c6c);
    let (mut latency, mut digest, mut rows_total) = (Latency::new(), Digest::new(), 0u64);
    let start = Instant::now();
    for _ in 0..reads {
        let rank = pick_channel_with_history(workload, index, &mut rng)?;
        let history = &index.channels[rank];
        let channel_id = workload.channels[rank];
        let (bucket, message_id) = history.sample[rng.random_range(0..history.sample.len())];
        let older_buckets = history
            .buckets
            .iter()
            .rev()
            .copied()
            .skip_while(move |b| *b >= bucket);
        let t = Instant::now();
        let first = store.older_than(channel_id, bucket, message_id, PAGE_ROWS)?;
        if first
            .first()
            .is_some_and(|row| row.message_id >= message_id)
        {
            return Err(format!("scroll-back from {message_id} returned a newer row").into());
        }
        let rows = newest_across(store, channel_id, older_buckets, first)?;
        latency.record(t.elapsed());
        rows_total += rows.len() as u64;
        digest.add(&rows);
    }
    let ops_per_s = reads as f64 / start.elapsed().as_secs_f64();
    finish(
        report,
        SCROLL_BACK,
        engine,
        &latency,
        ops_per_s,
        rows_total,
        reads,
        digest,
    );
    Ok(())
}

fn pick_channel_with_history(
    workload: &Workload,
    index: &ChannelIndex,
    rng: &mut ChaCha8Rng,
) -> Result<usize> {
    for _ in 0..MAX_CHANNEL_DRAWS {
        let rank = workload.pick_channel_rank(rng);
        if !index.channels[rank].sample.is_empty() {
            return Ok(rank);
        }
    }
    Err("no channel with messages: is the scale too small?".into())
}

#[allow(clippy::too_many_arguments)]
fn finish(
    report: &mut Report,
    phase: &str,
    engine: &str,
    latency: &Latency,
    ops_per_s: f64,
    rows_total: u64,
    reads: u64,
    digest: Digest,
) {
    report.number(phase, "reads", engine, reads as f64);
    report.latencies(phase, engine, latency, ops_per_s);
    report.number(
        phase,
        "rows_per_read_mean",
        engine,
        rows_total as f64 / reads as f64,
    );
    report.set(phase, "result_digest", engine, Value::Text(digest.hex()));
}
