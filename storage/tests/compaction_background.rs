//! Background compaction: the SSTable count stays bounded under ingest with each strategy,
//! jobs run on another thread while the engine reads and writes, and a job that fails or is
//! never installed leaves the old set intact.

use std::collections::BTreeMap;

use bytes::Bytes;
use scrolldb_storage::compaction::{CompactionConfig, CompactionMode};
use scrolldb_storage::engine::{Engine, EngineOptions, TableOptions};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

const TABLE: u32 = 1;

fn options(mode: CompactionMode) -> EngineOptions {
    EngineOptions {
        memtable_flush_bytes: 16 << 10,
        compaction_mode: mode,
        ..EngineOptions::default()
    }
}

fn message(channel: u64, id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&(u64::MAX - id).to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(
        0,
        Cell::live(id as i64, Bytes::from(format!("message {id} in {channel}"))),
    );
    Mutation::new(TABLE, Bytes::copy_from_slice(&channel.to_be_bytes())).with_row(row)
}

fn config(pairs: &[(&str, &str)]) -> TableOptions {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TableOptions {
        compaction: CompactionConfig::parse(&map).unwrap(),
        ..TableOptions::default()
    }
}

fn count_rows(engine: &mut Engine, channels: u64) -> usize {
    (0..channels)
        .map(|c| {
            let q = ReadQuery::partition(TABLE, Bytes::copy_from_slice(&c.to_be_bytes()));
            engine.read(&q).unwrap().rows.len()
        })
        .sum()
}

/// Ingests `n` messages over 8 channels, ticking after each batch; returns the most
/// SSTables seen at once.
fn ingest(engine: &mut Engine, n: u64) -> usize {
    let mut most = 0;
    for batch in (0..n).collect::<Vec<_>>().chunks(16) {
        engine
            .apply_batch(batch.iter().map(|&id| message(id % 8, id)).collect())
            .unwrap();
        engine.tick().unwrap();
        most = most.max(engine.stats().sstable_count);
    }
    most
}

#[test]
fn size_tiered_keeps_the_count_bounded_under_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::InlineOnTick)).unwrap();
    engine.set_table_options(TABLE, config(&[("class", "SizeTieredCompactionStrategy")]));
    let most = ingest(&mut engine, 8_000);
    let stats = engine.stats();
    assert!(stats.flushes >= 40, "{stats:?}");
    assert!(stats.compaction.jobs_installed >= 10, "{stats:?}");
    // Everything is under min_sstable_size: one bucket, compacted at 4.
    assert!(most <= 5, "at most {most} SSTables at once");
    assert_eq!(count_rows(&mut engine, 8), 8_000);
    drop(engine);
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 8_000);
}

#[test]
fn size_tiered_tiers_by_size_when_sstables_are_large() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::InlineOnTick)).unwrap();
    engine.set_table_options(
        TABLE,
        config(&[
            ("class", "SizeTieredCompactionStrategy"),
            ("min_sstable_size", "0"),
        ]),
    );
    let most = ingest(&mut engine, 12_000);
    let stats = engine.stats();
    // Tiers of 1, 4, 16, 64 flushes: about min_threshold per tier, a handful of tiers.
    assert!(most <= 10, "at most {most} SSTables at once ({stats:?})");
    assert!(stats.compaction.bytes_written > 0);
    assert_eq!(count_rows(&mut engine, 8), 12_000);
}

#[test]
fn time_window_compacts_each_window_to_one_sstable() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::InlineOnTick)).unwrap();
    engine.set_table_options(
        TABLE,
        config(&[
            ("class", "TimeWindowCompactionStrategy"),
            ("compaction_window_unit", "MINUTES"),
            ("compaction_window_size", "1"),
        ]),
    );
    // Timestamps are the ids (microseconds): make each block of 2,000 ids its own minute.
    let minute = 60_000_000u64;
    for w in 0..5u64 {
        for batch in (0..2_000u64).collect::<Vec<_>>().chunks(16) {
            let ms = batch
                .iter()
                .map(|&i| message(i % 8, w * minute + i))
                .collect();
            engine.apply_batch(ms).unwrap();
            engine.tick().unwrap();
        }
    }
    engine.flush().unwrap();
    engine.compact_until_idle().unwrap();
    let stats = engine.stats();
    // One SSTable per closed window, the current one size-tiered (below min_threshold).
    assert!(stats.sstable_count <= 4 + 3, "{stats:?}");
    assert!(
        stats.sstable_count >= 5,
        "windows are never merged together: {stats:?}"
    );
    assert_eq!(count_rows(&mut engine, 8), 10_000);
}

