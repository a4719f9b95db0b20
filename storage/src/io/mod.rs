//! The I/O backend: the file operations whose cost or durability matters, behind one small
//! trait so that an engine picks how they are done once, at open.
//!
//! Commitlog appends and fsyncs, segment creation, and SSTable writes (with their fsync and
//! directory fsync) go through a [`FileIo`]. Two backends exist: [`PlainIo`] (std::fs,
//! one syscall per operation) and, on Linux, `UringIo` (an io_uring owned by the engine:
//! a write or fsync is a submission followed by a wait for its completion). [`IoMode`] in
//! the engine options chooses; `Auto` tries io_uring and falls back to plain I/O where the
//! kernel or a seccomp filter refuses `io_uring_setup`.
//!
//! SSTable reads of an unmirrored engine do not go through here: they stay on the memory
//! map (see `docs/ARCHITECTURE.md`). A mirrored engine reads its SSTables with positioned
//! reads through [`FileIo::read_checked`] instead, so that a failing local disk becomes an
//! error the mirror layer answers from its second copy rather than a SIGBUS in a mapping
//! ([`FileIo::positioned_reads`] tells readers which to use).
//!
//! Namespace operations (create, rename, remove) stay on std::fs in both backends; what
//! makes them durable (the directory fsync) goes through the backend.
//!
//! Creating, renaming and removing files and directories also go through the trait (with
//! std::fs defaults), so that a wrapping layer sees every change of the namespace: the
//! mirror ([`crate::mirror`]) repeats each of them in a second directory, and tests inject
//! faults there.

mod plain;
#[cfg(target_os = "linux")]
mod uring;

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, Once};

pub use plain::PlainIo;
#[cfg(target_os = "linux")]
pub use uring::UringIo;

use crate::error::{Error, Result};

/// Which backend an engine uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoMode {
    /// io_uring where the kernel allows it, plain I/O otherwise.
    #[default]
    Auto,
    /// io_uring, or fail to open.
    Uring,
    /// std::fs: positional writes, fdatasync, fsync.
    Plain,
}

/// What makes a file's written data durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// The data and what is needed to read it back (fdatasync): enough for appends to a
    /// file whose size change is then also made durable.
    Data,
    /// Data and all metadata (fsync).
    All,
}

/// File operations of a backend. Every method blocks until the operation completed.
pub trait FileIo: Send + Sync + std::fmt::Debug {
    /// Which backend this is, for logs and tests.
    fn name(&self) -> &'static str;

    /// Writes all of `buf` at `offset` of `file` (retrying short writes).
    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()>;

    /// Makes what was written to `file` durable.
    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()>;

    /// Writes `buf` at `offset` and then syncs, as one request where the backend can:
    /// io_uring links the two so they cost one submission.
    fn write_all_at_and_sync(
        &self,
        file: &File,
        buf: &[u8],
        offset: u64,
        kind: SyncKind,
    ) -> std::io::Result<()> {
        self.write_all_at(file, buf, offset)?;
        self.sync(file, kind)
    }

    /// Makes creations, renames and removals of entries in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        let d = File::open(dir)?;
        self.sync(&d, SyncKind::All)
    }

    /// Creates `path` for reading and writing: a new file (`create_new`, failing if it
    /// exists) or an emptied one.
    fn create_file(&self, path: &Path, create_new: bool) -> std::io::Result<File> {
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        if create_new {
            o.create_new(true);
        } else {
            o.create(true).truncate(true);
        }
        o.open(path)
    }

    /// Truncates (or extends) `file` to `len` bytes: the commitlog cutting a torn tail.
    fn set_len(&self, file: &File, len: u64) -> std::io::Result<()> {
        file.set_len(len)
    }

    /// Renames `from` to `to` (replacing `to`).
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    /// Removes a file.
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    /// Creates a directory and its missing parents.
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(path)
    }

    /// Removes a directory and everything in it.
    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    /// Opens an existing file for reading. The mirror falls back to its second copy when
    /// the local one cannot be opened.
    fn open_read(&self, path: &Path) -> std::io::Result<File> {
        File::open(path)
    }

    /// Whether readers of immutable files (SSTables) should read through
    /// [`FileIo::read_checked`] rather than a memory map: true where a second copy can
    /// answer a failed read (the mirror), false for a single disk, where a map is cheaper.
    fn positioned_reads(&self) -> bool {
        false
    }

    /// Reads `buf.len()` bytes at `offset` of `file` (a short file is `UnexpectedEof`).
    fn read_exact_at(&self, file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }

    /// Reads `len` bytes at `offset` of `file` (opened from `path`) and hands them to `check`,
    /// which verifies them (checksums) and keeps what it decoded. When the read fails or
    /// `check` rejects the bytes, the mirror reads the same range of its second copy and
    /// checks that instead; a single disk returns the error (`InvalidData` with `check`'s
    /// reason for rejected bytes).
    fn read_checked(
        &self,
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        check: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> std::io::Result<()> {
        let _ = path;
        let mut buf = vec![0u8; len];
        self.read_exact_at(file, &mut buf, offset)?;
        check(&buf).map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidData, why))
    }

    /// Opens the second copy of `path` after its first copy proved unusable (`why`), or
    /// `None` when there is no second copy. The mirror counts and logs it.
    fn open_other_copy(&self, path: &Path, why: &str) -> Option<std::io::Result<File>> {
        let _ = (path, why);
        None
    }

    /// The mirror's state, when this backend mirrors (see [`crate::mirror`]).
    fn mirror_status(&self) -> Option<crate::mirror::MirrorStatus> {
        None
    }
}

