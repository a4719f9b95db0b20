//! Db shards benchmark: the message workload's ingest, open-channel (newest 50),
//! scroll-back and mixed (90% reads, 10% inserts) phases through `scrolldb::Db`, with 1
//! shard and with more, from several client threads.
//!
//!     cargo bench --bench db -- --scale 0.02 --shards 1,2 --clients 4 --runs 3 [--no-pin]
//!         [--in-flight N] [--batch N] [--ingest rows|apply] [--pages chain|per-bucket]
//!         [--idle-spin-us N] [--client-sched-batch] [--client-nice N]
//!
//! The data is WORKLOAD.md's (the workload harness's own generator, included by path).
//! Each run opens a fresh database, ingests every message (the clients splitting the
//! stream), flushes, then runs the reads (scroll-back does half as many as open-channel) and
//! the mixed phase for `--mixed-secs`. Throughput is over the phase's wall time; latency per
//! operation. With several runs, the median run (by throughput) of each phase is reported,
//! with the CPU each operation cost the client threads, the shard threads and the rest, and
//! how often each side slept (see `db/cpu.rs`).
//!
//! - Ingest goes through a prepared insert (`Db::prepare_insert`: the caller routes, the
//!   shards build the mutations) or, with `--ingest apply`, through `Db::apply` of
//!   mutations built before the clock starts (the earlier bench; each call clones them).
//!   `--batch N` (default 1) puts N messages in each call (as the CQL engine's write
//!   combiner does); throughput still counts messages, latency is per call.
//! - A page (newest 50, or 50 older than a message) is one `Db::read_chain` over the
//!   channel's buckets, newest first, or with `--pages per-bucket` one `Db::read` per
//!   bucket until 50 rows (the earlier bench).
//! - `--in-flight N` (default 1): each client thread keeps N ingest or read calls in flight
//!   through the async API (one thread driving many requests, as a server's connection
//!   does) instead of one blocking call at a time. The mixed phase is always one at a time.
//! - `--idle-spin-us N` sets the shards' `Options::idle_spin`; `--client-sched-batch` runs
//!   the client threads as `SCHED_BATCH` (a woken client then waits for the tick rather
//!   than preempting the shard on its CPU); `--client-nice N` gives them nice value N.
//!
//! With no arguments (as `cargo test --all-targets` runs it) it does a tiny smoke run that
//! checks what it reads.

#[path = "db/cpu.rs"]
mod cpu;
#[allow(dead_code)]
#[path = "workload/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "workload/snowflake.rs"]
mod snowflake;
#[allow(dead_code)]
#[path = "workload/vocabulary.rs"]
mod vocabulary;

use generator::{MessageStream, Workload, MESSAGES_AT_SCALE_1};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use scrolldb::storage::model::{Bound, Mutation, ReadQuery, Slice, TableId};
use scrolldb::storage::types::{encode_clustering, serialize_partition_key, CqlType, Order, Value};
use scrolldb::{Db, Options, WriteOptions};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Config {
    scale: f64,
    seed: u64,
    shards: Vec<usize>,
    clients: usize,
    /// Calls each client keeps in flight in the ingest and read phases.
    in_flight: usize,
    /// Messages per ingest call.
    batch: usize,
    runs: usize,
    reads: u64,
    mixed_secs: f64,
    pin: bool,
    smoke: bool,
    /// Ingest through `Db::insert_rows` (values; mutations built on the shards) rather
    /// than `Db::apply` of mutations built beforehand (the earlier bench).
    ingest_rows: bool,
    /// Page reads through `Db::read_chain` rather than one `Db::read` per bucket.
    chain_reads: bool,
    /// `Options::idle_spin` of the shards; `None` for the default.
    idle_spin_us: Option<u64>,
    /// Run the client threads as `SCHED_BATCH`, so a woken client does not preempt the
    /// shard running on its CPU (it waits for the tick instead).
    client_sched_batch: bool,
    /// Nice value of the client threads (0: as started).
    client_nice: i32,
}

