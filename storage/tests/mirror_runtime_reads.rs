//! A mirrored engine whose local disk fails under it at runtime: SSTables already open are
//! read with positioned reads through the mirror layer, so a failed or damaged local read is
//! answered from the mirror's copy (counted, and the local range repaired where cheap);
//! with both copies bad, a read fails with an error naming the file.

mod mirror_common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use mirror_common::*;
use scrolldb_storage::engine::Engine;
use scrolldb_storage::io::Io;
use scrolldb_storage::mirror;

fn all(n: u64) -> Vec<u64> {
    (0..n).collect()
}

#[test]
fn a_block_damaged_after_open_is_served_from_the_mirror_and_repaired() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..100);
    assert_eq!(read_all(&mut engine).unwrap(), all(100));
    let ssts = sstables(local.path());
    assert_eq!(ssts.len(), 2);
    // The disk rots under the open tables: a data block of each.
    for sst in &ssts {
        flip_byte(sst, IN_FIRST_BLOCK);
    }
    assert!(!mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
    assert_eq!(read_all(&mut engine).unwrap(), all(100));
    let status = engine.mirror_status().unwrap();
    assert!(status.read_fallbacks >= 2, "{status:?}");
    assert_eq!(status.read_repairs, 2, "{status:?}");
    assert!(
        !status.degraded,
        "a local failure does not degrade the mirror"
    );
    // The local copies were rewritten with the mirror's bytes.
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    let before = engine.mirror_status().unwrap().read_fallbacks;
    assert_eq!(read_all(&mut engine).unwrap(), all(100));
    assert_eq!(engine.mirror_status().unwrap().read_fallbacks, before);
}

#[test]
fn a_local_disk_failing_every_read_is_served_from_the_mirror() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(FailingReads::default());
    let io: Io = failing.clone();
    let mut engine = Engine::open_with_io(local.path(), opts(mirror_dir.path()), io).unwrap();
    ingest(&mut engine, 0..100);
    failing.fail.store(true, Ordering::SeqCst);
    assert_eq!(read_all(&mut engine).unwrap(), all(100));
    let after_reads = engine.mirror_status().unwrap().read_fallbacks;
    assert!(after_reads >= 2, "{:?}", engine.mirror_status());
    // New tables are opened, and compaction reads its inputs, while the disk still fails.
    ingest(&mut engine, 100..200);
    engine.compact_all().unwrap();
    assert_eq!(sstables(local.path()).len(), 1);
    assert_eq!(read_all(&mut engine).unwrap(), all(200));
    assert!(engine.mirror_status().unwrap().read_fallbacks > after_reads);
    failing.fail.store(false, Ordering::SeqCst);
    engine.close().unwrap();
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[test]
fn a_truncated_local_sstable_is_served_from_the_mirror_and_repaired_at_restart() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    let sst = sstables(local.path()).remove(0);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&sst)
        .unwrap()
        .set_len(20)
        .unwrap();
    assert_eq!(read_all(&mut engine).unwrap(), all(50));
    let status = engine.mirror_status().unwrap();
    assert!(status.read_fallbacks >= 1, "{status:?}");
    assert_eq!(
        status.read_repairs, 0,
        "a truncated file is not patched block by block"
    );
    engine.close().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(read_all(&mut engine).unwrap(), all(50));
    assert_eq!(engine.mirror_status().unwrap().read_fallbacks, 0);
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
}

#[test]
fn a_block_bad_in_both_copies_is_an_error_naming_the_file() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    let sst = sstables(local.path()).remove(0);
    let rel = sst.strip_prefix(local.path()).unwrap();
    flip_byte(&sst, IN_FIRST_BLOCK);
    flip_byte(&mirror_dir.path().join(rel), IN_FIRST_BLOCK + 1);
    let err = read_all(&mut engine).unwrap_err();
    assert_both_copies_bad(&err, &sst);
}

#[test]
fn a_table_whose_local_index_is_damaged_opens_from_the_mirror() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..50);
    engine.close().unwrap();
    // The metadata near the end of the file (the footer's last bytes are its magic).
    let sst = sstables(local.path()).remove(0);
    let len = std::fs::metadata(&sst).unwrap().len();
    flip_byte(&sst, len - 100);
    let mut o = opts(mirror_dir.path());
    if let Some(m) = o.mirror.as_mut() {
        m.reconcile_on_open = false;
    }
    let mut engine = Engine::open(local.path(), o).unwrap();
    assert_eq!(read_all(&mut engine).unwrap(), all(50));
    assert!(engine.mirror_status().unwrap().read_fallbacks >= 1);
}

/// Copies every file below `from` to `to` (same relative paths).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (s, d) = (e.path(), to.join(e.file_name()));
        if s.is_dir() {
            std::fs::create_dir_all(&d).unwrap();
            copy_dir(&s, &d);
        } else {
            std::fs::copy(&s, &d).unwrap();
        }
    }
}

