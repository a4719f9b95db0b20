//! How the commitlog trades durability for throughput, and how it treats damaged files on open.
//!
//! Both choices are types rather than booleans so that a call site says what it means.

/// When appended records are made durable (fdatasync'd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Sync at most once per `period_ms`: an append is acknowledged before it is durable, and
    /// a power loss (not a process crash) may lose up to about `period_ms` of acknowledged
    /// writes. The owner must call [`super::Commitlog::tick`] when idle to bound that window.
    Periodic { period_ms: u64 },
    /// Sync every appended batch: a batch is durable when `append` returns (its write and
    /// fdatasync are one request to the I/O backend), and all its records share that fsync.
    GroupCommit,
}

/// What replay does with damage that cannot be explained by a crash during the last write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Truncate a torn tail of the last segment; fail with `Error::Corruption` on anything else.
    #[default]
    TolerateCorruptTail,
    /// Like `TolerateCorruptTail`, but skip a corrupt stretch in the middle of the log (and
    /// report it) instead of failing. Records in that stretch are lost.
    SkipCorruptRecords,
}

/// Default segment size: large enough that rotation (one fsync plus a file creation) is rare.
pub const DEFAULT_SEGMENT_SIZE_BYTES: u64 = 32 << 20;

/// Default period of `SyncMode::Periodic`.
pub const DEFAULT_SYNC_PERIOD_MS: u64 = 10;

/// Options of [`super::Commitlog::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitlogOptions {
    pub sync: SyncMode,
    /// A segment is rotated when the next batch would take it past this size. A single batch
    /// larger than this gets a segment of its own (batches are never split across segments).
    pub segment_size_bytes: u64,
    pub recovery: RecoveryMode,
}

impl Default for CommitlogOptions {
    fn default() -> Self {
        CommitlogOptions {
            sync: SyncMode::Periodic {
                period_ms: DEFAULT_SYNC_PERIOD_MS,
            },
            segment_size_bytes: DEFAULT_SEGMENT_SIZE_BYTES,
            recovery: RecoveryMode::default(),
        }
    }
}
