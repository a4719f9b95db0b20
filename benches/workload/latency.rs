//! Per-operation latency with an HDR histogram, reported in µs.

use hdrhistogram::Histogram;
use std::time::Duration;

pub struct Latency {
    histogram_ns: Histogram<u64>,
}

impl Latency {
    pub fn new() -> Self {
        Latency {
            // 1 ns to 10 min at 3 significant digits.
            histogram_ns: Histogram::new_with_bounds(1, 600_000_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }

    pub fn record(&mut self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.histogram_ns.saturating_record(ns.max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram_ns.add(&other.histogram_ns);
    }

    pub fn count(&self) -> u64 {
        self.histogram_ns.len()
    }

    /// The latency at `quantile` (0.5, 0.99, 0.999) in µs.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        self.histogram_ns.value_at_quantile(quantile) as f64 / 1_000.0
    }
}
