//! A latency histogram with fixed Prometheus buckets, updated with relaxed atomics so that
//! recording costs a few nanoseconds on the request path and never takes a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (100 µs to 10 s); `+Inf` is implied.
pub const BUCKETS_SECONDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0,
];

#[derive(Default)]
pub struct Histogram {
    /// Observations at or under each bound (not cumulative; summed when rendered).
    buckets: [AtomicU64; BUCKETS_SECONDS.len()],
    over: AtomicU64,
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// A consistent-enough copy for rendering: cumulative bucket counts, count and sum.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    pub cumulative: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let slot = BUCKETS_SECONDS.iter().position(|b| secs <= *b);
        match slot.and_then(|i| self.buckets.get(i)) {
            Some(b) => b.fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = BUCKETS_SECONDS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| {
                total += n.load(Ordering::Relaxed);
                (*bound, total)
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            count: total + self.over.load(Ordering::Relaxed),
            sum_seconds: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_includes_overflow() {
        let h = Histogram::default();
        h.record(Duration::from_micros(50));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(20));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative.first(), Some(&(0.0001, 1)));
        assert_eq!(
            s.cumulative.iter().find(|(b, _)| *b == 0.005),
            Some(&(0.005, 2))
        );
        assert_eq!(s.cumulative.last(), Some(&(10.0, 2)));
        assert!((s.sum_seconds - 20.00305).abs() < 1e-6);
    }
}
