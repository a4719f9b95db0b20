//! The messages table on scrolldb's single-shard storage engine.
//!
//! Memtable flushes and compactions run as jobs on two background threads (one each, as a
//! Db shard runs them), the way fjall flushes and compacts on its own threads: the writing
//! thread only freezes memtables and installs finished jobs.
//!
//! The tombstone failure threshold is off: phase 4 reads through a million row tombstones
//! on purpose, to measure what that costs.

use bytes::{Bytes, BytesMut};
use scrolldb_storage::clock::{now_micros, now_secs};
use scrolldb_storage::commitlog::{CommitlogOptions, PeriodicSyncThread, SyncMode};
use scrolldb_storage::compaction::{CompactionJob, CompactionMode, CompactionResult};
use scrolldb_storage::engine::{Engine, EngineOptions, FlushJob, FlushMode, FlushResult};
use scrolldb_storage::io::IoMode;
use scrolldb_storage::model::{
    Bound, Cell, ColumnFilter, DeletionTime, Direction, Mutation, ReadQuery, Row, Slice,
};
use scrolldb_storage::read::TombstoneThresholds;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::generator::Message;
use crate::keys;
use crate::store::{Durability, ReadCounters, ReadRow, Result, Store, SYNC_PERIOD_MS};

/// How often ingest calls `Engine::tick` in periodic mode: well under the sync period, so
/// the engine's 10 ms deadline is met without a thread of its own.
const TICK_INTERVAL: Duration = Duration::from_millis(2);

/// Writes between two reads of the clock (for `tick_if_due` and for write timestamps): two
/// clock reads per message were about 5% of the ingest writer's time. At the slowest
/// writes of any phase (a 2-writer group commit, ~5,000 writes/s) 32 writes are ~6 ms.
const WRITES_PER_CLOCK_READ: u32 = 32;

pub struct ScrolldbStore {
    engine: Engine,
    flusher: Worker<FlushJob, FlushResult>,
    compactor: Worker<CompactionJob, CompactionResult>,
    durability: Durability,
    last_tick: Instant,
    last_timestamp_us: i64,
    /// Writes since the clock was last read (see `WRITES_PER_CLOCK_READ`).
    writes_since_clock: u32,
    /// What the reads so far cost (measurement only).
    read_counters: ReadCounters,
    /// Time writes waited for a backlogged flush (measurement only).
    write_stall: Duration,
    /// Where a write's keys and values are built: each is split off as a `Bytes` sharing
    /// this buffer, instead of one allocation per field (five small allocations per message
    /// that the memtable copied from and freed right away: about a tenth of the writer).
    scratch: BytesMut,
}

/// Size of each `scratch` buffer; a new one is started when a message does not fit.
const SCRATCH_BYTES: usize = 256 << 10;

impl ScrolldbStore {
    pub fn open(dir: &Path, durability: Durability) -> Result<Self> {
        let sync = match durability {
            // fjall's journal buffers 8 KiB in the process between writes to the OS; this
            // is the same contract (see `Durability::Periodic`).
            Durability::Periodic => SyncMode::periodic_buffered(SYNC_PERIOD_MS),
            Durability::GroupCommit => SyncMode::GroupCommit,
        };
        let options = EngineOptions {
            commitlog: CommitlogOptions {
                sync,
                ..Default::default()
            },
            tombstones: TombstoneThresholds {
                warn: 1_000,
                fail: None,
            },
            // The periodic fsync on a thread of the commitlog's own, as fjall's (the bench's
            // persist thread): the writer never waits for a periodic fsync.
            commitlog_sync_thread: PeriodicSyncThread::Background,
            // Background compactions favour speed (their output is rewritten as tiers grow);
            // the major compaction the phase runs writes at the full level (3).
            background_compaction_zstd_level: Some(1),
            flush_mode: FlushMode::External,
            // `WORKLOAD_MAX_FROZEN_MEMTABLES=N`, `WORKLOAD_COMMITLOG_PREALLOCATE_BYTES=N`,
            // `WORKLOAD_FLUSH_ZSTD_LEVEL=N` and `WORKLOAD_IO` compare other settings (the
            // defaults are the engine's).
            max_frozen_memtables: env_or(
                "WORKLOAD_MAX_FROZEN_MEMTABLES",
                scrolldb_storage::engine::MAX_FROZEN_MEMTABLES,
            ),
            // Flushes at the engine's default level (-5, literals only); their output is
            // rewritten by compaction, so the space figure (after the major compaction, at
            // level 3) does not depend on it.
            flush_zstd_level: env_or(
                "WORKLOAD_FLUSH_ZSTD_LEVEL",
                EngineOptions::default().flush_zstd_level,
            ),
            // `WORKLOAD_IO=plain` writes with std::fs instead of io_uring (the default).
            io: match std::env::var("WORKLOAD_IO").as_deref() {
                Ok("plain") => IoMode::Plain,
                _ => IoMode::default(),
            },
            commitlog_preallocate_bytes: env_or(
                "WORKLOAD_COMMITLOG_PREALLOCATE_BYTES",
                scrolldb_storage::engine::DEFAULT_COMMITLOG_PREALLOCATE_BYTES,
            ),
            compaction_mode: CompactionMode::External,
            ..Default::default()
        };
        Ok(ScrolldbStore {
            engine: Engine::open(dir, options)?,
            flusher: Worker::spawn("bench-flush", FlushJob::run)?,
            compactor: Worker::spawn("bench-compact", CompactionJob::run)?,
            durability,
            last_tick: Instant::now(),
            last_timestamp_us: 0,
            writes_since_clock: 0,
            read_counters: ReadCounters::default(),
            write_stall: Duration::ZERO,
            scratch: BytesMut::new(),
        })
    }

