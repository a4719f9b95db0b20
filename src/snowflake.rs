//! Snowflake ids: 64-bit ids that sort by creation time, as chat platforms use them for
//! messages, so the message id is also its clock.
//!
//! Layout, from the most significant bit: 42 bits of milliseconds since a custom epoch
//! (default 2015-01-01T00:00:00Z), 10 bits of worker id, 12 bits of sequence. Ids are
//! handled as `i64` because they are stored in CQL `bigint` columns; the top bit of the
//! millisecond field is the sign bit, so the generator refuses to issue ids past 2^41 ms
//! after its epoch (year 2084 for the default epoch) rather than issue negative ones.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 2015-01-01T00:00:00Z in milliseconds since the Unix epoch.
pub const DEFAULT_EPOCH_MS: i64 = 1_420_070_400_000;
/// The width of the messages table's static buckets: ten days.
pub const TEN_DAY_BUCKET_MS: i64 = 864_000_000;

pub const WORKER_BITS: u32 = 10;
pub const SEQUENCE_BITS: u32 = 12;
/// Bits below the timestamp: `(id >> TIMESTAMP_SHIFT)` is ms since the epoch.
pub const TIMESTAMP_SHIFT: u32 = WORKER_BITS + SEQUENCE_BITS;
pub const MAX_WORKER_ID: u16 = (1 << WORKER_BITS) - 1;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;
/// The largest millisecond offset whose ids are still positive `i64`s.
const MAX_OFFSET_MS: i64 = (1 << (63 - TIMESTAMP_SHIFT)) - 1;

/// Why an id could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnowflakeError {
    #[error("worker id {0} does not fit in {WORKER_BITS} bits (max {MAX_WORKER_ID})")]
    WorkerIdOutOfRange(u16),
    #[error("the 41-bit timestamp of ids is exhausted (2^41 ms after the epoch)")]
    TimestampExhausted,
}

