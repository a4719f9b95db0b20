//! How a database is opened: shard count, engine options, queue bounds and back-pressure.

use crate::storage::engine::EngineOptions;
use crate::storage::mirror::MirrorOptions;
use std::time::Duration;

/// What a caller experiences when a shard's request queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backpressure {
    /// Block (sync calls) or yield (async calls) until the shard takes the request.
    #[default]
    Wait,
    /// Fail at once with [`crate::Error::Overloaded`].
    Fail,
}

/// Which disk I/O path the shards use: io_uring (`Uring`), std::fs (`Plain`), or io_uring
/// where the kernel allows it (`Auto`, decided once and logged). The storage engine's own
/// choice; `Options::io` overrides `Options::engine.io` for every shard.
pub use crate::storage::io::IoMode;

/// Options of [`crate::Db::open`]. `Default` gives one shard per usable CPU.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of shards; 0 means one per CPU this process may run on.
    pub shards: usize,
    /// Options of every shard's storage engine.
    pub engine: EngineOptions,
    /// Requests each shard's queue holds before callers feel back-pressure.
    pub queue_capacity: usize,
    pub backpressure: Backpressure,
    pub io: IoMode,
    /// Pin each shard thread to one CPU (falls back to unpinned, logged once, if refused).
    pub pin_threads: bool,
    /// How often an idle shard calls `Engine::tick` (periodic commitlog sync, background
    /// compaction). Should be well under the commitlog's sync period.
    pub tick_interval: Duration,
    /// At most this many queued write requests of one shard are merged into one commitlog
    /// batch (one fsync in group-commit mode), and at most this many queued reads are
    /// served before their replies are sent.
    pub max_batch_requests: usize,
    /// How long a shard with an empty queue keeps polling it (yielding the CPU between
    /// polls) before it sleeps. A request that arrives meanwhile is taken without a futex
    /// wake-up on either side; zero sleeps at once.
    pub idle_spin: Duration,
    /// Super-disk: a second directory (`MirrorOptions::dir`) that holds a copy of the whole
    /// database directory, written with every write and reconciled on open (see
    /// `db::mirror`). `MirrorOptions::root` and `reconcile_on_open` are set by the database.
    pub mirror: Option<MirrorOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shards: 0,
            engine: EngineOptions::default(),
            queue_capacity: 1024,
            backpressure: Backpressure::Wait,
            io: IoMode::Auto,
            pin_threads: true,
            tick_interval: Duration::from_millis(2),
            max_batch_requests: 64,
            idle_spin: Duration::from_micros(0),
            mirror: None,
        }
    }
}

impl Options {
    /// `Options::default()` with `n` shards.
    pub fn with_shards(n: usize) -> Self {
        Options {
            shards: n,
            ..Options::default()
        }
    }

    /// The shard count to run: `shards`, or the CPUs this process may use when 0.
    pub fn resolved_shards(&self) -> usize {
        if self.shards > 0 {
            return self.shards;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}