fn parse_args() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let mut c = Config {
        scale: if smoke { 0.0005 } else { 0.02 },
        seed: 42,
        shards: vec![1, 2],
        clients: 4,
        // The smoke run checks the async in-flight path's answers; mixed covers the other.
        in_flight: if smoke { 8 } else { 1 },
        batch: 1,
        runs: if smoke { 1 } else { 3 },
        reads: if smoke { 500 } else { 40_000 },
        mixed_secs: if smoke { 0.3 } else { 5.0 },
        pin: true,
        smoke,
        ingest_rows: true,
        chain_reads: true,
        idle_spin_us: None,
        client_sched_batch: false,
        client_nice: 0,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--bench" => {}
            "--no-pin" => c.pin = false,
            "--client-sched-batch" => c.client_sched_batch = true,
            "--client-nice" => c.client_nice = value()?.parse().map_err(|e| bad(&e))?,
            "--idle-spin-us" => c.idle_spin_us = Some(value()?.parse().map_err(|e| bad(&e))?),
            "--ingest" => {
                c.ingest_rows = match value()?.as_str() {
                    "rows" => true,
                    "apply" => false,
                    other => return Err(format!("--ingest rows|apply, not {other}")),
                }
            }
            "--pages" => {
                c.chain_reads = match value()?.as_str() {
                    "chain" => true,
                    "per-bucket" => false,
                    other => return Err(format!("--pages chain|per-bucket, not {other}")),
                }
            }
            "--mixed-secs" => c.mixed_secs = value()?.parse().map_err(|e| bad(&e))?,
            "--scale" => c.scale = value()?.parse().map_err(|e| bad(&e))?,
            "--seed" => c.seed = value()?.parse().map_err(|e| bad(&e))?,
            "--clients" => c.clients = value()?.parse().map_err(|e| bad(&e))?,
            "--batch" => c.batch = value()?.parse().map_err(|e| bad(&e))?,
            "--in-flight" => c.in_flight = value()?.parse().map_err(|e| bad(&e))?,
            "--runs" => c.runs = value()?.parse().map_err(|e| bad(&e))?,
            "--reads" => c.reads = value()?.parse().map_err(|e| bad(&e))?,
            "--shards" => {
                c.shards = value()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(c)
}

/// What the read phases need to know of one channel.
struct Channel {
    id: i64,
    /// Its lowest and highest bucket.
    low: i32,
    high: i32,
    /// Every message (bucket, id), in send order.
    ids: Vec<(i32, i64)>,
}

struct Data {
    workload: Arc<Workload>,
    messages: Vec<generator::Message>,
    /// By popularity rank - 1; only channels with messages.
    channels: BTreeMap<usize, Channel>,
}

fn generate(c: &Config) -> Data {
    let workload = Workload::new(c.seed);
    let count = ((MESSAGES_AT_SCALE_1 as f64) * c.scale).max(1.0) as u64;
    let messages: Vec<_> = MessageStream::main(Arc::clone(&workload), count).collect();
    let mut channels = BTreeMap::new();
    for m in &messages {
        let ch = channels.entry(m.channel_rank).or_insert(Channel {
            id: m.channel_id,
            low: m.bucket,
            high: m.bucket,
            ids: Vec::new(),
        });
        ch.low = ch.low.min(m.bucket);
        ch.high = ch.high.max(m.bucket);
        ch.ids.push((m.bucket, m.message_id));
    }
    Data {
        workload,
        messages,
        channels,
    }
}

fn create_table(db: &Db) {
    let col = |name: &str, ty, kind| ColumnDef {
        name: name.into(),
        ty,
        id: 0,
        kind,
    };
    db.create_keyspace(
        KeyspaceDef {
            name: "chat".into(),
            replication: BTreeMap::new(),
            durable_writes: true,
        },
        true,
    )
    .expect("create keyspace");
    db.create_table(
        TableSchema {
            keyspace: "chat".into(),
            name: "messages".into(),
            id: 0,
            uuid: [0; 16],
            columns: vec![
                col(
                    "channel_id",
                    CqlType::BigInt,
                    ColumnKind::PartitionKey { position: 0 },
                ),
                col(
                    "bucket",
                    CqlType::Int,
                    ColumnKind::PartitionKey { position: 1 },
                ),
                col(
                    "message_id",
                    CqlType::BigInt,
                    ColumnKind::Clustering {
                        position: 0,
                        order: Order::Desc,
                    },
                ),
                col("author_id", CqlType::BigInt, ColumnKind::Regular),
                col("content", CqlType::Text, ColumnKind::Regular),
            ],
            params: TableParams::default(),
        },
        true,
    )
    .expect("create table");
}

/// What one phase of one run measured.
#[derive(Clone, Debug)]
struct Figures {
    ops_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    cpu: cpu::CpuPerOp,
}

fn figures(ops: usize, wall: Duration, mut latencies_ns: Vec<u64>, cpu: cpu::CpuPerOp) -> Figures {
    latencies_ns.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies_ns.len() as f64 - 1.0) * q).round() as usize;
        latencies_ns.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Figures {
        ops_per_sec: ops as f64 / wall.as_secs_f64(),
        p50_us: at(0.5),
        p99_us: at(0.99),
        cpu,
    }
}

