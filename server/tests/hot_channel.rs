//! Hot channels over the wire: many identical reads reach storage a few times, a write is
//! visible to every read that starts after its acknowledgement even while a hot partition
//! keeps coalesced reads in flight, a flood is answered with Overloaded (0x1001), and the
//! metrics endpoint serves Prometheus text that `scrolldb stats` turns into a table.

mod support;

use scrolldb::coalesce::CoalesceOptions;
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::Db;
use scrolldb_server::metrics::endpoint::Source;
use scrolldb_server::metrics::table;
use scrolldb_server::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{query_body, RawClient, ERROR, QUERY, RESULT};

/// An in-process server with a chosen coalescing configuration and its metrics endpoint.
struct Hot {
    addr: SocketAddr,
    metrics: SocketAddr,
    engine: CqlEngine,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hot {
    fn start(opts: CoalesceOptions) -> Hot {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let db = Db::temporary().unwrap();
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let node = NodeInfo {
                    listen: addr,
                    ..NodeInfo::default()
                };
                let engine = CqlEngine::with_coalescing(db.clone(), node, opts);
                let server = Server::from_listener(listener, engine.clone(), None);
                let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
                let source = Source {
                    server: server.metrics(),
                    engine: Some(engine.clone()),
                };
                let metrics = scrolldb_server::metrics::cli::start_endpoint(
                    "127.0.0.1:0".parse().unwrap(),
                    source,
                    metrics_stopped,
                )
                .await
                .unwrap();
                ready_tx.send((addr, metrics, engine)).unwrap();
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await;
                let _ = stop_metrics.send(true);
            });
            drop(rt);
            db.close().unwrap();
        });
        let (addr, metrics, engine) = ready_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        Hot {
            addr,
            metrics,
            engine,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs a statement from this (plain) thread.
    fn exec(&self, cql: &str, values: &[Value]) {
        self.engine
            .execute_blocking(&mut Session::default(), cql, values)
            .unwrap();
    }

    /// A channel table with `rows` messages in channel 1.
    fn with_channel(self, rows: i64) -> Hot {
        self.exec(
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            &[],
        );
        self.exec(
            "CREATE TABLE ks.m (channel_id bigint, message_id bigint, content text, \
             PRIMARY KEY (channel_id, message_id)) WITH CLUSTERING ORDER BY (message_id DESC)",
            &[],
        );
        for i in 0..rows {
            self.exec(
                "INSERT INTO ks.m (channel_id, message_id, content) VALUES (1, ?, ?)",
                &[Value::BigInt(i), Value::Text(format!("message number {i}"))],
            );
        }
        self
    }

    fn client(&self) -> RawClient {
        let mut c = RawClient::connect(self.addr);
        c.startup();
        c
    }

    fn storage_reads(&self) -> u64 {
        self.engine.coalescer().stats().storage_reads
    }

    fn engine_reads(&self) -> u64 {
        self.engine.db().stats().unwrap().reads()
    }
}

impl Drop for Hot {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends `n` copies of `cql` pipelined on one connection and returns the answers.
fn pipelined(c: &mut RawClient, cql: &str, n: usize) -> Vec<support::Response> {
    let body = query_body(cql);
    let mut frames = Vec::new();
    for i in 0..n {
        frames.extend(support::frame(4, 0, 100 + i as i16, QUERY, &body));
    }
    c.send_raw(&frames);
    (0..n).map(|_| c.recv().expect("an answer")).collect()
}

/// Skips a `[string]`.
fn skip_string(b: &[u8], at: &mut usize) {
    let n = u16::from_be_bytes([b[*at], b[*at + 1]]) as usize;
    *at += 2 + n;
}

fn i32_at(b: &[u8], at: &mut usize) -> i32 {
    let v = i32::from_be_bytes(b[*at..*at + 4].try_into().unwrap());
    *at += 4;
    v
}

/// The rows of a RESULT Rows whose columns are all of simple types, as raw cells.
fn rows(r: &support::Response) -> Vec<Vec<Option<Vec<u8>>>> {
    assert_eq!(r.opcode, RESULT, "{}", r.describe());
    let b = &r.body;
    let mut at = 0;
    assert_eq!(i32_at(b, &mut at), 2, "not Rows");
    let flags = i32_at(b, &mut at);
    let columns = i32_at(b, &mut at) as usize;
    if flags & 0x0002 != 0 {
        let n = i32_at(b, &mut at);
        at += n.max(0) as usize;
    }
    if flags & 0x0004 == 0 {
        if flags & 0x0001 != 0 {
            skip_string(b, &mut at);
            skip_string(b, &mut at);
        }
        for _ in 0..columns {
            if flags & 0x0001 == 0 {
                skip_string(b, &mut at);
                skip_string(b, &mut at);
            }
            skip_string(b, &mut at);
            at += 2; // a simple type: its id only
        }
    }
    let count = i32_at(b, &mut at);
    (0..count)
        .map(|_| {
            (0..columns)
                .map(|_| {
                    let n = i32_at(b, &mut at);
                    (n >= 0).then(|| {
                        let cell = b[at..at + n as usize].to_vec();
                        at += n as usize;
                        cell
                    })
                })
                .collect()
        })
        .collect()
}

#[test]
fn two_hundred_identical_reads_reach_storage_far_fewer_times() {
    let hot = Hot::start(CoalesceOptions::default()).with_channel(2_000);
    let (storage_before, engine_before) = (hot.storage_reads(), hot.engine_reads());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut c = hot.client();
            std::thread::spawn(move || {
                pipelined(&mut c, "SELECT * FROM ks.m WHERE channel_id = 1", 50)
            })
        })
        .collect();
    for t in threads {
        for r in t.join().unwrap() {
            assert_eq!(rows(&r).len(), 2_000);
        }
    }
    let storage = hot.storage_reads() - storage_before;
    let engine = hot.engine_reads() - engine_before;
    eprintln!("200 identical reads: {storage} coalesced storage reads, {engine} engine reads");
    // The shards count the reads they ran: the coalescer's count is not an estimate.
    assert_eq!(storage, engine);
    assert!(
        storage <= 40,
        "{storage} storage reads for 200 identical requests"
    );
}

