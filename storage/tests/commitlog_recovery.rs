//! Commitlog recovery: torn tails are repaired, corruption elsewhere is an error naming the
//! file and offset (or skipped in `SkipCorruptRecords` mode), bad headers are refused.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use scrolldb_storage::commitlog::segment::{file_name, HEADER_BYTES};
use scrolldb_storage::commitlog::{
    Commitlog, CommitlogOptions, RecoveryMode, ReplayReport, SyncMode,
};
use scrolldb_storage::{Error, Result};

const FRAME: u64 = 8;

fn opts(recovery: RecoveryMode) -> CommitlogOptions {
    CommitlogOptions {
        sync: SyncMode::GroupCommit,
        segment_size_bytes: 1 << 20,
        recovery,
    }
}

fn try_open(dir: &Path, recovery: RecoveryMode) -> Result<(Vec<Vec<u8>>, ReplayReport)> {
    let mut seen = Vec::new();
    let (log, report) = Commitlog::open(dir, opts(recovery), |_, p| {
        seen.push(p.to_vec());
        Ok(())
    })?;
    drop(log);
    Ok((seen, report))
}

/// Writes segment 1 holding `payloads` (one append each), the last segment; returns its path.
fn write_log(dir: &Path, payloads: &[&[u8]]) -> PathBuf {
    let (mut log, _) = Commitlog::open(dir, opts(RecoveryMode::default()), |_, _| Ok(())).unwrap();
    for p in payloads {
        log.append(&[p]).unwrap();
    }
    log.close().unwrap();
    dir.join(file_name(1))
}

/// Opens and closes the log, which leaves an empty segment behind the existing ones.
fn add_empty_segment(dir: &Path) {
    try_open(dir, RecoveryMode::TolerateCorruptTail).unwrap();
}

fn payloads() -> Vec<Vec<u8>> {
    (0..5u8).map(|i| vec![b'a' + i; 10 + i as usize]).collect()
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(|p| p.as_slice()).collect()
}

/// Offset at which record `i` of `payloads()` starts.
fn record_start(i: usize) -> u64 {
    HEADER_BYTES
        + payloads()[..i]
            .iter()
            .map(|p| FRAME + p.len() as u64)
            .sum::<u64>()
}

#[test]
fn torn_tail_at_every_length_is_truncated_and_the_log_stays_usable() {
    let all = payloads();
    let last_start = record_start(4);
    let full_len = record_start(5);
    for cut in last_start..full_len {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), &refs(&all));
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(cut).unwrap();

        let (seen, report) = try_open(dir.path(), RecoveryMode::TolerateCorruptTail).unwrap();
        assert_eq!(seen, all[..4].to_vec(), "cut at {cut}");
        if cut == last_start {
            assert!(report.truncated.is_empty(), "a clean cut is no tear");
        } else {
            assert_eq!(report.truncated.len(), 1, "cut at {cut}");
            assert_eq!(report.truncated[0].0, path);
            assert_eq!(report.truncated[0].1, last_start);
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), last_start);

        // Appends after the repair replay after the four good records.
        let (mut log, _) =
            Commitlog::open(dir.path(), opts(RecoveryMode::default()), |_, _| Ok(())).unwrap();
        log.append(&[b"after"]).unwrap();
        log.close().unwrap();
        let (seen, report) = try_open(dir.path(), RecoveryMode::TolerateCorruptTail).unwrap();
        assert!(report.truncated.is_empty());
        assert_eq!(seen.len(), 5);
        assert_eq!(seen[4], b"after");
    }
}

#[test]
fn zero_filled_and_garbage_tails_are_truncated() {
    for tail in [
        vec![0u8; 4096],
        vec![0xFF; 300],
        b"not a record at all".to_vec(),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let all = payloads();
        let path = write_log(dir.path(), &refs(&all));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        let (seen, report) = try_open(dir.path(), RecoveryMode::TolerateCorruptTail).unwrap();
        assert_eq!(seen, all);
        assert_eq!(report.truncated.len(), 1);
        assert_eq!(report.truncated[0].1, record_start(5));
    }
}

/// A log whose segment 1 has a byte flipped in the payload of record 2 (of 5).
fn log_with_flipped_byte(dir: &Path) -> PathBuf {
    let path = dir.join(file_name(1));
    if !path.exists() {
        write_log(dir, &refs(&payloads()));
    }
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(record_start(2) + FRAME + 3) as usize] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    path
}

