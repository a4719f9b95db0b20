//! The mirroring I/O layer: each operation on the local copy, then the same on the mirror.
//!
//! The engine hands the backend a local `File`. The mirror's counterpart is found by the
//! local file's (device, inode): registered when the file is created through this layer,
//! and otherwise resolved once from `/proc/self/fd` (the local path) and opened. Inodes are
//! only reused after a removal, and removals and renames (after which nothing writes the
//! file again) drop their entry, so a stale mapping cannot send bytes to the wrong file.
//!
//! Both copies are written one after the other on the calling thread: a call returns once
//! both are done. A failing mirror operation degrades the layer ([`DegradedPolicy`]):
//! afterwards the mirror is skipped (or writes refused) until the background resync has made
//! it identical to local again.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::{marker, resync, DegradedPolicy, MirrorOptions, MirrorStatus};
use crate::error::{Error, Result};
use crate::io::{FileIo, Io, SyncKind};

/// (device, inode) of a local file.
type FileKey = (u64, u64);

/// State shared with the background resync thread.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Every mirrored operation holds it shared; the final resync pass holds it exclusively
    /// so that no write slips between its copy and the end of degraded mode.
    pub gate: RwLock<()>,
    /// The mirror copy of each local file written through this layer.
    pub files: Mutex<HashMap<FileKey, Arc<File>>>,
    pub degraded: AtomicBool,
    pub resync_running: AtomicBool,
    pub errors: AtomicU64,
    pub resyncs: AtomicU64,
    pub read_fallbacks: AtomicU64,
    pub read_repairs: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Local files a read had to take from the mirror since open: each is logged loudly
    /// once, and left out of the start-up marker so that the next start-up compares it in
    /// full (and repairs it). Bounded (`read.rs`).
    pub suspects: Mutex<HashSet<PathBuf>>,
    /// More files failed than `suspects` holds: no marker may vouch for any file.
    pub suspects_overflowed: AtomicBool,
}

/// Where the two copies of one engine directory live, and who writes the mirror.
#[derive(Clone, Debug)]
pub(super) struct Sides {
    pub local: PathBuf,
    /// `local` canonicalized, to map paths read back from `/proc/self/fd`.
    pub local_canonical: PathBuf,
    pub mirror: PathBuf,
    pub mirror_io: Io,
    pub resync_interval_ms: u64,
}

impl Sides {
    /// The mirror path of a local path below the engine directory.
    pub fn mirror_path(&self, local: &Path) -> std::io::Result<PathBuf> {
        let rel = local
            .strip_prefix(&self.local)
            .or_else(|_| local.strip_prefix(&self.local_canonical))
            .map_err(|_| {
                std::io::Error::other(format!(
                    "{} is outside the mirrored directory {}",
                    local.display(),
                    self.local.display()
                ))
            })?;
        Ok(if rel.as_os_str().is_empty() {
            self.mirror.clone()
        } else {
            self.mirror.join(rel)
        })
    }
}

/// A [`FileIo`] that writes everything to a local and a mirror directory. See the module docs.
#[derive(Debug)]
pub struct MirrorIo {
    pub(super) local_io: Io,
    pub(super) sides: Sides,
    policy: DegradedPolicy,
    pub(super) shared: Arc<Shared>,
}

impl MirrorIo {
    /// Mirrors the engine directory `dir` (which must exist) as `opts` says, writing the
    /// local copy with `local_io`. Reconciles the two first if `opts.reconcile_on_open`.
    pub fn open(local_io: Io, dir: &Path, opts: &MirrorOptions) -> Result<MirrorIo> {
        let mirror = opts.mirror_of(dir);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let local_canonical = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        if opts.reconcile_on_open {
            super::tree::reconcile(dir, &mirror)?;
        }
        let mirror_io = opts.mirror_io.clone().unwrap_or_else(|| local_io.clone());
        let io = MirrorIo {
            local_io,
            sides: Sides {
                local: dir.to_path_buf(),
                local_canonical,
                mirror,
                mirror_io,
                resync_interval_ms: opts.resync_interval_ms.max(1),
            },
            policy: opts.on_failure,
            shared: Arc::default(),
        };
        if let Err(e) = io.sides.mirror_io.create_dir_all(&io.sides.mirror) {
            io.mirror_failed("create the mirror directory", &io.sides.mirror, e)
                .map_err(|e| Error::io(&io.sides.mirror, e))?;
        }
        tracing::info!(local = %dir.display(), mirror = %io.sides.mirror.display(), policy = ?io.policy, "mirroring the engine directory");
        io.write_marker("open");
        Ok(io)
    }

