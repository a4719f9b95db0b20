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
use crate::store::{ReadCounters, Result, Store};

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
    let mut profile = ReadProfile::new(OPEN_CHANNEL, engine);
    let start = Instant::now();
    for _ in 0..reads {
        let rank = workload.pick_channel_rank(&mut rng);
        let history = &index.channels[rank];
        let channel_id = workload.channels[rank];
        let before = profile.counters(store);
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
        let elapsed = t.elapsed();
        latency.record(elapsed);
        profile.add(store, before, elapsed, history.buckets.len());
        rows_total += rows.len() as u64;
        digest.add(&rows);
    }
    let ops_per_s = reads as f64 / start.elapsed().as_secs_f64();
    profile.print();
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
    let mut profile = ReadProfile::new(SCROLL_BACK, engine);
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
        let before = profile.counters(store);
        let t = Instant::now();
        let first = store.older_than(channel_id, bucket, message_id, PAGE_ROWS)?;
        if first
            .first()
            .is_some_and(|row| row.message_id >= message_id)
        {
            return Err(format!("scroll-back from {message_id} returned a newer row").into());
        }
        let rows = newest_across(store, channel_id, older_buckets, first)?;
        let elapsed = t.elapsed();
        latency.record(elapsed);
        profile.add(store, before, elapsed, history.buckets.len());
        rows_total += rows.len() as u64;
        digest.add(&rows);
    }
    let ops_per_s = reads as f64 / start.elapsed().as_secs_f64();
    profile.print();
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

/// One profiled read: latency in ns, the channel's bucket count, the store counters it
/// moved and the page faults it took.
type ProfiledRead = (u64, usize, ReadCounters, u64);

/// With `WORKLOAD_READ_PROFILE` set, what the slowest reads paid for compared with all
/// reads (partitions, SSTables, blocks and block-cache misses per read), printed to stderr.
/// Off by default: it reads the store's counters around every read.
struct ReadProfile {
    phase: &'static str,
    engine: String,
    enabled: bool,
    reads: Vec<ProfiledRead>,
}

impl ReadProfile {
    fn new(phase: &'static str, engine: &str) -> Self {
        ReadProfile {
            phase,
            engine: engine.to_string(),
            enabled: std::env::var_os("WORKLOAD_READ_PROFILE").is_some(),
            reads: Vec::new(),
        }
    }

    fn counters(&self, store: &dyn Store) -> Option<(ReadCounters, u64)> {
        if self.enabled {
            Some((store.read_counters()?, page_faults()))
        } else {
            None
        }
    }

    fn add(
        &mut self,
        store: &dyn Store,
        before: Option<(ReadCounters, u64)>,
        elapsed: std::time::Duration,
        buckets: usize,
    ) {
        if let (Some(before), Some(after)) = (before, self.counters(store)) {
            let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            let faults = after.1 - before.1;
            self.reads
                .push((ns, buckets, after.0.minus(&before.0), faults));
        }
    }

    fn print(&mut self) {
        if self.reads.is_empty() {
            return;
        }
        self.reads.sort_by_key(|r| r.0);
        let n = self.reads.len();
        let groups = [
            ("all", 0),
            ("p50-p90", n / 2),
            ("p90-p99", n * 9 / 10),
            ("slowest 1%", n * 99 / 100),
        ];
        eprintln!(
            "[{}] {} read profile: group, reads, mean us, buckets, partitions, sstables, blocks, cache misses, page faults",
            self.engine, self.phase
        );
        for (k, (name, from)) in groups.iter().enumerate() {
            let to = groups.get(k + 1).map_or(n, |g| g.1).max(*from);
            let to = if k == 0 { n } else { to };
            let part = &self.reads[*from..to];
            let m = part.len().max(1) as f64;
            let mean = |f: &dyn Fn(&ProfiledRead) -> f64| part.iter().map(f).sum::<f64>() / m;
            eprintln!(
                "  {name:>10} {:>7} {:>8.1} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2}",
                part.len(),
                mean(&|r| r.0 as f64 / 1000.0),
                mean(&|r| r.1 as f64),
                mean(&|r| r.2.partition_reads as f64),
                mean(&|r| r.2.sstables_read as f64),
                mean(&|r| r.2.blocks_read as f64),
                mean(&|r| r.2.block_cache_misses as f64),
                mean(&|r| r.3 as f64),
            );
        }
    }
}

/// Page faults of the calling thread so far (minor and major).
fn page_faults() -> u64 {
    // SAFETY: `rusage` is plain integers, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `getrusage` only writes the struct it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return 0;
    }
    (usage.ru_minflt + usage.ru_majflt) as u64
}
