//! One client connection: a reader task that decodes frames and starts a task per request,
//! and a writer task that sends responses as they finish, so responses go out in completion
//! order with their request's stream id.
//!
//! A frame that cannot be decoded gets a protocol error and ends the connection (after the
//! answers already under way are written); nothing a client sends can panic the server or
//! touch another connection.

use crate::auth::{PasswordAuthenticator, AUTHENTICATOR_CLASS};
use crate::dispatch::{request_kind, request_name, run_request};
use crate::fair_queue::FairQueue;
use crate::handler::Handler;
use crate::metrics::ServerMetrics;
use crate::protocol::frame::{unsupported_version_message, HeaderError};
use crate::protocol::request::decode_request;
use crate::protocol::{Compression, Header, Request, Response, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use scrolldb::cql::result::{CqlError, ErrorKind, SchemaChange};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Semaphore};

/// Requests one connection may have in flight; past this the reader waits, which pushes back
/// on the client through TCP.
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 1024;
/// Request body bytes one connection may have in flight: room for one frame of the maximum
/// size, so a client cannot make the server hold more than this much of its requests.
pub const MAX_IN_FLIGHT_BYTES_PER_CONNECTION: usize = crate::protocol::MAX_BODY_BYTES;
/// Encoded responses queued for the writer.
const WRITE_QUEUE_FRAMES: usize = 1024;
/// The read buffer: frames from a busy client arrive back to back, so one `recv` brings
/// many of them instead of three syscalls (first byte, header, body) per frame.
const READ_BUFFER_BYTES: usize = 64 * 1024;

type Reader = BufReader<OwnedReadHalf>;
/// The CQL version we report in SUPPORTED and accept in STARTUP.
pub const CQL_VERSION: &str = "3.3.1";

/// What every connection shares: the CQL layer, the schema event bus, authentication and the
/// shutdown signal.
pub struct Shared<H> {
    pub handler: H,
    pub events: broadcast::Sender<SchemaChange>,
    pub auth: Option<PasswordAuthenticator>,
    pub shutdown: watch::Receiver<bool>,
    /// Request counters and latencies, read by the metrics endpoint.
    pub metrics: Arc<ServerMetrics>,
    /// Places to run in the CQL layer, shared fairly between connections.
    pub fair: Arc<FairQueue>,
    /// Copies of one request wait here before the fair queue (see [`crate::identical`]).
    pub identical: crate::identical::IdenticalLines,
    /// Gives each connection its id (its line in the fair queue).
    pub next_connection: std::sync::atomic::AtomicU64,
}

/// Where the connection is in its handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for STARTUP (OPTIONS is also fine).
    Startup,
    /// STARTUP done, waiting for AUTH_RESPONSE.
    Authenticating,
    Ready,
}

struct Conn<H: Handler> {
    shared: Arc<Shared<H>>,
    /// This connection's line in the fair queue.
    id: u64,
    out: mpsc::Sender<Bytes>,
    compression: Option<Compression>,
    phase: Phase,
    /// The keyspace set by `USE`, read by every request when it opens its session.
    keyspace: Arc<Mutex<Option<String>>>,
    in_flight: Arc<Semaphore>,
    /// Permits are body bytes of the requests in flight.
    in_flight_bytes: Arc<Semaphore>,
    /// Set once REGISTERed for schema changes; dropping it (when the connection ends) stops
    /// the task that forwards events, so it does not keep the writer alive.
    events_guard: Option<oneshot::Sender<()>>,
}

/// Serves one client until it disconnects, sends a bad frame, or the server shuts down.
pub async fn serve<H: Handler>(stream: TcpStream, shared: Arc<Shared<H>>) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel(WRITE_QUEUE_FRAMES);
    let writer = tokio::spawn(write_loop(write, rx));
    let id = shared
        .next_connection
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared.metrics.connection_opened();
    let metrics = Arc::clone(&shared.metrics);
    let mut conn = Conn {
        id,
        shared,
        out: tx,
        compression: None,
        phase: Phase::Startup,
        keyspace: Arc::new(Mutex::new(None)),
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION)),
        in_flight_bytes: Arc::new(Semaphore::new(MAX_IN_FLIGHT_BYTES_PER_CONNECTION)),
        events_guard: None,
    };
    conn.read_loop(BufReader::with_capacity(READ_BUFFER_BYTES, read))
        .await;
    // Dropping the last sender (ours; request tasks hold clones until they finish) lets the
    // writer drain what is queued and close the socket.
    drop(conn);
    let _ = writer.await;
    metrics.connection_closed();
}