    fn gate(&self) -> std::io::Result<std::sync::RwLockReadGuard<'_, ()>> {
        self.shared
            .gate
            .read()
            .map_err(|_| std::io::Error::other("mirror lock poisoned by a panic"))
    }

    /// Whether the mirror is to be skipped; an error when writes are refused while degraded.
    fn skip_mirror(&self) -> std::io::Result<bool> {
        if !self.shared.degraded.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match self.policy {
            DegradedPolicy::KeepServing => Ok(true),
            DegradedPolicy::RefuseWrites => Err(std::io::Error::other(format!(
                "the mirror {} is degraded and writes are refused until it is resynced",
                self.sides.mirror.display()
            ))),
        }
    }

    /// Records a failed mirror operation and applies the policy: `Ok` to carry on with the
    /// local copy alone, or the error to fail the caller's write.
    fn mirror_failed(&self, op: &str, path: &Path, e: std::io::Error) -> std::io::Result<()> {
        let s = &self.shared;
        s.errors.fetch_add(1, Ordering::Relaxed);
        let msg = format!("{op} on the mirror failed for {}: {e}", path.display());
        if let Ok(mut last) = s.last_error.lock() {
            *last = Some(msg.clone());
        }
        if !s.degraded.swap(true, Ordering::SeqCst) {
            tracing::error!(
                mirror = %self.sides.mirror.display(),
                policy = ?self.policy,
                "MIRROR DEGRADED: {msg}; the mirror no longer has every write until a background resync completes"
            );
            resync::start(&self.shared, &self.sides);
        }
        match self.policy {
            DegradedPolicy::KeepServing => Ok(()),
            DegradedPolicy::RefuseWrites => Err(std::io::Error::other(format!(
                "{msg} (writes are refused while the mirror is degraded)"
            ))),
        }
    }

    /// The mirror copy of `file`: from the map, or resolved through the local path.
    fn mirror_file(&self, file: &File) -> std::io::Result<Arc<File>> {
        let meta = file.metadata()?;
        let key = (meta.dev(), meta.ino());
        let mut files = self
            .shared
            .files
            .lock()
            .map_err(|_| std::io::Error::other("mirror file map poisoned"))?;
        if let Some(m) = files.get(&key) {
            return Ok(Arc::clone(m));
        }
        let local = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        let path = self.sides.mirror_path(&local)?;
        let m = Arc::new(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)?,
        );
        files.insert(key, Arc::clone(&m));
        Ok(m)
    }

    fn forget(&self, key: Option<FileKey>) {
        if let (Some(key), Ok(mut files)) = (key, self.shared.files.lock()) {
            files.remove(&key);
        }
    }

    /// Runs `op` on the mirror side unless degraded; a failure goes through the policy.
    fn on_mirror(
        &self,
        what: &str,
        path: &Path,
        op: impl FnOnce() -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match op() {
            Ok(()) => Ok(()),
            Err(e) => self.mirror_failed(what, path, e),
        }
    }

    fn mirrored_write(
        &self,
        file: &File,
        local: impl FnOnce(&dyn FileIo) -> std::io::Result<()>,
        mirror: impl FnOnce(&dyn FileIo, &File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let _gate = self.gate()?;
        let skip = self.skip_mirror()?;
        local(&*self.local_io)?;
        if skip {
            return Ok(());
        }
        match self.mirror_file(file) {
            Ok(m) => self.on_mirror("write", &self.sides.mirror, || {
                mirror(&*self.sides.mirror_io, &m)
            }),
            Err(e) => self.mirror_failed("open", &self.sides.mirror, e),
        }
    }

    /// Like [`Self::mirrored_write`] for operations that include an fsync: the mirror's
    /// runs on a helper thread at the same time as the local one, so a synced write costs
    /// about the slower of the two fsyncs rather than their sum. Returns once both are done.
    fn mirrored_synced_write(
        &self,
        file: &File,
        local: impl FnOnce(&dyn FileIo) -> std::io::Result<()> + Send,
        mirror: impl FnOnce(&dyn FileIo, &File) -> std::io::Result<()> + Send,
    ) -> std::io::Result<()> {
        let _gate = self.gate()?;
        let skip = self.skip_mirror()?;
        let m = if skip {
            None
        } else {
            match self.mirror_file(file) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.mirror_failed("open", &self.sides.mirror, e)?;
                    None
                }
            }
        };
        let Some(m) = m else {
            return local(&*self.local_io);
        };
        let mio = &*self.sides.mirror_io;
        let (local_result, mirror_result) = std::thread::scope(|s| {
            let helper = std::thread::Builder::new()
                .name("mirror-sync".into())
                .spawn_scoped(s, || mirror(mio, &m));
            match helper {
                Ok(h) => {
                    let l = local(&*self.local_io);
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("mirror thread panicked")));
                    (l, Some(r))
                }
                // No thread to be had: one after the other.
                Err(_) => (local(&*self.local_io), None),
            }
        });
        local_result?;
        // Without a thread the mirror copy missed this write: degraded, like any failure.
        let mirror_result = mirror_result.unwrap_or_else(|| {
            Err(std::io::Error::other(
                "cannot start the mirror fsync thread",
            ))
        });
        mirror_result.or_else(|e| self.mirror_failed("write", &self.sides.mirror, e))
    }

    /// Namespace operation on both sides: `local` on the local path, then `mirror` on the
    /// mirror paths of `paths` (NotFound on the mirror is not an error when `tolerate_missing`).
    fn mirrored_namespace<T>(
        &self,
        what: &str,
        paths: &[&Path],
        tolerate_missing: bool,
        local: impl FnOnce() -> std::io::Result<T>,
        mirror: impl FnOnce(&[PathBuf]) -> std::io::Result<()>,
    ) -> std::io::Result<T> {
        let _gate = self.gate()?;
        let skip = self.skip_mirror()?;
        let out = local()?;
        if skip {
            return Ok(out);
        }
        let first = paths.first().copied().unwrap_or(&self.sides.local);
        let mapped: std::io::Result<Vec<PathBuf>> =
            paths.iter().map(|p| self.sides.mirror_path(p)).collect();
        let result = mapped.and_then(|m| mirror(&m));
        match result {
            Ok(()) => Ok(out),
            Err(e) if tolerate_missing && e.kind() == std::io::ErrorKind::NotFound => Ok(out),
            Err(e) => self.mirror_failed(what, first, e).map(|()| out),
        }
    }

    /// Writes the start-up marker (`marker.rs`) on both sides: at open, after the
    /// reconcile, and at a clean close. Not while degraded (the markers already there stay
    /// true: they vouch only for immutable files that have not changed). A failure only
    /// costs the next start-up a full compare of more files, so it is logged, not returned.
    fn write_marker(&self, when: &str) {
        let s = &self.shared;
        if s.degraded.load(Ordering::SeqCst) {
            return;
        }
        let suspects = s.suspects.lock().map(|set| set.clone());
        let marker = match suspects {
            Ok(set) if !s.suspects_overflowed.load(Ordering::SeqCst) => {
                marker::build(&self.sides.local, &self.sides.mirror, &|p| set.contains(p))
            }
            // Too many failed files to remember: vouch for none of them.
            _ => marker::build(&self.sides.local, &self.sides.mirror, &|_| true),
        };
        let sides: [(&Path, &dyn FileIo); 2] = [
            (&self.sides.mirror, &*self.sides.mirror_io),
            (&self.sides.local, &*self.local_io),
        ];
        for (dir, io) in sides {
            if let Err(e) = marker::store(&marker, dir, io) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not write the mirror marker at {when}: the next start-up compares more files in full");
            }
        }
        tracing::debug!(dir = %self.sides.local.display(), files = marker.files.len(), "mirror marker written at {when}");
    }

    /// The mirror's state.
    pub fn status(&self) -> MirrorStatus {
        let s = &self.shared;
        MirrorStatus {
            degraded: s.degraded.load(Ordering::SeqCst),
            errors: s.errors.load(Ordering::Relaxed),
            resyncs: s.resyncs.load(Ordering::Relaxed),
            read_fallbacks: s.read_fallbacks.load(Ordering::Relaxed),
            read_repairs: s.read_repairs.load(Ordering::Relaxed),
            last_error: s.last_error.lock().ok().and_then(|l| l.clone()),
        }
    }
}

