//! The bench's result table: one line per phase with throughput and latency quantiles.

use super::load::Measured;
use std::fmt::Write;

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub phase: &'static str,
    pub operations: u64,
    pub elapsed_s: f64,
    pub ops_per_s: f64,
    pub latency_us_p50: f64,
    pub latency_us_p99: f64,
    pub latency_us_p999: f64,
    /// Rows the phase read (open-channel) or wrote (ingest).
    pub rows: u64,
}

impl PhaseReport {
    pub fn new(phase: &'static str, m: &Measured) -> PhaseReport {
        let elapsed_s = m.elapsed.as_secs_f64();
        let q = |q: f64| m.latency_ns.value_at_quantile(q) as f64 / 1_000.0;
        PhaseReport {
            phase,
            operations: m.operations,
            elapsed_s,
            ops_per_s: if elapsed_s > 0.0 {
                m.operations as f64 / elapsed_s
            } else {
                0.0
            },
            latency_us_p50: q(0.5),
            latency_us_p99: q(0.99),
            latency_us_p999: q(0.999),
            rows: m.units,
        }
    }
}

/// The table `scrolldb bench` prints.
pub fn table(reports: &[PhaseReport], connections: usize, concurrency: usize) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = format!(
        "scrolldb bench: {connections} connections, {concurrency} requests in flight, \
         {cores} cores\n{:<13} {:>10} {:>9} {:>11} {:>10} {:>10} {:>10} {:>10}\n",
        "phase", "ops", "secs", "ops/s", "p50 us", "p99 us", "p99.9 us", "rows"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{:<13} {:>10} {:>9.2} {:>11.0} {:>10.0} {:>10.0} {:>10.0} {:>10}",
            r.phase,
            r.operations,
            r.elapsed_s,
            r.ops_per_s,
            r.latency_us_p50,
            r.latency_us_p99,
            r.latency_us_p999,
            r.rows
        );
    }
    out
}
