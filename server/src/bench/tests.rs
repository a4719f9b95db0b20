//! `scrolldb bench` end to end against an in-process server.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::program::{Cli, Command};
use clap::Parser;

#[test]
fn bench_ingests_then_reads_back_from_a_test_server() {
    let server = crate::TestServer::start();
    let addr = server.addr().to_string();
    let cli = Cli::try_parse_from([
        "scrolldb",
        "bench",
        "--addr",
        &addr,
        "--connections",
        "2",
        "--concurrency",
        "8",
        "--phase",
        "ingest,open-channel",
        "--messages",
        "400",
        "--reads",
        "150",
        "--duration",
        "8",
    ])
    .unwrap();
    let Command::Bench(args) = cli.command else {
        panic!("not a bench command");
    };
    let reports = run(&args).unwrap();
    assert_eq!(reports.len(), 2);
    let (ingest, open) = (&reports[0], &reports[1]);
    assert_eq!((ingest.phase, ingest.operations), ("ingest", 400));
    assert_eq!((open.phase, open.operations), ("open-channel", 150));
    // Popular channels got messages, so reads must find rows, and never more than 50 each.
    assert!(open.rows > 150, "rows read: {}", open.rows);
    assert!(open.rows <= 150 * 50);
    assert!(ingest.ops_per_s > 0.0 && ingest.latency_us_p50 > 0.0);
    assert!(ingest.latency_us_p50 <= ingest.latency_us_p99);
    let table = report::table(&reports, 2, 8);
    assert!(table.contains("open-channel"), "{table}");
}

#[test]
fn bench_reports_a_server_that_is_not_there() {
    // Bind and drop a listener: its port is almost surely closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = BenchArgs {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        connections: NonZeroUsize::MIN,
        concurrency: 1,
        phase: vec![Phase::Ingest],
        messages: 10,
        reads: 10,
        duration: Some(1.0),
        seed: 1,
        keyspace: "ks".into(),
    };
    let e = run(&args).unwrap_err();
    assert!(e.contains("cannot connect"), "{e}");
    let bad = BenchArgs {
        keyspace: "a;drop".into(),
        ..args
    };
    assert!(run(&bad).unwrap_err().contains("--keyspace"));
}
