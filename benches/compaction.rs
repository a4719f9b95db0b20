//! Compaction benchmark: write and space amplification of each strategy over the workload's
//! ingest, and open-channel read latency while a compaction runs compared with none.
//!
//!     cargo bench --bench compaction -- --messages 500000
//!
//! Messages come from the workload's generator (`benches/workload/`), written in send order
//! with the message's send time as the write timestamp (as a migration with `USING
//! TIMESTAMP` would), so time-window compaction sees 120 simulated days. Memtables flush at
//! `--memtable-mib` (4) so that even a small run goes through many flushes and compactions.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a quick smoke run.

#[allow(dead_code)]
#[path = "workload/disk.rs"]
mod disk;
#[allow(dead_code)]
#[path = "workload/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "workload/keys.rs"]
mod keys;
#[allow(dead_code)]
#[path = "workload/snowflake.rs"]
mod snowflake;
#[allow(dead_code)]
#[path = "workload/vocabulary.rs"]
mod vocabulary;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scrolldb::storage::compaction::{CompactionConfig, CompactionMode};
use scrolldb::storage::engine::{Engine, EngineOptions, TableOptions};
use scrolldb::storage::model::{Cell, Mutation, ReadQuery, Row};

use generator::{Message, MessageStream, Workload};

const TABLE: u32 = keys::SCROLLDB_TABLE_ID;

struct Args {
    messages: u64,
    memtable_mib: usize,
    reads: usize,
    seed: u64,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let full = argv.iter().any(|a| a == "--bench");
    let value = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Args {
        messages: value("--messages").unwrap_or(if full { 500_000 } else { 20_000 }),
        memtable_mib: value("--memtable-mib").unwrap_or(if full { 4 } else { 1 }) as usize,
        reads: value("--reads").unwrap_or(if full { 20_000 } else { 500 }) as usize,
        seed: value("--seed").unwrap_or(42),
    }
}

fn mutation(m: &Message) -> Mutation {
    // Send time in µs since the Snowflake epoch: the write timestamp.
    let ts = (m.message_id >> snowflake::TIMESTAMP_SHIFT) * 1000;
    let mut row = Row::new(Bytes::copy_from_slice(&keys::scrolldb_clustering(
        m.message_id,
    )));
    row.marker = Some(Cell::live(ts, Bytes::new()));
    row.set(
        keys::SCROLLDB_COLUMN_AUTHOR_ID,
        Cell::live(ts, Bytes::copy_from_slice(&m.author_id.to_be_bytes())),
    );
    row.set(
        keys::SCROLLDB_COLUMN_CONTENT,
        Cell::live(ts, Bytes::from(m.content.clone().into_bytes())),
    );
    Mutation::new(
        TABLE,
        Bytes::from(keys::scrolldb_partition_key(m.channel_id, m.bucket)),
    )
    .with_row(row)
}

fn options(args: &Args, mode: CompactionMode) -> EngineOptions {
    EngineOptions {
        memtable_flush_bytes: args.memtable_mib << 20,
        compaction_mode: mode,
        ..EngineOptions::default()
    }
}

fn table_options(pairs: &[(&str, &str)]) -> TableOptions {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TableOptions {
        compaction: CompactionConfig::parse(&map).expect("benchmark compaction options"),
        ..TableOptions::default()
    }
}

struct IngestFigures {
    secs: f64,
    user_bytes: u64,
    process_written: u64,
    flushes: u64,
    compactions: u64,
    compaction_written: u64,
    most_sstables: usize,
    end_sstables: usize,
    disk_bytes: u64,
}

/// Writes the stream in batches of 64, ticking after each (inline background compaction).
/// Returns the figures and, per channel, its newest partition key.
fn ingest(
    engine: &mut Engine,
    dir: &std::path::Path,
    args: &Args,
    workload: &std::sync::Arc<Workload>,
) -> (IngestFigures, HashMap<usize, Bytes>) {
    let written_before = disk::process_write_bytes().unwrap_or(0);
    let started = Instant::now();
    let mut newest: HashMap<usize, Bytes> = HashMap::new();
    let mut user_bytes = 0u64;
    let mut most = 0;
    let mut batch = Vec::with_capacity(64);
    let mut stream = MessageStream::main(workload.clone(), args.messages).peekable();
    while let Some(m) = stream.next() {
        user_bytes += m.user_bytes();
        newest.insert(
            m.channel_rank,
            Bytes::from(keys::scrolldb_partition_key(m.channel_id, m.bucket)),
        );
        batch.push(mutation(&m));
        if batch.len() == 64 || stream.peek().is_none() {
            engine
                .apply_batch(std::mem::take(&mut batch))
                .expect("apply");
            engine.tick().expect("tick");
            most = most.max(engine.stats().sstable_count);
        }
    }
    engine.sync().expect("sync");
    let secs = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    let figures = IngestFigures {
        secs,
        user_bytes,
        process_written: disk::process_write_bytes()
            .unwrap_or(0)
            .saturating_sub(written_before),
        flushes: stats.flushes,
        compactions: stats.compaction.jobs_installed,
        compaction_written: stats.compaction.bytes_written,
        most_sstables: most,
        end_sstables: stats.sstable_count,
        disk_bytes: disk::dir_bytes(dir).unwrap_or(0),
    };
    (figures, newest)
}