    /// Write timestamps in µs, strictly increasing so no two writes of a run tie.
    /// Between clock reads the timestamp steps by 1 µs, so timestamps stay strictly
    /// increasing and never run ahead of the clock.
    fn next_timestamp_us(&mut self) -> i64 {
        self.last_timestamp_us = if self.writes_since_clock == 0 {
            now_micros().max(self.last_timestamp_us + 1)
        } else {
            self.last_timestamp_us + 1
        };
        self.last_timestamp_us
    }

    /// Every `TICK_INTERVAL`: the engine's tick (periodic sync) and the background jobs.
    /// Checking jobs on every write instead cost about 8% of the write path (picking a
    /// compaction looks at every SSTable).
    fn tick_if_due(&mut self) -> Result<()> {
        self.writes_since_clock += 1;
        if self.writes_since_clock < WRITES_PER_CLOCK_READ {
            return Ok(());
        }
        self.writes_since_clock = 0;
        if self.last_tick.elapsed() < TICK_INTERVAL {
            return Ok(());
        }
        self.poll_background(false)?;
        if self.durability == Durability::Periodic {
            self.engine.tick()?;
        }
        self.last_tick = Instant::now();
        Ok(())
    }

    /// Installs finished jobs and starts the next ones. Before a write that would otherwise
    /// flush inline (frozen memtables at their limit), waits for the running flush instead,
    /// as a Db shard does.
    fn poll_background(&mut self, wait_for_compaction: bool) -> Result<()> {
        let engine = &mut self.engine;
        if engine.flush_backlogged() && self.flusher.running {
            let t = Instant::now();
            let result = self.flusher.wait()?;
            self.write_stall += t.elapsed();
            engine.install_flush(result)?;
        }
        if let Some(result) = self.flusher.try_result()? {
            engine.install_flush(result)?;
        }
        if !self.flusher.running {
            if let Some(job) = engine.take_flush() {
                self.flusher.start(job)?;
            }
        }
        let compaction = if wait_for_compaction && self.compactor.running {
            Some(self.compactor.wait()?)
        } else {
            self.compactor.try_result()?
        };
        if let Some(result) = compaction {
            engine.install(result)?;
        }
        if !self.compactor.running {
            if let Some(job) = engine.pick_compaction() {
                self.compactor.start(job)?;
            }
        }
        Ok(())
    }

    fn insert_mutation(&mut self, m: &Message) -> Mutation {
        let timestamp_us = self.next_timestamp_us();
        let partition_key = keys::scrolldb_partition_key_bytes(m.channel_id, m.bucket);
        let needed = 8 + 8 + m.content.len() + partition_key.len();
        if self.scratch.capacity() - self.scratch.len() < needed {
            self.scratch = BytesMut::with_capacity(SCRATCH_BYTES.max(needed));
        }
        let mut field = |bytes: &[u8]| {
            self.scratch.extend_from_slice(bytes);
            self.scratch.split().freeze()
        };
        let clustering = field(&keys::scrolldb_clustering(m.message_id));
        let author = field(&m.author_id.to_be_bytes());
        let content = field(m.content.as_bytes());
        let partition_key = field(&partition_key);
        let mut row = Row::new(clustering);
        row.marker = Some(Cell::live(timestamp_us, Bytes::new()));
        // In column order, as `Row::set` would leave them, without its search and growth.
        row.cells = vec![
            (
                keys::SCROLLDB_COLUMN_AUTHOR_ID,
                Cell::live(timestamp_us, author),
            ),
            (
                keys::SCROLLDB_COLUMN_CONTENT,
                Cell::live(timestamp_us, content),
            ),
        ];
        Mutation::new(keys::SCROLLDB_TABLE_ID, partition_key).with_row(row)
    }

    fn read(
        &mut self,
        channel_id: i64,
        bucket: i32,
        slice: Slice,
        limit: usize,
    ) -> Result<Vec<ReadRow>> {
        let query = ReadQuery {
            table: keys::SCROLLDB_TABLE_ID,
            partition_key: Bytes::from(keys::scrolldb_partition_key(channel_id, bucket)),
            slice,
            direction: Direction::Forward,
            limit: Some(limit),
            columns: ColumnFilter::All,
            now: now_secs(),
        };
        let result = self.engine.read(&query)?;
        let c = &mut self.read_counters;
        c.partition_reads += 1;
        c.sstables_read += result.stats.sstables_read;
        c.blocks_read += result.stats.blocks_read;
        result.rows.iter().map(read_row).collect()
    }
}

