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
    /// Like `Periodic` (fsync at most once per `period_ms`), but appends collect in a buffer
    /// inside the process that reaches the OS only when it holds `buffer_bytes`, at the next
    /// sync, or when the log is closed or dropped: one `write` carries many appends.
    ///
    /// The price is that a **process kill** (not only a power loss) may now lose the
    /// acknowledged appends still in the buffer: at most `buffer_bytes` of them, and none
    /// older than about `period_ms` (the periodic sync writes the buffer out first). This is
    /// the contract of fjall's journal (an 8 KiB `BufWriter`) and of RocksDB without
    /// `manual_wal_flush`; `Periodic` keeps every acknowledged append across a kill.
    PeriodicBuffered { period_ms: u64, buffer_bytes: u64 },
    /// Sync every appended batch: a batch is durable when `append` returns (its write and
    /// fdatasync are one request to the I/O backend), and all its records share that fsync.
    GroupCommit,
}

impl SyncMode {
    /// `PeriodicBuffered` with fjall's journal buffer size (8 KiB).
    pub const fn periodic_buffered(period_ms: u64) -> SyncMode {
        SyncMode::PeriodicBuffered {
            period_ms,
            buffer_bytes: DEFAULT_WRITE_BUFFER_BYTES,
        }
    }

    /// Bytes of acknowledged appends this mode may hold in the process (0: none).
    pub fn buffer_bytes(self) -> u64 {
        match self {
            SyncMode::PeriodicBuffered { buffer_bytes, .. } => buffer_bytes,
            SyncMode::Periodic { .. } | SyncMode::GroupCommit => 0,
        }
    }
}

/// Default `buffer_bytes` of `SyncMode::PeriodicBuffered`: what fjall's journal buffers.
pub const DEFAULT_WRITE_BUFFER_BYTES: u64 = 8 << 10;

/// Which thread runs the fsyncs of `SyncMode::Periodic` and `PeriodicBuffered` (group commit
/// always syncs on the appending thread: its acknowledgement waits for the fsync anyway).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeriodicSyncThread {
    /// The owner's thread, inside `sync_if_due` / `tick`: no thread is started, and the owner
    /// stops for each fsync.
    #[default]
    Owner,
    /// A thread the log starts (`commitlog-sync`): the owner hands the fsync over and goes on;
    /// a failure comes back at its next call and stops the log. Same window of acknowledged
    /// writes at risk (the period plus one fsync).
    Background,
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
