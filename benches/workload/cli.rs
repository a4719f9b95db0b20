//! Command-line options of `cargo bench --bench workload -- ...`.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "scrolldb vs fjall on the message workload (docs/BENCHMARKS.md)")]
pub struct Args {
    /// Multiplies the message counts and operation counts (1 = 5,000,000 messages).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,

    /// Seed of every random stream; the same seed gives the same data and operations.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Phases to run and report.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ingest,open-channel,scroll-back,tombstones"
    )]
    pub phases: Vec<Phase>,

    /// Engines to run, one after the other, on the same data.
    #[arg(long, value_delimiter = ',', default_value = "scrolldb,fjall")]
    pub engines: Vec<String>,

    /// Durability modes measured by the ingest phase (the read phases always load the
    /// data with periodic sync).
    #[arg(long, value_delimiter = ',', default_value = "periodic,group")]
    pub sync: Vec<SyncArg>,

    /// When the read phases run: on the engine's own state after the load, or after a
    /// major compaction and a reopen (one sorted run: the best case of an LSM).
    #[arg(long, value_enum, default_value = "ingest")]
    pub reads_after: ReadsAfter,

    /// Messages per write when loading with periodic sync; 1 = every message is its own
    /// write, as a chat server receives them.
    #[arg(long, default_value_t = 1)]
    pub ingest_batch: usize,

    /// Concurrent writers of each group-commit run.
    #[arg(long, value_delimiter = ',', default_value = "2,64")]
    pub group_writers: Vec<usize>,

    /// Wall time of each group-commit run.
    #[arg(long, default_value_t = 5.0)]
    pub group_secs: f64,

    /// Where the engines' directories go (default: a fresh directory under the temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,

    /// Keep the engines' directories after the run.
    #[arg(long)]
    pub keep: bool,

    /// Also write the results table as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    pub bench: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Ingest,
    OpenChannel,
    ScrollBack,
    Tombstones,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadsAfter {
    Ingest,
    Compaction,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncArg {
    Periodic,
    Group,
}

impl Args {
    /// `count` at scale 1, scaled, at least 1.
    pub fn scaled(&self, count: u64) -> u64 {
        ((count as f64 * self.scale).round() as u64).max(1)
    }

    pub fn runs(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }
}
