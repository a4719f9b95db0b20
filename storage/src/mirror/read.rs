//! The mirror's read side: a local read that fails, or whose bytes fail their check, is
//! answered from the mirror's copy of the same range; counted, logged once per file, and
//! the local range rewritten where that is cheap. See "Local failures at runtime" in
//! `docs/ARCHITECTURE.md`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::io::MirrorIo;

/// Bound on the files remembered as failed (`Shared::suspects`): a dead local disk fails
/// every file, and past this many the next start-up compares everything anyway.
const MAX_SUSPECTS: usize = 4096;

impl MirrorIo {
    /// [`FileIo::read_checked`](crate::io::FileIo::read_checked) of the mirror: the local copy, else the mirror's.
    pub(super) fn read_either_copy(
        &self,
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        check: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> std::io::Result<()> {
        let mut buf = vec![0u8; len];
        let local_why = match self.local_io.read_exact_at(file, &mut buf, offset) {
            Ok(()) => match check(&buf) {
                Ok(()) => return Ok(()),
                Err(why) => why,
            },
            Err(e) => format!("read failed: {e}"),
        };
        let mirror = self.sides.mirror_path(path).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("at offset {offset}: {local_why}; no mirror copy: {e}"),
            )
        })?;
        let from_mirror = File::open(&mirror)
            .and_then(|m| self.sides.mirror_io.read_exact_at(&m, &mut buf, offset))
            .map_err(|e| format!("read failed: {e}"))
            .and_then(|()| check(&buf));
        match from_mirror {
            Ok(()) => {
                self.note_fallback(path, &mirror, &format!("at offset {offset}: {local_why}"));
                self.repair_local(file, path, &buf, offset);
                Ok(())
            }
            Err(mirror_why) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "both copies failed at offset {offset}: local: {local_why}; mirror copy {}: {mirror_why}",
                    mirror.display()
                ),
            )),
        }
    }

    /// [`FileIo::open_other_copy`](crate::io::FileIo::open_other_copy) of the mirror: its copy of `path`, counted as a fallback.
    pub(super) fn open_mirror_copy(&self, path: &Path, why: &str) -> std::io::Result<File> {
        let mirror = self.sides.mirror_path(path)?;
        let f = File::open(&mirror)?;
        self.note_fallback(path, &mirror, why);
        Ok(f)
    }

    /// Counts a read the mirror's copy served because the local one failed (`why`), and
    /// logs it loudly the first time for each file.
    pub(super) fn note_fallback(&self, local: &Path, mirror: &Path, why: &str) {
        let s = &self.shared;
        s.read_fallbacks.fetch_add(1, Ordering::Relaxed);
        let first = match s.suspects.lock() {
            Ok(mut set) if set.len() < MAX_SUSPECTS => set.insert(local.to_path_buf()),
            Ok(set) => {
                let first = !set.contains(local);
                s.suspects_overflowed.store(true, Ordering::SeqCst);
                first
            }
            Err(_) => {
                s.suspects_overflowed.store(true, Ordering::SeqCst);
                true
            }
        };
        if first {
            tracing::error!(
                local = %local.display(),
                mirror = %mirror.display(),
                "LOCAL COPY FAILED ({why}): serving it from the mirror's copy; the local copy is repaired where it can be and compared in full at the next start-up"
            );
        } else {
            tracing::debug!(local = %local.display(), "local copy failed again ({why}): read from the mirror");
        }
    }

    /// Writes the good bytes of a range back over the local copy, when that is cheap: the
    /// file that failed is still the one at `path` and long enough (a truncated or replaced
    /// file is left to the next start-up's reconcile). Not fsynced: a repair lost in a crash
    /// is found and redone by the next read. Failures are logged, never returned: the read
    /// itself was served.
    fn repair_local(&self, file: &File, path: &Path, good: &[u8], offset: u64) {
        let same_file =
            |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        let end = offset.saturating_add(good.len() as u64);
        let repaired = (|| -> std::io::Result<bool> {
            let (open, now) = (file.metadata()?, std::fs::metadata(path)?);
            if !same_file(&open, &now) || now.len() < end {
                return Ok(false);
            }
            let w = std::fs::OpenOptions::new().write(true).open(path)?;
            if !same_file(&w.metadata()?, &open) {
                return Ok(false);
            }
            self.local_io.write_all_at(&w, good, offset)?;
            Ok(true)
        })();
        match repaired {
            Ok(true) => {
                self.shared.read_repairs.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(local = %path.display(), offset, bytes = good.len(), "repaired a range of the local copy from the mirror");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(local = %path.display(), offset, error = %e, "could not repair the local copy from the mirror")
            }
        }
    }
}
