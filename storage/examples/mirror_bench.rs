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
//!
//! ```text
//! cargo run --release -p scrolldb-storage --example mirror_bench -- startup [MIB] [BASE_DIR]
//! ```
//! measures instead the start-up of a mirrored engine holding MIB (default 1024) of
//! SSTables: after a clean close (the start-up marker vouches for every SSTable) and with
//! the markers removed (every file compared in full: what every start-up did before the
//! marker, and what an unclean shutdown costs when every SSTable is newer than the marker).

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use scrolldb_storage::commitlog::SyncMode;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::mirror::{self, MirrorOptions};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

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
    mutation_with(id, value(id))
}

fn mutation_with(id: u64, value: Bytes) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(0, Cell::live(id as i64, value));
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

/// Values of the start-up measurement: large, so that a GiB is ingested quickly.
const STARTUP_VALUE_BYTES: usize = 4096;

fn big_value(id: u64) -> Bytes {
    let mut v = Vec::with_capacity(STARTUP_VALUE_BYTES);
    let mut i = 0;
    while v.len() < STARTUP_VALUE_BYTES {
        v.extend_from_slice(&value(id.wrapping_mul(64) + i));
        i += 1;
    }
    v.truncate(STARTUP_VALUE_BYTES);
    Bytes::from(v)
}

/// Drops every file below `dirs` from the page cache (they are fsynced, so their pages are
/// clean): the next read comes from the disk, as after a reboot.
fn drop_from_page_cache(dirs: [&Path; 2]) {
    use std::os::fd::AsRawFd;
    for dir in dirs {
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    todo.push(p);
                } else if let Ok(f) = std::fs::File::open(&p) {
                    let _ = f.sync_all();
                    // SAFETY: plain syscall on an open descriptor; no memory is passed.
                    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
                }
            }
        }
    }
}

/// Bytes of SSTable metadata (block table to the end of the file) below `dir`: what a
/// mirrored engine holds in memory for its open tables. Read from each footer's first field
/// (`docs/FORMAT.md`).
fn metadata_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::FileExt;
    const FOOTER: u64 = 152;
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "sst") {
                let f = std::fs::File::open(&p).expect("open");
                let len = f.metadata().expect("metadata").len();
                let mut at = [0u8; 8];
                f.read_exact_at(&mut at, len - FOOTER).expect("footer");
                total += len - u64::from_le_bytes(at);
            }
        }
    }
    total
}

fn remove_markers(dirs: [&Path; 2]) {
    for d in dirs {
        let _ = std::fs::remove_file(d.join(mirror::marker::MARKER_FILE));
    }
}

/// Newest-50 reads per second over `partitions` partitions of the engine in `local`, opened
/// with `opts` (mirrored: positioned reads through the mirror layer; else a memory map).
fn newest50_reads_per_s(local: &Path, opts: &EngineOptions, partitions: u64) -> f64 {
    let mut engine = Engine::open(local, opts.clone()).expect("open");
    const READS: u64 = 10_000;
    let start = Instant::now();
    for i in 0..READS {
        let p = (i * 7919) % partitions;
        let q = ReadQuery::partition(1, Bytes::copy_from_slice(&p.to_be_bytes()))
            .reverse()
            .limit(50);
        let rows = engine.read(&q).expect("read").rows.len();
        assert_eq!(rows, 50);
    }
    let secs = start.elapsed().as_secs_f64();
    engine.close().expect("close");
    READS as f64 / secs
}

