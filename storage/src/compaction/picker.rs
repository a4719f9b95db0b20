//! Choosing the next compaction of a table from a summary of its SSTables.
//!
//! The picker is a pure function of [`Candidate`]s (sizes, timestamps, ages, tombstone
//! estimates) so it can be unit tested and fuzzed without files. The strategy goes first;
//! when it has nothing to do, the SSTable with the highest droppable-tombstone ratio above the
//! threshold is compacted alone.

use crate::compaction::config::{CompactionConfig, Strategy};
use crate::compaction::{size_tiered, time_window};

/// What the picker knows of one live SSTable that no running compaction holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub generation: u64,
    pub size_bytes: u64,
    pub min_timestamp: i64,
    pub max_timestamp: i64,
    /// Seconds since the SSTable was written.
    pub age_secs: i64,
    /// Estimated tombstones past gc grace over the SSTable's rows plus tombstones.
    pub droppable_ratio: f64,
    /// A single-SSTable tombstone compaction already produced this SSTable and freed nothing.
    pub tombstone_compaction_futile: bool,
}

/// Why a compaction runs (reported in stats and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionReason {
    SizeTiered,
    TimeWindow,
    Tombstones,
    Major,
}

/// The generations to compact together, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    pub generations: Vec<u64>,
    pub reason: CompactionReason,
}

/// Picks the next compaction. `purge_blocked(generation)` is asked (only for SSTables that
/// pass the ratio and age tests, and unless the table's tombstone compaction is unchecked)
/// whether other SSTables would keep its tombstones from being purged anyway.
pub fn pick(
    config: &CompactionConfig,
    candidates: &[Candidate],
    mut purge_blocked: impl FnMut(u64) -> bool,
) -> Option<Pick> {
    if !config.enabled {
        return None;
    }
    let all: Vec<&Candidate> = candidates.iter().collect();
    let strategy_pick = match &config.strategy {
        Strategy::SizeTiered(o) => size_tiered::pick(o, o.min_threshold, o.max_threshold, &all)
            .map(|g| (g, CompactionReason::SizeTiered)),
        Strategy::TimeWindow(o) => {
            time_window::pick(o, &all).map(|g| (g, CompactionReason::TimeWindow))
        }
    };
    if let Some((generations, reason)) = strategy_pick {
        return Some(Pick {
            generations,
            reason,
        });
    }
    let t = &config.tombstones;
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            !c.tombstone_compaction_futile
                && c.droppable_ratio > t.threshold
                && c.age_secs >= t.interval_secs
        })
        .collect();
    eligible.sort_by(|a, b| b.droppable_ratio.total_cmp(&a.droppable_ratio));
    eligible
        .into_iter()
        .find(|c| t.unchecked || !purge_blocked(c.generation))
        .map(|c| Pick {
            generations: vec![c.generation],
            reason: CompactionReason::Tombstones,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::compaction::config::{SizeTieredOptions, TimeWindowOptions};

    fn c(generation: u64, size_bytes: u64, max_timestamp: i64) -> Candidate {
        Candidate {
            generation,
            size_bytes,
            min_timestamp: max_timestamp - 10,
            max_timestamp,
            age_secs: 0,
            droppable_ratio: 0.0,
            tombstone_compaction_futile: false,
        }
    }

    #[test]
    fn size_tiered_waits_for_min_threshold_then_takes_similar_sizes() {
        let config = CompactionConfig::default();
        let three: Vec<_> = (1..=3).map(|g| c(g, 1000, 0)).collect();
        assert_eq!(pick(&config, &three, |_| false), None);
        let mut mixed = three.clone();
        mixed.push(c(4, 1100, 0));
        mixed.push(c(5, 500 << 20, 0));
        let p = pick(&config, &mixed, |_| false).unwrap();
        assert_eq!(p.reason, CompactionReason::SizeTiered);
        let mut g = p.generations.clone();
        g.sort();
        assert_eq!(g, vec![1, 2, 3, 4]);
    }

    #[test]
    fn size_tiered_separates_large_tiers() {
        let config = CompactionConfig {
            strategy: Strategy::SizeTiered(SizeTieredOptions {
                min_sstable_size_bytes: 0,
                ..SizeTieredOptions::default()
            }),
            ..CompactionConfig::default()
        };
        let cands: Vec<_> = [100, 110, 120, 1000, 1100, 1200, 1300]
            .iter()
            .enumerate()
            .map(|(i, s)| c(i as u64, *s, 0))
            .collect();
        let p = pick(&config, &cands, |_| false).unwrap();
        assert_eq!(p.generations, vec![3, 4, 5, 6]);
    }

    #[test]
    fn time_window_compacts_old_windows_to_one() {
        let config = CompactionConfig {
            strategy: Strategy::TimeWindow(TimeWindowOptions {
                window_secs: 60,
                ..TimeWindowOptions::default()
            }),
            ..CompactionConfig::default()
        };
        let minute = 60_000_000;
        // Two SSTables in an old window, one in the current one.
        let cands = vec![
            c(1, 10, minute / 2),
            c(2, 10, minute / 3),
            c(3, 10, 5 * minute),
        ];
        let p = pick(&config, &cands, |_| false).unwrap();
        assert_eq!(p.reason, CompactionReason::TimeWindow);
        let mut g = p.generations;
        g.sort();
        assert_eq!(g, vec![1, 2]);
        // One per window: nothing to do.
        assert_eq!(pick(&config, &cands[1..], |_| false), None);
    }

    #[test]
    fn tombstone_compaction_needs_ratio_age_and_no_memo() {
        let mut config = CompactionConfig::default();
        config.tombstones.interval_secs = 100;
        let mut a = c(1, 10, 0);
        a.droppable_ratio = 0.5;
        a.age_secs = 50;
        assert_eq!(pick(&config, &[a.clone()], |_| false), None, "too young");
        a.age_secs = 200;
        let p = pick(&config, &[a.clone()], |_| false).unwrap();
        assert_eq!(p.reason, CompactionReason::Tombstones);
        assert_eq!(pick(&config, &[a.clone()], |_| true), None, "blocked");
        config.tombstones.unchecked = true;
        assert!(pick(&config, &[a.clone()], |_| true).is_some());
        a.tombstone_compaction_futile = true;
        assert_eq!(pick(&config, &[a], |_| false), None, "futile before");
    }
}
