//! `scrolldb-storage`: the LSM engine of one scrolldb shard.
//!
//! One [`Engine`](engine::Engine) owns one directory: a commitlog, one memtable per table and the immutable
//! SSTables flushed from them. It is driven by a single thread (the shard's) and by default
//! starts no threads of its own; time-based work such as the periodic commitlog sync happens
//! when the owner calls [`Engine::tick`](engine::Engine::tick). The one opt-in exception is
//! `EngineOptions::commitlog_sync_thread = Background`, which runs the periodic fsyncs on a
//! `commitlog-sync` thread. Background [`compaction`] and flushes run inline, or as `Send`
//! jobs the owner runs on a thread of its choice.
//!
//! What it stores is described in [`model`]: mutations of one partition (rows, cells with
//! write timestamps and TTLs, and row, range and partition tombstones), reconciled
//! last-write-wins as Cassandra does. Partitions are ordered by their Murmur3 token
//! ([`token`]), rows by a byte-comparable clustering key ([`types`]). Reads walk a partition
//! forward or backward natively, block by block.
//!
//! Everything it writes (commitlog, SSTables) goes through one I/O backend per engine
//! ([`io`]: io_uring or std::fs); SSTables are read through memory maps (positioned reads
//! through the mirror layer when mirrored), with a bounded cache of decompressed blocks per
//! engine.
//!
//! It does not own the schema (the `scrolldb` crate's catalog does), the CQL language, the
//! network, or the shard threads.

#![deny(clippy::unwrap_used)]

pub mod clock;
pub mod codec;
pub mod commitlog;
pub mod compaction;
pub mod engine;
pub mod error;
pub mod fuzz_targets;
pub mod io;
pub mod memtable;
pub mod mirror;
pub mod model;
pub mod read;
pub mod sstable;
pub mod token;
pub mod types;

pub use error::{Error, Result};
