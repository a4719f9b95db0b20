//! Phase 6 of `docs/../shared/WORKLOAD.md` (hot-channel) over CQL, with the Rust `scylla`
//! driver against an in-process `scrolldb` server on 127.0.0.1: many concurrent clients read
//! the newest 50 messages of one channel, repeatedly, while a smaller set of clients reads
//! the newest 50 of random cold channels.
//!
//! Three runs on the same data: cold clients alone (the baseline), hot + cold with request
//! coalescing, hot + cold without. Each prints throughput and p50/p99 of both sets, and how
//! many single-partition reads reached storage per request.
//!
//! ```text
//! cargo bench -p scrolldb-server --bench hot_channel -- [--secs 10] [--messages 50000]
//!     [--hot-connections 50] [--hot-in-flight 20] [--cold-connections 4] [--cold-in-flight 4]
//!     [--identical-running 32]
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a sub-second smoke run.

use scrolldb::coalesce::{CoalesceOptions, HotOptions};
use scrolldb::cql::{CqlEngine, NodeInfo, Session as CqlSession};
use scrolldb::snowflake::{bucket_of, TEN_DAY_BUCKET_MS};
use scrolldb::storage::types::Value;
use scrolldb::Db;
use scrolldb_server::identical::IdenticalOptions;
use scrolldb_server::metrics::cli::serve_coalescing;
use scrolldb_server::ServerOptions;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOT_CHANNEL: i64 = 1;
const WORDS: [&str; 16] = [
    "hello", "channel", "ping", "everyone", "release", "today", "server", "voice", "link",
    "thanks", "shipping", "build", "patch", "notes", "emoji", "party",
];

#[derive(Clone, Debug)]
struct Args {
    secs: f64,
    messages: u64,
    cold_channels: i64,
    hot_connections: usize,
    hot_in_flight: usize,
    cold_connections: usize,
    cold_in_flight: usize,
    seed: u64,
    leader_yields: u32,
    /// The hot-partition hold of the coalescing runs, in microseconds (0: none).
    hot_hold_us: u64,
    /// Copies of one request running at once in the server (`scrolldb serve
    /// --identical-max-running`; 0: no bound).
    identical_running: usize,
    /// Nice value of the hot client threads (0: as the rest). Stands in for hot clients on
    /// machines of their own: they then take only the CPU the server leaves idle.
    hot_nice: i32,
}

fn args() -> Args {
    let mut a = Args {
        secs: 10.0,
        messages: 50_000,
        cold_channels: 1_000,
        hot_connections: 50,
        hot_in_flight: 20,
        cold_connections: 4,
        cold_in_flight: 4,
        seed: 42,
        leader_yields: CoalesceOptions::default().leader_yields,
        hot_hold_us: serve_coalescing()
            .hot
            .hold
            .map_or(0, |h| h.as_micros() as u64),
        hot_nice: 0,
        identical_running: ServerOptions::default().identical.max_running,
    };
    let raw: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this without `--bench`: a quick smoke run.
    if !raw.iter().any(|a| a == "--bench") {
        a.secs = 0.3;
        a.messages = 2_000;
        a.cold_channels = 50;
        a.hot_connections = 5;
        a.hot_in_flight = 4;
        a.cold_connections = 1;
        a.cold_in_flight = 2;
    }
    let mut it = raw.iter().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().and_then(|v| v.parse::<f64>().ok());
        match flag.as_str() {
            "--secs" => a.secs = val().unwrap_or(a.secs),
            "--messages" => a.messages = val().map_or(a.messages, |v| v as u64),
            "--cold-channels" => a.cold_channels = val().map_or(a.cold_channels, |v| v as i64),
            "--hot-connections" => {
                a.hot_connections = val().map_or(a.hot_connections, |v| v as usize)
            }
            "--hot-in-flight" => a.hot_in_flight = val().map_or(a.hot_in_flight, |v| v as usize),
            "--cold-connections" => {
                a.cold_connections = val().map_or(a.cold_connections, |v| v as usize)
            }
            "--cold-in-flight" => a.cold_in_flight = val().map_or(a.cold_in_flight, |v| v as usize),
            "--seed" => a.seed = val().map_or(a.seed, |v| v as u64),
            "--leader-yields" => a.leader_yields = val().map_or(a.leader_yields, |v| v as u32),
            "--hot-nice" => a.hot_nice = val().map_or(a.hot_nice, |v| v as i32),
            "--hot-hold-us" => a.hot_hold_us = val().map_or(a.hot_hold_us, |v| v as u64),
            "--identical-running" => {
                a.identical_running = val().map_or(a.identical_running, |v| v as usize)
            }
            _ => {} // `cargo bench` passes --bench
        }
    }
    a
}