impl Drop for MirrorIo {
    /// The last user of the layer is gone (the engine closed): nothing writes any more, so
    /// this is the clean close whose marker spares the next start-up a full compare.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.write_marker("close");
        }
    }
}

fn key_of(path: &Path) -> Option<FileKey> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl FileIo for MirrorIo {
    fn name(&self) -> &'static str {
        self.local_io.name()
    }

    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.mirrored_write(
            file,
            |io| io.write_all_at(file, buf, offset),
            |io, m| io.write_all_at(m, buf, offset),
        )
    }

    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        self.mirrored_synced_write(file, |io| io.sync(file, kind), |io, m| io.sync(m, kind))
    }

    fn write_all_at_and_sync(
        &self,
        file: &File,
        buf: &[u8],
        offset: u64,
        kind: SyncKind,
    ) -> std::io::Result<()> {
        self.mirrored_synced_write(
            file,
            |io| io.write_all_at_and_sync(file, buf, offset, kind),
            |io, m| io.write_all_at_and_sync(m, buf, offset, kind),
        )
    }

    fn set_len(&self, file: &File, len: u64) -> std::io::Result<()> {
        self.mirrored_write(file, |io| io.set_len(file, len), |io, m| io.set_len(m, len))
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        let mio = self.sides.mirror_io.clone();
        self.mirrored_namespace(
            "directory fsync",
            &[dir],
            false,
            || self.local_io.sync_dir(dir),
            |m| m.first().map_or(Ok(()), |d| mio.sync_dir(d)),
        )
    }

    fn create_file(&self, path: &Path, create_new: bool) -> std::io::Result<File> {
        let mio = self.sides.mirror_io.clone();
        let shared = Arc::clone(&self.shared);
        let _gate = self.gate()?;
        let skip = self.skip_mirror()?;
        let local = self.local_io.create_file(path, create_new)?;
        if skip {
            return Ok(local);
        }
        // The local file is the truth for a new file: a stale mirror file of the same name
        // (left by a crash between the two creations) is replaced.
        let made = self.sides.mirror_path(path).and_then(|m| {
            let mf = mio.create_file(&m, false)?;
            let meta = local.metadata()?;
            if let Ok(mut files) = shared.files.lock() {
                files.insert((meta.dev(), meta.ino()), Arc::new(mf));
            }
            Ok(())
        });
        match made {
            Ok(()) => Ok(local),
            Err(e) => self.mirror_failed("create", path, e).map(|()| local),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        let mio = self.sides.mirror_io.clone();
        // Nothing writes a file after renaming it (temporary files are renamed once done).
        self.forget(key_of(from));
        self.mirrored_namespace(
            "rename",
            &[from, to],
            false,
            || self.local_io.rename(from, to),
            |m| match m {
                [f, t] => mio.rename(f, t),
                _ => Ok(()),
            },
        )
    }

    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        let mio = self.sides.mirror_io.clone();
        self.forget(key_of(path));
        self.mirrored_namespace(
            "remove",
            &[path],
            true,
            || self.local_io.remove_file(path),
            |m| m.first().map_or(Ok(()), |p| mio.remove_file(p)),
        )
    }

    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        let mio = self.sides.mirror_io.clone();
        self.mirrored_namespace(
            "create directory",
            &[path],
            false,
            || self.local_io.create_dir_all(path),
            |m| m.first().map_or(Ok(()), |p| mio.create_dir_all(p)),
        )
    }

    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        let mio = self.sides.mirror_io.clone();
        if let Ok(mut files) = self.shared.files.lock() {
            files.clear();
        }
        self.mirrored_namespace(
            "remove directory",
            &[path],
            true,
            || self.local_io.remove_dir_all(path),
            |m| m.first().map_or(Ok(()), |p| mio.remove_dir_all(p)),
        )
    }

    fn open_read(&self, path: &Path) -> std::io::Result<File> {
        match self.local_io.open_read(path) {
            Ok(f) => Ok(f),
            Err(local_err) => {
                let mirror = self.sides.mirror_path(path)?;
                let Ok(f) = File::open(&mirror) else {
                    return Err(local_err);
                };
                self.note_fallback(path, &mirror, &format!("cannot open it: {local_err}"));
                Ok(f)
            }
        }
    }

    fn positioned_reads(&self) -> bool {
        true
    }

    fn read_exact_at(&self, file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.local_io.read_exact_at(file, buf, offset)
    }

    fn read_checked(
        &self,
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        check: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> std::io::Result<()> {
        self.read_either_copy(file, path, offset, len, check)
    }

    fn open_other_copy(&self, path: &Path, why: &str) -> Option<std::io::Result<File>> {
        Some(self.open_mirror_copy(path, why))
    }

    fn mirror_status(&self) -> Option<MirrorStatus> {
        Some(self.status())
    }
}