/// The value of environment variable `name`, or `default` when unset or unparsable.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn read_row(row: &Row) -> Result<ReadRow> {
    let message_id =
        keys::scrolldb_message_id(&row.clustering).ok_or("scrolldb clustering key too short")?;
    let mut read = ReadRow {
        message_id,
        author_id: 0,
        content_bytes: 0,
    };
    for (column, cell) in &row.cells {
        let Some(value) = cell.bytes() else { continue };
        match *column {
            keys::SCROLLDB_COLUMN_AUTHOR_ID => {
                let author: [u8; 8] = value
                    .as_ref()
                    .try_into()
                    .map_err(|_| "author_id is not 8 bytes")?;
                read.author_id = i64::from_be_bytes(author);
            }
            keys::SCROLLDB_COLUMN_CONTENT => read.content_bytes = value.len(),
            _ => {}
        }
    }
    Ok(read)
}

impl Store for ScrolldbStore {
    fn ingest(&mut self, batch: &[Message]) -> Result<()> {
        let mutations: Vec<Mutation> = batch.iter().map(|m| self.insert_mutation(m)).collect();
        if self.engine.flush_backlogged() {
            self.poll_background(false)?;
        }
        self.engine.apply_batch(mutations)?;
        self.tick_if_due()
    }

    fn newest(&mut self, channel_id: i64, bucket: i32, limit: usize) -> Result<Vec<ReadRow>> {
        self.read(channel_id, bucket, Slice::all(), limit)
    }

    fn older_than(
        &mut self,
        channel_id: i64,
        bucket: i32,
        message_id: i64,
        limit: usize,
    ) -> Result<Vec<ReadRow>> {
        let start = Bytes::copy_from_slice(&keys::scrolldb_clustering(message_id));
        let slice = Slice::new(Bound::Excluded(start), Bound::Unbounded);
        self.read(channel_id, bucket, slice, limit)
    }

    fn delete(&mut self, channel_id: i64, bucket: i32, message_id: i64) -> Result<()> {
        let timestamp_us = self.next_timestamp_us();
        let mut row = Row::new(Bytes::copy_from_slice(&keys::scrolldb_clustering(
            message_id,
        )));
        row.deletion = Some(DeletionTime::new(timestamp_us, now_secs()));
        let mutation = Mutation::new(
            keys::SCROLLDB_TABLE_ID,
            keys::scrolldb_partition_key(channel_id, bucket),
        )
        .with_row(row);
        self.engine.apply(mutation)?;
        self.tick_if_due()
    }

    fn flush(&mut self) -> Result<()> {
        self.engine.flush()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<()> {
        self.wait_idle()?;
        self.engine.compact_all()?;
        Ok(())
    }

    fn wait_idle(&mut self) -> Result<()> {
        loop {
            if self.flusher.running {
                let result = self.flusher.wait()?;
                self.engine.install_flush(result)?;
            }
            self.poll_background(true)?;
            if !self.flusher.running && !self.compactor.running {
                return Ok(());
            }
        }
    }

    fn set_gc_grace_secs(&mut self, secs: i64) -> Result<()> {
        self.engine.set_gc_grace_secs(keys::SCROLLDB_TABLE_ID, secs);
        Ok(())
    }

    fn write_stall_s(&self) -> Option<f64> {
        Some(self.write_stall.as_secs_f64())
    }

    fn read_counters(&self) -> Option<ReadCounters> {
        Some(ReadCounters {
            block_cache_misses: self.engine.block_cache_stats().misses,
            ..self.read_counters
        })
    }

    fn disk_bytes(&self) -> Result<u64> {
        Ok(self.engine.disk_bytes())
    }
}

/// A background thread running one job at a time (a flush or a compaction), like a Db
/// shard's flush and compaction threads.
struct Worker<J, R> {
    jobs: std::sync::mpsc::SyncSender<J>,
    results: std::sync::mpsc::Receiver<R>,
    running: bool,
}

impl<J: Send + 'static, R: Send + 'static> Worker<J, R> {
    fn spawn(name: &str, run: fn(J) -> R) -> Result<Self> {
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<J>(1);
        let (result_tx, results) = std::sync::mpsc::sync_channel::<R>(1);
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(run(job)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Worker {
            jobs,
            results,
            running: false,
        })
    }

    fn start(&mut self, job: J) -> Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| "background thread is gone")?;
        self.running = true;
        Ok(())
    }

    fn try_result(&mut self) -> Result<Option<R>> {
        if !self.running {
            return Ok(None);
        }
        match self.results.try_recv() {
            Ok(r) => {
                self.running = false;
                Ok(Some(r))
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => Ok(None),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Err("background thread is gone".into())
            }
        }
    }

    fn wait(&mut self) -> Result<R> {
        let r = self
            .results
            .recv()
            .map_err(|_| "background thread is gone")?;
        self.running = false;
        Ok(r)
    }
}