/// Start-up of a mirrored engine holding `mib` MiB, with and without its start-up markers.
fn startup(mib: u64, base: &Path) {
    let local = tempfile::tempdir_in(base).expect("tempdir");
    let m = tempfile::tempdir_in(base).expect("tempdir");
    let mut opts = EngineOptions::default();
    opts.commitlog.sync = SyncMode::Periodic { period_ms: 10 };
    opts.mirror = Some(MirrorOptions::new(m.path()));
    let rows = (mib << 20) / STARTUP_VALUE_BYTES as u64;
    let start = Instant::now();
    let mut engine = Engine::open(local.path(), opts.clone()).expect("open");
    let mut id = 0;
    while id < rows {
        let batch: Vec<Mutation> = (id..(id + BATCH).min(rows))
            .map(|i| mutation_with(i, big_value(i)))
            .collect();
        id += batch.len() as u64;
        engine.apply_batch(batch).expect("apply");
    }
    engine.flush().expect("flush");
    let sstables = engine.stats().sstable_count;
    engine.close().expect("close");
    let bytes = dir_bytes(local.path());
    println!(
        "startup: {rows} rows of {STARTUP_VALUE_BYTES} B, {:.0} MiB per copy in {sstables} SSTables ({:.1} MiB of it metadata), ingest {:.0} s, base {}",
        bytes as f64 / f64::from(1 << 20),
        metadata_bytes(local.path()) as f64 / f64::from(1 << 20),
        start.elapsed().as_secs_f64(),
        base.display()
    );
    println!("| start-up | page cache | run | Engine::open s | reconcile alone s | files vouched | files compared | MiB compared |");
    println!("|---|---|---|---|---|---|---|---|");
    for run in 1..=2 {
        for cold in [false, true] {
            for with_marker in [true, false] {
                let cache = if cold { "cold" } else { "warm" };
                if !with_marker {
                    remove_markers([local.path(), m.path()]);
                }
                if cold {
                    drop_from_page_cache([local.path(), m.path()]);
                }
                let t = Instant::now();
                let report = mirror::reconcile(local.path(), m.path()).expect("reconcile");
                let reconcile_secs = t.elapsed().as_secs_f64();
                if !with_marker {
                    remove_markers([local.path(), m.path()]);
                }
                if cold {
                    drop_from_page_cache([local.path(), m.path()]);
                }
                let t = Instant::now();
                let engine = Engine::open(local.path(), opts.clone()).expect("open");
                let open_secs = t.elapsed().as_secs_f64();
                engine.close().expect("close");
                println!(
                    "| {} | {cache} | {run} | {open_secs:.3} | {reconcile_secs:.3} | {} | {} | {:.0} |",
                    if with_marker {
                        "after a clean close (marker)"
                    } else {
                        "no marker (full compare)"
                    },
                    report.files_vouched,
                    report.files_compared,
                    report.bytes_compared as f64 / f64::from(1 << 20)
                );
            }
        }
    }

    // What reading without the memory map costs: newest-50 reads (about 200 KiB, 50 blocks
    // each) of 100 partitions (20 MiB: they fit the default 64 MiB block cache) and of all
    // 1000; then the same on chat-sized rows.
    compare_reads("4 KiB values", local.path(), &opts);
    drop((local, m));
    let local = tempfile::tempdir_in(base).expect("tempdir");
    let m = tempfile::tempdir_in(base).expect("tempdir");
    ingest(
        local.path(),
        Some(m.path()),
        SyncMode::Periodic { period_ms: 10 },
        300_000,
    );
    let mut opts = opts;
    opts.mirror = Some(MirrorOptions::new(m.path()));
    println!(
        "300000 rows of {VALUE_BYTES} B: {:.0} MiB, {:.1} MiB of it SSTable metadata",
        dir_bytes(local.path()) as f64 / f64::from(1 << 20),
        metadata_bytes(local.path()) as f64 / f64::from(1 << 20)
    );
    compare_reads("200 B values", local.path(), &opts);
}

/// Newest-50 reads per second of the engine in `local`, mapped and mirrored, with and
/// without the block cache (best of two runs of 10,000 reads each).
fn compare_reads(data: &str, local: &Path, opts: &EngineOptions) {
    println!("| data | block cache | partitions read | map (no mirror) reads/s | positioned reads (mirror) reads/s |");
    println!("|---|---|---|---|---|");
    for (cache, partitions) in [(64u64 << 20, 100), (64 << 20, PARTITIONS), (0, 100)] {
        let mut mirrored_opts = opts.clone();
        mirrored_opts.block_cache_bytes = cache;
        let mut mapped_opts = mirrored_opts.clone();
        mapped_opts.mirror = None;
        // Best of two, alternating, so that neither side always runs first.
        let (mut mirrored, mut mapped) = (0f64, 0f64);
        for _ in 0..2 {
            mirrored = mirrored.max(newest50_reads_per_s(local, &mirrored_opts, partitions));
            mapped = mapped.max(newest50_reads_per_s(local, &mapped_opts, partitions));
        }
        println!(
            "| {data} | {} MiB | {partitions} | {mapped:.0} | {mirrored:.0} |",
            cache >> 20
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "startup") {
        args.next();
        let mib = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
        let base = args
            .next()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        startup(mib, &base);
        return;
    }
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
