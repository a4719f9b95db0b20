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
#[path = "workload/cpu.rs"]
mod cpu;
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
#[path = "workload/runner.rs"]
mod runner;
#[path = "workload/scrolldb_store.rs"]
mod scrolldb_store;
#[path = "workload/snowflake.rs"]
mod snowflake;
#[path = "workload/store.rs"]
mod store;
#[path = "workload/vocabulary.rs"]
mod vocabulary;

use clap::Parser;
use std::path::Path;
use std::time::Instant;

use cli::Args;
use generator::Workload;
use report::Report;
use store::Result;

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
        let outcome = runner::run_engine(&args, &workload, engine, &dir, &mut report);
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

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
