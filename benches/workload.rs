//! The message workload benchmark: scrolldb's single-shard engine against fjall 3 on the
//! phases 1-4 of `shared/WORKLOAD.md`, same data, same process, one table of results.
//!
//! `cargo bench --bench workload -- --scale 0.2` (see `docs/BENCHMARKS.md`).
//!
//! A bench target's root resolves `mod` paths beside itself, hence the `#[path]`s into
//! `benches/workload/`.

#[path = "workload/channel_index.rs"]
mod channel_index;
#[path = "workload/cli.rs"]
mod cli;
#[path = "workload/disk.rs"]
mod disk;
#[path = "workload/engines.rs"]
mod engines;
#[path = "workload/fjall_store.rs"]
mod fjall_store;
#[path = "workload/generator.rs"]
mod generator;
#[path = "workload/group_commit.rs"]
mod group_commit;
#[path = "workload/keys.rs"]
mod keys;
#[path = "workload/latency.rs"]
mod latency;
#[path = "workload/phases/mod.rs"]
mod phases;
#[path = "workload/report.rs"]
mod report;
#[path = "workload/snowflake.rs"]
mod snowflake;
#[path = "workload/store.rs"]
mod store;
#[path = "workload/vocabulary.rs"]
mod vocabulary;

use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cli::{Args, Phase, ReadsAfter, SyncArg};
use generator::{Workload, MESSAGES_AT_SCALE_1, TOMBSTONE_MESSAGES_AT_SCALE_1};
use report::Report;
use store::{Durability, Result};

const OPEN_CHANNEL_READS_AT_SCALE_1: u64 = 200_000;
const SCROLL_BACK_READS_AT_SCALE_1: u64 = 100_000;

fn main() {
    if let Err(e) = run() {
        eprintln!("workload: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = if std::env::args_os().len() <= 1 {
        smoke_args()
    } else {
        Args::parse()
    };
    if !args.scale.is_finite() || args.scale <= 0.0 || args.ingest_batch == 0 {
        return Err("--scale must be > 0 and --ingest-batch >= 1".into());
    }
    keys::self_check();
    let workload = Workload::new(args.seed);
    let root = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("scrolldb-workload-{}", std::process::id()))
    });
    let mut report = Report::new(args.scale, args.seed);
    report.options = vec![
        (
            "reads_after".into(),
            format!("{:?}", args.reads_after).to_lowercase(),
        ),
        (
            "ingest_batch_messages".into(),
            args.ingest_batch.to_string(),
        ),
        ("group_writers".into(), format!("{:?}", args.group_writers)),
        ("group_secs".into(), args.group_secs.to_string()),
    ];
    for engine in &args.engines {
        let dir = root.join(engine);
        remove_dir(&dir)?;
        let started = Instant::now();
        eprintln!("[{engine}] start in {}", dir.display());
        let outcome = run_engine(&args, &workload, engine, &dir, &mut report);
        if !args.keep {
            remove_dir(&dir)?;
        }
        match outcome? {
            true => eprintln!(
                "[{engine}] done in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            false => eprintln!("[{engine}] skipped: not built into this harness yet"),
        }
    }
    if !args.keep {
        // Only removes the root if the run created nothing else in it.
        let _ = std::fs::remove_dir(&root);
    }
    report.print();
    if let Some(path) = &args.json {
        report.write_json(path)?;
    }
    // Engines that read different rows are not comparable: fail the run (and CI's smoke run).
    let differences = report.differences();
    if !differences.is_empty() {
        return Err(format!("the engines returned different rows: {differences:?}").into());
    }
    Ok(())
}

/// `cargo test --all-targets` (CI) runs this bench with no arguments (`cargo bench` always
/// passes `--bench`): then a tiny smoke run checks that every phase works end to end
/// instead of starting a full-scale benchmark.
fn smoke_args() -> Args {
    eprintln!("workload: no arguments (cargo test): smoke run at scale 0.001");
    Args::parse_from(["workload", "--scale", "0.001", "--group-secs", "0.3"])
}

