//! Periodic fsyncs on the log's own thread (`Commitlog::sync_in_background`): the owner does
//! not wait for them, an explicit `sync` still returns only once everything is durable, the
//! thread ends with the log, and what was appended replays. One test per file: it counts the
//! process's threads by name.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use scrolldb_storage::commitlog::{Commitlog, CommitlogOptions, SyncMode};

fn sync_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|comm| comm.trim() == "commitlog-sync")
                .count()
        })
        .unwrap_or(0)
}

/// Waits (up to 2 s) for the count of sync threads to become `n`: a new thread names itself
/// once it runs, and a joined one is gone from /proc a moment later.
fn wait_for_sync_threads(n: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while sync_threads() != n && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    sync_threads()
}

fn replay(dir: &Path, o: CommitlogOptions) -> usize {
    let mut n = 0;
    drop(
        Commitlog::open(dir, o, |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap(),
    );
    n
}

#[test]
fn periodic_fsyncs_run_on_the_log_thread_and_sync_still_waits() {
    for sync in [
        SyncMode::Periodic { period_ms: 0 },
        SyncMode::PeriodicBuffered {
            period_ms: 0,
            buffer_bytes: 1 << 20,
        },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = CommitlogOptions {
            sync,
            segment_size_bytes: 4096,
            ..CommitlogOptions::default()
        };
        let (mut log, _) = Commitlog::open(dir.path(), o, |_, _| Ok(())).unwrap();
        assert_eq!(sync_threads(), 0, "no thread until asked");
        log.sync_in_background().unwrap();
        log.sync_in_background().unwrap();
        assert_eq!(
            wait_for_sync_threads(1),
            1,
            "one thread, however often asked"
        );
        let mut started = 0;
        for i in 0..300u32 {
            let payload = vec![i as u8; 1 + (i % 50) as usize];
            log.append(&[&payload]).unwrap();
            if log.sync_if_due().unwrap() {
                started += 1;
            }
        }
        assert!(started > 0, "period 0: fsyncs were started");
        assert!(log.stats().live_segments > 2, "rotations synced on the way");
        log.sync().unwrap();
        let syncs = log.stats().syncs;
        log.sync().unwrap();
        assert_eq!(
            log.stats().syncs,
            syncs,
            "nothing left to sync after sync()"
        );
        log.append(&[b"last"]).unwrap();
        log.close().unwrap();
        assert_eq!(wait_for_sync_threads(0), 0, "the thread ends with the log");
        assert_eq!(replay(dir.path(), o), 301, "{sync:?}");
    }
}
