//! Preallocated segments: what a kill leaves (records, then zeros) replays in full; a torn
//! record before the zeros is a torn tail; a page of zeros a power loss left before valid
//! records is a torn tail, other damage there is still corruption; clean shutdown and
//! rotation leave segments that end at their last record.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use super::record::FRAME_HEADER_BYTES;
use super::replay::PAGE_BYTES;
use super::segment::{file_name, HEADER_BYTES};
use super::{Commitlog, CommitlogOptions, ReplayReport, SyncMode};
use crate::error::{Error, Result};

const CHUNK: u64 = 64 << 10;

fn opts(sync: SyncMode) -> CommitlogOptions {
    CommitlogOptions {
        sync,
        segment_size_bytes: 1 << 20,
        ..CommitlogOptions::default()
    }
}

fn open(dir: &Path, sync: SyncMode) -> Commitlog {
    let (mut log, _) = Commitlog::open(dir, opts(sync), |_, _| Ok(())).unwrap();
    log.preallocate(CHUNK);
    log
}

fn replay(dir: &Path) -> Result<(Vec<Vec<u8>>, ReplayReport)> {
    let mut seen = Vec::new();
    let (log, report) = Commitlog::open(dir, opts(SyncMode::GroupCommit), |_, p| {
        seen.push(p.to_vec());
        Ok(())
    })?;
    drop(log);
    Ok((seen, report))
}

fn payload(i: usize) -> Vec<u8> {
    vec![b'a' + (i % 26) as u8; 100 + i % 50]
}

/// Appends `n` records in group commit, then "kills" the process (the log is leaked: no
/// trim, no close). Returns the segment's path and the logical end of its records.
fn killed_log(dir: &Path, n: usize) -> (PathBuf, u64) {
    let mut log = open(dir, SyncMode::GroupCommit);
    let mut end = 0;
    for i in 0..n {
        end = log.append(&[&payload(i)]).unwrap().offset;
    }
    std::mem::forget(log);
    (dir.join(file_name(1)), end)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_killed_log_with_a_preallocated_tail_replays_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let (path, end) = killed_log(dir.path(), 40);
    let len = file_len(&path);
    assert!(
        len > end && len <= end + CHUNK,
        "the file is preallocated: {len}"
    );
    let (seen, report) = replay(dir.path()).unwrap();
    assert_eq!(seen, (0..40).map(payload).collect::<Vec<_>>());
    assert_eq!(report.truncated.len(), 1, "{report:?}");
    assert_eq!(report.truncated[0].1, end);
    assert!(report.truncated[0].2.contains("zeros"), "{report:?}");
    assert_eq!(file_len(&path), end, "the zeros are cut off");
    // The repaired segment is now a closed one: later opens replay it strictly.
    let (seen, report) = replay(dir.path()).unwrap();
    assert_eq!(seen.len(), 40);
    assert!(report.truncated.is_empty(), "{report:?}");
}

#[test]
fn a_torn_record_followed_by_zeros_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, end) = killed_log(dir.path(), 10);
    // Half of an 11th frame at the end: its header and part of its payload, zeros after.
    let mut frame = Vec::new();
    super::record::encode_record(&mut frame, 1, &[b'z'; 300]);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = end as usize;
    bytes[at..at + 150].copy_from_slice(&frame[..150]);
    std::fs::write(&path, &bytes).unwrap();
    let (seen, report) = replay(dir.path()).unwrap();
    assert_eq!(seen.len(), 10);
    assert_eq!(report.truncated.len(), 1);
    assert_eq!(report.truncated[0].1, end);
    assert_eq!(file_len(&path), end);
}

/// Offsets of the frames of `killed_log(dir, n)`.
fn frame_starts(n: usize) -> Vec<u64> {
    let mut at = HEADER_BYTES;
    (0..n)
        .map(|i| {
            let start = at;
            at += FRAME_HEADER_BYTES + payload(i).len() as u64;
            start
        })
        .collect()
}

