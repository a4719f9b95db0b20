//! The database: N shard threads, the catalog, and the API a Rust program embeds.
//!
//! [`Db`] is a cheap handle (`Clone`, `Send`, `Sync`, an `Arc` inside). Every method has a
//! sync form for plain threads and, for data, an `_async` form for tokio code. The sync
//! forms block the calling thread on a one-shot reply. They work on a tokio runtime thread
//! too (inside `block_in_place` on a multi-thread runtime), but they hold that thread for the
//! wait, so async code should use the `_async` forms for data and may use the sync ones for
//! rare work (DDL, flush, compact, stats, close).
//!
//! - [`Db::apply`] / [`Db::read`] / [`Db::scan`]: the storage-level data path the CQL
//!   engine uses (mutations and reads with serialized keys);
//! - [`Db::insert`], [`Db::update`], [`Db::delete`], [`Db::select`]: typed access by column
//!   name with [`Value`](crate::storage::types::Value)s (module `typed`);
//! - DDL (`create_keyspace`, `create_table`, ...) in module `ddl`.
//!
//! ```
//! use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
//! use scrolldb::storage::types::{CqlType, Order, Value};
//! use scrolldb::{Db, Select};
//!
//! let db = Db::temporary()?;
//! db.create_keyspace(KeyspaceDef {
//!     name: "chat".into(),
//!     replication: Default::default(),
//!     durable_writes: true,
//! }, false)?;
//! let col = |name: &str, ty, kind| ColumnDef { name: name.into(), ty, id: 0, kind };
//! db.create_table(TableSchema {
//!     keyspace: "chat".into(),
//!     name: "messages".into(),
//!     id: 0,
//!     uuid: [0; 16],
//!     columns: vec![
//!         col("channel_id", CqlType::BigInt, ColumnKind::PartitionKey { position: 0 }),
//!         col("message_id", CqlType::BigInt, ColumnKind::Clustering { position: 0, order: Order::Desc }),
//!         col("content", CqlType::Text, ColumnKind::Regular),
//!     ],
//!     params: TableParams::default(),
//! }, false)?;
//! for id in 1..=3 {
//!     db.insert("chat", "messages", &[
//!         ("channel_id", Value::BigInt(7)),
//!         ("message_id", Value::BigInt(id)),
//!         ("content", Value::Text(format!("hello {id}"))),
//!     ])?;
//! }
//! let newest = db.select(&Select::new("chat", "messages", vec![Value::BigInt(7)]).limit(2))?;
//! assert_eq!(newest.rows[0].get("content"), Some(&Value::Text("hello 3".into())));
//! assert!(newest.paging_state.is_some());
//! # Ok::<(), scrolldb::Error>(())
//! ```

mod data;
mod ddl;
mod layout;
mod mirror;
pub mod options;
mod read_chain;
mod reshard;
mod scan;
pub mod stats;
pub mod typed;

use crate::catalog::store::{self, StoredCatalog};
use crate::catalog::{Catalog, TableParams, TableSchema};
use crate::error::{Error, Result};
use crate::shard::{pin, Shard};
use crate::storage::compaction::{CompactionConfig, CompactionMode};
use crate::storage::engine::TableOptions;
use parking_lot::{Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub use options::{Backpressure, IoMode, Options};
pub use stats::{DbStats, ShardStats};

/// A bound on `Options::shards`: one thread each, so a typo must not start a million.
pub const MAX_SHARDS: usize = 1024;

/// An open database. See the module documentation.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    opts: Options,
    shards: Vec<Shard>,
    /// The snapshot readers take; replaced (never mutated) by DDL.
    catalog: RwLock<Arc<Catalog>>,
    /// Bumped after every catalog change, so a prepared statement can tell, with one
    /// atomic load, that its resolved columns may be stale.
    catalog_generation: AtomicU64,
    /// The authoritative catalog with its id counter; held for the whole of a DDL so DDL
    /// statements are serialized.
    ddl: Mutex<StoredCatalog>,
    closed: AtomicBool,
    /// Each shard engine's I/O backend, for the mirror's status (`mirror.rs`).
    mirrors: Vec<crate::storage::io::Io>,
    _lock: std::fs::File,
    /// Declared last: removed only after the shards have stopped (see `Drop`).
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.inner.dir)
            .field("shards", &self.inner.shards.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, dir = %self.dir.display(), "closing the database failed");
        }
    }
}