#[test]
fn jobs_run_on_another_thread_while_the_engine_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    ingest(&mut engine, 4_000);
    let before = engine.stats().sstable_count;
    assert!(before >= 4, "{before}");
    assert!(engine.tick().is_ok());
    assert_eq!(
        engine.stats().sstable_count,
        before,
        "External: tick does not compact"
    );
    let job = engine.pick_compaction().expect("a size-tiered job");
    let inputs = job.inputs();
    // The inputs are reserved: the next pick does not take them again.
    assert!(engine
        .pick_compaction()
        .is_none_or(|j| j.inputs().iter().all(|g| !inputs.contains(g))));
    let worker = std::thread::spawn(move || job.run());
    // Meanwhile: writes, flushes and reads go on.
    for id in 4_000..6_000 {
        engine.apply(message(id % 8, id)).unwrap();
    }
    engine.flush().unwrap();
    assert_eq!(count_rows(&mut engine, 8), 6_000);
    let result = worker.join().unwrap();
    assert!(result.succeeded());
    engine.install(result).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 6_000);
    drop(engine);
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 6_000);
}

#[test]
fn a_job_never_installed_leaves_the_old_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    ingest(&mut engine, 4_000);
    let files_before = sstable_files(dir.path());
    let job = engine.pick_compaction().expect("a job");
    let result = job.run();
    assert!(result.succeeded());
    // Crash before install: the output is an unlisted file, removed on open.
    drop(result);
    drop(engine);
    assert!(sstable_files(dir.path()).len() > files_before.len());
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    assert_eq!(sstable_files(dir.path()), files_before);
    assert_eq!(count_rows(&mut engine, 8), 4_000);
}

#[test]
fn a_failed_job_releases_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    ingest(&mut engine, 4_000);
    let job = engine.pick_compaction().expect("a job");
    // Make the output impossible to write: its directory is gone.
    let table_dir = dir.path().join("tables").join(TABLE.to_string());
    let moved = dir.path().join("moved");
    std::fs::rename(&table_dir, &moved).unwrap();
    let result = job.run();
    assert!(!result.succeeded());
    std::fs::rename(&moved, &table_dir).unwrap();
    assert!(engine.install(result).is_err());
    assert_eq!(engine.stats().compaction.jobs_failed, 1);
    // The inputs are free again and the next attempt succeeds.
    let job = engine.pick_compaction().expect("the same job again");
    engine.install(job.run()).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 4_000);
}

fn sstable_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("tables").join(TABLE.to_string()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn concurrent_jobs_install_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    engine.set_table_options(
        TABLE,
        config(&[
            ("class", "SizeTieredCompactionStrategy"),
            ("min_threshold", "2"),
            ("max_threshold", "2"),
        ]),
    );
    ingest(&mut engine, 4_000);
    let first = engine.pick_compaction().expect("a first job");
    let second = engine
        .pick_compaction()
        .expect("a second job on other inputs");
    assert!(first.inputs().iter().all(|g| !second.inputs().contains(g)));
    let (a, b) = (
        std::thread::spawn(move || first.run()),
        std::thread::spawn(move || second.run()),
    );
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    engine.install(b).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 4_000);
    engine.install(a).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 4_000);
    assert_eq!(engine.stats().compaction.running, 0);
    drop(engine);
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    assert_eq!(count_rows(&mut engine, 8), 4_000);
}

#[test]
fn a_result_for_a_dropped_table_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options(CompactionMode::External)).unwrap();
    ingest(&mut engine, 4_000);
    let job = engine.pick_compaction().expect("a job");
    let result = job.run();
    engine.drop_table(TABLE).unwrap();
    // The job ran before the drop removed the directory: its output is still there.
    engine.install(result).unwrap();
    let table_dir = dir.path().join("tables").join(TABLE.to_string());
    let left: Vec<_> = std::fs::read_dir(&table_dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(engine.stats().sstable_count, 0);
}
