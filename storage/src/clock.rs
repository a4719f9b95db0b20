//! Wall-clock helpers: write timestamps in microseconds and local times in seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (the default write timestamp).
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch (for TTL expiry and tombstone gc grace).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
