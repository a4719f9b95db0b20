//! Helpers shared by the mirror tests: rows with known contents, ingest with flushes, a
//! local disk whose reads fail on demand, and file damage.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::io::{FileIo, PlainIo, SyncKind};
use scrolldb_storage::mirror::MirrorOptions;
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

pub const PARTITIONS: u64 = 4;

pub fn mutation(id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(
        0,
        Cell::live(
            id as i64,
            Bytes::from(format!("message {id} {}", "x".repeat(40))),
        ),
    );
    Mutation::new(1, Bytes::copy_from_slice(&(id % PARTITIONS).to_be_bytes())).with_row(row)
}

/// Every row's id, checked against its value, in id order; the first error if a read fails.
pub fn read_all(engine: &mut Engine) -> scrolldb_storage::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for p in 0..PARTITIONS {
        let q = ReadQuery::partition(1, Bytes::copy_from_slice(&p.to_be_bytes()));
        for row in engine.read(&q)?.rows {
            let id = u64::from_be_bytes(row.clustering[..].try_into().unwrap());
            let want = &mutation(id).rows[0];
            assert_eq!(
                row.cells, want.cells,
                "row {id} came back with other contents"
            );
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

pub fn opts(mirror: &Path) -> EngineOptions {
    EngineOptions {
        // Every read goes to the file: the point is what a read of a failing disk does.
        block_cache_bytes: 0,
        mirror: Some(MirrorOptions {
            resync_interval_ms: 20,
            ..MirrorOptions::new(mirror)
        }),
        ..EngineOptions::default()
    }
}

/// Writes `ids`, flushing every 50, so SSTables and commitlog segments exist.
pub fn ingest(engine: &mut Engine, ids: std::ops::Range<u64>) {
    for id in ids {
        engine.apply(mutation(id)).unwrap();
        if id % 50 == 49 {
            engine.flush().unwrap();
        }
    }
}

pub fn sstables(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(dir.join("tables")).unwrap() {
        for f in std::fs::read_dir(t.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "sst") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Offset of a byte inside the first data block (right after the 16-byte header).
pub const IN_FIRST_BLOCK: u64 = 24;

/// Flips the byte at `offset` in place (same inode: an open SSTable sees it).
pub fn flip_byte(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x5a;
    f.write_all_at(&b, offset).unwrap();
}

/// Flips the byte at 1/`fraction` of the file.
pub fn flip_byte_at_fraction(path: &Path, fraction: u64) {
    let len = std::fs::metadata(path).unwrap().len();
    flip_byte(path, len / fraction);
}

/// Plain I/O whose reads fail with EIO while `fail` is set: a local disk going bad.
#[derive(Debug, Default)]
pub struct FailingReads {
    pub fail: Arc<AtomicBool>,
}

impl FileIo for FailingReads {
    fn name(&self) -> &'static str {
        "failing-reads"
    }
    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        PlainIo.write_all_at(file, buf, offset)
    }
    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        PlainIo.sync(file, kind)
    }
    fn read_exact_at(&self, file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        PlainIo.read_exact_at(file, buf, offset)
    }
}

/// `err` is the corruption error of a file whose two copies are both bad, naming `sst`.
pub fn assert_both_copies_bad(err: &scrolldb_storage::error::Error, sst: &Path) {
    match err {
        scrolldb_storage::error::Error::Corruption { file, reason, .. } => {
            assert_eq!(file, sst);
            assert!(reason.contains("both copies"), "{reason}");
        }
        other => panic!("expected a corruption error, got {other}"),
    }
    assert!(err.to_string().contains(&*sst.to_string_lossy()));
}
