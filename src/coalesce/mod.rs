//! Request coalescing and hot-partition protection for single-partition reads.
//!
//! When a big channel pings everyone, thousands of clients ask for the same newest 50
//! messages at once. Identical concurrent reads (same table, partition, slice, direction,
//! limit, columns and TTL second) are coalesced: the first becomes the *leader*, whose read
//! runs as a task of its own and reaches the shard; later ones *subscribe* to its result.
//! Because the key is the storage read itself, reads coalesce whatever the statement text,
//! prepared id or connection they came from (one node: consistency levels all read the same),
//! and requests for one partition meet in one map whichever connection they came on.
//!
//! Guarantees:
//! - a read that starts after the leader's result is known starts a new read (the flight
//!   leaves the map before its result is published), so nothing is cached;
//! - a read that starts after an acknowledged write to its partition never joins a leader
//!   from before the write ([`epochs`]: writes bump the partition's epoch, which is part of
//!   the key);
//! - the leader's error reaches every subscriber as the same error, and a client that goes
//!   away does not cancel the read for the others (the leader is a task of its own);
//! - a leader takes a place in its partition's [`gate`] and its shard's gate: bounded
//!   concurrent storage reads, a bounded line, and `Overloaded` beyond it;
//! - a leader of a partition that is hot right now may wait a moment before reading
//!   ([`hot`]) so that one storage read answers more requests; the wait comes before
//!   the read, so the answer is never older than it would have been.
//!
//! Scans are not coalesced: they span every shard and are never the hot path.

pub mod epochs;
pub mod gate;
pub mod hot;
pub mod memo;

use crate::cql::result::{CqlError, ErrorKind};
use crate::storage::model::{ColumnFilter, Direction, ReadQuery, ReadResult, Slice, TableId};
use bytes::Bytes;
use epochs::{Epoch, WriteEpochs};
use gate::KeyedGate;
use hot::HotTracker;
pub use hot::{HotOptions, HotPartition};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// How reads are coalesced and bounded. `Default` is what the server runs.
#[derive(Clone, Debug)]
pub struct CoalesceOptions {
    /// Coalesce identical concurrent reads (off: every request reads storage; the gates
    /// still apply).
    pub enabled: bool,
    /// Storage reads of one partition running at once.
    pub partition_max_reads: usize,
    /// Reads of one partition waiting for a place; beyond this, `Overloaded`.
    pub partition_max_waiting: usize,
    /// Storage reads of one shard running at once.
    pub shard_max_reads: usize,
    /// Reads of one shard waiting for a place; beyond this, `Overloaded`.
    pub shard_max_waiting: usize,
    /// Times a hot partition's leader yields to the runtime before reading, so that
    /// identical requests already runnable join it (0: read at once). Leaders of partitions
    /// that are not hot read at once.
    pub leader_yields: u32,
    /// A leader's storage read that takes longer fails with a read failure, delivered to
    /// every subscriber. `None` waits as long as the shard takes. Needs a runtime with its
    /// time driver enabled (the server's has), which is why it is off by default.
    pub leader_timeout: Option<std::time::Duration>,
    /// When a partition counts as hot, and whether its leaders hold before reading.
    pub hot: HotOptions,
}

impl Default for CoalesceOptions {
    fn default() -> Self {
        CoalesceOptions {
            enabled: true,
            partition_max_reads: 8,
            partition_max_waiting: 1024,
            shard_max_reads: 256,
            shard_max_waiting: 8192,
            leader_yields: 2,
            leader_timeout: None,
            hot: HotOptions::default(),
        }
    }
}

/// Counters since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoalesceStats {
    /// Single-partition reads asked for.
    pub requests: u64,
    /// Reads that went to a shard (leaders, or every read when coalescing is off).
    pub storage_reads: u64,
    /// Reads answered by another read's result.
    pub coalesced: u64,
    /// Reads refused with `Overloaded` by a partition or shard gate.
    pub shed: u64,
    /// Leaders whose read is under way now.
    pub leaders_in_flight: u64,
}

type Outcome = Result<ReadResult, CqlError>;

/// A flight's result as its subscribers share it: the storage rows, and what copies of one
/// statement build from them ([`memo`]). Subscribers get an `Arc` of it, not a deep copy.
#[derive(Debug, Default)]
pub struct Landed {
    pub result: ReadResult,
    pub memo: memo::Memo,
}

impl Landed {
    pub fn new(result: ReadResult) -> Landed {
        Landed {
            result,
            memo: memo::Memo::default(),
        }
    }
}

type SharedOutcome = Result<Arc<Landed>, CqlError>;