/// What a phase's client threads measured.
struct ClientRun {
    wall: Duration,
    latencies_ns: Vec<u64>,
    /// What the client threads used, together.
    cpu: cpu::Usage,
}

/// Runs `clients` threads, each doing `work(client)`, and returns the wall time, every
/// operation latency and the client threads' CPU.
fn run_clients(
    clients: usize,
    (batch_sched, nice): (bool, i32),
    work: impl Fn(usize) -> Vec<u64> + Sync,
) -> ClientRun {
    let start = Instant::now();
    let per_client: Vec<(Vec<u64>, cpu::Usage)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let work = &work;
                s.spawn(move || {
                    cpu::client_thread(batch_sched, nice);
                    let cpu_start = cpu::thread();
                    let lat = work(i);
                    (lat, cpu::thread().minus(cpu_start))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let wall = start.elapsed();
    let cpu = per_client
        .iter()
        .fold(cpu::Usage::default(), |a, (_, c)| a.plus(*c));
    ClientRun {
        wall,
        latencies_ns: per_client.into_iter().flat_map(|(l, _)| l).collect(),
        cpu,
    }
}

/// Runs `ops` from one client thread, `in_flight` at a time, each returning its latency.
fn in_flight<I, F>(ops: I, in_flight: usize) -> Vec<u64>
where
    I: Iterator<Item = F>,
    F: std::future::Future<Output = u64>,
{
    use futures_util::StreamExt;
    futures_executor::block_on(
        futures_util::stream::iter(ops)
            .buffer_unordered(in_flight.max(1))
            .collect(),
    )
}

const COLUMNS: [&str; 5] = ["channel_id", "bucket", "message_id", "author_id", "content"];

fn message_values(m: &generator::Message) -> Vec<Value> {
    vec![
        Value::BigInt(m.channel_id),
        Value::Int(m.bucket),
        Value::BigInt(m.message_id),
        Value::BigInt(m.author_id),
        Value::Text(m.content.clone()),
    ]
}

fn ingest(db: &Db, data: &Data, c: &Config) -> Figures {
    if c.ingest_rows {
        ingest_rows(db, data, c)
    } else {
        ingest_mutations(db, data, c)
    }
}

/// Ingest through a `PreparedInsert` (`Db::prepare_insert`): each call moves its
/// messages' values in, the caller routes them and the shards build the mutations.
fn ingest_rows(db: &Db, data: &Data, c: &Config) -> Figures {
    let clients = c.clients;
    let batch = c.batch.max(1);
    // Each client's calls (`batch` messages each; the clients interleave calls), made
    // before the clock starts, as a caller has its values in hand.
    let calls: Vec<std::sync::Mutex<Vec<Vec<Vec<Value>>>>> = (0..clients)
        .map(|client| {
            let mine = data.messages.chunks(batch).skip(client).step_by(clients);
            std::sync::Mutex::new(
                mine.map(|ms| ms.iter().map(message_values).collect())
                    .collect(),
            )
        })
        .collect();
    let insert = db
        .prepare_insert("chat", "messages", &COLUMNS)
        .expect("prepare");
    let phase = cpu::PhaseCpu::start();
    let run = run_clients(clients, (c.client_sched_batch, c.client_nice), |client| {
        let mine = std::mem::take(&mut *calls[client].lock().expect("calls"));
        let opts = WriteOptions::default();
        let insert = &insert;
        if c.in_flight > 1 {
            return in_flight(
                mine.into_iter().map(|rows| async move {
                    let t = Instant::now();
                    insert.execute_async(rows, opts).await.expect("insert");
                    t.elapsed().as_nanos() as u64
                }),
                c.in_flight,
            );
        }
        let mut lat = Vec::new();
        for rows in mine {
            let t = Instant::now();
            insert.execute(rows, opts).expect("insert");
            lat.push(t.elapsed().as_nanos() as u64);
        }
        lat
    });
    let n = data.messages.len();
    figures(n, run.wall, run.latencies_ns, phase.finish(run.cpu, n))
}

/// Ingest through `Db::apply` of mutations built before the clock starts (each call
/// clones its mutations): the earlier bench's path.
fn ingest_mutations(db: &Db, data: &Data, c: &Config) -> Figures {
    let clients = c.clients;
    let mutations: Vec<Mutation> = data
        .messages
        .iter()
        .map(|m| {
            let values = message_values(m);
            let named: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(values).collect();
            db.insert_mutation("chat", "messages", &named, WriteOptions::default())
                .expect("mutation")
        })
        .collect();
    let phase = cpu::PhaseCpu::start();
    let run = run_clients(clients, (c.client_sched_batch, c.client_nice), |client| {
        // This client's messages, `batch` to a call (the clients interleave calls).
        let mine = mutations
            .chunks(c.batch.max(1))
            .skip(client)
            .step_by(clients);
        if c.in_flight > 1 {
            return in_flight(
                mine.map(|ms| async move {
                    let t = Instant::now();
                    db.apply_async(ms.to_vec()).await.expect("apply");
                    t.elapsed().as_nanos() as u64
                }),
                c.in_flight,
            );
        }
        let mut lat = Vec::new();
        for ms in mine {
            let t = Instant::now();
            db.apply(ms.to_vec()).expect("apply");
            lat.push(t.elapsed().as_nanos() as u64);
        }
        lat
    });
    let cpu = phase.finish(run.cpu, mutations.len());
    figures(mutations.len(), run.wall, run.latencies_ns, cpu)
}

/// One page read: up to 50 messages of `channel`, newest first, older than `before` (a
/// bucket and a message id) or the newest: that bucket first, then older buckets down to
/// `low`. `expect` is how many rows it must return (checked in the smoke run).
struct PageRead {
    rank: usize,
    channel: i64,
    low: i32,
    before: (i32, Option<i64>),
    expect: usize,
}

async fn page_of_50(db: &Db, table: TableId, p: &PageRead, chain: bool) -> usize {
    let (high, before_id) = p.before;
    let query = |bucket: i32, limit: usize| {
        let key = serialize_partition_key(&[
            Value::BigInt(p.channel).serialize(),
            Value::Int(bucket).serialize(),
        ])
        .expect("key");
        let mut q = ReadQuery::partition(table, key).limit(limit);
        if let (Some(id), true) = (before_id, bucket == high) {
            // message_id is DESC: "older than id" comes after it in clustering order.
            let ck = encode_clustering(&[(CqlType::BigInt, Order::Desc)], &[Value::BigInt(id)])
                .expect("clustering");
            q = q.slice(Slice::new(Bound::Excluded(ck), Bound::Unbounded));
        }
        q
    };
    if chain {
        // Lazily: the buckets past a page the first round filled are never built.
        let queries = (p.low..=high).rev().map(|b| query(b, 50));
        let page = db.read_chain_async(queries, 50).await.expect("read");
        return page.iter().map(|r| r.rows.len()).sum();
    }
    let mut rows = 0;
    for bucket in (p.low..=high).rev() {
        rows += db
            .read_async(query(bucket, 50 - rows))
            .await
            .expect("read")
            .rows
            .len();
        if rows >= 50 {
            break;
        }
    }
    rows
}

/// Reads from `clients` threads: each picks `reads / clients` channels by popularity
/// (among those with messages), `pick(rng, rank)` makes each a page read, and the client
/// runs them one at a time or `--in-flight` at a time.
fn read_phase(
    db: &Db,
    data: &Data,
    c: &Config,
    reads: u64,
    pick: impl Fn(&mut ChaCha8Rng, usize) -> PageRead,
) -> Figures {
    let table = db.catalog().table("chat", "messages").expect("table").id;
    let per_client = reads / c.clients as u64;
    let read = |p: PageRead| async move {
        let t = Instant::now();
        let rows = page_of_50(db, table, &p, c.chain_reads).await;
        let took = t.elapsed().as_nanos() as u64;
        if c.smoke {
            assert_eq!(rows, p.expect, "channel rank {}", p.rank);
        }
        took
    };
    // Each client's picks, made before the clock starts (the same picks as before).
    let picks: Vec<std::sync::Mutex<Vec<PageRead>>> = (0..c.clients)
        .map(|client| {
            let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ (client as u64 + 1));
            let mut pages = Vec::with_capacity(per_client as usize);
            while (pages.len() as u64) < per_client {
                let rank = data.workload.pick_channel_rank(&mut rng);
                if data.channels.contains_key(&rank) {
                    pages.push(pick(&mut rng, rank));
                }
            }
            std::sync::Mutex::new(pages)
        })
        .collect();
    let phase = cpu::PhaseCpu::start();
    let run = run_clients(c.clients, (c.client_sched_batch, c.client_nice), |client| {
        let pages = std::mem::take(&mut *picks[client].lock().expect("picks"));
        if c.in_flight > 1 {
            in_flight(pages.into_iter().map(read), c.in_flight)
        } else {
            pages
                .into_iter()
                .map(|p| futures_executor::block_on(read(p)))
                .collect()
        }
    });
    let ops = per_client as usize * c.clients;
    figures(ops, run.wall, run.latencies_ns, phase.finish(run.cpu, ops))
}

/// Phase 2: the newest 50 of a channel picked by popularity.
fn open_channel(db: &Db, data: &Data, c: &Config) -> Figures {
    read_phase(db, data, c, c.reads, |_, rank| {
        let ch = &data.channels[&rank];
        PageRead {
            rank,
            channel: ch.id,
            low: ch.low,
            before: (ch.high, None),
            expect: ch.ids.len().min(50),
        }
    })
}

/// Phase 3: the 50 messages older than a random message of a channel picked by popularity.
fn scroll_back(db: &Db, data: &Data, c: &Config) -> Figures {
    read_phase(db, data, c, c.reads / 2, |rng, rank| {
        let ch = &data.channels[&rank];
        let i = rng.random_range(0..ch.ids.len());
        let (bucket, id) = ch.ids[i];
        PageRead {
            rank,
            channel: ch.id,
            low: ch.low,
            before: (bucket, Some(id)),
            // ids are in send order: i messages are older than the i-th.
            expect: i.min(50),
        }
    })
}

/// Phase 5: 90% open-channel reads and 10% inserts of new messages, for `mixed_secs`.
fn mixed(db: &Db, data: &Data, c: &Config) -> (Figures, Figures) {
    let table = db.catalog().table("chat", "messages").expect("table").id;
    let last_id = data.messages.last().map_or(0, |m| m.message_id);
    let next_id = std::sync::atomic::AtomicI64::new(last_id + 1);
    let insert = &db
        .prepare_insert("chat", "messages", &COLUMNS)
        .expect("prepare");
    let deadline = Instant::now() + Duration::from_secs_f64(c.mixed_secs);
    let start = Instant::now();
    let phase = cpu::PhaseCpu::start();
    let per_client: Vec<(Vec<u64>, Vec<u64>, cpu::Usage)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..c.clients)
            .map(|client| {
                let next_id = &next_id;
                let (batch_sched, nice) = (c.client_sched_batch, c.client_nice);
                s.spawn(move || {
                    cpu::client_thread(batch_sched, nice);
                    let cpu_start = cpu::thread();
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(c.seed ^ 0x006d_6978_6564 ^ client as u64);
                    let (mut reads, mut writes) = (Vec::new(), Vec::new());
                    while Instant::now() < deadline {
                        let rank = data.workload.pick_channel_rank(&mut rng);
                        let Some(ch) = data.channels.get(&rank) else {
                            continue;
                        };
                        let t = Instant::now();
                        if rng.random_range(0..10) == 0 {
                            let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let values = vec![
                                Value::BigInt(ch.id),
                                Value::Int(ch.high),
                                Value::BigInt(id),
                                Value::BigInt(7),
                                Value::Text("a mixed-phase message".into()),
                            ];
                            if c.ingest_rows {
                                let opts = WriteOptions::default();
                                insert.execute(vec![values], opts).expect("insert");
                            } else {
                                let named: Vec<(&str, Value)> =
                                    COLUMNS.iter().copied().zip(values).collect();
                                let opts = WriteOptions::default();
                                let m = db
                                    .insert_mutation("chat", "messages", &named, opts)
                                    .expect("mutation");
                                db.apply(vec![m]).expect("apply");
                            }
                            writes.push(t.elapsed().as_nanos() as u64);
                        } else {
                            let page = PageRead {
                                rank,
                                channel: ch.id,
                                low: ch.low,
                                before: (ch.high, None),
                                expect: 0,
                            };
                            futures_executor::block_on(page_of_50(db, table, &page, c.chain_reads));
                            reads.push(t.elapsed().as_nanos() as u64);
                        }
                    }
                    (reads, writes, cpu::thread().minus(cpu_start))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let wall = start.elapsed();
    let clients = per_client
        .iter()
        .fold(cpu::Usage::default(), |a, (_, _, c)| a.plus(*c));
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for (r, w, _) in per_client {
        reads.extend(r);
        writes.extend(w);
    }
    // Reads and inserts share the client threads: CPU is per operation of the mix.
    let cpu = phase.finish(clients, reads.len() + writes.len());
    (
        figures(reads.len(), wall, reads, cpu),
        figures(writes.len(), wall, writes, cpu),
    )
}

fn median_run(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec));
    runs[runs.len() / 2].clone()
}

const PHASES: [&str; 5] = [
    "ingest",
    "open-channel",
    "scroll-back",
    "mixed-read",
    "mixed-insert",
];

fn main() {
    let c = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let data = generate(&c);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "db bench: {} messages, {} reads, {} clients x {} in flight, {} message(s) per ingest call, {} run(s), {cpus} CPUs",
        data.messages.len(),
        c.reads,
        c.clients,
        c.in_flight,
        c.batch,
        c.runs
    );
    println!(
        "| shards | phase | ops/s | p50 µs | p99 µs | CPU µs/op: clients | shards | other | sleeps/op: clients | shards |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut baseline: Option<Vec<f64>> = None;
    for &shards in &c.shards {
        let mut runs: Vec<Vec<Figures>> = vec![Vec::new(); PHASES.len()];
        for _ in 0..c.runs.max(1) {
            let mut opts = Options {
                pin_threads: c.pin,
                ..Options::with_shards(shards)
            };
            if let Some(us) = c.idle_spin_us {
                opts.idle_spin = Duration::from_micros(us);
            }
            let db = Db::temporary_with(opts).expect("open");
            create_table(&db);
            runs[0].push(ingest(&db, &data, &c));
            db.flush().expect("flush");
            runs[1].push(open_channel(&db, &data, &c));
            runs[2].push(scroll_back(&db, &data, &c));
            let (r, w) = mixed(&db, &data, &c);
            runs[3].push(r);
            runs[4].push(w);
            db.close().expect("close");
        }
        let medians: Vec<Figures> = runs.into_iter().map(median_run).collect();
        for (phase, f) in PHASES.iter().zip(&medians) {
            println!(
                "| {shards} | {phase} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
                f.ops_per_sec,
                f.p50_us,
                f.p99_us,
                f.cpu.client_us,
                f.cpu.shard_us,
                f.cpu.other_us,
                f.cpu.client_sleeps,
                f.cpu.shard_sleeps
            );
        }
        let ops: Vec<f64> = medians.iter().map(|f| f.ops_per_sec).collect();
        match &baseline {
            None => baseline = Some(ops),
            Some(base) => {
                let ratios: Vec<String> = PHASES
                    .iter()
                    .zip(ops.iter().zip(base))
                    .map(|(p, (o, b))| format!("{p} {:.2}x", o / b))
                    .collect();
                println!(
                    "| {shards} vs {} | speed-up | {} | | | | | | | |",
                    c.shards[0],
                    ratios.join(", ")
                );
            }
        }
    }
}
