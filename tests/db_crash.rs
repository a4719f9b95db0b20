//! Crash test of the whole database: a child process writes from several threads through
//! `Db` (group commit, several shards, small memtables so flushes happen) and is killed with
//! SIGKILL at a random point; every write the child saw acknowledged must be readable after
//! reopening, including when the reopen changes the shard count (a reshard right after a
//! crash, with the commitlogs still to replay).

mod common;

use common::*;
use scrolldb::storage::commitlog::SyncMode;
use scrolldb::{Db, Options};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SCROLLDB_DB_CRASH_CHILD_DIR";
const START_ENV: &str = "SCROLLDB_DB_CRASH_START";
const WRITERS: i64 = 4;

fn options(shards: usize) -> Options {
    let mut o = Options {
        pin_threads: false,
        ..Options::with_shards(shards)
    };
    o.engine.commitlog.sync = SyncMode::GroupCommit;
    o.engine.memtable_flush_bytes = 128 << 10;
    o
}

/// The child: `WRITERS` threads, each writing its own channel, printing every
/// acknowledged (channel, id) as `ack <channel> <id> .`.
fn child(dir: &Path, start: i64) {
    let db = Db::open(dir, options(2)).expect("child open");
    create_messages(&db);
    let threads: Vec<_> = (0..WRITERS)
        .map(|channel| {
            let db = db.clone();
            std::thread::spawn(move || {
                for id in start.. {
                    send(&db, channel, id);
                    println!("ack {channel} {id} .");
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn db_crash_child_entry() {
    // Runs only when re-executed by `acknowledged_writes_survive_sigkill_and_reshard`.
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let start = std::env::var(START_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        child(Path::new(&dir), start);
    }
}

fn parse_ack(line: &str) -> Option<(i64, i64)> {
    let mut parts = line.split(' ');
    if parts.next()? != "ack" {
        return None;
    }
    let channel = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    (parts.next()? == ".").then_some((channel, id))
}

#[test]
fn acknowledged_writes_survive_sigkill_and_reshard() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut start = 0i64;
    for (round, (run_ms, reopen_shards)) in [(300u64, 2usize), (550, 3), (420, 1)]
        .into_iter()
        .enumerate()
    {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "db_crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(START_ENV, start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse_ack(&l))
                .collect::<Vec<_>>()
        });
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(run_ms) {
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        if let Some(max) = acks.iter().map(|(_, id)| *id).max() {
            // Skip ids the child may have written without acknowledging them.
            start = max + 1_000;
        }
        acked.extend(acks);

        let db = Db::open(dir.path(), options(reopen_shards))
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        for channel in 0..WRITERS {
            let present: BTreeSet<i64> = channel_ids(&db, channel).into_iter().collect();
            let lost: Vec<i64> = acked
                .iter()
                .filter(|(c, id)| *c == channel && !present.contains(id))
                .map(|(_, id)| *id)
                .collect();
            if !lost.is_empty() {
                let kept = dir.keep();
                panic!(
                    "round {round}: {} acknowledged messages of channel {channel} lost \
                     (first {:?}, last {:?}; {} present); directory kept at {}",
                    lost.len(),
                    lost.first(),
                    lost.last(),
                    present.len(),
                    kept.display()
                );
            }
        }
    }
    assert!(
        acked.len() > 100,
        "the child acknowledged too few writes ({}) to test anything",
        acked.len()
    );
}