#[test]
fn a_flipped_byte_before_valid_records_is_corruption_at_its_offset() {
    // Whether the damaged segment is the last one or not: valid records follow the damage.
    for later_segment in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        if later_segment {
            write_log(dir.path(), &refs(&payloads()));
            add_empty_segment(dir.path());
        }
        let path = log_with_flipped_byte(dir.path());
        match try_open(dir.path(), RecoveryMode::TolerateCorruptTail) {
            Err(Error::Corruption { file, offset, .. }) => {
                assert_eq!(file, path);
                assert_eq!(offset, record_start(2));
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn skip_mode_skips_the_bad_record_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_with_flipped_byte(dir.path());
    let all = payloads();
    for _ in 0..2 {
        let (seen, report) = try_open(dir.path(), RecoveryMode::SkipCorruptRecords).unwrap();
        let expected: Vec<Vec<u8>> = [0, 1, 3, 4].iter().map(|&i| all[i].clone()).collect();
        assert_eq!(seen, expected);
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].0, path);
        assert_eq!(report.skipped[0].1, record_start(2));
        assert!(report.truncated.is_empty());
    }
}

#[test]
fn damage_at_the_end_of_a_non_last_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &refs(&payloads()));
    add_empty_segment(dir.path());
    // Segment 2 (empty, valid) follows, so a torn end of segment 1 cannot be a crash.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(record_start(5) - 1).unwrap();
    match try_open(dir.path(), RecoveryMode::TolerateCorruptTail) {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!((file, offset), (path.clone(), record_start(4)));
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let (seen, report) = try_open(dir.path(), RecoveryMode::SkipCorruptRecords).unwrap();
    assert_eq!(seen.len(), 4);
    assert_eq!(report.skipped[0].1, record_start(4));
}

#[test]
fn a_bad_header_is_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &refs(&payloads()));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[13] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::SkipCorruptRecords,
    ] {
        match try_open(dir.path(), mode) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, path),
            other => panic!("expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn a_renamed_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), &refs(&payloads()));
    let moved = dir.path().join(file_name(7));
    std::fs::rename(&path, &moved).unwrap();
    match try_open(dir.path(), RecoveryMode::SkipCorruptRecords) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, moved),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn an_empty_or_zeroed_last_segment_is_crash_debris_and_deleted() {
    let mut torn_header = scrolldb_storage::commitlog::segment::encode_header(3).to_vec();
    torn_header[22] ^= 0xFF;
    for debris in [
        Vec::new(),
        vec![0u8; 10],
        vec![0u8; 24],
        vec![0u8; 4096],
        torn_header[..7].to_vec(),
        torn_header,
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), &refs(&payloads()));
        let debris_path = dir.path().join(file_name(3));
        std::fs::write(&debris_path, &debris).unwrap();
        let (seen, report) = try_open(dir.path(), RecoveryMode::TolerateCorruptTail).unwrap();
        assert_eq!(seen.len(), 5);
        assert_eq!(report.truncated.len(), 1);
        assert_eq!(report.truncated[0].0, debris_path);
        assert!(!debris_path.exists());
    }
    // The same bytes in a segment that is not the last one are corruption.
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &refs(&payloads()));
    std::fs::write(dir.path().join(file_name(0)), []).unwrap();
    assert!(matches!(
        try_open(dir.path(), RecoveryMode::TolerateCorruptTail),
        Err(Error::Corruption { .. })
    ));
}

#[test]
fn stale_records_of_another_segment_are_not_replayed() {
    // Copy segment 1's records behind segment 2's header: same bytes, wrong segment id.
    let dir = tempfile::tempdir().unwrap();
    let one = write_log(dir.path(), &refs(&payloads()));
    add_empty_segment(dir.path());
    let two = dir.path().join(file_name(2));
    let mut bytes = std::fs::read(&two).unwrap();
    bytes.extend_from_slice(&std::fs::read(&one).unwrap()[HEADER_BYTES as usize..]);
    std::fs::write(&two, &bytes).unwrap();
    let (seen, report) = try_open(dir.path(), RecoveryMode::TolerateCorruptTail).unwrap();
    assert_eq!(seen.len(), 5, "only segment 1's own records");
    assert_eq!(report.truncated[0].1, HEADER_BYTES);
}
