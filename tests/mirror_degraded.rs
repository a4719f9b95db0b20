//! A database whose mirror fails mid-run: it keeps serving (the default policy), reports the
//! mirror degraded, loses nothing acknowledged, and the resync makes the copies identical.

mod common;

use common::*;
use scrolldb::storage::io::{FileIo, Io, PlainIo, SyncKind};
use scrolldb::storage::mirror::{self, MirrorOptions};
use scrolldb::{Db, Options};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Plain I/O that fails everything while `fail` is set: a mirror volume that went away.
#[derive(Debug)]
struct DeadWhileSet {
    fail: Arc<AtomicBool>,
}

impl DeadWhileSet {
    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(std::io::Error::from_raw_os_error(5)) // EIO
        } else {
            Ok(())
        }
    }
}

impl FileIo for DeadWhileSet {
    fn name(&self) -> &'static str {
        "dead-while-set"
    }
    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.check()?;
        PlainIo.write_all_at(file, buf, offset)
    }
    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        self.check()?;
        PlainIo.sync(file, kind)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.check()?;
        PlainIo.sync_dir(dir)
    }
    fn create_file(&self, path: &Path, create_new: bool) -> std::io::Result<File> {
        self.check()?;
        PlainIo.create_file(path, create_new)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.check()?;
        PlainIo.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.check()?;
        PlainIo.remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.check()?;
        PlainIo.create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.check()?;
        PlainIo.remove_dir_all(path)
    }
}

#[test]
fn a_mirror_that_dies_mid_run_degrades_then_resyncs_to_identical() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let io: Io = Arc::new(DeadWhileSet {
        fail: Arc::clone(&fail),
    });
    let opts = Options {
        pin_threads: false,
        mirror: Some(MirrorOptions {
            resync_interval_ms: 20,
            mirror_io: Some(io),
            ..MirrorOptions::new(mirror_dir.path())
        }),
        ..Options::with_shards(2)
    };
    let db = Db::open(local.path(), opts.clone()).unwrap();
    create_messages(&db);
    for id in 0..100 {
        send(&db, id % 4, id);
    }
    fail.store(true, Ordering::SeqCst);
    for id in 100..300 {
        send(&db, id % 4, id); // acknowledged while the mirror is dead
    }
    db.flush().unwrap();
    let status = db.mirror_status().unwrap();
    assert!(status.degraded && status.errors > 0, "{status:?}");
    fail.store(false, Ordering::SeqCst);
    let start = Instant::now();
    while db.mirror_status().unwrap().degraded {
        assert!(start.elapsed() < Duration::from_secs(5), "no resync");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(db.mirror_status().unwrap().resyncs >= 1);
    db.close().unwrap();
    drop(db);
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");

    // Nothing acknowledged is missing from the mirror alone.
    std::fs::remove_dir_all(local.path()).unwrap();
    let db = Db::open(local.path(), opts).unwrap();
    let total: usize = (0..4).map(|c| channel_ids(&db, c).len()).sum();
    assert_eq!(total, 300);
}