/// Wall-clock time in milliseconds since the Unix epoch; injectable for tests.
pub trait Clock: Send + Sync {
    fn unix_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_ms(&self) -> i64 {
        // A clock before 1970 reads as the epoch; the generator never goes backwards anyway.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// Issues strictly increasing ids for one worker.
///
/// Thread-safe: `next_id` takes `&self` and is lock-free (a compare-and-swap on the last
/// issued id). When the wall clock steps back, ids continue from the last issued millisecond;
/// when a millisecond's 4096 sequence numbers are used up, ids move on to the next
/// millisecond, ahead of the clock, which the clock catches up with.
#[derive(Debug)]
pub struct SnowflakeGenerator<C: Clock = SystemClock> {
    epoch_ms: i64,
    worker_bits: i64,
    /// The last id issued, -1 before the first.
    last_id: AtomicI64,
    clock: C,
}

impl SnowflakeGenerator<SystemClock> {
    /// A generator with the default epoch (2015-01-01) and the system clock.
    pub fn new(worker_id: u16) -> Result<Self, SnowflakeError> {
        Self::with_epoch(DEFAULT_EPOCH_MS, worker_id)
    }

    pub fn with_epoch(epoch_ms: i64, worker_id: u16) -> Result<Self, SnowflakeError> {
        Self::with_clock(epoch_ms, worker_id, SystemClock)
    }
}

impl<C: Clock> SnowflakeGenerator<C> {
    /// A generator reading time from `clock`.
    pub fn with_clock(epoch_ms: i64, worker_id: u16, clock: C) -> Result<Self, SnowflakeError> {
        if worker_id > MAX_WORKER_ID {
            return Err(SnowflakeError::WorkerIdOutOfRange(worker_id));
        }
        let worker_bits = i64::from(worker_id) << SEQUENCE_BITS;
        Ok(SnowflakeGenerator {
            epoch_ms,
            worker_bits,
            last_id: AtomicI64::new(-1),
            clock,
        })
    }

    pub fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// The next id, greater than every id this generator issued before.
    pub fn next_id(&self) -> Result<i64, SnowflakeError> {
        let mut last = self.last_id.load(Ordering::Relaxed);
        loop {
            let now_offset = (self.clock.unix_ms() - self.epoch_ms).max(0);
            let from_clock = self.compose(now_offset, 0)?;
            let next = if from_clock > last {
                from_clock
            } else {
                // Same millisecond (or the clock went back): next sequence number of the
                // last millisecond, or the next millisecond when the sequence is used up.
                let last_offset = last >> TIMESTAMP_SHIFT;
                let sequence = (last & SEQUENCE_MASK) + 1;
                if sequence > SEQUENCE_MASK {
                    self.compose(last_offset + 1, 0)?
                } else {
                    self.compose(last_offset, sequence)?
                }
            };
            match self.last_id.compare_exchange_weak(
                last,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(next),
                Err(actual) => last = actual,
            }
        }
    }

    fn compose(&self, offset_ms: i64, sequence: i64) -> Result<i64, SnowflakeError> {
        if offset_ms > MAX_OFFSET_MS {
            return Err(SnowflakeError::TimestampExhausted);
        }
        Ok((offset_ms << TIMESTAMP_SHIFT) | self.worker_bits | sequence)
    }
}

/// Milliseconds since the Unix epoch when `id` was made (default epoch).
pub fn timestamp_of(id: i64) -> i64 {
    timestamp_of_with_epoch(id, DEFAULT_EPOCH_MS)
}

/// Milliseconds since the Unix epoch when `id` was made by a generator with `epoch_ms`.
pub fn timestamp_of_with_epoch(id: i64, epoch_ms: i64) -> i64 {
    (id >> TIMESTAMP_SHIFT) + epoch_ms
}

/// The worker id bits of `id`.
pub fn worker_of(id: i64) -> u16 {
    ((id >> SEQUENCE_BITS) & i64::from(MAX_WORKER_ID)) as u16
}

/// The sequence bits of `id`.
pub fn sequence_of(id: i64) -> u16 {
    (id & SEQUENCE_MASK) as u16
}

/// The smallest id made at `unix_ms` (default epoch): a bound for "messages since/before".
pub fn first_id_at(unix_ms: i64) -> i64 {
    (unix_ms - DEFAULT_EPOCH_MS).max(0) << TIMESTAMP_SHIFT
}

/// The static time bucket of a message: `(id >> 22) / width_ms` (see WORKLOAD.md; the
/// messages table uses [`TEN_DAY_BUCKET_MS`]). Millisecond offsets are from the id's own
/// epoch, so buckets are numbered from that epoch.
pub fn bucket_of(id: i64, width_ms: i64) -> i32 {
    ((id >> TIMESTAMP_SHIFT) / width_ms.max(1)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A clock the test moves by hand.
    #[derive(Debug, Default)]
    struct ManualClock(AtomicI64);

    impl ManualClock {
        fn set(&self, ms: i64) {
            self.0.store(ms, Ordering::SeqCst);
        }
    }

    impl Clock for Arc<ManualClock> {
        fn unix_ms(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn generator(
        worker: u16,
        start_ms: i64,
    ) -> (SnowflakeGenerator<Arc<ManualClock>>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        clock.set(start_ms);
        let g = SnowflakeGenerator::with_clock(DEFAULT_EPOCH_MS, worker, clock.clone()).unwrap();
        (g, clock)
    }

    const T0: i64 = DEFAULT_EPOCH_MS + 1_000_000;

    #[test]
    fn layout_and_helpers() {
        let (g, _) = generator(5, T0);
        let id = g.next_id().unwrap();
        assert_eq!(id, (1_000_000 << 22) | (5 << 12));
        assert_eq!(timestamp_of(id), T0);
        assert_eq!(worker_of(id), 5);
        assert_eq!(sequence_of(id), 0);
        assert_eq!(first_id_at(T0), 1_000_000 << 22);
        let next = g.next_id().unwrap();
        assert_eq!(next, id + 1);
        assert_eq!(sequence_of(next), 1);
    }

    #[test]
    fn monotonic_when_the_clock_steps_back() {
        let (g, clock) = generator(1, T0);
        let a = g.next_id().unwrap();
        clock.set(T0 - 60_000); // NTP steps the clock back a minute
        let b = g.next_id().unwrap();
        let c = g.next_id().unwrap();
        assert!(a < b && b < c);
        assert_eq!(timestamp_of(b), T0, "continues from the last millisecond");
        clock.set(T0 + 5);
        let d = g.next_id().unwrap();
        assert!(c < d);
        assert_eq!(timestamp_of(d), T0 + 5);
        assert_eq!(sequence_of(d), 0);
    }

    #[test]
    fn sequence_overflow_moves_to_the_next_millisecond() {
        let (g, _) = generator(3, T0);
        let mut prev = g.next_id().unwrap();
        for _ in 0..4095 {
            let id = g.next_id().unwrap();
            assert!(id > prev);
            prev = id;
        }
        assert_eq!(sequence_of(prev), 4095);
        assert_eq!(timestamp_of(prev), T0);
        let id = g.next_id().unwrap();
        assert_eq!(timestamp_of(id), T0 + 1);
        assert_eq!(sequence_of(id), 0);
        assert_eq!(worker_of(id), 3);
    }

    #[test]
    fn worker_bits() {
        assert_eq!(
            SnowflakeGenerator::new(1024).unwrap_err(),
            SnowflakeError::WorkerIdOutOfRange(1024)
        );
        let (g, _) = generator(MAX_WORKER_ID, T0);
        let id = g.next_id().unwrap();
        assert_eq!(worker_of(id), 1023);
        assert_eq!(timestamp_of(id), T0);
        assert_eq!(sequence_of(id), 0);
    }

    #[test]
    fn buckets() {
        // The first ten days after the epoch are bucket 0.
        assert_eq!(
            bucket_of(first_id_at(DEFAULT_EPOCH_MS), TEN_DAY_BUCKET_MS),
            0
        );
        let last_of_0 = first_id_at(DEFAULT_EPOCH_MS + TEN_DAY_BUCKET_MS) - 1;
        assert_eq!(bucket_of(last_of_0, TEN_DAY_BUCKET_MS), 0);
        assert_eq!(bucket_of(last_of_0 + 1, TEN_DAY_BUCKET_MS), 1);
        // 2023-01-01T00:00:00Z = 1672531200000 ms: 252460800000 ms after the epoch,
        // 292.2 ten-day windows.
        assert_eq!(
            bucket_of(first_id_at(1_672_531_200_000), TEN_DAY_BUCKET_MS),
            292
        );
        assert_eq!(timestamp_of_with_epoch(1 << 22, 0), 1);
    }

    #[test]
    fn clock_before_epoch_and_exhaustion() {
        let (g, clock) = generator(0, 0);
        assert_eq!(g.next_id().unwrap(), 0);
        clock.set(DEFAULT_EPOCH_MS + MAX_OFFSET_MS + 1);
        assert_eq!(g.next_id(), Err(SnowflakeError::TimestampExhausted));
        clock.set(DEFAULT_EPOCH_MS + MAX_OFFSET_MS);
        assert!(g.next_id().unwrap() > 0);
    }

    #[test]
    fn unique_across_threads() {
        let (g, _) = generator(7, T0);
        let g = Arc::new(g);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || {
                    (0..5000).map(|_| g.next_id().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn system_clock_ids_increase() {
        let g = SnowflakeGenerator::new(9).unwrap();
        let a = g.next_id().unwrap();
        let b = g.next_id().unwrap();
        assert!(a < b);
        assert!(timestamp_of(a) > DEFAULT_EPOCH_MS);
    }
}