/// Two reads with equal keys return the same rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadKey {
    table: TableId,
    partition_key: Bytes,
    slice: Slice,
    direction: Direction,
    limit: Option<usize>,
    columns: ColumnFilter,
    now: i64,
    epoch: Epoch,
}

struct Flight {
    id: u64,
    result: watch::Receiver<Option<SharedOutcome>>,
    /// Requests that joined this flight.
    subscribers: u64,
}

/// The flights in the air, and the partitions that are hot.
#[derive(Default)]
struct Airspace {
    flights: HashMap<ReadKey, Flight>,
    hot: HotTracker,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    storage_reads: AtomicU64,
    coalesced: AtomicU64,
    shed: AtomicU64,
}

struct Inner {
    opts: CoalesceOptions,
    airspace: Mutex<Airspace>,
    next_flight: AtomicU64,
    epochs: WriteEpochs,
    partitions: Arc<KeyedGate<(TableId, Bytes)>>,
    shards: Arc<KeyedGate<usize>>,
    counters: Counters,
}

/// The coalescer of one engine; cheap to clone.
#[derive(Clone)]
pub struct Coalescer {
    inner: Arc<Inner>,
}

impl Default for Coalescer {
    fn default() -> Self {
        Coalescer::new(CoalesceOptions::default())
    }
}

impl std::fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("opts", &self.inner.opts)
            .field("stats", &self.stats())
            .finish()
    }
}

fn overloaded(what: &str) -> CqlError {
    CqlError::new(
        ErrorKind::Overloaded,
        format!("Overloaded: too many reads waiting for {what}; retry later"),
    )
}

/// Removes the flight from the map when the leader ends, even by panic, so no later read
/// joins a flight that will never publish.
struct Landing {
    inner: Arc<Inner>,
    key: Option<ReadKey>,
    id: u64,
}

impl Landing {
    fn land(&mut self) {
        if let Some(key) = self.key.take() {
            let mut air = self.inner.airspace.lock();
            if air.flights.get(&key).is_some_and(|f| f.id == self.id) {
                if let Some(flight) = air.flights.remove(&key) {
                    let requests = flight.subscribers + 1;
                    let opts = &self.inner.opts.hot;
                    air.hot
                        .landed(key.table, &key.partition_key, requests, opts);
                }
            }
        }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.land();
    }
}

impl Coalescer {
    pub fn new(opts: CoalesceOptions) -> Coalescer {
        Coalescer {
            inner: Arc::new(Inner {
                partitions: KeyedGate::new(opts.partition_max_reads, opts.partition_max_waiting),
                shards: KeyedGate::new(opts.shard_max_reads, opts.shard_max_waiting),
                opts,
                airspace: Mutex::new(Airspace::default()),
                next_flight: AtomicU64::new(0),
                epochs: WriteEpochs::default(),
                counters: Counters::default(),
            }),
        }
    }

    pub fn options(&self) -> &CoalesceOptions {
        &self.inner.opts
    }

    /// The partitions hot right now with what they cost, most requested first.
    pub fn hot_partitions(&self) -> Vec<HotPartition> {
        self.inner
            .airspace
            .lock()
            .hot
            .snapshot(&self.inner.opts.hot)
    }

    pub fn stats(&self) -> CoalesceStats {
        let c = &self.inner.counters;
        CoalesceStats {
            requests: c.requests.load(Ordering::Relaxed),
            storage_reads: c.storage_reads.load(Ordering::Relaxed),
            coalesced: c.coalesced.load(Ordering::Relaxed),
            shed: c.shed.load(Ordering::Relaxed),
            leaders_in_flight: self.inner.airspace.lock().flights.len() as u64,
        }
    }

    /// Reads holding or waiting for a place on `shard` (leaders only: subscribers cost the
    /// shard nothing).
    pub fn shard_depth(&self, shard: usize) -> usize {
        self.inner.shards.depth(&shard)
    }

    /// A write to the partition was applied: reads from now on must not join older reads.
    /// Call it before acknowledging the write.
    pub fn written(&self, table: TableId, partition_key: &[u8]) {
        self.inner.epochs.written(table, partition_key);
    }

    /// DDL or TRUNCATE ran: no read in flight may be joined any more.
    pub fn everything_changed(&self) {
        self.inner.epochs.everything_changed();
    }

