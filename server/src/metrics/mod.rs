//! What the server counts and how operators see it: [`ServerMetrics`] (requests by kind,
//! latency histograms, errors, requests shed by fair queuing), rendered with the read
//! coalescer's and the shards' counters as Prometheus text ([`prometheus`]), served over
//! HTTP on a loopback address ([`endpoint`]) and printed as a table by `scrolldb stats`
//! ([`table`]).

pub mod cli;
pub mod endpoint;
pub mod histogram;
pub mod prometheus;
pub mod table;

use histogram::Histogram;
use scrolldb::cql::result::{CqlError, ErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The request kinds counted separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    Query,
    Prepare,
    Execute,
    Batch,
}

impl RequestKind {
    pub const ALL: [RequestKind; 4] = [
        RequestKind::Query,
        RequestKind::Prepare,
        RequestKind::Execute,
        RequestKind::Batch,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Query => "query",
            RequestKind::Prepare => "prepare",
            RequestKind::Execute => "execute",
            RequestKind::Batch => "batch",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Default)]
struct PerKind {
    requests: AtomicU64,
    errors: AtomicU64,
    overloaded: AtomicU64,
    latency: Histogram,
}

/// Counters of one server, shared by every connection.
#[derive(Default)]
pub struct ServerMetrics {
    kinds: [PerKind; 4],
    connections_opened: AtomicU64,
    connections_open: AtomicU64,
    /// Requests refused by fair queuing before reaching the CQL layer.
    fair_queue_shed: AtomicU64,
    /// Requests that waited for identical copies to finish ([`crate::identical`]).
    identical_waited: AtomicU64,
    /// Requests refused because their identical copies' line was full.
    identical_shed: AtomicU64,
}

/// One kind's counters, copied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KindSnapshot {
    pub kind: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub overloaded: u64,
    pub latency: histogram::HistogramSnapshot,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerSnapshot {
    pub kinds: Vec<KindSnapshot>,
    pub connections_opened: u64,
    pub connections_open: u64,
    pub fair_queue_shed: u64,
    pub identical_waited: u64,
    pub identical_shed: u64,
}

impl ServerMetrics {
    /// Records one finished request.
    pub fn observe(&self, kind: RequestKind, took: Duration, error: Option<&CqlError>) {
        let Some(k) = self.kinds.get(kind.index()) else {
            return;
        };
        k.requests.fetch_add(1, Ordering::Relaxed);
        k.latency.record(took);
        if let Some(e) = error {
            k.errors.fetch_add(1, Ordering::Relaxed);
            if e.kind == ErrorKind::Overloaded {
                k.overloaded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn connection_opened(&self) {
        self.connections_opened.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn fair_queue_shed(&self) {
        self.fair_queue_shed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn identical_waited(&self) {
        self.identical_waited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn identical_shed(&self) {
        self.identical_shed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ServerSnapshot {
        ServerSnapshot {
            kinds: RequestKind::ALL
                .iter()
                .zip(&self.kinds)
                .map(|(kind, k)| KindSnapshot {
                    kind: kind.label(),
                    requests: k.requests.load(Ordering::Relaxed),
                    errors: k.errors.load(Ordering::Relaxed),
                    overloaded: k.overloaded.load(Ordering::Relaxed),
                    latency: k.latency.snapshot(),
                })
                .collect(),
            connections_opened: self.connections_opened.load(Ordering::Relaxed),
            connections_open: self.connections_open.load(Ordering::Relaxed),
            fair_queue_shed: self.fair_queue_shed.load(Ordering::Relaxed),
            identical_waited: self.identical_waited.load(Ordering::Relaxed),
            identical_shed: self.identical_shed.load(Ordering::Relaxed),
        }
    }
}
