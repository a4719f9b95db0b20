//! The connection layer over real sockets, with a small in-memory handler standing in for the
//! CQL engine: handshake, version negotiation, malformed frames, out-of-order responses,
//! compression, events and authentication.

mod support;

use bytes::Bytes;
use scrolldb::cql::result::{
    Batch, ColumnSpec, CqlError, PreparedResult, QueryParams, QueryResult, RowsResult,
    SchemaChange, SchemaChangeKind, SchemaChangeTarget,
};
use scrolldb::storage::types::CqlType;
use scrolldb_server::auth::PasswordAuthenticator;
use scrolldb_server::handler::Handler;
use scrolldb_server::Server;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;

/// Answers by the statement's first word: `sleep N`, `use KS`, `ks` (the session's keyspace),
/// `create KS`, `fail`, `panic`; anything else echoes the statement as one row.
#[derive(Clone)]
struct Toy;

fn one_row(text: &str) -> QueryResult {
    QueryResult::Rows(RowsResult {
        columns: vec![ColumnSpec {
            keyspace: "toy".into(),
            table: "t".into(),
            name: "v".into(),
            ty: CqlType::Text,
        }],
        rows: vec![vec![Some(Bytes::copy_from_slice(text.as_bytes()))]],
        paging_state: None,
    })
}

impl Handler for Toy {
    type Session = Option<String>;

    fn session(&self, keyspace: Option<&str>) -> Option<String> {
        keyspace.map(str::to_string)
    }

    async fn query(
        &self,
        session: &mut Option<String>,
        cql: &str,
        _params: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        let mut words = cql.split_whitespace();
        match (words.next(), words.next()) {
            (Some("sleep"), Some(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
                Ok(one_row(cql))
            }
            (Some("use"), Some(ks)) => Ok(QueryResult::SetKeyspace(ks.to_string())),
            (Some("ks"), _) => Ok(one_row(session.as_deref().unwrap_or("none"))),
            (Some("create"), Some(ks)) => Ok(QueryResult::SchemaChange(SchemaChange {
                kind: SchemaChangeKind::Created,
                target: SchemaChangeTarget::Keyspace {
                    keyspace: ks.to_string(),
                },
            })),
            (Some("fail"), _) => Err(CqlError::invalid("toy failure")),
            (Some("panic"), _) => panic!("toy bug"),
            _ => Ok(one_row(cql)),
        }
    }

    fn prepare(&self, _: &Option<String>, _cql: &str) -> Result<PreparedResult, CqlError> {
        Ok(PreparedResult {
            id: Bytes::from_static(b"id"),
            bind: vec![],
            pk_indexes: vec![],
            result: vec![],
        })
    }

    async fn execute(
        &self,
        _: &mut Option<String>,
        _id: &[u8],
        _params: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        Ok(QueryResult::Void)
    }

    async fn batch(&self, _: &mut Option<String>, _b: Batch) -> Result<QueryResult, CqlError> {
        Ok(QueryResult::Void)
    }
}

/// A server on an ephemeral port in its own runtime thread; stops when dropped.
struct ToyServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ToyServer {
    fn start(auth: Option<PasswordAuthenticator>) -> ToyServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind("127.0.0.1:0".parse().unwrap(), Toy, auth)
                    .await
                    .unwrap();
                addr_tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        ToyServer {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ToyServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn first_cell(r: &Response) -> String {
    assert_eq!(r.result_kind(), 2, "{}", r.describe());
    // kind, flags, column count, global spec (keyspace, table), one column spec, row count.
    let b = &r.body;
    let flags = i32::from_be_bytes(b[4..8].try_into().unwrap());
    let mut at = 12;
    let skip_string = |at: &mut usize| {
        let n = u16::from_be_bytes(b[*at..*at + 2].try_into().unwrap()) as usize;
        *at += 2 + n;
    };
    if flags & 4 == 0 {
        skip_string(&mut at);
        skip_string(&mut at);
        skip_string(&mut at);
        at += 2; // the text [option]
    }
    at += 4; // row count
    let n = i32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    String::from_utf8(b[at + 4..at + 4 + n].to_vec()).unwrap()
}

#[test]
fn startup_options_query() {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    let r = c.request(3, OPTIONS, &[]);
    assert_eq!(r.opcode, SUPPORTED);
    assert_eq!(r.version, 0x84);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("CQL_VERSION") && text.contains("lz4") && text.contains("snappy"));
    assert!(!text.contains("SCYLLA"));
    // A query before STARTUP is refused, and the connection stays usable.
    let r = c.request(4, QUERY, &query_body("hello"));
    assert_eq!(r.error_code(), Some(0x000A), "{}", r.describe());
    c.startup();
    let r = c.request(5, QUERY, &query_body("hello"));
    assert_eq!(first_cell(&r), "hello");
    let r = c.request(6, QUERY, &query_body("fail"));
    assert_eq!(r.error_code(), Some(0x2200));
    assert_eq!(r.error_message(), "toy failure");
    // A bug in the CQL layer is a server error, and the connection goes on.
    let r = c.request(8, QUERY, &query_body("panic"));
    assert_eq!(r.error_code(), Some(0x0000), "{}", r.describe());
    assert_eq!(
        first_cell(&c.request(9, QUERY, &query_body("after"))),
        "after"
    );
    // OPTIONS keeps working as a heartbeat.
    assert_eq!(c.request(7, OPTIONS, &[]).opcode, SUPPORTED);
}

#[test]
fn unsupported_versions_get_the_negotiation_error() {
    let s = ToyServer::start(None);
    for version in [5u8, 3, 0x41] {
        let mut c = RawClient::connect(s.addr);
        c.send_raw(&frame(version, 0, 0x1234, OPTIONS, &[]));
        let r = c.recv().expect("an error frame");
        assert_eq!(r.version, 0x84);
        assert_eq!(r.stream, 0x1234);
        assert_eq!(r.error_code(), Some(0x000A));
        let v = version & 0x7f;
        assert!(
            r.error_message().contains(&format!(
                "Invalid or unsupported protocol version ({v}); highest supported version is 4"
            )),
            "{}",
            r.error_message()
        );
        assert!(c.closed());
    }
}

#[test]
fn a_v2_client_gets_the_error_on_its_eight_byte_header() {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    // v2 OPTIONS: version, flags, one-byte stream, opcode, length.
    c.send_raw(&[0x02, 0, 5, OPTIONS, 0, 0, 0, 0]);
    let r = c.recv().expect("an error frame");
    assert_eq!(
        (r.version, r.stream, r.error_code()),
        (0x84, 5, Some(0x000A))
    );
    assert!(r.error_message().contains("protocol version (2)"));
}

#[test]
fn malformed_frames_get_a_protocol_error_and_do_not_affect_others() {
    let s = ToyServer::start(None);
    let mut good = RawClient::connect(s.addr);
    good.startup();

    // A QUERY whose [long string] claims more bytes than the body has.
    let mut bad = RawClient::connect(s.addr);
    bad.startup();
    let mut body = 1000i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"short");
    bad.send(9, QUERY, &body);
    let r = bad.recv().expect("an error frame");
    assert_eq!((r.stream, r.error_code()), (9, Some(0x000A)));
    assert!(bad.closed());

