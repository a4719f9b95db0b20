//! Commitlog round trips: rotation, reopen, positions, discard, and the sync modes.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use scrolldb_storage::commitlog::{Commitlog, CommitlogOptions, Position, ReplayReport, SyncMode};
use scrolldb_storage::Error;

fn opts(sync: SyncMode, segment_size_bytes: u64) -> CommitlogOptions {
    CommitlogOptions {
        sync,
        segment_size_bytes,
        ..CommitlogOptions::default()
    }
}

type Replayed = Vec<(Position, Vec<u8>)>;

fn open(dir: &Path, o: CommitlogOptions) -> (Commitlog, ReplayReport, Replayed) {
    let mut seen = Vec::new();
    let (log, report) = Commitlog::open(dir, o, |pos, p| {
        seen.push((pos, p.to_vec()));
        Ok(())
    })
    .unwrap();
    (log, report, seen)
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_across_rotation_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(SyncMode::GroupCommit, 256);
    let (mut log, report, seen) = open(dir.path(), o);
    assert_eq!((report.records, report.segments, seen.len()), (0, 0, 0));
    let mut written = Vec::new();
    let mut ends = Vec::new();
    for i in 0..100u32 {
        let a = format!("record-{i}-a").into_bytes();
        let b = vec![i as u8; (i % 40 + 1) as usize];
        let end = log.append(&[&a, &b]).unwrap();
        log.sync_if_due().unwrap();
        assert_eq!(end, log.position());
        ends.push(end);
        written.push(a);
        written.push(b);
    }
    assert!(ends.windows(2).all(|w| w[0] < w[1]), "positions increase");
    assert!(log.stats().live_segments > 5, "rotation happened");
    assert_eq!(log.stats().records_appended, 200);
    drop(log);

    let (log, report, seen) = open(dir.path(), o);
    assert!(report.truncated.is_empty() && report.skipped.is_empty());
    assert_eq!(report.records, 200);
    let payloads: Vec<_> = seen.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(payloads, written);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    // Replay positions are record ends, the same positions append returned.
    let batch_ends: Vec<_> = seen.iter().skip(1).step_by(2).map(|(p, _)| *p).collect();
    assert_eq!(batch_ends, ends);
    assert!(log.position() > *ends.last().unwrap());
    drop(log);

    // A third open sees the same records; the second open's empty segment stays harmless.
    let (_log, report, _) = open(dir.path(), o);
    assert_eq!(report.records, 200);
}

#[test]
fn a_batch_larger_than_a_segment_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(SyncMode::GroupCommit, 64);
    let (mut log, _, _) = open(dir.path(), o);
    let big = vec![7u8; 500];
    let p1 = log.append(&[b"small"]).unwrap();
    let p2 = log.append(&[&big, &big]).unwrap();
    assert_eq!(p2.segment, p1.segment + 1);
    drop(log);
    let (_, report, seen) = open(dir.path(), o);
    assert_eq!(report.records, 3);
    assert_eq!(seen[2].1, big);
}

#[test]
fn discard_before_deletes_only_fully_covered_segments() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(SyncMode::GroupCommit, 100);
    let (mut log, _, _) = open(dir.path(), o);
    let mut ends = Vec::new();
    for i in 0..30u8 {
        ends.push(log.append(&[&[i; 20]]).unwrap());
    }
    let live = log.stats().live_segments;
    let cut = ends[14];
    // Records ending at or before `cut` are "flushed"; the segment holding `cut` is kept
    // unless `cut` is its last record.
    log.discard_before(cut).unwrap();
    let remaining = segment_files(dir.path());
    assert!(log.stats().live_segments < live);
    assert_eq!(remaining.len() as u64, log.stats().live_segments);
    drop(log);
    let (mut log, _, seen) = open(dir.path(), o);
    let first = seen.first().unwrap();
    assert!(
        first.0.segment <= cut.segment,
        "nothing unflushed was discarded"
    );
    assert!(
        seen.iter().any(|(p, _)| *p == ends[15]),
        "the record after the cut replays"
    );
    assert!(seen.len() < 30, "replay starts later");

    // Discarding at the very end keeps only the active segment.
    let end = log.position();
    log.discard_before(end).unwrap();
    assert_eq!(log.stats().live_segments, 1);
    assert_eq!(segment_files(dir.path()).len(), 1);
    drop(log);
    let (_, report, _) = open(dir.path(), o);
    assert_eq!(report.records, 0);
}

