//! Snowflake message ids and the ten-day buckets derived from them.
//!
//! An id is 41 bits of milliseconds since 2015-01-01T00:00:00Z, 10 bits of worker and
//! 12 bits of sequence, so ids sort by send time and `id >> 22` is the send time.

/// Bits below the timestamp (10 worker + 12 sequence).
pub const TIMESTAMP_SHIFT: u32 = 22;

/// A bucket is a static ten-day window of send time.
pub const BUCKET_MS: i64 = 10 * 24 * 3600 * 1000;

/// The simulated history starts at 2024-01-01T00:00:00Z, in ms since the Snowflake epoch,
/// so ids look like a platform's that has run for years.
pub const TIMELINE_START_MS: i64 = 283_996_800_000;

/// Every workload spreads its messages evenly over 120 simulated days.
pub const TIMELINE_SPAN_MS: i64 = 120 * 24 * 3600 * 1000;

/// Composes an id; `worker` and `sequence` are masked to their 10 and 12 bits.
pub fn snowflake(ms_since_epoch: i64, worker: u16, sequence: u16) -> i64 {
    (ms_since_epoch << TIMESTAMP_SHIFT)
        | (i64::from(worker & 0x3ff) << 12)
        | i64::from(sequence & 0xfff)
}

/// The bucket of a message: `(message_id >> 22) / (10 days in ms)`.
pub fn bucket_of(message_id: i64) -> i32 {
    // The quotient is below 2^41 / 864e6 < 2,600, so it always fits an i32.
    ((message_id >> TIMESTAMP_SHIFT) / BUCKET_MS) as i32
}

/// Send time of the `index`-th of `count` messages spread evenly over the timeline.
pub fn send_ms(index: u64, count: u64) -> i64 {
    let offset = u128::from(index) * TIMELINE_SPAN_MS as u128 / u128::from(count.max(1));
    TIMELINE_START_MS + offset as i64
}
