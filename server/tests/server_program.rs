//! The `scrolldb` program itself: `--help`, a clear message when the port is taken, graceful
//! shutdown on SIGTERM with the data kept, and version negotiation on a real server.

mod support;

use std::time::Duration;
use support::process::{run_with_timeout, scrolldb, Served};
use support::*;

#[test]
fn help_describes_serve() {
    let mut cmd = scrolldb();
    cmd.args(["serve", "--help"]);
    let (status, out, _) = run_with_timeout(cmd, Duration::from_secs(10));
    assert!(status.success());
    for flag in ["--data", "--listen", "--shards", "127.0.0.1:9042"] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

#[test]
fn a_taken_port_is_reported_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = scrolldb();
    cmd.args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(dir.path());
    let (status, _, err) = run_with_timeout(cmd, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("already in use"), "{err}");
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn sigterm_stops_gracefully_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let create = "CREATE KEYSPACE kept WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

    let served = Served::start(dir.path());
    let mut c = RawClient::connect(served.addr);
    c.startup();
    let r = c.request(2, QUERY, &query_body(create));
    assert_eq!(r.result_kind(), 5, "{}", r.describe());
    let (status, out) = served.stop();
    assert!(status.success(), "{status:?}");
    assert!(out.contains("scrolldb: stopped"), "{out}");

    let served = Served::start(dir.path());
    let mut c = RawClient::connect(served.addr);
    c.startup();
    let r = c.request(2, QUERY, &query_body(create));
    assert_eq!(r.error_code(), Some(0x2400), "{}", r.describe());
    let (status, _) = served.stop();
    assert!(status.success());
}

#[test]
fn version_negotiation_on_the_real_server() {
    let server = scrolldb_server::TestServer::start();
    let mut c = RawClient::connect(server.addr());
    c.send_raw(&frame(5, 0, 77, STARTUP, &startup_body(&[])));
    let r = c.recv().expect("an error frame");
    assert_eq!(
        (r.version, r.stream, r.error_code()),
        (0x84, 77, Some(0x000A))
    );
    assert!(r
        .error_message()
        .contains("Invalid or unsupported protocol version (5); highest supported version is 4"));
    // The driver then reconnects with v4.
    let mut c = RawClient::connect(server.addr());
    c.startup();
    let r = c.request(
        3,
        QUERY,
        &query_body("SELECT release_version FROM system.local"),
    );
    assert_eq!(r.result_kind(), 2, "{}", r.describe());
}

#[test]
fn a_malformed_frame_on_the_real_server() {
    let server = scrolldb_server::TestServer::start();
    let mut bad = RawClient::connect(server.addr());
    bad.startup();
    // A BATCH that claims 1000 statements in a 3-byte body.
    bad.send(4, BATCH, &[0, 0x03, 0xE8]);
    let r = bad.recv().expect("an error frame");
    assert_eq!((r.stream, r.error_code()), (4, Some(0x000A)));
    assert!(bad.closed());
    let mut good = RawClient::connect(server.addr());
    good.startup();
    let r = good.request(2, QUERY, &query_body("SELECT * FROM system.local"));
    assert_eq!(r.result_kind(), 2, "{}", r.describe());
}
