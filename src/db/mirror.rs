//! Super-disk for the whole database directory.
//!
//! The storage engines mirror what they write themselves (`storage::mirror`, one
//! `MirrorIo` per shard, each shard directory at the same relative path under the mirror).
//! This module does what lies above the shards:
//!
//! - on open, before anything is read, reconciles the whole directory with its mirror
//!   (`catalog.json`, `shards.json` and every shard): an empty local directory is rebuilt
//!   from the mirror with progress logged, a damaged copy is repaired from the good one,
//!   both damaged is an error naming the file;
//! - copies the top-level files (`catalog.json`, `shards.json`) after every change;
//! - resharding renames whole shard directories outside the engines: it runs unmirrored,
//!   and the mirror is then rebuilt from the resharded local directory;
//! - reports the shards' mirror state ([`Db::mirror_status`]).

use super::layout::{shard_dirs, stored_shard_count, SHARDS_FILE};
use super::Db;
use crate::catalog::store::CATALOG_FILE;
use crate::error::{Error, Result};
use crate::storage::io::{Io, PlainIo};
use crate::storage::mirror::{self, tree, DegradedPolicy, MirrorOptions, MirrorStatus};
use std::path::Path;

/// Reconciles `dir` with its mirror and returns the engines' mirror options.
pub(super) fn prepare(dir: &Path, opts: Option<&MirrorOptions>) -> Result<Option<MirrorOptions>> {
    let Some(m) = opts else {
        return Ok(None);
    };
    check_apart(dir, &m.dir)?;
    let report = mirror::reconcile(dir, &m.dir).map_err(Error::Storage)?;
    if report.rebuilt_local {
        tracing::warn!(dir = %dir.display(), mirror = %m.dir.display(), mib = report.bytes_copied >> 20, "local directory rebuilt from the mirror");
    }
    if !report.repaired.is_empty() || !report.copied_to_local.is_empty() {
        tracing::warn!(
            repaired = report.repaired.len(),
            copied_to_local = report.copied_to_local.len(),
            "mirror reconcile repaired the copies"
        );
    }
    Ok(Some(MirrorOptions {
        root: Some(dir.to_path_buf()),
        reconcile_on_open: false,
        ..m.clone()
    }))
}

/// The two copies must be separate trees: one inside the other would copy itself forever.
fn check_apart(dir: &Path, mirror: &Path) -> Result<()> {
    std::fs::create_dir_all(mirror).map_err(|e| Error::io(mirror, e))?;
    let d = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let m = mirror.canonicalize().map_err(|e| Error::io(mirror, e))?;
    if d.starts_with(&m) || m.starts_with(&d) {
        return Err(Error::invalid(format!(
            "the mirror {} and the data directory {} must not contain each other",
            mirror.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Whether opening with `shards` shards reshards (see `reshard.rs`).
pub(super) fn reshard_pending(dir: &Path, shards: usize) -> Result<bool> {
    if dir.join("reshard").exists() || dir.join("reshard.tmp").exists() {
        return Ok(true);
    }
    let stored = match stored_shard_count(dir)? {
        Some(n) => Some(n),
        None => shard_dirs(dir)?.last().map(|(i, _)| i + 1),
    };
    Ok(matches!(stored, Some(n) if n != shards))
}

/// Makes the mirror identical to `dir` (after a reshard moved directories under it).
pub(super) fn rebuild_mirror(dir: &Path, m: &MirrorOptions) -> Result<()> {
    tree::copy_tree(
        dir,
        &m.dir,
        &PlainIo,
        true,
        &mut tree::logging_progress("rebuilding the mirror after resharding"),
    )
    .map(|_| ())
    .map_err(Error::Storage)
}

/// Copies the top-level files that changed to the mirror. A failure degrades like a shard's
/// mirror does: logged (the next open or resync copies them) or, with `RefuseWrites`, an error.
pub(super) fn copy_top_files(dir: &Path, m: &MirrorOptions) -> Result<()> {
    let io: Io = m
        .mirror_io
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(PlainIo));
    for name in [CATALOG_FILE, SHARDS_FILE] {
        let src = dir.join(name);
        if !src.exists() {
            continue;
        }
        if let Err(e) = tree::copy_file(&src, &m.dir.join(name), &*io) {
            match m.on_failure {
                DegradedPolicy::KeepServing => {
                    tracing::error!(error = %e, file = name, "MIRROR DEGRADED: could not copy to the mirror; it is copied on the next open")
                }
                DegradedPolicy::RefuseWrites => return Err(Error::Storage(e)),
            }
        }
    }
    Ok(())
}

impl Db {
    /// The mirror's state over all shards (`None` without a mirror): degraded if any shard's
    /// mirror is, counters summed.
    pub fn mirror_status(&self) -> Option<MirrorStatus> {
        let mut all = self
            .inner
            .mirrors
            .iter()
            .filter_map(|io| io.mirror_status());
        let first = all.next()?;
        Some(all.fold(first, |mut acc, s| {
            acc.degraded |= s.degraded;
            acc.errors += s.errors;
            acc.resyncs += s.resyncs;
            acc.read_fallbacks += s.read_fallbacks;
            acc.read_repairs += s.read_repairs;
            if s.last_error.is_some() {
                acc.last_error = s.last_error;
            }
            acc
        }))
    }

    /// After a catalog change: the mirror gets the new `catalog.json`.
    pub(super) fn mirror_catalog(&self) -> Result<()> {
        match &self.inner.opts.mirror {
            Some(m) => copy_top_files(self.dir(), m),
            None => Ok(()),
        }
    }
}
