//! Fuzz target: commitlog replay of arbitrary bytes must never panic.
//!
//! Each input is tried twice, in both recovery modes: as a whole segment file (so header
//! parsing is exercised), and after a valid header for segment 1 (so the fuzzer reaches the
//! record framing without having to forge a header checksum). When an open succeeds, a second
//! open must find a clean log with the same records: repair has to be complete.

use std::path::Path;

use crate::commitlog::segment::{encode_header, file_name};
use crate::commitlog::{Commitlog, CommitlogOptions, RecoveryMode, SyncMode};

pub fn run(data: &[u8]) {
    let mut with_header = encode_header(1).to_vec();
    with_header.extend_from_slice(data);
    for file in [data, &with_header[..]] {
        for recovery in [
            RecoveryMode::TolerateCorruptTail,
            RecoveryMode::SkipCorruptRecords,
        ] {
            replay_once(file, recovery);
        }
    }
}

fn replay_once(file: &[u8], recovery: RecoveryMode) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join(file_name(1)), file).is_err() {
        return;
    }
    let opts = CommitlogOptions {
        sync: SyncMode::GroupCommit,
        recovery,
        ..CommitlogOptions::default()
    };
    let Some(first) = open_counting(dir.path(), opts) else {
        return;
    };
    let second = open_counting(dir.path(), opts);
    let Some((records, report)) = second else {
        panic!("a log that opened once failed to reopen");
    };
    assert_eq!(
        records, first.0,
        "reopen replayed a different number of records"
    );
    assert!(
        report.truncated.is_empty(),
        "reopen found a torn tail again: {report:?}"
    );
}

/// Opens the log, counting and bounds-checking replayed records; `None` if open failed.
fn open_counting(
    dir: &Path,
    opts: CommitlogOptions,
) -> Option<(u64, crate::commitlog::ReplayReport)> {
    let mut records = 0u64;
    let mut last = None;
    let (log, report) = Commitlog::open(dir, opts, |pos, payload| {
        assert!(!payload.is_empty());
        assert!(last < Some(pos), "positions must increase");
        last = Some(pos);
        records += 1;
        Ok(())
    })
    .ok()?;
    assert_eq!(records, report.records);
    drop(log);
    Some((records, report))
}
