//! Newest-50 read of a nearly empty channel: N rows written and flushed, all but the newest
//! deleted row by row; times the reverse read with the tombstones in the memtable and again
//! after flushing them. `cargo run --release -p scrolldb-storage --example tombstone_read [N]`.
//!
//! The engine runs with default options but for tombstone thresholds (the read must step
//! over every tombstone) and external compaction; `BLOCK_CACHE_MB` overrides the block
//! cache size to show what decompression costs when the partition does not fit in it,
//! `FLUSH_ZSTD_LEVEL` the flushes' zstd level (default -5: a negative level stores literals
//! without Huffman coding, which decompresses faster), `READS` the number of timed reads per
//! phase (15), and `KEEP_DIR` a directory to write the engine's files to and leave.

use bytes::Bytes;
use scrolldb_storage::compaction::CompactionMode;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::model::{Cell, DeletionTime, Mutation, ReadQuery, Row};
use scrolldb_storage::read::TombstoneThresholds;
use std::time::Instant;

const TABLE: u32 = 1;

/// Microseconds of CPU time this thread has used.
fn thread_cpu_us() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u128 * 1_000_000 + ts.tv_nsec as u128 / 1000
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    // `KEEP_DIR=path`: write the engine's files there and leave them, to inspect the tables.
    let dir_path =
        std::env::var_os("KEEP_DIR").map_or_else(|| dir.path().to_path_buf(), Into::into);
    let opts = EngineOptions {
        compaction_mode: CompactionMode::External,
        tombstones: TombstoneThresholds {
            warn: u64::MAX,
            fail: None,
        },
        ..EngineOptions::default()
    };
    let opts = match env_u64("BLOCK_CACHE_MB") {
        Some(mb) => EngineOptions {
            block_cache_bytes: mb << 20,
            ..opts
        },
        None => opts,
    };
    let opts = match std::env::var("FLUSH_ZSTD_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(level) => EngineOptions {
            flush_zstd_level: level,
            ..opts
        },
        None => opts,
    };
    let reads: u64 = env_u64("READS").unwrap_or(15);
    let mut engine = Engine::open(&dir_path, opts).expect("open");
    let pk = Bytes::from_static(b"channel");
    let ck = |i: u64| Bytes::copy_from_slice(&i.to_be_bytes());
    for i in 0..n {
        let mut row = Row::new(ck(i));
        row.marker = Some(Cell::live(i as i64 + 1, Bytes::new()));
        row.set(0, Cell::live(i as i64 + 1, Bytes::from(vec![b'm'; 60])));
        engine
            .apply(Mutation::new(TABLE, pk.clone()).with_row(row))
            .expect("write");
    }
    engine.flush().expect("flush");
    for i in 0..n - 1 {
        let mut row = Row::new(ck(i));
        row.deletion = Some(DeletionTime::new(n as i64 + 10, 1_700_000_000));
        engine
            .apply(Mutation::new(TABLE, pk.clone()).with_row(row))
            .expect("delete");
    }
    let time = |label: &str, engine: &mut Engine| {
        let mut samples = Vec::new();
        let mut cpu_samples = Vec::new();
        let mut before = engine.stats().block_cache;
        for n in 0..reads {
            if n == 1 {
                // Cache figures leave out the first read, which finds the new SSTables cold.
                before = engine.stats().block_cache;
            }
            let q = ReadQuery::partition(TABLE, pk.clone()).reverse().limit(50);
            let cpu = thread_cpu_us();
            let t = Instant::now();
            let r = engine.read(&q).expect("read");
            samples.push(t.elapsed().as_micros());
            cpu_samples.push(thread_cpu_us() - cpu);
            assert_eq!(r.rows.len(), 1);
        }
        samples.sort();
        cpu_samples.sort();
        let after = engine.stats().block_cache;
        let median = samples[samples.len() / 2];
        println!(
            "{label}: median {median} us over {n} rows ({:.1} ns/row; fastest {} us; \
             median CPU time {} us; per warm read {} block cache hits, {} misses; \
             {} sstables, block cache {} of {} MiB)",
            median as f64 * 1000.0 / n as f64,
            samples[0],
            cpu_samples[cpu_samples.len() / 2],
            (after.hits - before.hits) / (reads - 1).max(1),
            (after.misses - before.misses) / (reads - 1).max(1),
            engine.stats().sstable_count,
            after.bytes >> 20,
            after.capacity_bytes >> 20,
        );
    };
    time("after deletes (tombstones in memtable)", &mut engine);
    engine.flush().expect("flush");
    time("after flush (tombstones in an sstable)", &mut engine);
    let stats = engine.stats();
    println!(
        "{} sstables, {} bytes on disk",
        stats.sstable_count, stats.sstable_bytes
    );
}
