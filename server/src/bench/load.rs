//! The closed-loop load driver: M tasks keep one request in flight each until the operation
//! count or the deadline runs out, and time every request into an HDR histogram.

use hdrhistogram::Histogram;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When a phase stops: after `operations` requests, or at `deadline`, whichever is first.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub operations: u64,
    pub deadline: Option<Instant>,
}

/// What one phase measured.
#[derive(Debug)]
pub struct Measured {
    pub operations: u64,
    pub elapsed: Duration,
    /// Per-request latency in ns.
    pub latency_ns: Histogram<u64>,
    /// A sum the operations return (rows read), for the report.
    pub units: u64,
}

fn new_histogram() -> Result<Histogram<u64>, String> {
    // 1 µs to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

/// Runs `op(task, i)` for i = 0, 1, ... from `concurrency` tasks at once. `op` returns the units
/// it did (rows read); the first error stops the phase: a benchmark that dropped requests
/// has no number to report.
pub async fn drive<F, Fut>(concurrency: usize, limit: Limit, op: F) -> Result<Measured, String>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency.max(1) {
        let (op, next) = (Arc::clone(&op), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut latency = new_histogram()?;
            let mut units = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit.operations || limit.deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let t = Instant::now();
                units += op(task, i).await?;
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                latency.saturating_record(ns.max(1_000));
            }
            Ok::<_, String>((latency, units))
        }));
    }
    let mut latency_ns = new_histogram()?;
    let mut units = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok((h, u))) => {
                // Same bounds on both sides: adding cannot fail.
                let _ = latency_ns.add(&h);
                units += u;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("load task failed: {e}"));
            }
        }
    }
    let elapsed = started.elapsed();
    match first_error {
        Some(e) => Err(e),
        None => Ok(Measured {
            operations: latency_ns.len(),
            elapsed,
            latency_ns,
            units,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_each_operation_once_and_stops_on_error() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let limit = Limit {
            operations: 1_000,
            deadline: None,
        };
        let m = drive(8, limit, move |_, i| {
            let s = Arc::clone(&s);
            async move {
                s.lock().unwrap().push(i);
                Ok(2)
            }
        })
        .await
        .unwrap();
        assert_eq!(m.operations, 1_000);
        assert_eq!(m.units, 2_000);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..1_000).collect::<Vec<_>>());

        let failed = drive(4, limit, |_, i| async move {
            if i == 10 {
                Err("boom".to_string())
            } else {
                Ok(0)
            }
        })
        .await;
        assert_eq!(failed.unwrap_err(), "boom");
    }

    #[tokio::test]
    async fn deadline_stops_an_unbounded_phase() {
        let limit = Limit {
            operations: u64::MAX,
            deadline: Some(Instant::now() + Duration::from_millis(100)),
        };
        let m = drive(2, limit, |_, _| async {
            tokio::task::yield_now().await;
            Ok(1)
        })
        .await
        .unwrap();
        assert!(m.operations > 0);
        assert!(m.elapsed < Duration::from_secs(5));
    }
}
