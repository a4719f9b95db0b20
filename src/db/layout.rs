//! The database directory:
//!
//! ```text
//! dir/LOCK           flock'd while a Db has the directory open
//! dir/catalog.json   the catalog (see catalog::store)
//! dir/shards.json    how many shards wrote the shard directories
//! dir/shard-<i>/     shard i's storage engine (commitlog, tables, manifest)
//! dir/reshard/       old shard directories while they are re-routed (see reshard.rs)
//! ```

use crate::catalog::store::write_atomically;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

pub const SHARDS_FILE: &str = "shards.json";
pub const LOCK_FILE: &str = "LOCK";

#[derive(Serialize, Deserialize)]
struct ShardsFile {
    format: u32,
    shards: usize,
}

pub fn shard_dir(root: &Path, index: usize) -> PathBuf {
    root.join(format!("shard-{index}"))
}

/// The shard index of a directory name `shard-<i>`.
pub fn shard_index_of(name: &str) -> Option<usize> {
    name.strip_prefix("shard-")?.parse().ok()
}

/// The shard directories directly under `root`, as (index, path), sorted by index.
pub fn shard_dirs(root: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let mut dirs = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(dirs),
        Err(e) => return Err(Error::io(root, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        if let Some(i) = entry.file_name().to_str().and_then(shard_index_of) {
            if entry.path().is_dir() {
                dirs.push((i, entry.path()));
            }
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The shard count recorded in `root`, if any.
pub fn stored_shard_count(root: &Path) -> Result<Option<usize>> {
    let path = root.join(SHARDS_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            let file: ShardsFile = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Storage(crate::storage::Error::corruption(&path, 0, e.to_string()))
            })?;
            Ok(Some(file.shards))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

pub fn store_shard_count(root: &Path, shards: usize) -> Result<()> {
    let bytes = serde_json::to_vec(&ShardsFile { format: 1, shards })
        .map_err(|e| Error::invalid(e.to_string()))?;
    write_atomically(root, SHARDS_FILE, &bytes)
}

/// Takes an exclusive `flock` on `root/LOCK` so two processes (or two `Db`s) never run
/// engines on the same shard directories. Released when the file is closed.
pub fn lock_dir(root: &Path) -> Result<fs::File> {
    let path = root.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    lock_file(&file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::invalid(format!("{} is already open", root.display()))
        } else {
            Error::io(&path, e)
        }
    })?;
    Ok(file)
}

#[cfg(unix)]
fn lock_file(file: &fs::File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn lock_file(_file: &fs::File) -> std::io::Result<()> {
    Ok(())
}
