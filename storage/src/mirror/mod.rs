//! Super-disk: RAID1-style mirroring of an engine's directory to a second directory.
//!
//! Local SSDs are fast but die with their host; persistent volumes survive but are slow. The
//! mirror keeps every byte the engine writes in both places and reads from the local one:
//!
//! - [`MirrorIo`] is a [`FileIo`](crate::io::FileIo) layer around the engine's backend
//!   (io_uring or plain). Every write, fsync, file creation, rename and removal is done
//!   locally and then repeated on the mirror copy, and returns only once both are done, so a
//!   commitlog append that is acknowledged (and, in group commit, fsynced) is on both disks.
//! - Reads stay local. A mirrored engine reads its SSTables with positioned reads through
//!   this layer (not a memory map, where a failing disk is a SIGBUS): a local read that
//!   fails or whose bytes fail their checksum is answered from the mirror's copy, counted,
//!   logged once per file, and the local range rewritten where that is cheap
//!   ([`FileIo::read_checked`](crate::io::FileIo::read_checked)); a local file that cannot
//!   be opened, or whose SSTable sections are damaged, is opened from the mirror instead.
//! - When the mirror fails at runtime, [`DegradedPolicy`] decides: keep serving from the
//!   local disk alone (the default) or refuse writes. Either way the layer marks itself
//!   degraded, logs loudly, counts it in [`MirrorStatus`], and a background thread resyncs
//!   the mirror from local once it is writable again ([`resync`]).
//! - [`tree`] copies, compares and reconciles two directory trees: the startup reconcile
//!   (rebuild an empty local directory, repair a copy that fails its checksums from the
//!   good one), `scrolldb mirror verify` and `scrolldb mirror rebuild`.
//!
//! What it does not do: read-balance between the copies, or mirror files written outside
//! the engine (the `scrolldb` crate mirrors its catalog itself).

mod check;
mod io;
pub mod marker;
mod read;
pub mod resync;
pub mod tree;

use std::path::{Path, PathBuf};

pub use check::{check_file, FileHealth};
pub use io::MirrorIo;
pub use tree::{rebuild, reconcile, verify, Difference, ReconcileReport};

use crate::io::Io;

/// What the engine does when the mirror fails at runtime (full, removed, I/O errors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DegradedPolicy {
    /// Keep accepting writes on the local disk alone, with a loud warning and a stat, and
    /// resync the mirror in the background once it is writable again. The default: the
    /// local copy is fsynced as before, so an acknowledged write still has one durable
    /// copy, exactly as a RAID1 with one failed leg; refusing writes would turn a failure
    /// of the backup disk into an outage of the service.
    #[default]
    KeepServing,
    /// Fail every write until the mirror is resynced: for deployments where a write that
    /// is not on the persistent disk must not be acknowledged.
    RefuseWrites,
}

/// Where and how an engine's directory is mirrored.
#[derive(Clone, Debug)]
pub struct MirrorOptions {
    /// The mirror of `root` (of the engine's own directory when `root` is `None`).
    pub dir: PathBuf,
    /// The local directory `dir` mirrors; an engine directory below it is mirrored at the
    /// same relative path under `dir`. Lets one `EngineOptions` serve every shard.
    pub root: Option<PathBuf>,
    pub on_failure: DegradedPolicy,
    /// How often a degraded mirror is probed for writability.
    pub resync_interval_ms: u64,
    /// Reconcile the engine directory with its mirror when the engine opens. The `scrolldb`
    /// crate turns it off: it reconciles the whole database directory itself first.
    pub reconcile_on_open: bool,
    /// The backend that writes the mirror copy; `None` uses the engine's own backend.
    /// Tests put a fault-injecting backend here.
    pub mirror_io: Option<Io>,
}

impl MirrorOptions {
    /// Mirroring to `dir` with the defaults.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        MirrorOptions {
            dir: dir.into(),
            root: None,
            on_failure: DegradedPolicy::default(),
            resync_interval_ms: 1000,
            reconcile_on_open: true,
            mirror_io: None,
        }
    }

    /// Where the mirror of the engine directory `engine_dir` lives.
    pub fn mirror_of(&self, engine_dir: &Path) -> PathBuf {
        match &self.root {
            Some(root) => match engine_dir.strip_prefix(root) {
                Ok(rel) => self.dir.join(rel),
                Err(_) => self.dir.join(engine_dir.file_name().unwrap_or_default()),
            },
            None => self.dir.clone(),
        }
    }
}

/// The state of one engine's mirror, for stats and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorStatus {
    /// The mirror missed writes and is not yet resynced.
    pub degraded: bool,
    /// Mirror operations that failed since open.
    pub errors: u64,
    /// Completed background resyncs.
    pub resyncs: u64,
    /// Reads the mirror's copy served because the local copy failed: a local file that
    /// could not be opened or whose SSTable sections failed their checks, or a data block
    /// whose local read failed or failed its checksum.
    pub read_fallbacks: u64,
    /// Ranges of local files rewritten with the mirror's good bytes after such a read.
    pub read_repairs: u64,
    /// The most recent mirror error, for the operator.
    pub last_error: Option<String>,
}
