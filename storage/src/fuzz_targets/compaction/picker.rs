//! Fuzz target `compaction_picker`: the picker on arbitrary SSTable summaries and options.
//!
//! Whatever the sizes, timestamps (including extremes), ages and ratios, a pick must never
//! panic, and must name distinct generations of the candidates: between 2 and
//! `max_threshold` of them for a strategy pick, exactly one that passes the ratio, age and
//! futility tests for a tombstone pick; and nothing when the table has compaction disabled.

use crate::compaction::picker::{pick, Candidate, CompactionReason};
use crate::compaction::{
    CompactionConfig, SizeTieredOptions, Strategy, TimeWindowOptions, TombstoneCompaction,
};

fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(data.iter()) {
        *o = *b;
    }
    *data = data.get(N..).unwrap_or_default();
    out
}

fn i64_of(data: &mut &[u8]) -> i64 {
    i64::from_le_bytes(take::<8>(data))
}

pub fn run(mut data: &[u8]) {
    let [kind, min, extra, ratio, flags] = take::<5>(&mut data);
    let min_threshold = 2 + usize::from(min % 6);
    let max_threshold = min_threshold + usize::from(extra % 30);
    let strategy = if kind & 1 == 0 {
        Strategy::SizeTiered(SizeTieredOptions {
            min_threshold,
            max_threshold,
            min_sstable_size_bytes: u64::from(kind) << 12,
            ..SizeTieredOptions::default()
        })
    } else {
        Strategy::TimeWindow(TimeWindowOptions {
            window_secs: 1 + i64::from(kind >> 1) * 60,
            timestamp_micros_per_unit: [1, 1_000, 1_000_000][usize::from(flags % 3)],
            min_threshold,
            max_threshold,
        })
    };
    let config = CompactionConfig {
        strategy,
        tombstones: TombstoneCompaction {
            threshold: f64::from(ratio) / 255.0,
            interval_secs: i64::from(flags >> 2),
            unchecked: flags & 2 == 2,
        },
        enabled: kind != 255,
    };
    let mut candidates = Vec::new();
    let mut generation = 0u64;
    while data.len() >= 4 && candidates.len() < 200 {
        let [g, size_shift, age, dropped] = take::<4>(&mut data);
        generation += 1 + u64::from(g % 4);
        let max_timestamp = i64_of(&mut data);
        candidates.push(Candidate {
            generation,
            size_bytes: 1u64 << (size_shift % 40),
            min_timestamp: max_timestamp.saturating_sub(i64::from(age) << 20),
            max_timestamp,
            age_secs: i64::from(age) * 10,
            droppable_ratio: f64::from(dropped) / 255.0,
            tombstone_compaction_futile: dropped & 1 == 1,
        });
    }
    let blocked_mask = flags;
    let Some(p) = pick(&config, &candidates, |g| (g as u8) & blocked_mask & 4 == 4) else {
        return;
    };
    assert!(config.enabled, "picked with compaction disabled");
    let mut gens = p.generations.clone();
    gens.sort_unstable();
    gens.dedup();
    assert_eq!(gens.len(), p.generations.len(), "duplicate inputs: {p:?}");
    let find = |g: &u64| candidates.iter().find(|c| c.generation == *g);
    assert!(
        p.generations.iter().all(|g| find(g).is_some()),
        "unknown input: {p:?}"
    );
    match p.reason {
        CompactionReason::Tombstones => {
            assert_eq!(p.generations.len(), 1, "{p:?}");
            let c = p.generations.first().and_then(find);
            assert!(c.is_some_and(|c| !c.tombstone_compaction_futile
                && c.droppable_ratio > config.tombstones.threshold
                && c.age_secs >= config.tombstones.interval_secs));
        }
        _ => assert!(
            (2..=max_threshold).contains(&p.generations.len()),
            "{} inputs, max_threshold {max_threshold}: {p:?}",
            p.generations.len()
        ),
    }
}
