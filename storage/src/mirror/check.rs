//! Is this copy of a file good? The per-format checks that decide which copy repairs the
//! other when the two differ.

use std::path::Path;

use crate::commitlog::replay::replay_segment;
use crate::commitlog::{segment, RecoveryMode};
use crate::engine::manifest::{self, Manifest};
use crate::model::{Direction, Slice};
use crate::sstable::Sstable;

/// The verdict on one copy of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileHealth {
    /// Every checksum the format has passed. `records` counts the valid commitlog records
    /// of a segment (the copy with more of them has more acknowledged writes) and is 0 for
    /// every other file.
    Good { records: u64 },
    /// Why the copy is damaged.
    Bad(String),
}

impl FileHealth {
    pub fn is_good(&self) -> bool {
        matches!(self, FileHealth::Good { .. })
    }
}

/// Checks one file by its kind, read in full: an SSTable (`*.sst`: header, footer, index and
/// every data block's checksum), the `MANIFEST`, a commitlog segment (header and every record
/// up to a torn tail), a JSON file (its outline only). Other files are taken as good.
pub fn check_file(path: &Path) -> FileHealth {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let verdict = if name.ends_with(".sst") {
        check_sstable(path).map(|()| 0)
    } else if name == manifest::FILE_NAME {
        check_manifest(path).map(|()| 0)
    } else if let Some(id) = segment::parse_file_name(name) {
        check_segment(path, id)
    } else if name.ends_with(".json") {
        check_json(path).map(|()| 0)
    } else {
        Ok(0)
    };
    match verdict {
        Ok(records) => FileHealth::Good { records },
        Err(reason) => FileHealth::Bad(reason),
    }
}

fn check_sstable(path: &Path) -> Result<(), String> {
    let table = Sstable::open(path).map_err(|e| e.to_string())?;
    for partition in table.partitions_from(None) {
        let partition = partition.map_err(|e| e.to_string())?;
        for row in partition.rows(&Slice::all(), Direction::Forward) {
            row.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn check_manifest(path: &Path) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // A missing file reads as an empty manifest: here it exists, so that cannot happen.
    Manifest::load(dir).map(|_| ()).map_err(|e| e.to_string())
}

fn check_segment(path: &Path, id: u64) -> Result<u64, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    segment::check_header(path, &data, id).map_err(|e| e.to_string())?;
    let replay = replay_segment(
        path,
        id,
        &data,
        true,
        RecoveryMode::TolerateCorruptTail,
        &mut |_, _| Ok(()),
    )
    .map_err(|e| e.to_string())?;
    Ok(replay.records)
}

fn check_json(path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&data).map_err(|e| format!("not UTF-8: {e}"))?;
    let t = text.trim();
    let outline_ok =
        (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'));
    if outline_ok {
        Ok(())
    } else {
        Err("not a JSON document (truncated or overwritten?)".into())
    }
}