#[test]
fn discard_of_a_whole_segment_by_its_end_position() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(SyncMode::GroupCommit, 60);
    let (mut log, _, _) = open(dir.path(), o);
    let a = log.append(&[&[1; 20]]).unwrap();
    let b = log.append(&[&[2; 20]]).unwrap();
    assert_eq!(b.segment, a.segment + 1, "each record fills a segment");
    log.append(&[&[3; 20]]).unwrap();
    log.discard_before(a).unwrap();
    drop(log);
    let (_, _, seen) = open(dir.path(), o);
    let payloads: Vec<u8> = seen.iter().map(|(_, p)| p[0]).collect();
    assert_eq!(payloads, vec![2, 3]);
}

#[test]
fn group_commit_syncs_once_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open(dir.path(), opts(SyncMode::GroupCommit, 1 << 20));
    for i in 0..10u8 {
        // In group commit the append writes and fsyncs the batch as one request.
        log.append(&[&[i; 10], &[i; 20], &[i; 30]]).unwrap();
        assert_eq!(log.stats().syncs, u64::from(i) + 1, "synced by the append");
        assert!(!log.sync_if_due().unwrap(), "nothing left to sync");
    }
    let s = log.stats();
    assert_eq!((s.syncs, s.records_appended), (10, 30));
    assert_eq!(s.bytes_appended, 10 * (3 * 8 + 60));
}

#[test]
fn periodic_mode_does_not_sync_every_append_and_tick_bounds_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open(
        dir.path(),
        // Long enough that no stall of a busy machine makes a sync due during the loop.
        opts(SyncMode::Periodic { period_ms: 500 }, 1 << 20),
    );
    for _ in 0..100 {
        log.append(&[b"x"]).unwrap();
        log.sync_if_due().unwrap();
    }
    assert!(log.stats().syncs <= 1, "{:?}", log.stats());
    let before = log.stats().syncs;
    std::thread::sleep(std::time::Duration::from_millis(600));
    log.tick().unwrap();
    assert_eq!(
        log.stats().syncs,
        before + 1,
        "idle tick synced the pending data"
    );
    log.tick().unwrap();
    assert_eq!(log.stats().syncs, before + 1, "nothing pending, no sync");
    log.append(&[b"y"]).unwrap();
    log.sync().unwrap();
    assert_eq!(
        log.stats().syncs,
        before + 2,
        "sync() does not wait for the period"
    );
}

#[test]
fn bad_requests_are_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open(dir.path(), CommitlogOptions::default());
    let start = log.position();
    assert!(matches!(
        log.append(&[b"ok", b""]),
        Err(Error::InvalidRequest(_))
    ));
    assert_eq!(log.position(), start);
    assert_eq!(log.append(&[]).unwrap(), start);
    let tiny = opts(SyncMode::GroupCommit, 10);
    assert!(matches!(
        Commitlog::open(&dir.path().join("x"), tiny, |_, _| Ok(())),
        Err(Error::InvalidRequest(_))
    ));
}

#[test]
fn an_error_from_on_record_stops_open() {
    let dir = tempfile::tempdir().unwrap();
    let o = CommitlogOptions::default();
    let (mut log, _, _) = open(dir.path(), o);
    log.append(&[b"a", b"b"]).unwrap();
    drop(log);
    let r = Commitlog::open(dir.path(), o, |_, _| {
        Err(Error::Malformed("bad mutation".into()))
    });
    assert!(matches!(r, Err(Error::Malformed(_))));
}
