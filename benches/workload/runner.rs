//! Runs the selected phases on one engine, in order: the periodic load with the read
//! phases, the group-commit runs, the tombstone phase.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::channel_index::ChannelIndex;
use crate::cli::{Args, Phase, ReadsAfter, SyncArg};
use crate::engines;
use crate::generator::{Workload, MESSAGES_AT_SCALE_1, TOMBSTONE_MESSAGES_AT_SCALE_1};
use crate::phases;
use crate::report::{self, Report};
use crate::store::{Durability, Result, Store};

const OPEN_CHANNEL_READS_AT_SCALE_1: u64 = 200_000;
const SCROLL_BACK_READS_AT_SCALE_1: u64 = 100_000;

/// Runs the selected phases on one engine; `Ok(false)` if the engine is unavailable.
pub fn run_engine(
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
    store: &mut dyn Store,
    index: &ChannelIndex,
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
