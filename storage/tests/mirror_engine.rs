//! The mirror layer under a real engine: both copies identical, a lost local directory
//! rebuilt, damaged copies repaired (or a clear error when both are), a failing mirror
//! degrading as configured and resynced afterwards.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod mirror_common;

use mirror_common::*;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::io::{FileIo, Io, PlainIo, SyncKind};
use scrolldb_storage::mirror::{self, DegradedPolicy};

fn total_rows(engine: &mut Engine) -> usize {
    read_all(engine).unwrap().len()
}

/// Removes the start-up markers, as if every file had been written after the last one (an
/// unclean shutdown): the next start-up compares them in full. With a marker, damage in the
/// middle of an SSTable is found when it is read instead (`mirror_startup.rs`).
fn forget_markers(local: &Path, mirror_dir: &Path) {
    for d in [local, mirror_dir] {
        std::fs::remove_file(d.join(mirror::marker::MARKER_FILE)).unwrap();
    }
}

fn flip_byte_in_middle(path: &Path) {
    flip_byte_at_fraction(path, 2);
}

#[test]
fn every_file_reaches_both_dirs_and_a_lost_local_dir_is_rebuilt() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..230);
    engine.compact_all().unwrap();
    ingest(&mut engine, 230..260);
    assert_eq!(total_rows(&mut engine), 260);
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "copies differ: {diffs:?}");
    assert!(!sstables(mirror_dir.path()).is_empty());

    // A new host: the local directory is gone.
    std::fs::remove_dir_all(local.path()).unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(total_rows(&mut engine), 260, "rebuilt from the mirror");
    engine.close().unwrap();
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
}

#[test]
fn a_damaged_sstable_is_repaired_from_the_good_copy_on_either_side() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    engine.close().unwrap();
    forget_markers(local.path(), mirror_dir.path());
    let ssts = sstables(local.path());
    assert_eq!(ssts.len(), 2);
    let rel = |p: &Path| p.strip_prefix(local.path()).unwrap().to_path_buf();
    // Local copy of the first, mirror copy of the second.
    flip_byte_in_middle(&ssts[0]);
    flip_byte_in_middle(&mirror_dir.path().join(rel(&ssts[1])));
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.repaired.len(), 2, "{report:?}");
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(total_rows(&mut engine), 100);
}

#[test]
fn an_sstable_damaged_on_both_sides_is_a_clear_error_naming_it() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    engine.close().unwrap();
    forget_markers(local.path(), mirror_dir.path());
    let sst = sstables(local.path()).remove(0);
    let rel = sst.strip_prefix(local.path()).unwrap().to_path_buf();
    // Damaged differently: identical copies are not compared further at startup.
    flip_byte_in_middle(&sst);
    flip_byte_at_fraction(&mirror_dir.path().join(&rel), 3);
    let Err(err) = Engine::open(local.path(), opts(mirror_dir.path())) else {
        panic!("opening with both copies damaged must fail");
    };
    assert_both_copies_bad(&err, &sst);
}

#[test]
fn an_sstable_the_local_disk_lost_is_read_from_the_mirror() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    engine.close().unwrap();
    std::fs::remove_file(&sstables(local.path())[0]).unwrap();
    let mut o = opts(mirror_dir.path());
    if let Some(m) = o.mirror.as_mut() {
        m.reconcile_on_open = false;
    }
    let mut engine = Engine::open(local.path(), o).unwrap();
    assert_eq!(total_rows(&mut engine), 50);
    assert_eq!(engine.mirror_status().unwrap().read_fallbacks, 1);
}

/// Plain I/O that fails every operation while `fail` is set: a mirror disk that died.
#[derive(Debug)]
struct FlakyIo {
    fail: Arc<AtomicBool>,
}

impl FlakyIo {
    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected mirror fault"))
        } else {
            Ok(())
        }
    }
}

