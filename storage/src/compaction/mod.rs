//! Compaction: which SSTables to merge ([`picker`], per-table [`config`] with Cassandra's
//! size-tiered and time-window strategies), the merge itself as a job that can run on any
//! thread ([`job`]), and what a merge may drop ([`purge`]).
//!
//! The engine owns the state (which SSTables are live, which are being compacted) and the
//! commit point (the manifest); this module owns the decisions and the work. The API, from
//! the engine's side:
//!
//! 1. [`crate::engine::Engine::pick_compaction`] returns a [`CompactionJob`] (or `None`),
//!    marking its inputs as being compacted so no other job takes them.
//! 2. [`CompactionJob::run`] writes and fsyncs the output SSTable, on any thread.
//! 3. [`crate::engine::Engine::install`] commits the new set through the manifest, then
//!    deletes the inputs. A crash before the manifest commit leaves the old set (the output
//!    is an unlisted file, removed on open); after it, the new set (leftover inputs likewise).
//!
//! With [`CompactionMode::InlineOnTick`] the engine does all three itself from `tick()`.

pub mod config;
pub mod job;
pub mod picker;
pub mod purge;
pub mod size_tiered;
pub mod time_window;
mod tracker;

pub use config::{
    CompactionConfig, SizeTieredOptions, Strategy, TimeWindowOptions, TombstoneCompaction,
};
pub use job::{CompactionJob, CompactionResult};
pub use picker::{Candidate, CompactionReason, Pick};
pub use tracker::CompactionStats;
pub(crate) use tracker::Tracker;

/// Who runs background compaction jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CompactionMode {
    /// `Engine::tick` picks and runs (on the calling thread) at most one job per call, when
    /// the SSTable set changed or a second has passed since it last looked.
    #[default]
    InlineOnTick,
    /// The owner calls `pick_compaction`, runs jobs where it likes, and `install`s results
    /// (the shard runtime's compaction thread).
    External,
}
