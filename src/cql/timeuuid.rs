//! Version 1 (time) and version 4 (random) UUIDs for `now()` and `uuid()`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

static LAST_TICKS: AtomicU64 = AtomicU64::new(0);

/// A fresh version 1 UUID; ticks are made strictly increasing within the process so two
/// calls never return the same UUID.
pub fn new_timeuuid() -> [u8; 16] {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_nanos() / 100) as u64)
        + UUID_EPOCH_OFFSET;
    let mut prev = LAST_TICKS.load(Ordering::Relaxed);
    let ticks = loop {
        let next = now.max(prev + 1);
        match LAST_TICKS.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(p) => prev = p,
        }
    };
    let mut u = [0u8; 16];
    let time_low = (ticks & 0xffff_ffff) as u32;
    let time_mid = ((ticks >> 32) & 0xffff) as u16;
    let time_hi = (((ticks >> 48) & 0x0fff) as u16) | 0x1000;
    u[0..4].copy_from_slice(&time_low.to_be_bytes());
    u[4..6].copy_from_slice(&time_mid.to_be_bytes());
    u[6..8].copy_from_slice(&time_hi.to_be_bytes());
    let node = random_u64();
    u[8..16].copy_from_slice(&node.to_be_bytes());
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// A version 4 UUID.
pub fn random_uuid() -> [u8; 16] {
    let mut u = [0u8; 16];
    u[0..8].copy_from_slice(&random_u64().to_be_bytes());
    u[8..16].copy_from_slice(&random_u64().to_be_bytes());
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// Randomness from std's per-process random hasher keys, mixed with a counter.
fn random_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}
