//! What the super-disk mirror costs: ingest into one engine without and with a mirror
//! directory on the same disk (periodic and group-commit sync), then the time to rebuild a
//! lost local directory from the mirror, per GiB.
//!
//! ```text
//! cargo run --release -p scrolldb-storage --example mirror_bench -- [ROWS] [BASE_DIR]
//! ```
//! ROWS defaults to 300000 (about 60 MiB of values; group commit ingests a sixth of them,
//! so the whole run takes about a minute on the shared 2-core machine); BASE_DIR (default:
//! the system temp dir) holds both copies.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use scrolldb_storage::commitlog::SyncMode;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::mirror::{self, MirrorOptions};
use scrolldb_storage::model::{Cell, Mutation, Row};

const VALUE_BYTES: usize = 200;
const BATCH: u64 = 64;
const PARTITIONS: u64 = 1000;
/// Group commit fsyncs every batch: it ingests this fraction of the rows, to keep the run
/// near a minute.
const GROUP_COMMIT_SHARE: u64 = 6;

/// A value zstd cannot shrink (xorshift bytes), so the files are as large as the data.
fn value(id: u64) -> Bytes {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(VALUE_BYTES);
    while v.len() < VALUE_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(VALUE_BYTES);
    Bytes::from(v)
}

fn mutation(id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(0, Cell::live(id as i64, value(id)));
    Mutation::new(1, Bytes::copy_from_slice(&(id % PARTITIONS).to_be_bytes())).with_row(row)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => todo.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Ingests `rows` rows in batches; returns seconds.
fn ingest(dir: &Path, mirror_dir: Option<&Path>, sync: SyncMode, rows: u64) -> f64 {
    let mut opts = EngineOptions::default();
    opts.commitlog.sync = sync;
    opts.mirror = mirror_dir.map(MirrorOptions::new);
    let mut engine = Engine::open(dir, opts).expect("open");
    let start = Instant::now();
    let mut id = 0;
    while id < rows {
        let batch: Vec<Mutation> = (id..(id + BATCH).min(rows)).map(mutation).collect();
        id += batch.len() as u64;
        engine.apply_batch(batch).expect("apply");
    }
    engine.flush().expect("flush");
    engine.sync().expect("sync");
    let secs = start.elapsed().as_secs_f64();
    engine.close().expect("close");
    secs
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let base = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let user_mib = (rows as f64 * VALUE_BYTES as f64) / f64::from(1 << 20);
    println!(
        "rows {rows}, {VALUE_BYTES} B values ({user_mib:.0} MiB), batches of {BATCH}, base {}",
        base.display()
    );
    println!("| sync | mirror | rows | seconds | rows/s |");
    println!("|---|---|---|---|---|");
    for (name, sync) in [
        ("periodic 10 ms", SyncMode::Periodic { period_ms: 10 }),
        ("group commit", SyncMode::GroupCommit),
    ] {
        for mirrored in [false, true] {
            let local = tempfile::tempdir_in(&base).expect("tempdir");
            let m = tempfile::tempdir_in(&base).expect("tempdir");
            let n = if matches!(sync, SyncMode::GroupCommit) {
                rows / GROUP_COMMIT_SHARE
            } else {
                rows
            };
            let secs = ingest(local.path(), mirrored.then_some(m.path()), sync, n);
            println!(
                "| {name} | {} | {n} | {secs:.2} | {:.0} |",
                if mirrored { "same disk" } else { "none" },
                n as f64 / secs
            );
        }
    }

    // Rebuild: a mirrored engine's local directory is lost and rebuilt from the mirror.
    let local = tempfile::tempdir_in(&base).expect("tempdir");
    let m = tempfile::tempdir_in(&base).expect("tempdir");
    ingest(
        local.path(),
        Some(m.path()),
        SyncMode::Periodic { period_ms: 10 },
        rows,
    );
    let fresh = tempfile::tempdir_in(&base).expect("tempdir");
    let target = fresh.path().join("local");
    let start = Instant::now();
    let p = mirror::rebuild(m.path(), &target).expect("rebuild");
    let secs = start.elapsed().as_secs_f64();
    let gib = p.bytes_copied as f64 / f64::from(1 << 30);
    println!(
        "rebuild: {} files, {:.1} MiB in {secs:.2} s = {:.1} s/GiB ({:.0} MiB/s; mirror in page cache)",
        p.files_copied,
        p.bytes_copied as f64 / f64::from(1 << 20),
        secs / gib.max(1e-9),
        p.bytes_copied as f64 / f64::from(1 << 20) / secs
    );
    assert_eq!(dir_bytes(&target), dir_bytes(m.path()));
    assert!(mirror::verify(&target, m.path())
        .expect("verify")
        .is_empty());
}
