//! Two directory trees, one the copy of the other: copy, compare, reconcile.
//!
//! A copied file is written under a temporary name, fsynced, renamed into place and its
//! directory fsynced, so a crash during a rebuild never leaves a half file under a real
//! name. `LOCK`, probe and temporary files are never copied.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::check::{check_file, FileHealth};
use super::marker::{self, Vouched};
use crate::error::{Error, Result};
use crate::io::{FileIo, SyncKind};

/// Suffix of a file being copied.
const COPY_SUFFIX: &str = ".mirror-tmp";
const CHUNK_BYTES: usize = 4 << 20;
/// How often a long copy logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Progress of a copy, after each file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Files (and their bytes) actually written: the others were identical already.
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Files removed from the destination because the source does not have them.
    pub files_removed: u64,
}

/// What a startup reconcile did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// The local directory was empty or missing and was rebuilt from the mirror.
    pub rebuilt_local: bool,
    /// The mirror was empty or missing and was filled from local.
    pub filled_mirror: bool,
    pub copied_to_local: Vec<PathBuf>,
    pub copied_to_mirror: Vec<PathBuf>,
    /// Files whose copies differed, with the side that was repaired and why.
    pub repaired: Vec<(PathBuf, String)>,
    pub bytes_copied: u64,
    /// Files on both sides taken as alike because both still match their start-up marker
    /// (`marker.rs`): size and footer checked, contents not read.
    pub files_vouched: u64,
    /// Files on both sides compared byte by byte, and the bytes that took (both copies).
    pub files_compared: u64,
    pub bytes_compared: u64,
}

/// One difference `verify` found, by path relative to the two roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    OnlyLocal(PathBuf),
    OnlyMirror(PathBuf),
    Differs {
        path: PathBuf,
        local_crc32: u32,
        mirror_crc32: u32,
        local: FileHealth,
        mirror: FileHealth,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let health = |h: &FileHealth| match h {
            FileHealth::Good { .. } => "checks out".to_string(),
            FileHealth::Bad(r) => format!("DAMAGED ({r})"),
        };
        match self {
            Difference::OnlyLocal(p) => write!(f, "{}: only in local", p.display()),
            Difference::OnlyMirror(p) => write!(f, "{}: only in the mirror", p.display()),
            Difference::Differs {
                path,
                local_crc32,
                mirror_crc32,
                local,
                mirror,
            } => write!(
                f,
                "{}: differs (crc32 local {local_crc32:08x}, mirror {mirror_crc32:08x}); local {}, mirror {}",
                path.display(),
                health(local),
                health(mirror)
            ),
        }
    }
}

fn skipped(name: &str) -> bool {
    name == "LOCK"
        || name == ".mirror-probe"
        || name.ends_with(COPY_SUFFIX)
        || super::marker::is_marker_file(name)
}

/// Regular files (relative paths) and directories below `root`; a missing root is empty.
fn list(root: &Path) -> Result<(BTreeSet<PathBuf>, BTreeSet<PathBuf>)> {
    let mut files = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.as_os_str().is_empty() => {
                break
            }
            Err(e) => return Err(Error::io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let child = rel.join(&name);
            let ty = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if ty.is_dir() {
                dirs.insert(child.clone());
                todo.push(child);
            } else if ty.is_file() && !skipped(&name.to_string_lossy()) {
                files.insert(child);
            }
        }
    }
    Ok((files, dirs))
}

