//! `scrolldb bench`: a load generator that runs the workload's ingest and open-channel phases
//! (`shared/WORKLOAD.md`) against a scrolldb (or any CQL) server over the native protocol,
//! with prepared statements, N connections and M requests in flight, and reports throughput
//! and p50/p99/p99.9 latency. `docs/BENCHMARKS.md` ("CQL load") has the numbers.
//!
//! - [`workload`]: the deterministic message data of a seed;
//! - [`client`]: the driver session, schema and prepared statements;
//! - [`load`]: the closed-loop driver and its latency histogram;
//! - [`phases`]: ingest and open-channel; [`report`]: the printed table.

pub mod client;
pub mod load;
pub mod phases;
pub mod report;
#[cfg(test)]
mod tests;
pub mod workload;

use client::Client;
use load::Limit;
use phases::Channels;
use report::PhaseReport;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workload::{buckets_by_channel, Workload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Single-row prepared INSERTs of the workload's messages, in send order.
    Ingest,
    /// Reads of a popular channel's newest 50 messages.
    OpenChannel,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The CQL server to load.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9042")]
    pub addr: SocketAddr,
    /// Connections to open; requests are spread over them.
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::MIN)]
    pub connections: NonZeroUsize,
    /// Requests in flight at once, over all connections (like redis-benchmark's -c).
    #[arg(long, value_name = "M", default_value_t = 32)]
    pub concurrency: usize,
    /// Phases to run, in order (comma separated).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub phase: Vec<Phase>,
    /// Messages the data set holds: ingest writes them; open-channel reads the channels
    /// and buckets an ingest of this many messages (same seed) wrote.
    #[arg(long, value_name = "K", default_value_t = 200_000)]
    pub messages: u64,
    /// Reads the open-channel phase makes.
    #[arg(long, value_name = "R", default_value_t = 200_000)]
    pub reads: u64,
    /// Stop each phase after this many seconds, even if it has operations left.
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Seed of the data and of the channel picks.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The keyspace of the `messages` table (created if missing).
    #[arg(long, default_value = "scrolldb_bench")]
    pub keyspace: String,
}

/// Runs the phases and returns their figures; the caller prints [`report::table`].
pub fn run(args: &BenchArgs) -> Result<Vec<PhaseReport>, String> {
    if args.keyspace.is_empty()
        || !args
            .keyspace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "--keyspace {:?}: use letters, digits and _",
            args.keyspace
        ));
    }
    let duration = match args.duration {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(format!(
                "--duration {s}: must be a positive number of seconds"
            ))
        }
        None => None,
    };
    let workload = Workload::new(args.seed)?;
    let messages = Arc::new(workload.messages(args.seed, args.messages));
    let channels = Arc::new(Channels {
        buckets: buckets_by_channel(&messages),
        current_bucket: messages.last().map_or(0, |m| m.bucket),
        workload,
        seed: args.seed,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async {
        let client = Arc::new(Client::connect(args.addr, args.connections, &args.keyspace).await?);
        let mut reports = Vec::new();
        for phase in &args.phase {
            let deadline = duration.map(|d| Instant::now() + d);
            let (name, measured) = match phase {
                Phase::Ingest => {
                    let limit = Limit {
                        operations: args.messages,
                        deadline,
                    };
                    let m = phases::ingest(
                        Arc::clone(&client),
                        Arc::clone(&messages),
                        args.concurrency,
                        limit,
                    )
                    .await?;
                    ("ingest", m)
                }
                Phase::OpenChannel => {
                    let limit = Limit {
                        operations: args.reads,
                        deadline,
                    };
                    let m = phases::open_channel(
                        Arc::clone(&client),
                        Arc::clone(&channels),
                        args.concurrency,
                        limit,
                    )
                    .await?;
                    ("open-channel", m)
                }
            };
            reports.push(PhaseReport::new(name, &measured));
        }
        Ok(reports)
    })
}

/// `scrolldb bench`: runs and prints the table; the result is the exit code.
pub fn main(args: &BenchArgs) -> i32 {
    match run(args) {
        Ok(reports) => {
            print!(
                "{}",
                report::table(&reports, args.connections.get(), args.concurrency)
            );
            0
        }
        Err(e) => {
            eprintln!("scrolldb bench: {e}");
            1
        }
    }
}
