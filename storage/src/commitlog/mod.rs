//! The commitlog: CRC-framed records in numbered segment files, replayed on open.
//!
//! Every mutation is appended here before it is applied to a memtable, so that a crash loses
//! nothing acknowledged. Payloads are opaque bytes (the engine stores encoded mutations).
//! One thread owns a [`Commitlog`]; time-based syncing happens when the owner calls
//! [`Commitlog::sync_if_due`] after appends or [`Commitlog::tick`] when idle. It starts no
//! thread unless asked to run the periodic fsyncs on one ([`Commitlog::sync_in_background`]).
//!
//! - [`segment`]: file names, the checksummed segment header, durable creation.
//! - [`record`]: record framing and its checksum.
//! - `replay`: replay of one segment, and how a torn tail is told from corruption.
//! - `sync`: when `SyncMode` wants an fsync.
//! - `background`: the thread that runs periodic fsyncs off the owner's thread.
//! - `log`: the [`Commitlog`] itself (open, append, sync, discard).
//!
//! The byte layout and the recovery rules are in `docs/FORMAT.md`, section "Commitlog".

mod background;
mod log;
pub mod options;
#[cfg(test)]
mod prealloc_tests;
pub mod record;
pub(crate) mod replay;
pub mod segment;
mod sync;

use std::path::PathBuf;

pub use log::Commitlog;
pub use options::{CommitlogOptions, PeriodicSyncThread, RecoveryMode, SyncMode};

/// A place in the log: a segment id and a byte offset in that segment's file. Positions
/// handed out by the log are record **ends**, so `discard_before(p)` discards the record that
/// ends at `p` and everything before it. They order as the records were appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// What [`Commitlog::open`] found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records passed to `on_record`.
    pub records: u64,
    /// Segments replayed (files with a valid header).
    pub segments: u64,
    /// Torn tails cut off the last segment (file, offset the file was truncated to, reason),
    /// and segments deleted as debris of a crash during their creation (offset 0).
    pub truncated: Vec<(PathBuf, u64, String)>,
    /// Corrupt stretches skipped under `RecoveryMode::SkipCorruptRecords` (file, offset, reason).
    pub skipped: Vec<(PathBuf, u64, String)>,
}

/// Counters since [`Commitlog::open`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitlogStats {
    /// fdatasync calls on segment files (not counting segment creation or directory syncs).
    pub syncs: u64,
    /// Bytes written by `append`, frame headers included.
    pub bytes_appended: u64,
    pub records_appended: u64,
    /// Segment files currently on disk, the active one included.
    pub live_segments: u64,
}