/// A backend shared by everything one engine writes.
pub type Io = Arc<dyn FileIo>;

/// The plain std::fs backend, for callers that do not choose.
pub fn plain() -> Io {
    Arc::new(PlainIo)
}

/// Whether this process may use io_uring (tries to set up a small ring).
pub fn uring_available() -> bool {
    #[cfg(target_os = "linux")]
    {
        UringIo::new().is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

static LOG_CHOICE: Once = Once::new();

/// Opens the backend `mode` asks for and, when `mirror` is set, wraps it in the mirror
/// layer for the engine directory `dir`.
pub fn open_backend_mirrored(
    mode: IoMode,
    dir: &Path,
    mirror: Option<&crate::mirror::MirrorOptions>,
) -> Result<Io> {
    mirrored(open_backend(mode, dir)?, mode, dir, mirror)
}

/// Wraps `io` in the mirror layer for the engine directory `dir` when `mirror` is set; the
/// mirror copy is written by its own backend of kind `mode` unless the options name one.
pub fn mirrored(
    io: Io,
    mode: IoMode,
    dir: &Path,
    mirror: Option<&crate::mirror::MirrorOptions>,
) -> Result<Io> {
    match mirror {
        None => Ok(io),
        Some(m) => {
            // The mirror copy gets its own backend (its own ring), so that the two fsyncs
            // of a group commit can run at the same time.
            let mut m = m.clone();
            if m.mirror_io.is_none() {
                m.mirror_io = Some(open_backend(mode, dir)?);
            }
            crate::mirror::MirrorIo::open(io, dir, &m).map(|m| Arc::new(m) as Io)
        }
    }
}

/// Opens the backend `mode` asks for; `dir` names the engine in errors and logs. The choice
/// is logged once per process (every shard makes the same one).
pub fn open_backend(mode: IoMode, dir: &Path) -> Result<Io> {
    let io: Io = match mode {
        IoMode::Plain => plain(),
        IoMode::Uring => open_uring().map_err(|e| {
            Error::io(
                dir,
                std::io::Error::new(e.kind(), format!("io_uring backend unavailable: {e}")),
            )
        })?,
        IoMode::Auto => match open_uring() {
            Ok(io) => io,
            Err(e) => {
                LOG_CHOICE.call_once(|| {
                    tracing::info!(
                        error = %e,
                        "io_uring unavailable (old kernel or seccomp?): using plain file I/O"
                    );
                });
                plain()
            }
        },
    };
    LOG_CHOICE.call_once(|| tracing::info!(backend = io.name(), ?mode, "storage I/O backend"));
    Ok(io)
}

#[cfg(target_os = "linux")]
fn open_uring() -> std::io::Result<Io> {
    Ok(Arc::new(UringIo::new()?))
}

#[cfg(not(target_os = "linux"))]
fn open_uring() -> std::io::Result<Io> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "io_uring exists only on Linux",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn backends() -> Vec<Io> {
        let mut v = vec![plain()];
        if uring_available() {
            v.push(open_backend(IoMode::Uring, Path::new(".")).unwrap());
        } else {
            eprintln!("io_uring unavailable here: only the plain backend is tested");
        }
        v
    }

    #[test]
    fn writes_land_where_asked_and_sync() {
        for io in backends() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .unwrap();
            // Larger than one kernel write chunk would need, to exercise the loop a little.
            let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            io.write_all_at(&file, &big, 10).unwrap();
            io.write_all_at_and_sync(&file, b"head", 2, SyncKind::Data)
                .unwrap();
            io.sync(&file, SyncKind::All).unwrap();
            io.sync_dir(dir.path()).unwrap();
            let mut got = vec![0u8; 10 + big.len()];
            file.read_exact_at(&mut got, 0).unwrap();
            assert_eq!(&got[2..6], b"head", "{}", io.name());
            assert_eq!(&got[10..], &big[..], "{}", io.name());
            assert_eq!(&got[..2], &[0, 0]);
        }
    }

    #[test]
    fn errors_come_back_as_errors() {
        for io in backends() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ro");
            std::fs::write(&path, b"x").unwrap();
            let read_only = File::open(&path).unwrap();
            let err = io.write_all_at(&read_only, b"y", 0).unwrap_err();
            assert_eq!(
                err.raw_os_error(),
                Some(9),
                "EBADF from {}: {err}",
                io.name()
            );
        }
    }

    #[test]
    fn auto_picks_a_backend_and_uring_mode_fails_cleanly_without_it() {
        let io = open_backend(IoMode::Auto, Path::new(".")).unwrap();
        let want = if uring_available() {
            "io_uring"
        } else {
            "plain"
        };
        assert_eq!(io.name(), want);
        assert_eq!(
            open_backend(IoMode::Uring, Path::new(".")).is_ok(),
            uring_available()
        );
    }
}