    // A body over the 256 MiB limit is refused from its header alone.
    let mut huge = RawClient::connect(s.addr);
    let mut f = frame(4, 0, 2, QUERY, &[]);
    f[5..9].copy_from_slice(&(300u32 << 20).to_be_bytes());
    huge.send_raw(&f);
    let r = huge.recv().expect("an error frame");
    assert_eq!((r.stream, r.error_code()), (2, Some(0x000A)));
    assert!(r.error_message().contains("256 MiB"));

    // An unknown opcode and a response frame sent by a client.
    for f in [frame(4, 0, 3, 0x42, &[]), frame(0x84, 0, 3, OPTIONS, &[])] {
        let mut c = RawClient::connect(s.addr);
        c.send_raw(&f);
        assert_eq!(c.recv().unwrap().error_code(), Some(0x000A));
        assert!(c.closed());
    }

    // A client that sends half a header and stalls does not block anyone.
    let mut stalled = RawClient::connect(s.addr);
    stalled.send_raw(&[4, 0, 0]);

    let r = good.request(10, QUERY, &query_body("still here"));
    assert_eq!(first_cell(&r), "still here");
}

#[test]
fn responses_come_back_out_of_order_with_their_stream_ids() {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    c.startup();
    let start = Instant::now();
    c.send(1, QUERY, &query_body("sleep 500"));
    c.send(2, QUERY, &query_body("sleep 0"));
    let first = c.recv().unwrap();
    let second = c.recv().unwrap();
    assert_eq!((first.stream, second.stream), (2, 1));
    assert_eq!(first_cell(&second), "sleep 500");
    // The two ran concurrently.
    assert!(start.elapsed() < Duration::from_millis(1000));
}

#[test]
fn use_sets_the_keyspace_for_later_requests() {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    c.startup();
    assert_eq!(first_cell(&c.request(2, QUERY, &query_body("ks"))), "none");
    let r = c.request(3, QUERY, &query_body("use chat"));
    assert_eq!(r.result_kind(), 3);
    assert_eq!(first_cell(&c.request(4, QUERY, &query_body("ks"))), "chat");
    // Another connection has its own keyspace.
    let mut other = RawClient::connect(s.addr);
    other.startup();
    assert_eq!(
        first_cell(&other.request(2, QUERY, &query_body("ks"))),
        "none"
    );
}

fn compressed_roundtrip(
    name: &str,
    compress: fn(&[u8]) -> Vec<u8>,
    decompress: fn(&[u8]) -> Vec<u8>,
) {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    let r = c.request(1, STARTUP, &startup_body(&[("COMPRESSION", name)]));
    assert_eq!(
        (r.opcode, r.flags & 1),
        (READY, 0),
        "READY is not compressed"
    );
    let body = compress(&query_body("compressed hello"));
    c.send_raw(&frame(4, 1, 7, QUERY, &body));
    let mut r = c.recv().unwrap();
    assert_eq!((r.stream, r.flags & 1), (7, 1), "{}", r.describe());
    r.body = decompress(&r.body);
    assert_eq!(first_cell(&r), "compressed hello");
    // Uncompressed frames are still accepted.
    c.send(8, QUERY, &query_body("plain"));
    let mut r = c.recv().unwrap();
    r.body = decompress(&r.body);
    assert_eq!(first_cell(&r), "plain");
    // A corrupt compressed body is a protocol error.
    c.send_raw(&frame(4, 1, 9, QUERY, &[0, 0, 0, 50, 1, 2, 3]));
    let mut r = c.recv().unwrap();
    r.body = decompress(&r.body);
    assert_eq!(r.error_code(), Some(0x000A));
}

#[test]
fn lz4_compression() {
    compressed_roundtrip(
        "lz4",
        |b| {
            let mut out = (b.len() as u32).to_be_bytes().to_vec();
            out.extend(lz4_flex::block::compress(b));
            out
        },
        |b| {
            lz4_flex::block::decompress(
                &b[4..],
                u32::from_be_bytes(b[..4].try_into().unwrap()) as usize,
            )
            .unwrap()
        },
    );
}

#[test]
fn snappy_compression() {
    compressed_roundtrip(
        "snappy",
        |b| snap::raw::Encoder::new().compress_vec(b).unwrap(),
        |b| snap::raw::Decoder::new().decompress_vec(b).unwrap(),
    );
}

#[test]
fn unknown_compression_is_refused() {
    let s = ToyServer::start(None);
    let mut c = RawClient::connect(s.addr);
    let r = c.request(1, STARTUP, &startup_body(&[("COMPRESSION", "zip")]));
    assert_eq!(r.error_code(), Some(0x000A));
}

#[test]
fn schema_changes_are_pushed_to_registered_connections() {
    let s = ToyServer::start(None);
    let mut listener = RawClient::connect(s.addr);
    listener.startup();
    let mut events = 1u16.to_be_bytes().to_vec();
    events.extend(string("SCHEMA_CHANGE"));
    assert_eq!(listener.request(2, REGISTER, &events).opcode, READY);
    let mut ddl = RawClient::connect(s.addr);
    ddl.startup();
    let r = ddl.request(5, QUERY, &query_body("create chat"));
    assert_eq!(r.result_kind(), 5);
    let ev = listener.recv().unwrap();
    assert_eq!((ev.opcode, ev.stream), (EVENT, -1));
    let mut want = string("SCHEMA_CHANGE");
    want.extend(string("CREATED"));
    want.extend(string("KEYSPACE"));
    want.extend(string("chat"));
    assert_eq!(ev.body, want);
}

#[test]
fn password_authentication() {
    let auth = PasswordAuthenticator::from_users([("alice".to_string(), "s3cret".to_string())]);
    let s = ToyServer::start(Some(auth));
    let mut c = RawClient::connect(s.addr);
    let r = c.request(1, STARTUP, &startup_body(&[]));
    assert_eq!(r.opcode, AUTHENTICATE);
    assert!(String::from_utf8_lossy(&r.body).contains("PasswordAuthenticator"));
    assert_eq!(
        c.request(2, QUERY, &query_body("x")).error_code(),
        Some(0x000A)
    );
    let token = |user: &str, pw: &str| {
        let t = format!("\0{user}\0{pw}");
        let mut b = (t.len() as i32).to_be_bytes().to_vec();
        b.extend_from_slice(t.as_bytes());
        b
    };
    let r = c.request(3, AUTH_RESPONSE, &token("alice", "wrong"));
    assert_eq!(r.error_code(), Some(0x0100));
    assert_eq!(
        c.request(4, AUTH_RESPONSE, &token("alice", "s3cret"))
            .opcode,
        AUTH_SUCCESS
    );
    assert_eq!(first_cell(&c.request(5, QUERY, &query_body("in"))), "in");
}
