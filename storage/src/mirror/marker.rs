//! The start-up marker: which immutable files of a mirrored directory were last seen alike
//! on both sides, so that the next start-up need not read them in full.
//!
//! Comparing both copies of every file byte by byte makes a mirrored start-up cost one read
//! of the whole data set twice. But SSTables never change once renamed into place, and
//! every byte of them is checked on read anyway (blocks by their checksums, metadata at
//! open), with the mirror answering a damaged local read (`FileIo::read_checked`). So the
//! engine's mirror layer writes `MIRROR-MARKER` into its directory, on both sides, when it
//! opens (after the reconcile) and when it closes cleanly: for every `*.sst` below the
//! directory whose two copies have the same size and the same checksum of their last
//! [`TAIL_BYTES`] (the footer, which holds the checksums of every section), that size and
//! checksum. A start-up reconcile then takes a file whose two copies both still match its
//! marker entry as alike without reading it; everything else (files written since the
//! marker, so after an unclean shutdown only those; commitlog segments, the MANIFEST and
//! JSON files, which change in place and are small) is compared in full as before.
//!
//! A marker only ever vouches for what it checked when it was written, and a file that
//! still matches it has kept its size and footer, so an old marker (one from the last
//! open, after a crash) is as safe as a new one; it just vouches for fewer files. A local
//! file a read had to take from the mirror is left out of the marker written at close, so
//! the next start-up compares and repairs it. Format: `docs/FORMAT.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::io::{FileIo, SyncKind};

/// The marker's file name, in each directory a mirror layer owns (on both sides).
pub const MARKER_FILE: &str = "MIRROR-MARKER";
const TEMP_SUFFIX: &str = ".tmp";
const FIRST_LINE: &str = "scrolldb mirror marker v1";
/// How much of a file's end its fingerprint covers: an SSTable footer with room to spare.
pub const TAIL_BYTES: u64 = 512;
/// A marker larger than this is not read (a damaged length, not a real directory).
const MAX_MARKER_BYTES: u64 = 64 << 20;

/// Size and checksum of the end of one copy of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub len: u64,
    pub tail_crc32: u32,
}

/// Whether the marker may vouch for a file: only files that never change once written.
pub fn covers(name: &str) -> bool {
    name.ends_with(".sst")
}

/// The fingerprint of `path`: its size and the CRC32 of its last [`TAIL_BYTES`].
pub fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    let n = len.min(TAIL_BYTES);
    let mut tail = vec![0u8; n as usize];
    f.read_exact_at(&mut tail, len - n)?;
    Ok(Fingerprint {
        len,
        tail_crc32: crc32fast::hash(&tail),
    })
}

/// A parsed marker: when it was written, and the fingerprint of each file it vouches for,
/// by path relative to its directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marker {
    pub written_unix_ms: u64,
    pub files: BTreeMap<PathBuf, Fingerprint>,
}

impl Marker {
    fn encode(&self) -> String {
        let mut out = format!("{FIRST_LINE}\nwritten_unix_ms {}\n", self.written_unix_ms);
        for (path, f) in &self.files {
            out.push_str(&format!(
                "{} {:08x} {}\n",
                f.len,
                f.tail_crc32,
                path.display()
            ));
        }
        let crc = crc32fast::hash(out.as_bytes());
        out.push_str(&format!("end {crc:08x}\n"));
        out
    }

    /// Parses a marker; `None` for anything damaged or unknown (then nothing is vouched for).
    fn decode(text: &str) -> Option<Marker> {
        if !text.ends_with('\n') {
            return None;
        }
        let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
        let (body, end) = text.split_at(body_end);
        let crc = u32::from_str_radix(end.trim_end().strip_prefix("end ")?, 16).ok()?;
        if crc32fast::hash(body.as_bytes()) != crc {
            return None;
        }
        let mut lines = body.lines();
        if lines.next()? != FIRST_LINE {
            return None;
        }
        let written_unix_ms = lines
            .next()?
            .strip_prefix("written_unix_ms ")?
            .parse()
            .ok()?;
        let mut files = BTreeMap::new();
        for line in lines {
            let mut parts = line.splitn(3, ' ');
            let len = parts.next()?.parse().ok()?;
            let tail_crc32 = u32::from_str_radix(parts.next()?, 16).ok()?;
            let path = PathBuf::from(parts.next()?);
            files.insert(path, Fingerprint { len, tail_crc32 });
        }
        Some(Marker {
            written_unix_ms,
            files,
        })
    }

    /// The marker in `dir`, if it is there and intact.
    pub fn load(dir: &Path) -> Option<Marker> {
        let path = dir.join(MARKER_FILE);
        if std::fs::metadata(&path).ok()?.len() > MAX_MARKER_BYTES {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let marker = Marker::decode(&text);
        if marker.is_none() {
            tracing::warn!(file = %path.display(), "damaged mirror marker ignored: its files are compared in full");
        }
        marker
    }
}

/// The `*.sst` files below `dir`, relative to it.
fn covered_files(dir: &Path) -> std::io::Result<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let entries = match std::fs::read_dir(dir.join(&rel)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let child = rel.join(entry.file_name());
            let ty = entry.file_type()?;
            if ty.is_dir() {
                todo.push(child);
            } else if ty.is_file() && covers(&entry.file_name().to_string_lossy()) {
                out.insert(child);
            }
        }
    }
    Ok(out)
}

