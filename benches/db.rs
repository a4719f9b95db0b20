//! Db shards benchmark: the message workload's ingest and open-channel (newest 50) phases
//! through `scrolldb::Db`, with 1 shard and with more, from several client threads.
//!
//!     cargo bench --bench db -- --scale 0.02 --shards 1,2 --clients 4 --runs 3 [--no-pin]
//!
//! The data is WORKLOAD.md's (the workload harness's own generator, included by path).
//! Each run opens a fresh database, ingests every message (one `Db::apply` per message,
//! the clients splitting the stream), flushes, then runs the reads. Throughput is over the
//! phase's wall time; latency per operation. With several runs, the median run (by
//! throughput) of each phase is reported. With no arguments (as `cargo test --all-targets`
//! runs it) it does a tiny smoke run that checks what it reads.

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
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use scrolldb::storage::model::{Mutation, ReadQuery};
use scrolldb::storage::types::{serialize_partition_key, CqlType, Order, Value};
use scrolldb::{Db, Options, WriteOptions};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Config {
    scale: f64,
    seed: u64,
    shards: Vec<usize>,
    clients: usize,
    runs: usize,
    reads: u64,
    pin: bool,
    smoke: bool,
}

fn parse_args() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let mut c = Config {
        scale: if smoke { 0.0005 } else { 0.02 },
        seed: 42,
        shards: vec![1, 2],
        clients: 4,
        runs: if smoke { 1 } else { 3 },
        reads: if smoke { 500 } else { 40_000 },
        pin: true,
        smoke,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--bench" => {}
            "--no-pin" => c.pin = false,
            "--scale" => c.scale = value()?.parse().map_err(|e| bad(&e))?,
            "--seed" => c.seed = value()?.parse().map_err(|e| bad(&e))?,
            "--clients" => c.clients = value()?.parse().map_err(|e| bad(&e))?,
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

/// Per channel rank: the buckets it has messages in (lowest, highest).
type ChannelBuckets = BTreeMap<usize, (i32, i32)>;

struct Data {
    workload: Arc<Workload>,
    messages: Vec<generator::Message>,
    buckets: ChannelBuckets,
}

fn generate(c: &Config) -> Data {
    let workload = Workload::new(c.seed);
    let count = ((MESSAGES_AT_SCALE_1 as f64) * c.scale).max(1.0) as u64;
    let messages: Vec<_> = MessageStream::main(Arc::clone(&workload), count).collect();
    let mut buckets = ChannelBuckets::new();
    for m in &messages {
        let e = buckets
            .entry(m.channel_rank)
            .or_insert((m.bucket, m.bucket));
        e.0 = e.0.min(m.bucket);
        e.1 = e.1.max(m.bucket);
    }
    Data {
        workload,
        messages,
        buckets,
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
}

fn figures(ops: usize, wall: Duration, mut latencies_ns: Vec<u64>) -> Figures {
    latencies_ns.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies_ns.len() as f64 - 1.0) * q).round() as usize;
        latencies_ns.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Figures {
        ops_per_sec: ops as f64 / wall.as_secs_f64(),
        p50_us: at(0.5),
        p99_us: at(0.99),
    }
}

/// Runs `clients` threads, each doing `work(client)`, and returns the wall time and every
/// operation latency.
fn run_clients(clients: usize, work: impl Fn(usize) -> Vec<u64> + Sync) -> (Duration, Vec<u64>) {
    let start = Instant::now();
    let latencies = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let work = &work;
                s.spawn(move || work(i))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect::<Vec<u64>>()
    });
    (start.elapsed(), latencies)
}

fn ingest(db: &Db, data: &Data, clients: usize) -> Figures {
    let mutations: Vec<Mutation> = data
        .messages
        .iter()
        .map(|m| {
            db.insert_mutation(
                "chat",
                "messages",
                &[
                    ("channel_id", Value::BigInt(m.channel_id)),
                    ("bucket", Value::Int(m.bucket)),
                    ("message_id", Value::BigInt(m.message_id)),
                    ("author_id", Value::BigInt(m.author_id)),
                    ("content", Value::Text(m.content.clone())),
                ],
                WriteOptions::default(),
            )
            .expect("mutation")
        })
        .collect();
    let (wall, lat) = run_clients(clients, |client| {
        let mut lat = Vec::new();
        for m in mutations.iter().skip(client).step_by(clients) {
            let t = Instant::now();
            db.apply(vec![m.clone()]).expect("apply");
            lat.push(t.elapsed().as_nanos() as u64);
        }
        lat
    });
    figures(mutations.len(), wall, lat)
}

/// Newest 50 of a channel picked by popularity: newest bucket first, then older ones.
fn open_channel(db: &Db, data: &Data, c: &Config, check: bool) -> Figures {
    let table = db.catalog().table("chat", "messages").expect("table").id;
    let per_client = c.reads / c.clients as u64;
    let (wall, lat) = run_clients(c.clients, |client| {
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ (client as u64 + 1));
        let mut lat = Vec::new();
        let mut done = 0;
        while done < per_client {
            let rank = data.workload.pick_channel_rank(&mut rng);
            let Some(&(low, high)) = data.buckets.get(&rank) else {
                continue;
            };
            let channel = data.workload.channels[rank];
            let t = Instant::now();
            let mut rows = 0;
            for bucket in (low..=high).rev() {
                let key = serialize_partition_key(&[
                    Value::BigInt(channel).serialize(),
                    Value::Int(bucket).serialize(),
                ])
                .expect("key");
                let q = ReadQuery::partition(table, key).limit(50 - rows);
                rows += db.read(q).expect("read").rows.len();
                if rows >= 50 {
                    break;
                }
            }
            lat.push(t.elapsed().as_nanos() as u64);
            if check {
                let expected = data
                    .messages
                    .iter()
                    .filter(|m| m.channel_rank == rank)
                    .count();
                assert_eq!(rows, expected.min(50), "channel rank {rank}");
            }
            done += 1;
        }
        lat
    });
    figures(per_client as usize * c.clients, wall, lat)
}

fn median_run(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec));
    runs[runs.len() / 2].clone()
}

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
        "db bench: {} messages, {} reads, {} clients, {} run(s), {cpus} CPUs",
        data.messages.len(),
        c.reads,
        c.clients,
        c.runs
    );
    println!("| shards | phase | ops/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|");
    let mut baseline: Option<(f64, f64)> = None;
    for &shards in &c.shards {
        let mut ingests = Vec::new();
        let mut reads = Vec::new();
        for _ in 0..c.runs.max(1) {
            let opts = Options {
                pin_threads: c.pin,
                ..Options::with_shards(shards)
            };
            let db = Db::temporary_with(opts).expect("open");
            create_table(&db);
            ingests.push(ingest(&db, &data, c.clients));
            db.flush().expect("flush");
            reads.push(open_channel(&db, &data, &c, c.smoke));
            db.close().expect("close");
        }
        let (i, r) = (median_run(ingests), median_run(reads));
        for (phase, f) in [("ingest", &i), ("open-channel", &r)] {
            println!(
                "| {shards} | {phase} | {:.0} | {:.1} | {:.1} |",
                f.ops_per_sec, f.p50_us, f.p99_us
            );
        }
        match baseline {
            None => baseline = Some((i.ops_per_sec, r.ops_per_sec)),
            Some((bi, br)) => println!(
                "| {shards} vs {} | speed-up | ingest {:.2}x | open-channel {:.2}x | |",
                c.shards[0],
                i.ops_per_sec / bi,
                r.ops_per_sec / br
            ),
        }
    }
}