/// A small deterministic generator (xorshift64*), so runs with one seed see the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Loads the data through the CQL engine on this thread: a tenth of the messages in the hot
/// channel, the rest spread over the cold channels, all in one ten-day bucket.
fn load(engine: &CqlEngine, a: &Args) -> i32 {
    let mut s = CqlSession::default();
    let mut run = |cql: &str, values: &[Value]| {
        engine
            .execute_blocking(&mut s, cql, values)
            .unwrap_or_else(|e| panic!("{cql}: {e:?}"));
    };
    run("CREATE KEYSPACE chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", &[]);
    run(
        "CREATE TABLE chat.messages (channel_id bigint, bucket int, message_id bigint, \
         author_id bigint, content text, PRIMARY KEY ((channel_id, bucket), message_id)) \
         WITH CLUSTERING ORDER BY (message_id DESC)",
        &[],
    );
    let mut rng = Rng(a.seed | 1);
    let step_ms = (TEN_DAY_BUCKET_MS - 1) / a.messages.max(1) as i64;
    let mut bucket = 0;
    for i in 0..a.messages {
        let channel = if i % 10 == 0 {
            HOT_CHANNEL
        } else {
            2 + rng.below(a.cold_channels as u64) as i64
        };
        let id = ((i as i64 * step_ms) << 22) | (i as i64 & 0xfff);
        bucket = bucket_of(id, TEN_DAY_BUCKET_MS);
        let len = 20 + rng.below(281) as usize;
        let mut content = String::with_capacity(len + 10);
        while content.len() < len {
            content.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
            content.push(' ');
        }
        run(
            "INSERT INTO chat.messages (channel_id, bucket, message_id, author_id, content) VALUES (?, ?, ?, ?, ?)",
            &[
                Value::BigInt(channel),
                Value::Int(bucket),
                Value::BigInt(id),
                Value::BigInt(rng.below(100_000) as i64),
                Value::Text(content),
            ],
        );
    }
    bucket
}

#[derive(Default)]
struct SetResult {
    latencies_us: Vec<u64>,
    errors: u64,
}

impl SetResult {
    fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        self.latencies_us[i.min(self.latencies_us.len() - 1)] as f64 / 1e3
    }
}

async fn connect(addr: SocketAddr) -> Session {
    SessionBuilder::new()
        .known_node(addr.to_string())
        .build()
        .await
        .expect("the scylla driver connects")
}