/// Builds the marker of `local` and `mirror`: every covered file whose two copies have the
/// same fingerprint, except those `exclude` names (by local path).
pub fn build(local: &Path, mirror: &Path, exclude: &dyn Fn(&Path) -> bool) -> Marker {
    let files = covered_files(local)
        .unwrap_or_default()
        .into_iter()
        .filter(|rel| !exclude(&local.join(rel)))
        // A name with a line break could not be written on one line: never vouched for.
        .filter(|rel| !rel.to_string_lossy().contains('\n'))
        .filter_map(|rel| {
            let l = fingerprint(&local.join(&rel)).ok()?;
            let m = fingerprint(&mirror.join(&rel)).ok()?;
            (l == m).then_some((rel, l))
        })
        .collect();
    let written_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Marker {
        written_unix_ms,
        files,
    }
}

/// Writes `marker` into `dir` durably through `io`: a temporary file, fsync, rename,
/// directory fsync.
pub fn store(marker: &Marker, dir: &Path, io: &dyn FileIo) -> std::io::Result<()> {
    let path = dir.join(MARKER_FILE);
    let tmp = dir.join(format!("{MARKER_FILE}{TEMP_SUFFIX}"));
    let f = io.create_file(&tmp, false)?;
    io.write_all_at_and_sync(&f, marker.encode().as_bytes(), 0, SyncKind::All)?;
    drop(f);
    io.rename(&tmp, &path)?;
    io.sync_dir(dir)
}

/// Whether `name` is a marker or its temporary file: never copied between the sides.
pub fn is_marker_file(name: &str) -> bool {
    name == MARKER_FILE || name.strip_suffix(TEMP_SUFFIX) == Some(MARKER_FILE)
}

/// The markers of a reconcile: for each directory of the tree, the newer of its local and
/// mirror markers, keyed by path relative to the reconcile's root.
#[derive(Debug, Default)]
pub struct Vouched {
    files: BTreeMap<PathBuf, Fingerprint>,
}

impl Vouched {
    /// Reads the markers of `dirs` (relative to both roots, the root itself included).
    pub fn load<'a>(
        local: &Path,
        mirror: &Path,
        dirs: impl IntoIterator<Item = &'a PathBuf>,
    ) -> Vouched {
        let mut files = BTreeMap::new();
        let dirs = std::iter::once(PathBuf::new()).chain(dirs.into_iter().cloned());
        for rel in dirs {
            let newest = [
                Marker::load(&local.join(&rel)),
                Marker::load(&mirror.join(&rel)),
            ]
            .into_iter()
            .flatten()
            .max_by_key(|m| m.written_unix_ms);
            for (path, f) in newest.map(|m| m.files).unwrap_or_default() {
                files.insert(rel.join(path), f);
            }
        }
        Vouched { files }
    }

    /// Whether both copies (`l`, `m`) of the file `rel` still match the marker entry.
    pub fn holds(&self, rel: &Path, l: &Path, m: &Path) -> bool {
        let Some(want) = self.files.get(rel) else {
            return false;
        };
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        covers(&name)
            && fingerprint(l).is_ok_and(|f| f == *want)
            && fingerprint(m).is_ok_and(|f| f == *want)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_rejects_damage() {
        let mut m = Marker {
            written_unix_ms: 42,
            files: BTreeMap::new(),
        };
        m.files.insert(
            PathBuf::from("tables/1/7.sst"),
            Fingerprint {
                len: 1234,
                tail_crc32: 0xdead_beef,
            },
        );
        m.files.insert(
            PathBuf::from("a b.sst"),
            Fingerprint {
                len: 0,
                tail_crc32: 0,
            },
        );
        let text = m.encode();
        assert_eq!(Marker::decode(&text), Some(m.clone()));
        for cut in 0..text.len() {
            assert_eq!(Marker::decode(&text[..cut]), None, "cut at {cut}");
        }
        let flipped = text.replacen("1234", "1235", 1);
        assert_eq!(Marker::decode(&flipped), None);
        assert_eq!(Marker::decode(""), None);
    }

    #[test]
    fn vouches_only_for_files_alike_on_both_sides_and_unchanged() {
        let local = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        for d in [local.path(), mirror.path()] {
            std::fs::create_dir_all(d.join("t")).unwrap();
            std::fs::write(d.join("t/1.sst"), vec![7u8; 2000]).unwrap();
            std::fs::write(d.join("MANIFEST"), b"m").unwrap();
        }
        std::fs::write(local.path().join("t/2.sst"), b"local").unwrap();
        std::fs::write(mirror.path().join("t/2.sst"), b"mirror").unwrap();
        let m = build(local.path(), mirror.path(), &|_| false);
        assert_eq!(
            m.files.keys().collect::<Vec<_>>(),
            vec![Path::new("t/1.sst")]
        );
        let excluded = build(local.path(), mirror.path(), &|p| p.ends_with("1.sst"));
        assert!(excluded.files.is_empty());
        for d in [local.path(), mirror.path()] {
            store(&m, d, &crate::io::PlainIo).unwrap();
        }
        let dirs = [PathBuf::from("t")];
        let v = Vouched::load(local.path(), mirror.path(), &dirs);
        let rel = Path::new("t/1.sst");
        let (l, r) = (local.path().join(rel), mirror.path().join(rel));
        assert!(v.holds(rel, &l, &r));
        // A change at the end (footer) or of the size is seen; one in the middle is not
        // (the block checksums find it when it is read).
        std::fs::write(&l, [vec![7u8; 1000], vec![8u8], vec![7u8; 999]].concat()).unwrap();
        assert!(v.holds(rel, &l, &r));
        std::fs::write(&l, [vec![7u8; 1999], vec![8u8]].concat()).unwrap();
        assert!(!v.holds(rel, &l, &r));
        std::fs::write(&l, vec![7u8; 1999]).unwrap();
        assert!(!v.holds(rel, &l, &r));
    }
}
