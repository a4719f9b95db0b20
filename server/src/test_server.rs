//! An in-process scrolldb server for test suites: a temporary database behind a real socket
//! on an ephemeral loopback port, so an application's tests can point their CQL driver at it
//! instead of starting a database container.
//!
//! ```no_run
//! let server = scrolldb_server::TestServer::start();
//! let addr = server.addr(); // 127.0.0.1:<ephemeral port>
//! // ... connect a driver to `addr` ...
//! drop(server); // stops the server and removes the database
//! ```

use crate::Server;
use scrolldb::cql::{CqlEngine, NodeInfo};
use scrolldb::Db;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A running server; stops (and deletes its database) when dropped.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` over `Db::temporary()` in its own runtime thread, so
    /// it works from synchronous and asynchronous tests alike.
    ///
    /// # Panics
    /// When the database or the socket cannot be opened: this is test support, and a test
    /// cannot go on without its server.
    #[allow(clippy::expect_used)]
    pub fn start() -> TestServer {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scrolldb-test-server".into())
            .spawn(move || run(ready_tx, stopped))
            .expect("spawn the test server thread");
        let addr = match ready_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => panic!("scrolldb TestServer failed to start: {e}"),
            Err(_) => panic!("scrolldb TestServer thread died while starting"),
        };
        TestServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn run(ready: std::sync::mpsc::Sender<Result<SocketAddr, String>>, stopped: oneshot::Receiver<()>) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("tokio runtime: {e}")));
            return;
        }
    };
    let db = match Db::temporary() {
        Ok(db) => db,
        Err(e) => {
            let _ = ready.send(Err(format!("temporary database: {e}")));
            return;
        }
    };
    rt.block_on(async {
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server = match bind(db.clone(), listen).await {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(format!("bind 127.0.0.1:0: {e}")));
                return;
            }
        };
        let addr = match server.local_addr() {
            Ok(a) => a,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(addr));
        server
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    let _ = db.close();
}

/// Binds with the node info drivers will see: the address actually bound.
async fn bind(db: Db, listen: SocketAddr) -> std::io::Result<Server<CqlEngine>> {
    // Bind first so `system.local` shows the real (ephemeral) port.
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let engine = CqlEngine::new(
        db,
        NodeInfo {
            listen: addr,
            ..NodeInfo::default()
        },
    );
    Ok(Server::from_listener(listener, engine, None))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