/// Runs the selected phases on one engine; `Ok(false)` if the engine is unavailable.
fn run_engine(
    args: &Args,
    workload: &Arc<Workload>,
    engine: &str,
    dir: &Path,
    report: &mut Report,
) -> Result<bool> {
    if !run_main_store(args, workload, engine, &dir.join("main"), report)? {
        return Ok(false);
    }
    if args.runs(Phase::Ingest) && args.sync.contains(&SyncArg::Group) {
        for &writers in &args.group_writers {
            let group = phases::group_commit::GroupRun {
                workload,
                message_count: args.scaled(MESSAGES_AT_SCALE_1),
                writers,
                duration: Duration::from_secs_f64(args.group_secs),
                dir: &dir.join(format!("group-{writers}")),
                engine,
            };
            if !phases::group_commit::run(&group, report)? {
                return Ok(false);
            }
            eprintln!("[{engine}] group commit with {writers} writers done");
        }
        group_speedup(args, engine, report);
    }
    if args.runs(Phase::Tombstones) {
        let run = phases::tombstones::TombstoneRun {
            workload,
            message_count: args.scaled(TOMBSTONE_MESSAGES_AT_SCALE_1).max(2),
            batch_messages: args.ingest_batch,
            dir: &dir.join("tombstones"),
            engine,
        };
        if !phases::tombstones::run(&run, report)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The periodic load and the read phases on one store. The reads run either on the
/// engine's own state after the load (its background compactions done) or after a major
/// compaction and a reopen (`--reads-after`).
fn run_main_store(
    args: &Args,
    workload: &Arc<Workload>,
    engine: &str,
    dir: &Path,
    report: &mut Report,
) -> Result<bool> {
    let reads = args.runs(Phase::OpenChannel) || args.runs(Phase::ScrollBack);
    let report_ingest = args.runs(Phase::Ingest) && args.sync.contains(&SyncArg::Periodic);
    if !reads && !report_ingest {
        return Ok(true);
    }
    let Some(mut store) = engines::open(engine, dir, Durability::Periodic)? else {
        return Ok(false);
    };
    let load = phases::ingest::Load {
        workload,
        message_count: args.scaled(MESSAGES_AT_SCALE_1),
        batch_messages: args.ingest_batch,
        dir,
        engine,
    };
    let t = Instant::now();
    let loaded = phases::ingest::load(&mut *store, &load, report_ingest.then_some(&mut *report))?;
    eprintln!("[{engine}] loaded in {:.1} s", t.elapsed().as_secs_f64());
    if args.reads_after == ReadsAfter::Ingest {
        run_reads(args, workload, engine, &mut *store, &loaded.index, report)?;
    }
    phases::ingest::compact(
        &mut *store,
        &load,
        &loaded,
        report_ingest.then_some(&mut *report),
    )?;
    let mut store =
        phases::ingest::reopen(store, &load, &loaded, report_ingest.then_some(&mut *report))?;
    if args.reads_after == ReadsAfter::Compaction {
        run_reads(args, workload, engine, &mut *store, &loaded.index, report)?;
    }
    Ok(true)
}

fn run_reads(
    args: &Args,
    workload: &Arc<Workload>,
    engine: &str,
    store: &mut dyn store::Store,
    index: &channel_index::ChannelIndex,
    report: &mut Report,
) -> Result<()> {
    if args.runs(Phase::OpenChannel) {
        let n = args.scaled(OPEN_CHANNEL_READS_AT_SCALE_1);
        phases::reads::open_channel(store, workload, index, n, engine, report)?;
    }
    if args.runs(Phase::ScrollBack) {
        let n = args.scaled(SCROLL_BACK_READS_AT_SCALE_1);
        phases::reads::scroll_back(store, workload, index, n, engine, report)?;
    }
    Ok(())
}

/// Messages/s of the most writers over the fewest: how well group commit scales.
fn group_speedup(args: &Args, engine: &str, report: &mut Report) {
    let (Some(&few), Some(&many)) = (
        args.group_writers.iter().min(),
        args.group_writers.iter().max(),
    ) else {
        return;
    };
    let rate = |w: usize| {
        let figure = format!("group_w{w}_messages_per_s");
        report
            .rows
            .iter()
            .find(|r| r.phase == phases::group_commit::PHASE && r.figure == figure)
            .and_then(|r| match r.values.get(engine) {
                Some(report::Value::Number(v)) => Some(*v),
                _ => None,
            })
    };
    if let (Some(a), Some(b)) = (rate(few), rate(many)) {
        let figure = format!("group_speedup_w{many}_over_w{few}");
        report.number(phases::group_commit::PHASE, &figure, engine, b / a);
    }
}

fn remove_dir(dir: &PathBuf) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
