//! Disk figures measured the same way for every engine: bytes the process wrote to the
//! block layer (`/proc/self/io`) and the size of the files in the engine's directory.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes this process has caused to be written to storage: `write_bytes` minus
/// `cancelled_write_bytes` (dirty pages dropped before writeback, e.g. of files deleted
/// in time), from `/proc/self/io`. `None` where the file or the fields are missing.
pub fn process_write_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    let field = |name: &str| -> Option<u64> {
        io.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(": ")?
                .trim()
                .parse()
                .ok()
        })
    };
    Some(field("write_bytes")?.saturating_sub(field("cancelled_write_bytes").unwrap_or(0)))
}

/// Bytes allocated on disk to every file under `dir`, recursively (`st_blocks * 512`).
///
/// Allocated, not apparent, sizes: fjall preallocates its 64 MB journal with `set_len`,
/// so the apparent size would count space that holds nothing.
pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                // A file a background compaction just removed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    Ok(total)
}
