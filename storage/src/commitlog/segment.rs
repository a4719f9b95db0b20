//! Segment files: their names, their checksummed header, and how they are created durably.
//!
//! Header (24 bytes): `magic "SCRLDBCL" | version u32 LE | segment id u64 LE | crc32 u32 LE`,
//! the CRC covering the 20 bytes before it. Magic and version stay at these offsets in every
//! future version so that an old build can recognise a newer file and refuse it.

// Decoders of bytes from disk: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{FileIo, SyncKind};

pub const SEGMENT_MAGIC: [u8; 8] = *b"SCRLDBCL";
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_BYTES: u64 = 24;

const FILE_PREFIX: &str = "commitlog-";
const FILE_SUFFIX: &str = ".log";

/// `commitlog-<id, 20 decimal digits>.log`: zero padding makes name order equal id order.
pub fn file_name(id: u64) -> String {
    format!("{FILE_PREFIX}{id:020}{FILE_SUFFIX}")
}

/// The id of a segment file name, or `None` for any other file.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub fn encode_header(id: u64) -> [u8; HEADER_BYTES as usize] {
    let mut h = [0u8; HEADER_BYTES as usize];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&id.to_le_bytes());
    let crc = crc32fast::hash(&h[0..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

/// Checks the header at the start of `data` (the whole file) against the id in its name.
pub fn check_header(path: &Path, data: &[u8], expected_id: u64) -> Result<()> {
    let Some(h) = data.get(0..HEADER_BYTES as usize) else {
        return Err(Error::corruption(
            path,
            0,
            format!("segment header incomplete ({} bytes)", data.len()),
        ));
    };
    if h.get(0..8) != Some(&SEGMENT_MAGIC[..]) {
        return Err(Error::corruption(path, 0, "bad segment magic"));
    }
    let version = le_u32(h, 8);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            file: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let crc = crc32fast::hash(h.get(0..20).unwrap_or_default());
    if crc != le_u32(h, 20) {
        return Err(Error::corruption(
            path,
            0,
            "segment header checksum mismatch",
        ));
    }
    let id = le_u64(h, 12);
    if id != expected_id {
        return Err(Error::corruption(
            path,
            12,
            format!("header says segment {id} but the file name says {expected_id}"),
        ));
    }
    Ok(())
}

/// True when a last segment is what a crash while creating it leaves behind: only zero bytes
/// (any length), or nothing beyond a header that failed its checks as corrupt (`header` is the
/// result of [`check_header`]). Nothing in such a file was ever acknowledged, because records
/// are only written after the header is durable. A header of an unknown version is not
/// debris: it may be a newer build's file.
pub fn is_creation_debris(data: &[u8], header: &Result<()>) -> bool {
    let header_only_and_corrupt =
        data.len() as u64 <= HEADER_BYTES && matches!(header, Err(Error::Corruption { .. }));
    header_only_and_corrupt || data.iter().all(|&b| b == 0)
}

/// Creates segment `id` with its header written and fsynced and the directory fsynced, so
/// that once this returns, the segment survives a crash and records may be acknowledged in it.
pub fn create(io: &dyn FileIo, dir: &Path, id: u64) -> Result<(File, PathBuf)> {
    let path = dir.join(file_name(id));
    let file = io
        .create_file(&path, true)
        .map_err(|e| Error::io(&path, e))?;
    if let Err(e) = io.write_all_at_and_sync(&file, &encode_header(id), 0, SyncKind::All) {
        // Best effort: a half-made file would make every later attempt fail on create_new.
        let _ = io.remove_file(&path);
        return Err(Error::io(&path, e));
    }
    if let Err(e) = io.sync_dir(dir) {
        // The caller goes on with its previous segment, which must then stay the last one:
        // with preallocation it may end in zeros, which only the last segment may hold.
        let _ = io.remove_file(&path);
        return Err(Error::io(dir, e));
    }
    Ok((file, path))
}

/// The segment files of `dir`, in id order. Other files are left alone.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_file_name) {
            out.push((id, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_id() {
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert!(file_name(9) < file_name(10));
        for bad in [
            "commitlog-.log",
            "commitlog-1x.log",
            "commitlog-1.log.tmp",
            "x.log",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_checks() {
        let p = Path::new("seg");
        let h = encode_header(5);
        check_header(p, &h, 5).unwrap();
        assert!(matches!(
            check_header(p, &h, 6),
            Err(Error::Corruption { offset: 12, .. })
        ));
        assert!(matches!(
            check_header(p, &h[..10], 5),
            Err(Error::Corruption { .. })
        ));
        let mut bad = h;
        bad[15] ^= 1;
        assert!(matches!(
            check_header(p, &bad, 5),
            Err(Error::Corruption { .. })
        ));
        let mut v2 = h;
        v2[8] = 2;
        assert!(matches!(
            check_header(p, &v2, 5),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
        let debris = |d: &[u8]| is_creation_debris(d, &check_header(p, d, 5));
        assert!(debris(&[]) && debris(&[0; 100]) && debris(&h[..10]) && debris(&bad));
        assert!(!debris(&h) && !debris(&v2));
        let mut bad_with_data = bad.to_vec();
        bad_with_data.push(1);
        assert!(
            !debris(&bad_with_data),
            "bytes after a bad header may be records"
        );
    }
}