#[test]
fn damage_anywhere_in_the_local_copy_is_served_from_the_mirror_and_both_damaged_never_panics() {
    let pristine = tempfile::tempdir().unwrap();
    let (p_local, p_mirror) = (pristine.path().join("l"), pristine.path().join("m"));
    let mut engine = Engine::open(&p_local, opts(&p_mirror)).unwrap();
    ingest(&mut engine, 0..50);
    engine.close().unwrap();
    let sst = sstables(&p_local).remove(0);
    let rel = sst.strip_prefix(&p_local).unwrap().to_path_buf();
    let len = std::fs::metadata(&sst).unwrap().len();
    let mut o = opts(&p_mirror);
    if let Some(m) = o.mirror.as_mut() {
        m.reconcile_on_open = false;
    }
    let step = (len / 20).max(1);
    let mut served = 0;
    for offset in (0..len).step_by(step as usize) {
        let run = tempfile::tempdir().unwrap();
        let (local, mirror_dir) = (run.path().join("l"), run.path().join("m"));
        for (from, to) in [(&p_local, &local), (&p_mirror, &mirror_dir)] {
            std::fs::create_dir_all(to).unwrap();
            copy_dir(from, to);
        }
        flip_byte(&local.join(&rel), offset);
        let mut o = o.clone();
        if let Some(m) = o.mirror.as_mut() {
            m.dir = mirror_dir.clone();
        }
        let mut engine = Engine::open(&local, o.clone()).unwrap();
        assert_eq!(read_all(&mut engine).unwrap(), all(50), "offset {offset}");
        served += u64::from(engine.mirror_status().unwrap().read_fallbacks > 0);
        drop(engine);

        // The mirror's copy damaged too (elsewhere): an error or right rows, never a panic.
        // (The first open may have repaired the local copy: damage it again.)
        std::fs::copy(&sst, local.join(&rel)).unwrap();
        flip_byte(&local.join(&rel), offset);
        flip_byte(&mirror_dir.join(&rel), (offset + len / 2) % len);
        if let Ok(mut engine) = Engine::open(&local, o) {
            if let Ok(ids) = read_all(&mut engine) {
                assert_eq!(ids, all(50), "offset {offset}");
            }
        }
    }
    assert!(
        served >= 12,
        "only {served} damaged offsets went to the mirror"
    );
}

#[test]
fn positioned_reads_return_what_the_map_returns() {
    use bytes::Bytes;
    use scrolldb_storage::model::ReadQuery;
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(local.path(), opts(mirror_dir.path())).unwrap();
    ingest(&mut engine, 0..300);
    engine.compact_all().unwrap();
    ingest(&mut engine, 300..420);
    engine.close().unwrap();
    let queries: Vec<ReadQuery> = (0..PARTITIONS)
        .flat_map(|p| {
            let q = ReadQuery::partition(1, Bytes::copy_from_slice(&p.to_be_bytes()));
            [
                q.clone(),
                q.clone().reverse(),
                q.clone().limit(7),
                q.reverse().limit(13),
            ]
        })
        .collect();
    let mut answers = Vec::new();
    for mirrored in [true, false] {
        let mut o = opts(mirror_dir.path());
        o.block_cache_bytes = 1 << 20;
        if !mirrored {
            o.mirror = None;
        }
        let mut engine = Engine::open(local.path(), o).unwrap();
        let rows: Vec<_> = queries
            .iter()
            .map(|q| engine.read(q).unwrap().rows)
            .collect();
        answers.push(rows);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].iter().map(Vec::len).sum::<usize>() > 420);
}

#[test]
fn an_empty_sstable_opens_through_the_mirror() {
    use scrolldb_storage::mirror::MirrorOptions;
    use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let io: Io = Arc::new(
        mirror::MirrorIo::open(
            scrolldb_storage::io::plain(),
            local.path(),
            &MirrorOptions::new(mirror_dir.path()),
        )
        .unwrap(),
    );
    assert!(io.positioned_reads());
    let path = local.path().join("1.sst");
    SstableWriter::create_with_io(io.clone(), &path, SstableWriterOptions::default(), 0)
        .unwrap()
        .finish()
        .unwrap();
    let t = Sstable::open_io(&io, &path, None).unwrap();
    assert_eq!(t.partitions_from(None).count(), 0);
    assert_eq!(t.file_size(), std::fs::metadata(&path).unwrap().len());
    // Its footer damaged locally: read from the mirror, and repaired.
    flip_byte(&path, t.file_size() - 1);
    let t = Sstable::open_io(&io, &path, None).unwrap();
    assert_eq!(t.partitions_from(None).count(), 0);
    let status = io.mirror_status().unwrap();
    assert_eq!((status.read_fallbacks, status.read_repairs), (1, 1));
    assert!(mirror::verify(local.path(), mirror_dir.path())
        .unwrap()
        .is_empty());
}