/// `connections` sessions with `in_flight` loops each, reading until `stop`.
async fn client_set(
    addr: SocketAddr,
    connections: usize,
    in_flight: usize,
    bucket: i32,
    cold_channels: Option<i64>,
    stop: Arc<AtomicBool>,
) -> SetResult {
    let mut tasks = Vec::new();
    for c in 0..connections {
        let session = Arc::new(connect(addr).await);
        let read: PreparedStatement = session
            .prepare("SELECT * FROM chat.messages WHERE channel_id = ? AND bucket = ? LIMIT 50")
            .await
            .expect("prepare");
        for f in 0..in_flight {
            let (session, read, stop) = (session.clone(), read.clone(), stop.clone());
            let mut rng = Rng(((c * 1000 + f) as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            tasks.push(tokio::spawn(async move {
                let mut r = SetResult::default();
                while !stop.load(Ordering::Relaxed) {
                    let channel = match cold_channels {
                        Some(n) => 2 + rng.below(n as u64) as i64,
                        None => HOT_CHANNEL,
                    };
                    let t = Instant::now();
                    match session.execute_unpaged(&read, (channel, bucket)).await {
                        Ok(_) => r.latencies_us.push(t.elapsed().as_micros() as u64),
                        Err(_) => r.errors += 1,
                    }
                }
                r
            }));
        }
    }
    let mut all = SetResult::default();
    for t in tasks {
        if let Ok(r) = t.await {
            all.latencies_us.extend(r.latencies_us);
            all.errors += r.errors;
        }
    }
    all
}

struct Run {
    name: &'static str,
    hot: Option<SetResult>,
    cold: SetResult,
    secs: f64,
    requests: u64,
    storage_reads: u64,
    /// The hottest partition's (requests, storage reads), as the coalescer counted them.
    hottest: Option<(u64, u64)>,
}

/// Hot and cold clients run on runtimes of their own, as separate client processes would:
/// the cold clients' latency then shows what the server does to them, not how long they
/// wait behind a thousand hot client tasks in their own process.
fn run(
    name: &'static str,
    engine: &CqlEngine,
    addr: SocketAddr,
    a: &Args,
    bucket: i32,
    with_hot: bool,
) -> Run {
    let runtime = |name: &str, nice: i32| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name(name)
            .on_thread_start(move || {
                if nice != 0 {
                    // On Linux this sets the calling thread's nice value only.
                    // SAFETY: setpriority has no memory-safety preconditions.
                    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
                    if r != 0 {
                        eprintln!(
                            "setpriority({nice}) failed: {}",
                            std::io::Error::last_os_error()
                        );
                    }
                }
            })
            .build()
            .expect("client runtime")
    };
    let (hot_rt, cold_rt) = (
        runtime("hot-clients", a.hot_nice),
        runtime("cold-clients", 0),
    );
    let before = engine.coalescer().stats();
    let stop = Arc::new(AtomicBool::new(false));
    let hot = with_hot.then(|| {
        hot_rt.spawn(client_set(
            addr,
            a.hot_connections,
            a.hot_in_flight,
            bucket,
            None,
            stop.clone(),
        ))
    });
    let cold = cold_rt.spawn(client_set(
        addr,
        a.cold_connections,
        a.cold_in_flight,
        bucket,
        Some(a.cold_channels),
        stop.clone(),
    ));
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(a.secs));
    stop.store(true, Ordering::Relaxed);
    let hot = hot.map(|h| hot_rt.block_on(h).unwrap_or_default());
    let cold = cold_rt.block_on(cold).unwrap_or_default();
    let secs = started.elapsed().as_secs_f64();
    let after = engine.coalescer().stats();
    let hottest = engine
        .coalescer()
        .hot_partitions()
        .first()
        .map(|h| (h.requests, h.storage_reads));
    Run {
        hottest,
        name,
        hot,
        cold,
        secs,
        requests: after.requests - before.requests,
        storage_reads: after.storage_reads - before.storage_reads,
    }
}