async fn write_loop(write: OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    let mut w = BufWriter::with_capacity(64 * 1024, write);
    while let Some(frame) = rx.recv().await {
        if w.write_all(&frame).await.is_err() {
            return;
        }
        // Batch whatever else is ready into the same flush.
        while let Ok(frame) = rx.try_recv() {
            if w.write_all(&frame).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

/// How reading one frame ended.
enum Read {
    Frame(Header, Bytes),
    /// The client closed the connection (or the socket failed): nothing to answer.
    Closed,
    /// A header we refuse: answer with this frame, then close.
    Refused(Bytes),
}

async fn read_frame(r: &mut Reader) -> Read {
    let mut head = [0u8; HEADER_LEN];
    let Some((first, rest)) = head.split_first_mut() else {
        return Read::Closed;
    };
    if r.read_exact(std::slice::from_mut(first)).await.is_err() {
        return Read::Closed;
    }
    // Protocol v1 and v2 headers are 8 bytes (one-byte stream): read only that much, so an
    // old client gets its version error instead of a server waiting for a ninth byte.
    let old = (*first & 0x7f) < 3;
    let rest_len = if old { HEADER_LEN - 2 } else { HEADER_LEN - 1 };
    if r.read_exact(rest.get_mut(..rest_len).unwrap_or_default())
        .await
        .is_err()
    {
        return Read::Closed;
    }
    let header = Header::parse(&head);
    if let Err(e) = header.check() {
        let frame = match e {
            HeaderError::UnsupportedVersion { version, stream } => Response::error(CqlError::new(
                ErrorKind::Protocol,
                unsupported_version_message(version),
            ))
            .encode_frame(stream, None),
            HeaderError::Invalid { stream, error } => {
                Response::error(error.into()).encode_frame(stream, None)
            }
        };
        return Read::Refused(frame);
    }
    // The length was checked against the 256 MiB limit; read in chunks so a client that
    // claims a large body but never sends it costs little memory.
    let len = header.body_len();
    let mut body = BytesMut::with_capacity(len.min(64 * 1024));
    while body.len() < len {
        let want = (len - body.len()).min(1 << 20);
        let mut chunk = (&mut *r).take(u64::try_from(want).unwrap_or(u64::MAX));
        match chunk.read_buf(&mut body).await {
            Ok(0) | Err(_) => return Read::Closed,
            Ok(_) => {}
        }
    }
    Read::Frame(header, body.freeze())
}

impl<H: Handler> Conn<H> {
    async fn read_loop(&mut self, mut read: Reader) {
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            let next = tokio::select! {
                r = read_frame(&mut read) => r,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            match next {
                Read::Closed => return,
                Read::Refused(frame) => {
                    let _ = self.out.send(frame).await;
                    return;
                }
                Read::Frame(header, body) => {
                    if !self.on_frame(header, body).await {
                        return;
                    }
                }
            }
        }
    }

    async fn send(&self, stream: i16, response: Response, compression: Option<Compression>) {
        let _ = self
            .out
            .send(response.encode_frame(stream, compression))
            .await;
    }

    /// Handles one frame; false ends the connection.
    async fn on_frame(&mut self, header: Header, body: Bytes) -> bool {
        let stream = header.stream;
        let body_len = header.body_len();
        let opcode = match header.check() {
            Ok(op) => op,
            Err(_) => return false,
        };
        let request = match decode_request(opcode, header.flags, body, self.compression) {
            Ok(r) => r,
            Err(e) => {
                self.send(stream, Response::error(e.into()), self.compression)
                    .await;
                return false;
            }
        };
        match (self.phase, request) {
            (_, Request::Options) => {
                let supported = BTreeMap::from([
                    ("CQL_VERSION".to_string(), vec![CQL_VERSION.to_string()]),
                    ("COMPRESSION".to_string(), Compression::names()),
                ]);
                self.send(stream, Response::Supported(supported), self.compression)
                    .await;
            }
            (Phase::Startup, Request::Startup(options)) => {
                return self.startup(stream, options).await
            }
            (Phase::Authenticating, Request::AuthResponse(token)) => {
                let verdict = match &self.shared.auth {
                    Some(auth) => auth.check(token.as_ref()),
                    None => Ok(String::new()),
                };
                match verdict {
                    Ok(_) => {
                        self.phase = Phase::Ready;
                        self.send(stream, Response::AuthSuccess(None), self.compression)
                            .await;
                    }
                    Err(message) => {
                        let e = CqlError::new(ErrorKind::BadCredentials, message);
                        self.send(stream, Response::error(e), self.compression)
                            .await;
                    }
                }
            }
            (Phase::Ready, Request::Register(events)) => self.register(stream, events).await,
            (
                Phase::Ready,
                request @ (Request::Query { .. }
                | Request::Prepare(_)
                | Request::Execute { .. }
                | Request::Batch(_)),
            ) => self.spawn_request(stream, request, body_len).await,
            (phase, request) => {
                let expecting = match phase {
                    Phase::Startup => "STARTUP",
                    Phase::Authenticating => "AUTH_RESPONSE",
                    Phase::Ready => "a request",
                };
                let e = CqlError::new(
                    ErrorKind::Protocol,
                    format!(
                        "Unexpected message {}, expecting {expecting}",
                        request_name(&request)
                    ),
                );
                self.send(stream, Response::error(e), self.compression)
                    .await;
            }
        }
        true
    }

    async fn startup(&mut self, stream: i16, options: BTreeMap<String, String>) -> bool {
        let compression = match options.get("COMPRESSION") {
            None => None,
            Some(name) => match Compression::from_name(name) {
                Some(c) => Some(c),
                None => {
                    let e = CqlError::new(
                        ErrorKind::Protocol,
                        format!("Unknown compression algorithm: {name}"),
                    );
                    self.send(stream, Response::error(e), None).await;
                    return false;
                }
            },
        };
        // The answer to STARTUP itself goes out uncompressed: drivers turn their decompressor
        // on only once they have read it.
        self.compression = compression;
        if self.shared.auth.is_some() {
            self.phase = Phase::Authenticating;
            self.send(
                stream,
                Response::Authenticate(AUTHENTICATOR_CLASS.to_string()),
                None,
            )
            .await;
        } else {
            self.phase = Phase::Ready;
            self.send(stream, Response::Ready, None).await;
        }
        true
    }

    async fn register(&mut self, stream: i16, events: Vec<String>) {
        for event in &events {
            if !matches!(
                event.as_str(),
                "SCHEMA_CHANGE" | "TOPOLOGY_CHANGE" | "STATUS_CHANGE"
            ) {
                let e = CqlError::new(ErrorKind::Protocol, format!("Invalid event type {event}"));
                self.send(stream, Response::error(e), self.compression)
                    .await;
                return;
            }
        }
        // One node: topology and status never change, so only schema changes are sent.
        if events.iter().any(|e| e == "SCHEMA_CHANGE") && self.events_guard.is_none() {
            let (guard, mut ended) = oneshot::channel::<()>();
            self.events_guard = Some(guard);
            let mut rx = self.shared.events.subscribe();
            let out = self.out.clone();
            let compression = self.compression;
            tokio::spawn(async move {
                loop {
                    let next = tokio::select! {
                        next = rx.recv() => next,
                        _ = &mut ended => return,
                    };
                    match next {
                        Ok(change) => {
                            let frame = Response::Event(change).encode_frame(-1, compression);
                            if out.send(frame).await.is_err() {
                                return;
                            }
                        }
                        // A slow client missed some events; drivers refresh the whole schema
                        // on the next one, so carry on.
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
        }
        self.send(stream, Response::Ready, self.compression).await;
    }

    async fn spawn_request(&mut self, stream: i16, request: Request, body_len: usize) {
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return;
        };
        // The header check bounds body_len by the budget, so this cannot wait forever.
        let cost = u32::try_from(body_len.clamp(1, MAX_IN_FLIGHT_BYTES_PER_CONNECTION))
            .unwrap_or(u32::MAX);
        let Ok(bytes) = self.in_flight_bytes.clone().acquire_many_owned(cost).await else {
            return;
        };
        let shared = self.shared.clone();
        let out = self.out.clone();
        let keyspace = self.keyspace.clone();
        let compression = self.compression;
        let id = self.id;
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let kind = request_kind(&request);
            let current = keyspace.lock().map(|k| k.clone()).unwrap_or_default();
            // Copies of a hot request wait parked in their own line, holding no fair-queue
            // place, so they neither fill the run queue nor delay other connections.
            let (response, turn) = match shared.identical.enter(&request, current.as_deref()).await
            {
                Ok(turn) => {
                    if turn.waited() {
                        shared.metrics.identical_waited();
                    }
                    (
                        run_fairly(&shared, id, &keyspace, request).await,
                        Some(turn),
                    )
                }
                Err(_) => {
                    shared.metrics.identical_shed();
                    (
                        Response::error(CqlError::new(
                            ErrorKind::Overloaded,
                            "Overloaded: too many identical requests waiting; retry later",
                        )),
                        None,
                    )
                }
            };
            if let Some(kind) = kind {
                let error = match &response {
                    Response::Error { error, .. } => Some(error),
                    _ => None,
                };
                shared.metrics.observe(kind, started.elapsed(), error);
            }
            // Encoding is part of a copy's cost: the next copy starts once it is done.
            let frame = response.encode_frame(stream, compression);
            drop(turn);
            let _ = out.send(frame).await;
            drop((permit, bytes));
        });
    }
}

/// Runs the request once it has a place in the fair queue.
async fn run_fairly<H: Handler>(
    shared: &Shared<H>,
    connection: u64,
    keyspace: &Mutex<Option<String>>,
    request: Request,
) -> Response {
    match shared.fair.enter(connection).await {
        // A bug in the CQL layer must not leave the client waiting forever: a panic
        // becomes a server error on this stream.
        Ok(place) => {
            let r = AssertUnwindSafe(run_request(shared, keyspace, request))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!("a request panicked in the CQL layer");
                    Response::error(CqlError::server(
                        "internal error while running the request (see the server log)",
                    ))
                });
            drop(place);
            r
        }
        Err(_) => {
            shared.metrics.fair_queue_shed();
            Response::error(CqlError::new(
                ErrorKind::Overloaded,
                "Overloaded: this connection has too many requests waiting; retry later",
            ))
        }
    }
}