#[test]
fn a_zero_page_before_valid_records_is_a_torn_tail_other_damage_is_corruption() {
    let n = 120; // about 15 KiB: records on four pages
    let starts = frame_starts(n);
    // The first frame that starts in the second page, and its page's end.
    let (k, &x) = starts
        .iter()
        .enumerate()
        .find(|(_, &s)| s > PAGE_BYTES as u64)
        .unwrap();
    let page_end = (x as usize / PAGE_BYTES + 1) * PAGE_BYTES;
    assert!(
        starts[n - 1] as usize > page_end,
        "valid records follow the page"
    );

    // A page the disk never got (zeros from a frame start to the page's end): torn tail.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = killed_log(dir.path(), n);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[x as usize..page_end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let (seen, report) = replay(dir.path()).unwrap();
    assert_eq!(seen, (0..k).map(payload).collect::<Vec<_>>());
    assert_eq!(report.truncated.len(), 1);
    assert_eq!(report.truncated[0].1, x);
    assert!(report.truncated[0].2.contains("page"), "{report:?}");
    assert_eq!(file_len(&path), x);

    // Zeros that stop short of the page boundary are not an unwritten page: corruption.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = killed_log(dir.path(), n);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[x as usize..x as usize + 20].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    match replay(dir.path()) {
        Err(Error::Corruption { file, offset, .. }) => assert_eq!((file, offset), (path, x)),
        other => panic!("expected corruption, got {other:?}"),
    }

    // A flipped byte before valid records: corruption at the damaged frame, as before.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = killed_log(dir.path(), n);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[x as usize + 9] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    match replay(dir.path()) {
        Err(Error::Corruption { file, offset, .. }) => assert_eq!((file, offset), (path, x)),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn a_zero_page_in_a_closed_segment_is_still_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let n = 120;
    let (path, _) = killed_log(dir.path(), n);
    replay(dir.path()).unwrap(); // segment 1 is repaired and closed; segment 2 follows
    let x = *frame_starts(n)
        .iter()
        .find(|&&s| s > PAGE_BYTES as u64)
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let page_end = (x as usize / PAGE_BYTES + 1) * PAGE_BYTES;
    bytes[x as usize..page_end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        replay(dir.path()),
        Err(Error::Corruption { offset, .. }) if offset == x
    ));
}

#[test]
fn rotated_and_closed_segments_end_at_their_last_record() {
    for sync in [
        SyncMode::GroupCommit,
        SyncMode::Periodic { period_ms: 0 },
        SyncMode::periodic_buffered(0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), sync);
        let mut written = Vec::new();
        for i in 0..30 {
            log.append(&[&payload(i)]).unwrap();
            log.sync_if_due().unwrap();
            written.push(payload(i));
        }
        let first_end = log.position();
        log.rotate().unwrap();
        assert_eq!(file_len(&dir.path().join(file_name(1))), first_end.offset);
        for i in 30..40 {
            log.append(&[&payload(i)]).unwrap();
            written.push(payload(i));
        }
        let second = dir.path().join(file_name(2));
        let end = log.position().offset;
        log.close().unwrap();
        assert_eq!(file_len(&second), end, "{sync:?}");
        let (seen, report) = replay(dir.path()).unwrap();
        assert_eq!(seen, written, "{sync:?}");
        assert!(report.truncated.is_empty(), "{sync:?}: {report:?}");
    }
}

#[test]
fn a_dropped_log_trims_its_preallocation_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), SyncMode::periodic_buffered(60_000));
    for i in 0..25 {
        log.append(&[&payload(i)]).unwrap();
    }
    let end = log.position().offset;
    drop(log);
    assert_eq!(file_len(&dir.path().join(file_name(1))), end);
    let (seen, report) = replay(dir.path()).unwrap();
    assert_eq!(seen.len(), 25);
    assert!(report.truncated.is_empty());
}

#[test]
fn preallocation_grows_in_chunks_and_stops_at_the_segment_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), SyncMode::GroupCommit);
    let path = dir.path().join(file_name(1));
    log.append(&[b"x"]).unwrap();
    assert_eq!(file_len(&path), HEADER_BYTES + 9 + CHUNK);
    let big = vec![7u8; CHUNK as usize];
    log.append(&[&big]).unwrap();
    let after = file_len(&path);
    assert!(
        after > HEADER_BYTES + 9 + CHUNK && after <= 1 << 20,
        "{after}"
    );
    for _ in 0..20 {
        log.append(&[&big]).unwrap();
    }
    for (_, p) in super::segment::list(dir.path()).unwrap() {
        assert!(file_len(&p) <= 1 << 20, "{}", p.display());
    }
}