    /// Reads `q` on `shard` through `fetch` (the real storage read), coalesced with an
    /// identical read in flight if there is one. Outside a tokio runtime the read is not
    /// coalesced (there is nowhere to run a leader that outlives its caller).
    pub async fn read<F, Fut>(&self, q: ReadQuery, shard: usize, fetch: F) -> Outcome
    where
        F: FnOnce(ReadQuery) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let landed = self.read_shared(q, shard, fetch).await?;
        Ok(Arc::try_unwrap(landed).map_or_else(|l| l.result.clone(), |l| l.result))
    }

    /// Like [`Coalescer::read`], but every subscriber of a flight gets the same [`Landed`]:
    /// no copy of the rows, and a memo for what the subscribers build from them.
    pub async fn read_shared<F, Fut>(&self, q: ReadQuery, shard: usize, fetch: F) -> SharedOutcome
    where
        F: FnOnce(ReadQuery) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let c = &self.inner.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let outcome = match runtime {
            Some(rt) if self.inner.opts.enabled => self.join_or_lead(rt, q, shard, fetch).await,
            _ => gated(&self.inner, q, shard, fetch)
                .await
                .map(|r| Arc::new(Landed::new(r))),
        };
        if outcome
            .as_ref()
            .is_err_and(|e| e.kind == ErrorKind::Overloaded)
        {
            c.shed.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    async fn join_or_lead<F, Fut>(
        &self,
        rt: tokio::runtime::Handle,
        q: ReadQuery,
        shard: usize,
        fetch: F,
    ) -> SharedOutcome
    where
        F: FnOnce(ReadQuery) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let inner = &self.inner;
        let key = ReadKey {
            table: q.table,
            partition_key: q.partition_key.clone(),
            slice: q.slice.clone(),
            direction: q.direction,
            limit: q.limit,
            columns: q.columns.clone(),
            now: q.now,
            epoch: inner.epochs.current(q.table, &q.partition_key),
        };
        let mut result = {
            let mut air = inner.airspace.lock();
            match air.flights.get_mut(&key) {
                Some(f) => {
                    inner.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    f.subscribers += 1;
                    f.result.clone()
                }
                None => {
                    let hot = air
                        .hot
                        .is_hot(key.table, &key.partition_key, &inner.opts.hot);
                    let hold = inner.opts.hot.hold.filter(|_| hot);
                    // Only a hot partition has identical requests queued behind its leader;
                    // a cold leader that yields only sends its read to the back of a busy
                    // run queue, twice.
                    let yields = if hot { inner.opts.leader_yields } else { 0 };
                    let id = inner.next_flight.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = watch::channel(None);
                    air.flights.insert(
                        key.clone(),
                        Flight {
                            id,
                            result: rx.clone(),
                            subscribers: 0,
                        },
                    );
                    let mut landing = Landing {
                        inner: Arc::clone(inner),
                        key: Some(key),
                        id,
                    };
                    let leader = Arc::clone(inner);
                    let timeout = inner.opts.leader_timeout;
                    rt.spawn(async move {
                        // Let requests already decoded and runnable reach the map before
                        // the read starts: delaying a read only makes its result fresher,
                        // and a hot partition gets many more subscribers per storage read.
                        for _ in 0..yields {
                            tokio::task::yield_now().await;
                        }
                        if let Some(hold) = hold {
                            tokio::time::sleep(hold).await;
                        }
                        let read = gated(&leader, q, shard, fetch);
                        let outcome = match timeout {
                            None => read.await,
                            Some(limit) => tokio::time::timeout(limit, read)
                                .await
                                .unwrap_or_else(|_| Err(timed_out(limit))),
                        };
                        // Leave the map first: a read that starts once the result is known
                        // must not find this flight.
                        landing.land();
                        let _ = tx.send(Some(outcome.map(|r| Arc::new(Landed::new(r)))));
                    });
                    rx
                }
            }
        };
        let outcome = match result.wait_for(Option::is_some).await {
            Ok(r) => r.clone().unwrap_or_else(|| Err(leader_lost())),
            Err(_) => Err(leader_lost()),
        };
        outcome
    }
}

fn timed_out(limit: std::time::Duration) -> CqlError {
    CqlError::new(
        ErrorKind::ReadFailure {
            received: 0,
            block_for: 1,
            num_failures: 1,
            data_present: false,
        },
        format!(
            "Operation failed - the read did not finish within {} ms",
            limit.as_millis()
        ),
    )
}

fn leader_lost() -> CqlError {
    CqlError::server("the coalesced read stopped without a result (see the server log)")
}

/// The storage read behind the partition's and the shard's gates.
async fn gated<F, Fut>(inner: &Arc<Inner>, q: ReadQuery, shard: usize, fetch: F) -> Outcome
where
    F: FnOnce(ReadQuery) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let _partition = inner
        .partitions
        .acquire((q.table, q.partition_key.clone()))
        .await
        .map_err(|_| overloaded("one partition"))?;
    let _shard = inner
        .shards
        .acquire(shard)
        .await
        .map_err(|_| overloaded("one shard"))?;
    inner.counters.storage_reads.fetch_add(1, Ordering::Relaxed);
    fetch(q).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