/// Whether `root` holds no file worth copying (missing, or only a `LOCK`): a new host.
pub fn is_empty_tree(root: &Path) -> Result<bool> {
    Ok(list(root)?.0.is_empty())
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Whether two files hold the same bytes.
fn same_contents(a: &Path, b: &Path) -> Result<bool> {
    if file_len(a) != file_len(b) {
        return Ok(false);
    }
    let mut fa = File::open(a).map_err(|e| Error::io(a, e))?;
    let mut fb = File::open(b).map_err(|e| Error::io(b, e))?;
    let mut ba = vec![0u8; CHUNK_BYTES];
    let mut bb = vec![0u8; CHUNK_BYTES];
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|e| Error::io(a, e))?;
        let nb = read_full(&mut fb, &mut bb).map_err(|e| Error::io(b, e))?;
        if na != nb || ba.get(..na) != bb.get(..nb) {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(buf.get_mut(n..).unwrap_or_default())? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn crc32_of(path: &Path) -> Result<u32> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let n = read_full(&mut f, &mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
}

/// Copies `src` to `dst` durably through `io` (temporary file, fsync, rename, dir fsync).
pub fn copy_file(src: &Path, dst: &Path, io: &dyn FileIo) -> Result<u64> {
    let parent = dst.parent().unwrap_or(Path::new("."));
    io.create_dir_all(parent)
        .map_err(|e| Error::io(parent, e))?;
    let mut tmp_name = dst.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(COPY_SUFFIX);
    let tmp = parent.join(tmp_name);
    let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
    let out = io
        .create_file(&tmp, false)
        .map_err(|e| Error::io(&tmp, e))?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut at = 0u64;
    let copied = (|| -> Result<()> {
        loop {
            let n = read_full(&mut input, &mut buf).map_err(|e| Error::io(src, e))?;
            if n == 0 {
                break;
            }
            io.write_all_at(&out, buf.get(..n).unwrap_or_default(), at)
                .map_err(|e| Error::io(&tmp, e))?;
            at += n as u64;
        }
        io.sync(&out, SyncKind::All)
            .map_err(|e| Error::io(&tmp, e))?;
        drop(out);
        io.rename(&tmp, dst).map_err(|e| Error::io(dst, e))?;
        io.sync_dir(parent).map_err(|e| Error::io(parent, e))
    })();
    if copied.is_err() {
        let _ = io.remove_file(&tmp);
    }
    copied.map(|()| at)
}

/// How [`copy_tree_with`] decides that a destination file already holds the source's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Every byte of both.
    Full,
    /// SSTables (immutable once in place) by size and footer (`marker::fingerprint`),
    /// everything else in full: for a pass that follows a full one over the same trees.
    TrustImmutable,
}

/// What [`copy_tree_with`] does with an SSTable whose source copy fails its checksums while
/// the destination's copy (which it would replace) checks out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DamagedSource {
    /// Stop with an error naming the file: the only good copy is never overwritten.
    Fail,
    /// Repair the source from the destination, logged (the mirror's resync: local is the
    /// truth for what changed, but not for a copy that rotted).
    RepairFromDestination,
}

/// How [`copy_tree_with`] copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRules {
    /// Also remove what the source does not have, so that the two end identical.
    pub delete_extras: bool,
    pub compare: Compare,
    pub damaged_source: DamagedSource,
}

/// Makes `dst` hold every file of `src` with the same bytes, copying only files that are
/// missing or differ; with `delete_extras`, also removes what `src` does not have, so that
/// the two end identical. `progress` sees every file. An SSTable whose source copy is
/// damaged is never copied over a good destination copy (an error naming it).
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    io: &dyn FileIo,
    delete_extras: bool,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyProgress> {
    let rules = CopyRules {
        delete_extras,
        compare: Compare::Full,
        damaged_source: DamagedSource::Fail,
    };
    copy_tree_with(src, dst, io, rules, progress)
}

