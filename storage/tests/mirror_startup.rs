//! What a mirrored start-up reads. After a clean close the start-up marker vouches for
//! every SSTable, so the reconcile checks only their sizes and footers: damage in the middle
//! of a local SSTable is not seen there but when the block is read, and served from the
//! mirror. After an unclean shutdown the SSTables written since the last marker are compared
//! in full and repaired as before, and so are files a read had to take from the mirror.

mod mirror_common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mirror_common::*;
use scrolldb_storage::engine::Engine;
use scrolldb_storage::io::Io;
use scrolldb_storage::mirror;

fn all(n: u64) -> Vec<u64> {
    (0..n).collect()
}

fn sst_bytes(dir: &Path) -> u64 {
    sstables(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn a_clean_restart_reads_no_sstable_in_full_and_reads_catch_what_it_skipped() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..200);
    engine.close().unwrap();
    let ssts = sstables(local.path());
    assert_eq!(ssts.len(), 4);
    // The damage lies before the tail the marker's fingerprint covers.
    let len = std::fs::metadata(&ssts[0]).unwrap().len();
    assert!(len > IN_FIRST_BLOCK + mirror::marker::TAIL_BYTES, "{len}");
    // Damage in a data block of the local copy, after the clean close.
    flip_byte(&ssts[0], IN_FIRST_BLOCK);

    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 4, "{report:?}");
    assert!(
        report.repaired.is_empty(),
        "not seen at start-up: {report:?}"
    );
    // What was compared in full is the commitlog and the MANIFEST, not the SSTables.
    assert!(report.files_compared >= 1, "{report:?}");
    let total = 2
        * (sst_bytes(local.path())
            + std::fs::metadata(local.path().join("MANIFEST"))
                .unwrap()
                .len());
    assert!(
        report.bytes_compared < total,
        "{} bytes compared of {total}",
        report.bytes_compared
    );

    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(read_all(&mut engine).unwrap(), all(200));
    let status = engine.mirror_status().unwrap();
    assert!(status.read_fallbacks >= 1, "caught when read: {status:?}");
    assert_eq!(status.read_repairs, 1, "{status:?}");
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[test]
fn mirror_verify_stays_a_full_compare() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    engine.close().unwrap();
    flip_byte(&sstables(local.path())[1], IN_FIRST_BLOCK);
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
}

#[test]
fn an_unclean_restart_compares_and_repairs_the_sstables_written_since_the_marker() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    engine.close().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 100..200);
    // The process dies: no close, no marker; the one written at open lists the first two.
    std::mem::forget(engine);
    let ssts = sstables(local.path());
    assert_eq!(ssts.len(), 4);
    let (old, new): (Vec<_>, Vec<_>) = ssts.iter().partition(|p| {
        let g: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        g <= 2
    });
    assert_eq!((old.len(), new.len()), (2, 2), "{ssts:?}");
    flip_byte(new[0], IN_FIRST_BLOCK);

    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 2, "{report:?}");
    assert_eq!(report.repaired.len(), 1, "{report:?}");
    assert_eq!(report.repaired[0].0, *new[0]);
    assert!(report.repaired[0].1.contains("local copy damaged"));
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(read_all(&mut engine).unwrap(), all(200));
    assert_eq!(engine.mirror_status().unwrap().read_fallbacks, 0);
}

#[test]
fn files_a_read_took_from_the_mirror_are_compared_in_full_at_the_next_start() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(FailingReads::default());
    let io: Io = failing.clone();
    let mut engine =
        Engine::open_with_io(local.path(), opts(mirror_dir.path()), io.clone()).unwrap();
    ingest(&mut engine, 0..200);
    // Every local read fails for a while: each table is read from the mirror.
    failing.fail.store(true, Ordering::SeqCst);
    assert_eq!(read_all(&mut engine).unwrap(), all(200));
    failing.fail.store(false, Ordering::SeqCst);
    drop(io);
    engine.close().unwrap();
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 0, "{report:?}");
    assert!(report.files_compared >= 4, "{report:?}");
    // Once compared, the next clean close vouches for them again.
    let engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    engine.close().unwrap();
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 4, "{report:?}");
}

#[test]
fn a_damaged_footer_after_a_clean_close_is_still_repaired_at_start_up() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    engine.close().unwrap();
    let sst = sstables(local.path()).remove(0);
    let len = std::fs::metadata(&sst).unwrap().len();
    flip_byte(&sst, len - 20);
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 1, "{report:?}");
    assert_eq!(report.repaired.len(), 1, "{report:?}");
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
}

#[test]
fn a_damaged_or_missing_marker_means_a_full_compare() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    engine.close().unwrap();
    let marker = mirror::marker::MARKER_FILE;
    // One side's marker damaged: the other side's is used.
    let text = std::fs::read_to_string(local.path().join(marker)).unwrap();
    std::fs::write(local.path().join(marker), text.replace(".sst", ".sss")).unwrap();
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 2, "{report:?}");
    // Both damaged or gone: nothing is vouched for, everything is compared.
    std::fs::write(
        mirror_dir.path().join(marker),
        b"scrolldb mirror marker v1\n",
    )
    .unwrap();
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 0, "{report:?}");
    assert!(
        report.bytes_compared >= 2 * sst_bytes(local.path()),
        "{report:?}"
    );
    std::fs::remove_file(local.path().join(marker)).unwrap();
    std::fs::remove_file(mirror_dir.path().join(marker)).unwrap();
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 0, "{report:?}");
    // The markers are no file of the database: verify does not see them.
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
}
