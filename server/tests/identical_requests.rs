//! The bound on identical requests over real sockets: copies of one request beyond the bound
//! wait, beyond the line they are refused with Overloaded (0x1001), and meanwhile a different
//! request (a cold channel's read) is answered at once. A handler that holds every `hold`
//! statement until the test releases it makes the counts exact.

mod support;

use bytes::Bytes;
use scrolldb::cql::result::{
    Batch, ColumnSpec, CqlError, PreparedResult, QueryParams, QueryResult, RowsResult,
};
use scrolldb::storage::types::CqlType;
use scrolldb_server::handler::Handler;
use scrolldb_server::identical::IdenticalOptions;
use scrolldb_server::metrics::ServerMetrics;
use scrolldb_server::{Server, ServerOptions};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// Statements starting with `hold` count themselves in and wait for a release; anything
/// else is answered at once.
#[derive(Clone)]
struct Holding {
    entered: Arc<AtomicUsize>,
    release: Arc<tokio::sync::Semaphore>,
}

fn one_row(text: &str) -> QueryResult {
    QueryResult::Rows(RowsResult {
        columns: vec![ColumnSpec {
            keyspace: "ks".into(),
            table: "t".into(),
            name: "v".into(),
            ty: CqlType::Text,
        }],
        rows: vec![vec![Some(Bytes::copy_from_slice(text.as_bytes()))]],
        paging_state: None,
    })
}

impl Handler for Holding {
    type Session = ();

    fn session(&self, _: Option<&str>) {}

    async fn query(&self, _: &mut (), cql: &str, _: QueryParams) -> Result<QueryResult, CqlError> {
        if cql.starts_with("hold") {
            self.entered.fetch_add(1, Ordering::SeqCst);
            if let Ok(p) = self.release.acquire().await {
                p.forget();
            }
        }
        Ok(one_row(cql))
    }

    fn prepare(&self, _: &(), _: &str) -> Result<PreparedResult, CqlError> {
        Err(CqlError::invalid("not here"))
    }

    async fn execute(&self, _: &mut (), _: &[u8], _: QueryParams) -> Result<QueryResult, CqlError> {
        Err(CqlError::invalid("not here"))
    }

    async fn batch(&self, _: &mut (), _: Batch) -> Result<QueryResult, CqlError> {
        Err(CqlError::invalid("not here"))
    }
}

struct Running {
    addr: SocketAddr,
    metrics: Arc<ServerMetrics>,
    handler: Holding,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(identical: IdenticalOptions) -> Running {
        let handler = Holding {
            entered: Arc::default(),
            release: Arc::new(tokio::sync::Semaphore::new(0)),
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let h = handler.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server =
                    Server::from_listener_with(listener, h, None, ServerOptions { identical });
                ready_tx.send((addr, server.metrics())).unwrap();
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let (addr, metrics) = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Running {
            addr,
            metrics,
            handler,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn client(&self) -> RawClient {
        let mut c = RawClient::connect(self.addr);
        c.startup();
        c
    }

    fn wait_entered(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.handler.entered.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "never {n} requests in the handler"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Let anything still held finish so shutdown does not wait for its grace period.
        self.handler.release.add_permits(1_000);
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn copies_past_the_bound_wait_then_are_shed_while_other_requests_run() {
    let s = Running::start(IdenticalOptions {
        max_running: 2,
        max_waiting: 3,
    });
    let mut hot = s.client();
    for stream in 1..=10 {
        hot.send(stream, QUERY, &query_body("hold hot"));
    }
    s.wait_entered(2);
    // 2 copies run, 3 wait: the other 5 are refused at once, while the first 2 still hold.
    let mut shed = Vec::new();
    for _ in 0..5 {
        let r = hot.recv().unwrap();
        assert_eq!(r.error_code(), Some(0x1001), "{}", r.describe());
        shed.push(r.stream);
    }
    // Another connection's different request runs at once: a cold read, and even another
    // held statement (its own line).
    let mut cold = s.client();
    let r = cold.request(1, QUERY, &query_body("select cold"));
    assert_eq!(r.opcode, RESULT, "{}", r.describe());
    cold.send(2, QUERY, &query_body("hold other"));
    s.wait_entered(3);
    // No waiting copy slipped into the handler.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(s.handler.entered.load(Ordering::SeqCst), 3);
    let snap = s.metrics.snapshot();
    assert_eq!((snap.identical_shed, snap.identical_waited), (5, 0));

    s.handler.release.add_permits(100);
    let mut answered = 0;
    for _ in 0..5 {
        let r = hot.recv().unwrap();
        assert_eq!(r.opcode, RESULT, "{}", r.describe());
        assert!(!shed.contains(&r.stream));
        answered += 1;
    }
    assert_eq!(answered, 5);
    assert_eq!(cold.recv().unwrap().opcode, RESULT);
    assert_eq!(s.handler.entered.load(Ordering::SeqCst), 6);
    let snap = s.metrics.snapshot();
    assert_eq!((snap.identical_shed, snap.identical_waited), (5, 3));
    let overloaded: u64 = snap.kinds.iter().map(|k| k.overloaded).sum();
    assert_eq!(overloaded, 5);
}

#[test]
fn no_bound_lets_every_copy_run() {
    let s = Running::start(IdenticalOptions {
        max_running: 0,
        max_waiting: 0,
    });
    let mut hot = s.client();
    for stream in 1..=20 {
        hot.send(stream, QUERY, &query_body("hold hot"));
    }
    s.wait_entered(20);
    s.handler.release.add_permits(100);
    for _ in 0..20 {
        assert_eq!(hot.recv().unwrap().opcode, RESULT);
    }
}
