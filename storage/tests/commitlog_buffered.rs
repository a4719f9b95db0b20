//! `SyncMode::PeriodicBuffered`: what reaches the file when, so that what a process kill may
//! lose is exactly what the mode documents (at most `buffer_bytes`, nothing older than the
//! last sync), and that buffered appends replay like any others across rotation and reopen.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use scrolldb_storage::commitlog::segment::HEADER_BYTES;
use scrolldb_storage::commitlog::{Commitlog, CommitlogOptions, Position, SyncMode};

const BUFFER_BYTES: u64 = 1024;

fn opts(segment_size_bytes: u64) -> CommitlogOptions {
    CommitlogOptions {
        sync: SyncMode::PeriodicBuffered {
            period_ms: 60_000,
            buffer_bytes: BUFFER_BYTES,
        },
        segment_size_bytes,
        ..CommitlogOptions::default()
    }
}

fn replay(dir: &Path) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let (log, _) = Commitlog::open(dir, opts(1 << 20), |_, p| {
        seen.push(p.to_vec());
        Ok(())
    })
    .unwrap();
    drop(log);
    seen
}

/// Bytes of the segment files as the OS has them (what survives a process kill).
fn bytes_in_files(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn appends_reach_the_os_when_the_buffer_fills_or_on_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Commitlog::open(dir.path(), opts(1 << 20), |_, _| Ok(())).unwrap();
    // 100-byte payloads are 108-byte frames: nine fit under the 1 KiB buffer.
    let payload = [7u8; 100];
    for i in 1..=9u64 {
        let end = log.append(&[&payload]).unwrap();
        log.sync_if_due().unwrap();
        assert_eq!(
            end.offset,
            HEADER_BYTES + i * 108,
            "positions count buffered bytes"
        );
    }
    assert_eq!(
        bytes_in_files(dir.path()),
        HEADER_BYTES,
        "below buffer_bytes nothing is written: a kill now would lose these nine"
    );
    log.append(&[&payload]).unwrap();
    assert_eq!(
        bytes_in_files(dir.path()),
        HEADER_BYTES + 10 * 108,
        "the append that fills the buffer writes all of it"
    );
    log.append(&[&payload]).unwrap();
    assert_eq!(bytes_in_files(dir.path()), HEADER_BYTES + 10 * 108);
    let syncs = log.stats().syncs;
    log.sync().unwrap();
    assert_eq!(log.stats().syncs, syncs + 1);
    assert_eq!(
        bytes_in_files(dir.path()),
        HEADER_BYTES + 11 * 108,
        "a sync writes the buffer before the fsync"
    );
    drop(log);
    assert_eq!(replay(dir.path()).len(), 11);
}

#[test]
fn the_periodic_sync_writes_the_buffer_out() {
    let dir = tempfile::tempdir().unwrap();
    let o = CommitlogOptions {
        // Long enough that no stall of a busy machine makes the first check due.
        sync: SyncMode::PeriodicBuffered {
            period_ms: 500,
            buffer_bytes: 1 << 20,
        },
        ..CommitlogOptions::default()
    };
    let (mut log, _) = Commitlog::open(dir.path(), o, |_, _| Ok(())).unwrap();
    log.append(&[b"a"]).unwrap();
    log.sync_if_due().unwrap();
    assert_eq!(bytes_in_files(dir.path()), HEADER_BYTES);
    std::thread::sleep(std::time::Duration::from_millis(600));
    log.tick().unwrap();
    assert_eq!(
        bytes_in_files(dir.path()),
        HEADER_BYTES + 9,
        "an idle tick past the period writes and syncs: nothing older than it stays at risk"
    );
    assert_eq!(log.stats().syncs, 1);
}

#[test]
fn buffered_appends_replay_across_rotation_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Commitlog::open(dir.path(), opts(600), |_, _| Ok(())).unwrap();
    let mut written = Vec::new();
    let mut ends: Vec<Position> = Vec::new();
    for i in 0..200u32 {
        let a = vec![i as u8; (i % 90 + 1) as usize];
        let b = format!("record-{i}").into_bytes();
        ends.push(log.append(&[&a, &b]).unwrap());
        log.sync_if_due().unwrap();
        written.push(a);
        written.push(b);
    }
    assert!(ends.windows(2).all(|w| w[0] < w[1]), "positions increase");
    assert!(log.stats().live_segments > 10, "{:?}", log.stats());
    // No close: dropping the log writes the buffer out (no fsync), as a clean exit would.
    drop(log);
    assert_eq!(replay(dir.path()), written);
}

#[test]
fn write_buffered_hands_the_buffer_to_the_os_without_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Commitlog::open(dir.path(), opts(1 << 20), |_, _| Ok(())).unwrap();
    log.append(&[b"abc"]).unwrap();
    log.write_buffered().unwrap();
    assert_eq!(bytes_in_files(dir.path()), HEADER_BYTES + 11);
    assert_eq!(log.stats().syncs, 0);
    // Leak the log, as a killed process would: what `write_buffered` wrote replays.
    std::mem::forget(log);
    assert_eq!(replay(dir.path()), vec![b"abc".to_vec()]);
}