impl Inner {
    fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::SeqCst);
        let mut first_error = None;
        for shard in &self.shards {
            if let Err(e) = shard.shutdown() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Db {
    /// Opens (or creates) the database in `dir` with `opts.shards` shards, resharding on
    /// open if the directory was written with another shard count.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        Self::open_inner(dir.as_ref(), opts, None)
    }

    /// A database in a fresh temporary directory, removed when the last handle drops:
    /// what a test suite wants. Default options.
    pub fn temporary() -> Result<Db> {
        Self::temporary_with(Options::default())
    }

    pub fn temporary_with(opts: Options) -> Result<Db> {
        let temp = tempfile::Builder::new()
            .prefix("scrolldb-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let dir = temp.path().to_path_buf();
        Self::open_inner(&dir, opts, Some(temp))
    }

    fn open_inner(dir: &Path, opts: Options, temp: Option<tempfile::TempDir>) -> Result<Db> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let lock = layout::lock_dir(dir)?;
        // Before anything is read: a new host's empty directory is rebuilt from the mirror.
        let engine_mirror = mirror::prepare(dir, opts.mirror.as_ref())?;
        let stored = store::load(dir)?;
        let shard_count = opts.resolved_shards();
        if shard_count > MAX_SHARDS {
            return Err(Error::invalid(format!(
                "{shard_count} shards requested; at most {MAX_SHARDS}"
            )));
        }
        let mut engine_opts = opts.engine.clone();
        engine_opts.io = opts.io;
        // Shards run background compaction on their own compaction threads.
        engine_opts.compaction_mode = CompactionMode::External;
        engine_opts.flush_mode = crate::storage::engine::FlushMode::External;
        // The periodic fsync runs on the commitlog's own thread, so a shard never stops
        // serving for an fdatasync (same window of writes at risk; group commit unchanged).
        engine_opts.commitlog_sync_thread =
            crate::storage::commitlog::PeriodicSyncThread::Background;
        engine_opts.mirror = None;
        if let Some(m) = &engine_mirror {
            if mirror::reshard_pending(dir, shard_count)? {
                // Resharding renames whole directories: done unmirrored, then mirrored.
                for e in reshard::open_engines(dir, shard_count, &stored.catalog, &engine_opts)? {
                    e.close()?;
                }
                mirror::rebuild_mirror(dir, m)?;
            }
            engine_opts.mirror = Some(m.clone());
        }
        let mut engines = reshard::open_engines(dir, shard_count, &stored.catalog, &engine_opts)?;
        if let Some(m) = &engine_mirror {
            mirror::copy_top_files(dir, m)?;
        }
        let mirrors = engines.iter().map(|e| e.io_handle()).collect();
        let table_options: Vec<_> = stored
            .catalog
            .tables
            .values()
            .map(|t| (t.id, table_options(&t.params)))
            .collect();
        for engine in &mut engines {
            for (id, o) in &table_options {
                engine.set_table_options(*id, *o);
            }
        }
        let cpus = if opts.pin_threads {
            pin::allowed_cpus()
        } else {
            Vec::new()
        };
        let mut shards = Vec::with_capacity(shard_count);
        for (i, engine) in engines.into_iter().enumerate() {
            let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
            shards.push(Shard::spawn(i, engine, &opts, cpu)?);
        }
        tracing::info!(dir = %dir.display(), shards = shard_count, "database open");
        Ok(Db {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                opts,
                shards,
                catalog: RwLock::new(Arc::new(stored.catalog.clone())),
                catalog_generation: AtomicU64::new(0),
                ddl: Mutex::new(stored),
                closed: AtomicBool::new(false),
                mirrors,
                _lock: lock,
                _temp: temp,
            }),
        })
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// The I/O backend the shards' engines use (`"io_uring"` or `"plain"`).
    pub fn io_backend(&self) -> &'static str {
        self.inner.shards.first().map_or("none", |s| s.io_backend())
    }

    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The shard that owns a serialized partition key.
    pub fn shard_of(&self, partition_key: &[u8]) -> usize {
        crate::shard::routing::shard_of_key(partition_key, self.shard_count())
    }

    /// The current catalog snapshot (it never changes; DDL makes a new one).
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.inner.catalog.read())
    }

    /// Changes whenever the catalog does (see `Inner::catalog_generation`).
    pub(crate) fn catalog_generation(&self) -> u64 {
        self.inner.catalog_generation.load(Ordering::Acquire)
    }

    /// The table's schema, or `NotFound`.
    pub fn table(&self, keyspace: &str, table: &str) -> Result<Arc<TableSchema>> {
        self.check_open()?;
        self.catalog()
            .table(keyspace, table)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("table {keyspace}.{table}")))
    }

    /// Syncs every shard's commitlog and stops the shard threads. Nothing is flushed:
    /// commitlog replay on the next open restores the memtables. Later calls on any handle
    /// fail with [`Error::Closed`]. Dropping the last handle closes too.
    pub fn close(&self) -> Result<()> {
        self.inner.shutdown()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn shards(&self) -> &[Shard] {
        &self.inner.shards
    }

    fn backpressure(&self) -> Backpressure {
        self.inner.opts.backpressure
    }
}

/// The per-table engine options a table's CQL parameters imply. CREATE TABLE has already
/// refused a compaction map that does not parse; one that stopped parsing (a catalog written
/// by another version) falls back to the default strategy, loudly.
pub fn table_options(params: &TableParams) -> TableOptions {
    let compaction = CompactionConfig::parse(&params.compaction).unwrap_or_else(|e| {
        tracing::warn!(
            "compaction options {:?}: {e}; using the default strategy",
            params.compaction
        );
        CompactionConfig::default()
    });
    TableOptions {
        gc_grace_secs: params.gc_grace_seconds,
        compaction,
    }
}