/// [`copy_tree`] following `rules`.
pub fn copy_tree_with(
    src: &Path,
    dst: &Path,
    io: &dyn FileIo,
    rules: CopyRules,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyProgress> {
    let (files, dirs) = list(src)?;
    io.create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
    for d in &dirs {
        let p = dst.join(d);
        io.create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    let mut p = CopyProgress {
        files_total: files.len() as u64,
        bytes_total: files.iter().map(|f| file_len(&src.join(f))).sum(),
        ..CopyProgress::default()
    };
    for rel in &files {
        let (s, d) = (src.join(rel), dst.join(rel));
        let len = file_len(&s);
        let immutable = rel
            .file_name()
            .is_some_and(|n| marker::covers(&n.to_string_lossy()));
        let same = if rules.compare == Compare::TrustImmutable && immutable {
            matches!(
                (marker::fingerprint(&s), marker::fingerprint(&d)),
                (Ok(a), Ok(b)) if a == b
            )
        } else {
            same_contents(&s, &d).unwrap_or(false)
        };
        let repaired = || -> Result<bool> {
            Ok(immutable && repaired_damaged_source(&s, &d, rules.damaged_source)?)
        };
        if !same && !repaired()? {
            p.bytes_copied += copy_file(&s, &d, io)?;
            p.files_copied += 1;
        }
        p.files_done += 1;
        p.bytes_done += len;
        progress(&p);
    }
    if rules.delete_extras {
        let (dst_files, dst_dirs) = list(dst)?;
        for rel in dst_files.difference(&files) {
            let path = dst.join(rel);
            match io.remove_file(&path) {
                Ok(()) => p.files_removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        // Deepest first, so a removed parent never hides a child.
        let extra: Vec<&PathBuf> = dst_dirs.difference(&dirs).collect();
        for rel in extra.into_iter().rev() {
            let path = dst.join(rel);
            match io.remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        io.sync_dir(dst).map_err(|e| Error::io(dst, e))?;
    }
    Ok(p)
}

/// Before `src` replaces a differing `dst`: when `src` fails its checks and `dst` passes,
/// either an error or (`RepairFromDestination`) `src` rewritten from `dst`; `Ok(true)` when
/// repaired (nothing left to copy), `Ok(false)` to go on copying.
fn repaired_damaged_source(src: &Path, dst: &Path, what: DamagedSource) -> Result<bool> {
    if !dst.is_file() {
        return Ok(false);
    }
    let why = match check_file(src) {
        FileHealth::Good { .. } => return Ok(false),
        FileHealth::Bad(why) => why,
    };
    if !check_file(dst).is_good() {
        return Ok(false);
    }
    match what {
        DamagedSource::Fail => Err(Error::corruption(
            src,
            0,
            format!(
                "damaged ({why}) while the copy at {} checks out: not copied over it",
                dst.display()
            ),
        )),
        DamagedSource::RepairFromDestination => {
            tracing::warn!(file = %src.display(), from = %dst.display(), "damaged copy ({why}) repaired from the other copy instead of overwriting it");
            copy_file(dst, src, &crate::io::PlainIo)?;
            Ok(true)
        }
    }
}

/// A progress callback that logs at most once a second, for rebuilds an operator watches.
pub fn logging_progress(what: &'static str) -> impl FnMut(&CopyProgress) {
    let mut last = Instant::now();
    move |p: &CopyProgress| {
        if last.elapsed() >= PROGRESS_EVERY || p.files_done == p.files_total {
            last = Instant::now();
            tracing::info!(
                files = format!("{}/{}", p.files_done, p.files_total),
                mib = format!("{}/{}", p.bytes_done >> 20, p.bytes_total >> 20),
                "{what}"
            );
        }
    }
}

/// Rebuilds `to` from `from` so the two end identical (`scrolldb mirror rebuild`), logging
/// progress.
pub fn rebuild(from: &Path, to: &Path) -> Result<CopyProgress> {
    tracing::info!(from = %from.display(), to = %to.display(), "rebuilding a copy");
    let mut log = logging_progress("rebuild");
    copy_tree(from, to, &crate::io::PlainIo, true, &mut log)
}

/// Compares the two copies file by file (crc32 of each), checking the copies of a file that
/// differs by its format's checksums. Empty when they are identical.
pub fn verify(local: &Path, mirror: &Path) -> Result<Vec<Difference>> {
    let (lf, _) = list(local)?;
    let (mf, _) = list(mirror)?;
    let mut out = Vec::new();
    for rel in lf.union(&mf) {
        let (l, m) = (local.join(rel), mirror.join(rel));
        match (lf.contains(rel), mf.contains(rel)) {
            (true, false) => out.push(Difference::OnlyLocal(rel.clone())),
            (false, true) => out.push(Difference::OnlyMirror(rel.clone())),
            _ => {
                let (lc, mc) = (crc32_of(&l)?, crc32_of(&m)?);
                if lc != mc || file_len(&l) != file_len(&m) {
                    out.push(Difference::Differs {
                        path: rel.clone(),
                        local_crc32: lc,
                        mirror_crc32: mc,
                        local: check_file(&l),
                        mirror: check_file(&m),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Brings `local` and `mirror` back to identical at startup:
///
/// - an SSTable whose two copies both still match the start-up marker of its directory
///   (`marker.rs`: same size and footer as when both were last seen alike) is taken as
///   alike without reading it; every other file on both sides is compared in full;
/// - local empty or missing (a new host): rebuilt from the mirror, progress logged;
/// - mirror empty or missing: filled from local;
/// - a file on one side only: copied to the other (a file the engine no longer needs is
///   removed from both by the engine's own open);
/// - a file that differs: the copy that fails its format's checksums is repaired from the
///   other (logged); of two good commitlog segments the one with more records wins, of
///   other good files the local one;
/// - both copies damaged: an error naming the file.
pub fn reconcile(local: &Path, mirror: &Path) -> Result<ReconcileReport> {
    let io = crate::io::PlainIo;
    let (lf, ld) = list(local)?;
    let (mf, md) = list(mirror)?;
    let mut report = ReconcileReport::default();
    if lf.is_empty() && mf.is_empty() {
        return Ok(report);
    }
    if lf.is_empty() {
        tracing::warn!(local = %local.display(), mirror = %mirror.display(), files = mf.len(), "local directory empty or missing: rebuilding it from the mirror before serving");
        let mut log = logging_progress("rebuilding local from the mirror");
        let p = copy_tree(mirror, local, &io, false, &mut log)?;
        report.rebuilt_local = true;
        report.bytes_copied = p.bytes_copied;
        return Ok(report);
    }
    if mf.is_empty() {
        tracing::info!(local = %local.display(), mirror = %mirror.display(), "mirror empty or missing: filling it from local");
        let mut log = logging_progress("filling the mirror from local");
        let p = copy_tree(local, mirror, &io, false, &mut log)?;
        report.filled_mirror = true;
        report.bytes_copied = p.bytes_copied;
        return Ok(report);
    }
    let vouched = Vouched::load(local, mirror, ld.union(&md));
    for rel in lf.union(&mf) {
        let (l, m) = (local.join(rel), mirror.join(rel));
        match (lf.contains(rel), mf.contains(rel)) {
            (true, false) => {
                report.bytes_copied += copy_file(&l, &m, &io)?;
                report.copied_to_mirror.push(rel.clone());
            }
            (false, true) => {
                tracing::info!(file = %rel.display(), "only the mirror has this file: copied to local");
                report.bytes_copied += copy_file(&m, &l, &io)?;
                report.copied_to_local.push(rel.clone());
            }
            _ => {
                if vouched.holds(rel, &l, &m) {
                    report.files_vouched += 1;
                    continue;
                }
                report.files_compared += 1;
                report.bytes_compared += file_len(&l) + file_len(&m);
                if same_contents(&l, &m)? {
                    continue;
                }
                let (lh, mh) = (check_file(&l), check_file(&m));
                let (from, to, why) = match (&lh, &mh) {
                    (FileHealth::Bad(lr), FileHealth::Bad(mr)) => {
                        return Err(Error::corruption(
                            &l,
                            0,
                            format!(
                                "both copies are damaged: local: {lr}; mirror copy {}: {mr}",
                                m.display()
                            ),
                        ))
                    }
                    (FileHealth::Good { .. }, FileHealth::Bad(r)) => {
                        (&l, &m, format!("mirror copy damaged ({r})"))
                    }
                    (FileHealth::Bad(r), FileHealth::Good { .. }) => {
                        (&m, &l, format!("local copy damaged ({r})"))
                    }
                    (FileHealth::Good { records: lr }, FileHealth::Good { records: mr }) => {
                        if mr > lr {
                            (
                                &m,
                                &l,
                                format!("mirror copy has more records ({mr} > {lr})"),
                            )
                        } else {
                            (&l, &m, "copies differ, both check out: local wins".into())
                        }
                    }
                };
                tracing::warn!(file = %rel.display(), repaired = %to.display(), "mirror reconcile: {why}: repaired from {}", from.display());
                report.bytes_copied += copy_file(from, to, &io)?;
                report.repaired.push((to.clone(), why));
            }
        }
    }
    Ok(report)
}
