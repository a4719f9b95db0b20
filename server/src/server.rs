//! The listener: accepts connections, gives each its tasks, and on shutdown tells them to
//! stop and waits (bounded) for them.

use crate::auth::PasswordAuthenticator;
use crate::connection::{self, Shared};
use crate::fair_queue::{self, FairQueue};
use crate::handler::Handler;
use crate::metrics::ServerMetrics;
use scrolldb::cql::result::SchemaChange;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Schema events kept for registered connections that fall behind.
const EVENT_QUEUE: usize = 256;
/// Connections served at once; past this, new clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long shutdown waits for connections to finish what they are answering.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The server's bounds on the work it admits. `Default` is what `scrolldb serve` runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Copies of one request (a hot channel's crowd) running at once, and waiting.
    pub identical: crate::identical::IdenticalOptions,
}

pub struct Server<H: Handler> {
    listener: TcpListener,
    shared: Arc<Shared<H>>,
    stop: watch::Sender<bool>,
}

impl<H: Handler> Server<H> {
    /// Binds the listening socket. An address in use comes back as
    /// `std::io::ErrorKind::AddrInUse` for the caller to explain.
    pub async fn bind(
        listen: SocketAddr,
        handler: H,
        auth: Option<PasswordAuthenticator>,
    ) -> std::io::Result<Server<H>> {
        Ok(Self::from_listener(
            TcpListener::bind(listen).await?,
            handler,
            auth,
        ))
    }

    /// Serves on an already bound listener (so the caller can learn the port first).
    pub fn from_listener(
        listener: TcpListener,
        handler: H,
        auth: Option<PasswordAuthenticator>,
    ) -> Server<H> {
        Self::from_listener_with(listener, handler, auth, ServerOptions::default())
    }

    /// [`Server::from_listener`] with bounds other than the defaults.
    pub fn from_listener_with(
        listener: TcpListener,
        handler: H,
        auth: Option<PasswordAuthenticator>,
        opts: ServerOptions,
    ) -> Server<H> {
        let (stop, shutdown) = watch::channel(false);
        let (events, _) = broadcast::channel::<SchemaChange>(EVENT_QUEUE);
        Server {
            listener,
            shared: Arc::new(Shared {
                handler,
                events,
                auth,
                shutdown,
                metrics: Arc::new(ServerMetrics::default()),
                fair: FairQueue::new(
                    fair_queue::MAX_RUNNING,
                    fair_queue::MAX_WAITING_PER_CONNECTION,
                ),
                identical: crate::identical::IdenticalLines::new(opts.identical),
                next_connection: std::sync::atomic::AtomicU64::new(0),
            }),
            stop,
        }
    }

    /// The server's request counters, for the metrics endpoint.
    pub fn metrics(&self) -> Arc<ServerMetrics> {
        Arc::clone(&self.shared.metrics)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then closes every connection.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut connections = JoinSet::new();
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = accept(&self.listener, &slots) => match accepted {
                    Ok((stream, slot)) => {
                        let shared = self.shared.clone();
                        connections.spawn(async move {
                            connection::serve(stream, shared).await;
                            drop(slot);
                        });
                    }
                    // Out of file descriptors and the like: wait a little rather than spin.
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = &mut shutdown => break,
            }
        }
        let _ = self.stop.send(true);
        let drain = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            connections.abort_all();
        }
    }
}

/// Waits for a free connection slot, then for a client.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(TcpStream, OwnedSemaphorePermit)> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| std::io::Error::other("connection slots closed"))?;
    let (stream, _peer) = listener.accept().await?;
    Ok((stream, slot))
}
