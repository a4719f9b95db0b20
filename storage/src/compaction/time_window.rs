//! Time-window selection: an SSTable belongs to the window of its newest write timestamp.
//! The newest window is compacted size-tiered while it still receives writes; each older
//! window is compacted down to one SSTable, after which it is left alone. For chat history,
//! where writes arrive in time order, data is then rewritten a bounded number of times, and
//! a whole window's SSTable can expire or be deleted together.

use std::collections::BTreeMap;

use crate::compaction::config::{SizeTieredOptions, TimeWindowOptions};
use crate::compaction::picker::Candidate;
use crate::compaction::size_tiered;

/// The window (its start in seconds) an SSTable belongs to.
pub fn window_of(opts: &TimeWindowOptions, max_timestamp: i64) -> i64 {
    let secs = max_timestamp
        .saturating_mul(opts.timestamp_micros_per_unit)
        .div_euclid(1_000_000);
    let width = opts.window_secs.max(1);
    secs.div_euclid(width) * width
}

pub fn pick(opts: &TimeWindowOptions, candidates: &[&Candidate]) -> Option<Vec<u64>> {
    let mut windows: BTreeMap<i64, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        windows
            .entry(window_of(opts, c.max_timestamp))
            .or_default()
            .push(c);
    }
    let mut newest_first = windows.into_iter().rev();
    let (_, current) = newest_first.next()?;
    let stcs = SizeTieredOptions {
        min_threshold: opts.min_threshold,
        max_threshold: opts.max_threshold,
        ..SizeTieredOptions::default()
    };
    if let Some(pick) = size_tiered::pick(&stcs, opts.min_threshold, opts.max_threshold, &current) {
        return Some(pick);
    }
    // Older windows: everything of the window into one SSTable (at most max_threshold at once).
    for (_, mut members) in newest_first {
        if members.len() >= 2 {
            members.sort_by_key(|c| (c.size_bytes, c.generation));
            members.truncate(opts.max_threshold.max(2));
            return Some(members.iter().map(|c| c.generation).collect());
        }
    }
    None
}
