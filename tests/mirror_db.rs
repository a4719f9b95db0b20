//! Super-disk through the database: a process SIGKILLed during ingest whose local directory
//! is then deleted comes back from the mirror with every acknowledged write; the catalog is
//! mirrored and repaired like any file; SSTables damaged on the local disk under a running
//! database are served from the mirror and repaired.

mod common;

use common::*;
use scrolldb::storage::mirror::{self, MirrorOptions};
use scrolldb::{Db, Options, Select};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SCROLLDB_MIRROR_CHILD";
const CHANNELS: i64 = 8;

fn opts(mirror: &Path) -> Options {
    Options {
        pin_threads: false,
        mirror: Some(MirrorOptions::new(mirror)),
        ..Options::with_shards(2)
    }
}

/// Every message id of every channel, paging through.
fn all_ids(db: &Db) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for channel in 0..CHANNELS {
        let mut paging = None;
        loop {
            let page = db
                .select(
                    &Select::new("chat", "messages", key(channel))
                        .limit(1000)
                        .page(paging),
                )
                .unwrap();
            out.extend(ids(&page));
            paging = page.paging_state;
            if paging.is_none() {
                break;
            }
        }
    }
    out
}

/// The child process: ingests forever, printing each id once its insert was acknowledged.
fn ingest_until_killed(dir: &str, mirror: &str) -> ! {
    let db = Db::open(dir, opts(Path::new(mirror))).unwrap();
    create_messages(&db);
    let mut out = std::io::stdout().lock();
    for id in 0i64.. {
        send(&db, id % CHANNELS, id);
        use std::io::Write;
        writeln!(out, "{id}").unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

#[test]
fn sigkill_during_ingest_then_losing_the_local_dir_loses_no_acknowledged_write() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (dir, mirror) = spec.split_once('\n').unwrap();
        ingest_until_killed(dir, mirror);
    }
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let dir = local.path().join("db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill_during_ingest_then_losing_the_local_dir_loses_no_acknowledged_write",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}\n{}", dir.display(), mirror_dir.path().display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = BTreeSet::new();
    let mut lines = BufReader::new(stdout).lines();
    let start = Instant::now();
    while acked.len() < 3000 && start.elapsed() < Duration::from_secs(6) {
        let Some(Ok(line)) = lines.next() else { break };
        if let Ok(id) = line.trim().parse::<i64>() {
            acked.insert(id);
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Lines printed before the kill were acknowledged too.
    for line in lines.map_while(|l| l.ok()) {
        if let Ok(id) = line.trim().parse::<i64>() {
            acked.insert(id);
        }
    }
    assert!(
        acked.len() > 100,
        "the child acknowledged only {} writes",
        acked.len()
    );

    // The host is gone: so is its local disk.
    std::fs::remove_dir_all(&dir).unwrap();
    let db = Db::open(&dir, opts(mirror_dir.path())).unwrap();
    let found = all_ids(&db);
    let missing: Vec<_> = acked.difference(&found).take(10).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {missing:?}",
        acked.difference(&found).count(),
        acked.len()
    );
    assert!(!db.mirror_status().unwrap().degraded);
}

#[test]
fn the_catalog_is_mirrored_and_a_damaged_copy_is_repaired() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let db = Db::open(local.path(), opts(mirror_dir.path())).unwrap();
    create_messages(&db);
    for id in 0..50 {
        send(&db, id % CHANNELS, id);
    }
    let status = db.mirror_status().unwrap();
    assert!(!status.degraded && status.errors == 0, "{status:?}");
    db.close().unwrap();
    drop(db);
    let catalog = std::fs::read(local.path().join("catalog.json")).unwrap();
    assert_eq!(
        std::fs::read(mirror_dir.path().join("catalog.json")).unwrap(),
        catalog
    );
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");

    // A torn local catalog is repaired from the mirror on open.
    std::fs::write(
        local.path().join("catalog.json"),
        &catalog[..catalog.len() / 2],
    )
    .unwrap();
    let db = Db::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(all_ids(&db).len(), 50);
    assert_eq!(
        std::fs::read(local.path().join("catalog.json")).unwrap(),
        catalog
    );
}

#[test]
fn a_mirror_inside_the_data_directory_is_refused() {
    let local = tempfile::tempdir().unwrap();
    let err = Db::open(local.path(), opts(&local.path().join("mirror"))).unwrap_err();
    assert!(err.to_string().contains("must not contain"), "{err}");
}

/// Every SSTable below `dir`.
fn sstables_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "sst") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Flips one byte inside the first data block, in place (an open table sees it).
fn damage_first_block(path: &Path) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, 24).unwrap();
    f.write_all_at(&[b[0] ^ 0x5a], 24).unwrap();
}

#[test]
fn local_sstables_damaged_under_a_running_db_are_served_from_the_mirror() {
    let local = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let db = Db::open(local.path(), opts(mirror_dir.path())).unwrap();
    create_messages(&db);
    for id in 0..200 {
        send(&db, id % CHANNELS, id);
    }
    db.flush().unwrap();
    let ssts = sstables_below(local.path());
    assert!(!ssts.is_empty());
    for sst in &ssts {
        damage_first_block(sst);
    }
    assert_eq!(all_ids(&db), (0..200).collect::<BTreeSet<_>>());
    let status = db.mirror_status().unwrap();
    assert!(status.read_fallbacks >= ssts.len() as u64, "{status:?}");
    assert_eq!(status.read_repairs, ssts.len() as u64, "{status:?}");
    db.close().unwrap();
    drop(db);
    let diffs = mirror::verify(local.path(), mirror_dir.path()).unwrap();
    assert!(diffs.is_empty(), "repaired in place: {diffs:?}");

    // Tables a read took from the mirror are compared in full at the next start-up...
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, 0, "{report:?}");
    let db = Db::open(local.path(), opts(mirror_dir.path())).unwrap();
    assert_eq!(all_ids(&db).len(), 200);
    assert_eq!(db.mirror_status().unwrap().read_fallbacks, 0);
    db.close().unwrap();
    drop(db);
    // ...and after a clean close without failures, the markers the shards left vouch for
    // every SSTable: the reconcile of the whole database directory reads none in full.
    let report = mirror::reconcile(local.path(), mirror_dir.path()).unwrap();
    assert_eq!(report.files_vouched, ssts.len() as u64, "{report:?}");
}