/// Newest-50 reads of channels picked by popularity; latencies in µs.
fn read_newest(
    engine: &mut Engine,
    workload: &Workload,
    newest: &HashMap<usize, Bytes>,
    rng: &mut ChaCha8Rng,
    histogram: &mut Histogram<u64>,
) {
    let rank = loop {
        let r = workload.pick_channel_rank(rng);
        if newest.contains_key(&r) {
            break r;
        }
    };
    let Some(key) = newest.get(&rank) else { return };
    let started = Instant::now();
    let q = ReadQuery::partition(TABLE, key.clone()).limit(50);
    let rows = engine.read(&q).expect("read").rows.len();
    std::hint::black_box(rows);
    let _ = histogram.record(started.elapsed().as_micros() as u64);
}

fn main() {
    let args = parse_args();
    let workload = Workload::new(args.seed);
    println!(
        "compaction benchmark: {} messages, {} MiB memtables, {} cores",
        args.messages,
        args.memtable_mib,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| strategy | msgs/s | write amp (process) | compaction bytes / user bytes | flushes | compactions | most SSTables | SSTables at end | space amp |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let strategies: [(&str, &[(&str, &str)]); 3] = [
        ("STCS", &[("class", "SizeTieredCompactionStrategy")]),
        (
            "STCS min_sstable_size 0",
            &[
                ("class", "SizeTieredCompactionStrategy"),
                ("min_sstable_size", "0"),
            ],
        ),
        (
            "TWCS 10 days",
            &[
                ("class", "TimeWindowCompactionStrategy"),
                ("compaction_window_unit", "DAYS"),
                ("compaction_window_size", "10"),
            ],
        ),
    ];
    for (name, pairs) in strategies {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut engine =
            Engine::open(dir.path(), options(&args, CompactionMode::InlineOnTick)).expect("open");
        engine.set_table_options(TABLE, table_options(pairs));
        let (f, _) = ingest(&mut engine, dir.path(), &args, &workload);
        let user = f.user_bytes.max(1) as f64;
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {:.2} |",
            args.messages as f64 / f.secs,
            f.process_written as f64 / user,
            f.compaction_written as f64 / user,
            f.flushes,
            f.compactions,
            f.most_sstables,
            f.end_sstables,
            f.disk_bytes as f64 / user,
        );
    }

    // Reads while a compaction runs on another thread, against the same SSTable set idle.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut engine =
        Engine::open(dir.path(), options(&args, CompactionMode::External)).expect("open");
    engine.set_table_options(
        TABLE,
        table_options(&[("class", "SizeTieredCompactionStrategy")]),
    );
    let (_, newest) = ingest(&mut engine, dir.path(), &args, &workload);
    engine.flush().expect("flush");
    let sstables = engine.stats().sstable_count;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x7265_6164);
    let mut idle = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..args.reads {
        read_newest(&mut engine, &workload, &newest, &mut rng, &mut idle);
    }
    let mut busy = Histogram::<u64>::new(3).expect("histogram");
    let mut job_secs = 0.0;
    let mut job_inputs = 0;
    if let Some(job) = engine.pick_compaction() {
        job_inputs = job.inputs().len();
        let started = Instant::now();
        let worker = std::thread::spawn(move || job.run());
        while !worker.is_finished() || busy.len() < 100 {
            read_newest(&mut engine, &workload, &newest, &mut rng, &mut busy);
            if busy.len() as usize >= args.reads * 10 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let result = worker.join().expect("compaction thread");
        job_secs = started.elapsed().as_secs_f64();
        engine.install(result).expect("install");
    }
    println!();
    println!(
        "open-channel newest-50 reads over {} SSTables; one size-tiered job of {} SSTables ran for {:.2} s on another thread",
        sstables, job_inputs, job_secs
    );
    println!();
    println!("| reads | count | p50 us | p99 us | p99.9 us |");
    println!("|---|---|---|---|---|");
    for (name, h) in [("no compaction", &idle), ("during compaction", &busy)] {
        println!(
            "| {name} | {} | {} | {} | {} |",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999)
        );
    }
    let ratio = busy.value_at_quantile(0.99) as f64 / idle.value_at_quantile(0.99).max(1) as f64;
    println!();
    println!("p99 during / idle: {ratio:.2} (target: at most 2)");
}