#[test]
fn a_write_is_visible_to_every_read_after_it_while_the_partition_is_hot() {
    let hot = Hot::start(CoalesceOptions::default()).with_channel(100);
    let newest = "SELECT message_id FROM ks.m WHERE channel_id = 1 LIMIT 1";
    let stop = Arc::new(AtomicBool::new(false));
    // Hot readers keep the very same read in flight all the time.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut c = hot.client();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for r in pipelined(&mut c, newest, 16) {
                        assert_eq!(r.opcode, RESULT, "{}", r.describe());
                    }
                }
            })
        })
        .collect();
    let mut writer = hot.client();
    let before = hot.engine.coalescer().stats().coalesced;
    for i in 0..150i64 {
        let id = 1_000 + i;
        let w = writer.request(
            1,
            QUERY,
            &query_body(&format!(
                "INSERT INTO ks.m (channel_id, message_id, content) VALUES (1, {id}, 'new')"
            )),
        );
        assert_eq!(w.opcode, RESULT, "{}", w.describe());
        for r in pipelined(&mut writer, newest, 4) {
            let got = rows(&r)[0][0].clone().unwrap();
            let got = i64::from_be_bytes(got.try_into().unwrap());
            assert_eq!(got, id, "a read after the write of {id} saw {got}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    // The hot readers did share reads: the check above ran against live coalescing.
    assert!(hot.engine.coalescer().stats().coalesced > before);
}

#[test]
fn a_flood_on_one_partition_is_answered_with_overloaded() {
    let hot = Hot::start(CoalesceOptions {
        enabled: false,
        partition_max_reads: 1,
        partition_max_waiting: 4,
        ..CoalesceOptions::default()
    })
    .with_channel(2_000);
    let mut c = hot.client();
    let answers = pipelined(&mut c, "SELECT * FROM ks.m WHERE channel_id = 1", 200);
    let overloaded = answers
        .iter()
        .filter(|r| r.opcode == ERROR && r.error_code() == Some(0x1001))
        .count();
    let ok = answers.iter().filter(|r| r.opcode == RESULT).count();
    eprintln!("flood of 200: {ok} answered, {overloaded} overloaded");
    assert_eq!(ok + overloaded, 200, "only rows or Overloaded");
    assert!(
        overloaded > 0 && ok >= 5,
        "{ok} ok, {overloaded} overloaded"
    );
    assert_eq!(hot.engine.coalescer().stats().shed, overloaded as u64);
    // Another partition still reads while the flood is shed.
    let cold = c.request(
        1,
        QUERY,
        &query_body("SELECT * FROM ks.m WHERE channel_id = 2"),
    );
    assert_eq!(rows(&cold).len(), 0);
    let samples =
        table::parse(&table::fetch(hot.metrics, Duration::from_secs(5)).unwrap()).unwrap();
    let shed = samples
        .iter()
        .find(|s| {
            s.name == "scrolldb_requests_overloaded_total" && s.label("kind") == Some("query")
        })
        .unwrap();
    assert_eq!(shed.value as usize, overloaded);
}

#[test]
fn the_metrics_endpoint_serves_prometheus_text_and_stats_prints_it() {
    let hot = Hot::start(CoalesceOptions::default()).with_channel(10);
    let mut c = hot.client();
    for r in pipelined(&mut c, "SELECT * FROM ks.m WHERE channel_id = 1", 20) {
        assert_eq!(rows(&r).len(), 10);
    }
    let text = table::fetch(hot.metrics, Duration::from_secs(5)).unwrap();
    let samples = table::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let value = |name: &str, label: Option<(&str, &str)>| {
        samples
            .iter()
            .find(|s| s.name == name && label.is_none_or(|(k, v)| s.label(k) == Some(v)))
            .unwrap_or_else(|| panic!("no {name} {label:?} in\n{text}"))
            .value
    };
    assert_eq!(
        value("scrolldb_requests_total", Some(("kind", "query"))),
        20.0
    );
    assert_eq!(
        value(
            "scrolldb_request_latency_seconds_count",
            Some(("kind", "query"))
        ),
        20.0
    );
    assert_eq!(value("scrolldb_partition_reads_total", None), 20.0);
    let storage = value("scrolldb_storage_reads_total", None);
    let coalesced = value("scrolldb_coalesced_reads_total", None);
    assert_eq!(storage + coalesced, 20.0);
    for family in [
        "scrolldb_shard_queue_depth",
        "scrolldb_shard_read_gate_depth",
        "scrolldb_memtable_bytes",
        "scrolldb_sstables",
        "scrolldb_compactions_running",
        "scrolldb_tombstones_scanned_total",
        "scrolldb_commitlog_syncs_total",
    ] {
        value(family, Some(("shard", "0")));
    }
    assert!(value("scrolldb_memtable_bytes", Some(("shard", "0"))) >= 0.0);
    // `scrolldb stats` against the same endpoint.
    let out = support::process::scrolldb()
        .args(["stats", "--metrics", &hot.metrics.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("storage_reads_total"), "{table}");
    assert!(table.contains("request_latency_seconds query"), "{table}");
    // Nothing listening: a clear error, not a hang.
    let gone = support::process::scrolldb()
        .args(["stats", "--metrics", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("cannot reach"));
}

#[test]
fn serve_with_metrics_answers_scrapes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let served = support::process::Served::start_with(dir.path(), &["--metrics", &addr]);
    let mut c = RawClient::connect(served.addr);
    c.startup();
    let r = c.request(1, QUERY, &query_body("SELECT * FROM system.local"));
    assert_eq!(r.opcode, RESULT, "{}", r.describe());
    let text = table::fetch(addr.parse().unwrap(), Duration::from_secs(5)).unwrap();
    let samples = table::parse(&text).unwrap();
    assert!(samples.iter().any(|s| s.name == "scrolldb_requests_total"
        && s.label("kind") == Some("query")
        && s.value >= 1.0));
    let (status, _) = served.stop();
    assert!(status.success());
}

#[test]
fn a_flooding_connection_waits_behind_itself_while_another_is_served() {
    // Reads of one partition run one at a time, so the flood fills the server's places and
    // then the flooding connection's own line; the other connection gets the next turn.
    let hot = Hot::start(CoalesceOptions {
        enabled: false,
        partition_max_reads: 1,
        partition_max_waiting: 100_000,
        ..CoalesceOptions::default()
    })
    .with_channel(300);
    let mut flood = hot.client();
    let mut other = hot.client();
    let before = hot.engine_reads();
    let flooding = std::thread::spawn(move || {
        pipelined(&mut flood, "SELECT * FROM ks.m WHERE channel_id = 1", 700)
    });
    // Wait until the flood is being served, then ask from the other connection.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hot.engine_reads() < before + 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let answer = other.request(
        1,
        QUERY,
        &query_body("SELECT * FROM ks.m WHERE channel_id = 2"),
    );
    assert_eq!(answer.opcode, RESULT, "{}", answer.describe());
    // Served in its turn, not behind the hundreds of flood requests still waiting.
    assert!(
        !flooding.is_finished(),
        "the other connection waited for the whole flood"
    );
    // A pipelining client is slowed down, not failed: every request is answered.
    let answers = flooding.join().unwrap();
    let failed: Vec<_> = answers
        .iter()
        .filter(|r| r.opcode != RESULT)
        .map(|r| r.describe())
        .collect();
    assert_eq!(answers.len(), 700);
    assert!(failed.is_empty(), "{failed:?}");
}