/// Storage reads over requests: of the hot set (the hottest partition, as the coalescer
/// counted it), of the rest, and of all; without coalescing every request is a storage read.
fn print(r: &mut Run) {
    let share = |reads: u64, reqs: u64| {
        format!(
            "{reads}/{reqs} ({:.2}%)",
            reads as f64 / reqs.max(1) as f64 * 100.0
        )
    };
    let all = share(r.storage_reads, r.requests);
    let (hot_share, cold_share) = match r.hottest {
        Some((reqs, reads)) if r.hot.is_some() => (
            share(reads, reqs),
            share(r.storage_reads - reads, r.requests - reqs),
        ),
        _ => (all.clone(), all.clone()),
    };
    let line = |set: &str, s: &mut SetResult, ratio: &str| {
        let n = s.latencies_us.len();
        println!(
            "{:<28} {:<5} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>7} {:>14}",
            r.name,
            set,
            n,
            n as f64 / r.secs,
            s.quantile_ms(0.5),
            s.quantile_ms(0.99),
            s.errors,
            ratio,
        );
    };
    if let Some(h) = &mut r.hot {
        line("hot", h, &hot_share);
    }
    line("cold", &mut r.cold, &cold_share);
    println!("{:<28} all   storage/reqs {all}", r.name);
}

fn server(
    db: Db,
    opts: CoalesceOptions,
    server_opts: ServerOptions,
    rt: &tokio::runtime::Runtime,
) -> (CqlEngine, SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let engine = CqlEngine::with_coalescing(
        db,
        NodeInfo {
            listen: addr,
            ..NodeInfo::default()
        },
        opts,
    );
    let server =
        scrolldb_server::Server::from_listener_with(listener, engine.clone(), None, server_opts);
    rt.spawn(server.run(async {
        let _ = stopped.await;
    }));
    (engine, addr, stop)
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), scrolldb::Options::default()).expect("open db");
    let started = Instant::now();
    let loader = CqlEngine::new(db.clone(), NodeInfo::default());
    let bucket = load(&loader, &a);
    db.flush().expect("flush");
    eprintln!(
        "loaded {} messages ({} cold channels) in {:.1}s",
        a.messages,
        a.cold_channels,
        started.elapsed().as_secs_f64()
    );
    // The server on a runtime of its own, as if it were a separate process.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("scrolldb-server")
        .build()
        .expect("server runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.hot_nice != 0 {
        println!("hot client threads run at nice {}", a.hot_nice);
    }
    println!(
        "hot-channel over CQL: {} hot clients ({} connections x {} in flight), {} cold clients, {}s per run, {} cores, {} shards",
        a.hot_connections * a.hot_in_flight,
        a.hot_connections,
        a.hot_in_flight,
        a.cold_connections * a.cold_in_flight,
        a.secs,
        cores,
        db.shard_count()
    );
    println!(
        "identical requests running at once: {} (0: no bound)",
        a.identical_running
    );
    println!(
        "{:<28} {:<5} {:>9} {:>10} {:>8} {:>8} {:>7} {:>14}",
        "run", "set", "reads", "reads/s", "p50 ms", "p99 ms", "errors", "storage/reqs"
    );
    // (name, coalescing, hot hold, hot clients)
    let runs: [(&'static str, bool, bool, bool); 4] = [
        ("cold only", true, true, false),
        ("hot+cold, coalescing", true, true, true),
        ("hot+cold, coalesce, no hold", true, false, true),
        ("hot+cold, no coalescing", false, false, true),
    ];
    let hold = (a.hot_hold_us > 0).then(|| Duration::from_micros(a.hot_hold_us));
    for (name, coalesce, with_hold, with_hot) in runs {
        // What `scrolldb serve` runs, with this run's switches.
        let opts = CoalesceOptions {
            enabled: coalesce,
            leader_yields: a.leader_yields,
            hot: HotOptions {
                hold: hold.filter(|_| with_hold),
                ..serve_coalescing().hot
            },
            ..serve_coalescing()
        };
        let server_opts = ServerOptions {
            identical: IdenticalOptions {
                max_running: a.identical_running,
                ..ServerOptions::default().identical
            },
        };
        let (engine, addr, stop) = server(db.clone(), opts, server_opts, &server_rt);
        let mut r = run(name, &engine, addr, &a, bucket, with_hot);
        print(&mut r);
        let _ = stop.send(());
    }
    drop(server_rt);
    db.close().expect("close");
}
