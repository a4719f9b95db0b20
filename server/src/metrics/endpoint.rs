//! The metrics endpoint: a deliberately tiny HTTP/1.1 server that answers `GET /metrics` (and
//! `GET /`) with the Prometheus text of [`super::prometheus`], one request per connection.
//! Bounded in every direction: request head size, time to send it, concurrent scrapes.

use super::prometheus::{render, Report, CONTENT_TYPE};
use super::ServerMetrics;
use scrolldb::cql::CqlEngine;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The address `--metrics` listens on unless told otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9180";
const MAX_HEAD_BYTES: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_SCRAPES: usize = 16;

/// Where a scrape's numbers come from.
#[derive(Clone)]
pub struct Source {
    pub server: Arc<ServerMetrics>,
    /// The engine whose coalescer and database are reported; `None` reports requests only.
    pub engine: Option<CqlEngine>,
}

impl Source {
    /// Takes every counter now. The shards' statistics are a blocking call that waits on
    /// every shard thread, so it runs off the async workers.
    pub async fn report(&self) -> Report {
        let mut report = Report {
            server: self.server.snapshot(),
            ..Report::default()
        };
        if let Some(engine) = &self.engine {
            let c = engine.coalescer();
            report.coalesce = Some(c.stats());
            report.mirror = engine.db().mirror_status();
            report.hot_partitions = c.hot_partitions();
            report.hot_partitions.truncate(super::prometheus::HOT_SHOWN);
            let shards = engine.db().shard_count();
            report.read_gate_depths = (0..shards).map(|s| c.shard_depth(s)).collect();
            let db = engine.db().clone();
            report.db = tokio::task::spawn_blocking(move || db.stats().ok())
                .await
                .ok()
                .flatten();
        }
        report
    }
}

/// Serves scrapes until `shutdown` completes.
pub async fn serve(listener: TcpListener, source: Source, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(MAX_SCRAPES));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Too many scrapes at once: this one is closed unanswered.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let source = source.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &source).await;
            drop(slot);
        });
    }
}

async fn answer(mut stream: TcpStream, source: &Source) -> std::io::Result<()> {
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let first = head.lines().next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next(), parts.next());
    let path = path.map(|p| p.split('?').next().unwrap_or(p));
    let (status, content_type, body) = match (method, path) {
        (Some("GET"), Some("/metrics" | "/")) => {
            ("200 OK", CONTENT_TYPE, render(&source.report().await))
        }
        (Some("GET"), _) => (
            "404 Not Found",
            "text/plain",
            "scrolldb serves metrics at /metrics\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the blank line ending the request head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