impl FileIo for FlakyIo {
    fn name(&self) -> &'static str {
        "flaky"
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

fn flaky_opts(mirror: &Path, policy: DegradedPolicy) -> (EngineOptions, Arc<AtomicBool>) {
    let fail = Arc::new(AtomicBool::new(false));
    let io: Io = Arc::new(FlakyIo {
        fail: Arc::clone(&fail),
    });
    let mut o = opts(mirror);
    if let Some(m) = o.mirror.as_mut() {
        m.on_failure = policy;
        m.mirror_io = Some(io);
    }
    (o, fail)
}

fn wait_for_resync(engine: &Engine) {
    let start = Instant::now();
    while engine.mirror_status().unwrap().degraded {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no resync: {:?}",
            engine.mirror_status()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_failing_mirror_degrades_keeps_serving_and_resyncs_to_identical() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let (o, fail) = flaky_opts(mirror_dir.path(), DegradedPolicy::KeepServing);
    let mut engine = Engine::open(local.path(), o.clone()).unwrap();
    ingest(&mut engine, 0..60);
    fail.store(true, Ordering::SeqCst);
    // Acknowledged while the mirror is down: flushes, compaction and removals included.
    ingest(&mut engine, 60..160);
    engine.compact_all().unwrap();
    let status = engine.mirror_status().unwrap();
    assert!(status.degraded && status.errors > 0, "{status:?}");
    assert!(status.last_error.unwrap().contains("injected"));
    assert!(!mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
    fail.store(false, Ordering::SeqCst);
    wait_for_resync(&engine);
    ingest(&mut engine, 160..200);
    assert_eq!(total_rows(&mut engine), 200);
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "after resync: {diffs:?}");

    // The mirror alone holds every acknowledged write.
    std::fs::remove_dir_all(local.path()).unwrap();
    let mut engine = Engine::open(local.path(), o).unwrap();
    assert_eq!(total_rows(&mut engine), 200);
}

#[test]
fn refuse_writes_policy_fails_writes_until_the_mirror_is_back() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let (o, fail) = flaky_opts(mirror_dir.path(), DegradedPolicy::RefuseWrites);
    let mut engine = Engine::open(local.path(), o.clone()).unwrap();
    ingest(&mut engine, 0..40);
    fail.store(true, Ordering::SeqCst);
    assert!(engine.apply(mutation(1000)).is_err());
    assert!(engine.mirror_status().unwrap().degraded);
    fail.store(false, Ordering::SeqCst);
    wait_for_resync(&engine);
    drop(engine);
    // Whatever state the refused write left, the reopened engine serves every acked write
    // and accepts new ones, and the copies end identical.
    let mut engine = Engine::open(local.path(), o).unwrap();
    assert!(total_rows(&mut engine) >= 40);
    engine.apply(mutation(2001)).unwrap();
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[test]
fn a_mirror_directory_removed_mid_run_degrades_and_is_rebuilt_by_the_resync() {
    let local = tempfile::tempdir().unwrap();
    let base = tempfile::tempdir().unwrap();
    let mirror_dir = base.path().join("mirror");
    let o = opts(&mirror_dir);
    let mut engine = Engine::open(local.path(), o.clone()).unwrap();
    ingest(&mut engine, 0..60);
    // The volume is unmounted (here: the directory removed) under the running engine.
    std::fs::remove_dir_all(&mirror_dir).unwrap();
    ingest(&mut engine, 60..160); // flushes create files the mirror no longer has room for
    let status = engine.mirror_status().unwrap();
    assert!(status.errors > 0, "{status:?}");
    // The directory is writable again at once (the probe recreates it): wait for the resync.
    wait_for_resync(&engine);
    assert_eq!(engine.mirror_status().unwrap().resyncs, 1);
    ingest(&mut engine, 160..180);
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), &mirror_dir).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    std::fs::remove_dir_all(local.path()).unwrap();
    let mut engine = Engine::open(local.path(), o).unwrap();
    assert_eq!(total_rows(&mut engine), 180);
}

#[test]
fn a_resync_repairs_a_rotten_local_sstable_instead_of_copying_it_over_the_mirror() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let (o, fail) = flaky_opts(mirror_dir.path(), DegradedPolicy::KeepServing);
    let mut engine = Engine::open(local.path(), o).unwrap();
    ingest(&mut engine, 0..100);
    let old = sstables(local.path());
    fail.store(true, Ordering::SeqCst);
    ingest(&mut engine, 100..160);
    assert!(engine.mirror_status().unwrap().degraded);
    // While the mirror is away, a local SSTable both sides had rots.
    let rel = old[0].strip_prefix(local.path()).unwrap().to_path_buf();
    flip_byte_in_middle(&old[0]);
    fail.store(false, Ordering::SeqCst);
    wait_for_resync(&engine);
    assert!(mirror::check_file(&mirror_dir.path().join(&rel)).is_good());
    assert!(
        mirror::check_file(&old[0]).is_good(),
        "repaired from the mirror"
    );
    // The table opened before the repair still reads the rotten inode: the mirror answers.
    assert_eq!(total_rows(&mut engine), 160);
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[test]
fn rebuild_refuses_to_copy_a_damaged_sstable_over_a_good_one() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    engine.close().unwrap();
    let sst = sstables(local.path()).remove(0);
    flip_byte_in_middle(&sst);
    let err = mirror::rebuild(local.path(), mirror_dir.path()).unwrap_err();
    assert!(err.to_string().contains(&*sst.to_string_lossy()), "{err}");
    assert!(err.to_string().contains("not copied over it"), "{err}");
    let rel = sst.strip_prefix(local.path()).unwrap();
    assert!(mirror::check_file(&mirror_dir.path().join(rel)).is_good());
}
