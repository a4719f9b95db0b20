//! A table's compaction configuration, parsed from CQL's `compaction` option map
//! (`WITH compaction = {'class': 'SizeTieredCompactionStrategy', 'min_threshold': '6'}`).
//!
//! Option names, defaults and units are Cassandra's, so a schema written for Cassandra or
//! ScyllaDB means the same here. An unknown class or option, or a value out of range, is an
//! error naming it: a typo must not silently fall back to a default.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

const CASSANDRA_PACKAGE: &str = "org.apache.cassandra.db.compaction.";

/// Everything that decides how one table compacts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactionConfig {
    pub strategy: Strategy,
    pub tombstones: TombstoneCompaction,
    /// `enabled`: when false, background compaction never picks this table (manual major
    /// compaction still works).
    pub enabled: bool,
}

/// The strategy and its own options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    SizeTiered(SizeTieredOptions),
    TimeWindow(TimeWindowOptions),
}

/// Size-tiered: merge SSTables of similar size once enough of them exist.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeTieredOptions {
    /// Fewest similar-sized SSTables worth compacting together.
    pub min_threshold: usize,
    /// Most SSTables in one compaction.
    pub max_threshold: usize,
    /// An SSTable joins a bucket when its size is within `[avg * bucket_low, avg * bucket_high]`.
    pub bucket_low: f64,
    pub bucket_high: f64,
    /// SSTables smaller than this all share one bucket, whatever their sizes.
    pub min_sstable_size_bytes: u64,
}

impl Default for SizeTieredOptions {
    fn default() -> Self {
        SizeTieredOptions {
            min_threshold: 4,
            max_threshold: 32,
            bucket_low: 0.5,
            bucket_high: 1.5,
            min_sstable_size_bytes: 50 << 20,
        }
    }
}

/// Time-window: SSTables are grouped by the window their newest write falls in; the current
/// window compacts size-tiered, each older window is compacted down to one SSTable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeWindowOptions {
    /// Window length in seconds (`compaction_window_size` times `compaction_window_unit`).
    pub window_secs: i64,
    /// Microseconds per unit of the write timestamps (`timestamp_resolution`).
    pub timestamp_micros_per_unit: i64,
    /// Size-tiered thresholds used inside the current window and for old windows' fan-in.
    pub min_threshold: usize,
    pub max_threshold: usize,
}

impl Default for TimeWindowOptions {
    fn default() -> Self {
        TimeWindowOptions {
            window_secs: 86_400,
            timestamp_micros_per_unit: 1,
            min_threshold: 4,
            max_threshold: 32,
        }
    }
}

/// Single-SSTable tombstone compaction, common to every strategy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TombstoneCompaction {
    /// Compact an SSTable alone once its estimated droppable tombstone ratio passes this.
    pub threshold: f64,
    /// ...and it is at least this old (seconds since it was written).
    pub interval_secs: i64,
    /// Skip the cheap pre-check that other SSTables would block the purge anyway.
    pub unchecked: bool,
}

impl Default for TombstoneCompaction {
    fn default() -> Self {
        TombstoneCompaction {
            threshold: 0.2,
            interval_secs: 86_400,
            unchecked: false,
        }
    }
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            strategy: Strategy::SizeTiered(SizeTieredOptions::default()),
            tombstones: TombstoneCompaction::default(),
            enabled: true,
        }
    }
}

impl CompactionConfig {
    /// Parses CQL's `compaction` map. `class` is required (short or fully qualified name);
    /// every other key must be an option of that class or a common one.
    pub fn parse(map: &BTreeMap<String, String>) -> Result<CompactionConfig> {
        let class = map
            .get("class")
            .ok_or_else(|| invalid("compaction options need a 'class'".into()))?;
        let short = class.strip_prefix(CASSANDRA_PACKAGE).unwrap_or(class);
        let mut config = CompactionConfig::default();
        let mut stcs = SizeTieredOptions::default();
        let mut twcs = TimeWindowOptions::default();
        let mut window_unit_secs = 86_400i64;
        let mut window_size = 1i64;
        let is_twcs = match short {
            "SizeTieredCompactionStrategy" => false,
            "TimeWindowCompactionStrategy" => true,
            other => {
                return Err(invalid(format!(
                    "unknown compaction class '{other}' (supported: SizeTieredCompactionStrategy, \
                     TimeWindowCompactionStrategy)"
                )))
            }
        };
        for (key, value) in map {
            let k = key.as_str();
            match (k, is_twcs) {
                ("class", _) => {}
                ("enabled", _) => config.enabled = parse_bool(k, value)?,
                ("tombstone_threshold", _) => {
                    config.tombstones.threshold = parse_f64(k, value, 0.0, 1.0)?
                }
                ("tombstone_compaction_interval", _) => {
                    config.tombstones.interval_secs = parse_int(k, value, 0, i64::MAX)?
                }
                ("unchecked_tombstone_compaction", _) => {
                    config.tombstones.unchecked = parse_bool(k, value)?
                }
                ("min_threshold", false) => stcs.min_threshold = parse_count(k, value)?,
                ("max_threshold", false) => stcs.max_threshold = parse_count(k, value)?,
                ("min_threshold", true) => twcs.min_threshold = parse_count(k, value)?,
                ("max_threshold", true) => twcs.max_threshold = parse_count(k, value)?,
                ("bucket_low", false) => stcs.bucket_low = parse_f64(k, value, 0.0, 1.0)?,
                ("bucket_high", false) => stcs.bucket_high = parse_f64(k, value, 1.0, 1e6)?,
                ("min_sstable_size", false) => {
                    stcs.min_sstable_size_bytes = parse_int(k, value, 0, i64::MAX)? as u64
                }
                ("compaction_window_unit", true) => window_unit_secs = parse_unit(value)?,
                ("compaction_window_size", true) => window_size = parse_int(k, value, 1, 1 << 31)?,
                ("timestamp_resolution", true) => {
                    twcs.timestamp_micros_per_unit = parse_resolution(value)?
                }
                _ => {
                    return Err(invalid(format!(
                        "unknown option '{key}' for compaction class {short}"
                    )))
                }
            }
        }
        let (min, max) = if is_twcs {
            (twcs.min_threshold, twcs.max_threshold)
        } else {
            (stcs.min_threshold, stcs.max_threshold)
        };
        if min < 2 || max < min {
            return Err(invalid(format!(
                "compaction thresholds need 2 <= min_threshold <= max_threshold (got {min} and {max})"
            )));
        }
        config.strategy = if is_twcs {
            twcs.window_secs = window_unit_secs.saturating_mul(window_size);
            Strategy::TimeWindow(twcs)
        } else {
            Strategy::SizeTiered(stcs)
        };
        Ok(config)
    }
}

fn invalid(msg: String) -> Error {
    Error::InvalidRequest(msg)
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!(
            "compaction option '{key}' must be true or false, not '{value}'"
        ))),
    }
}

fn parse_f64(key: &str, value: &str, min: f64, max: f64) -> Result<f64> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
        _ => Err(invalid(format!(
            "compaction option '{key}' must be a number in [{min}, {max}], not '{value}'"
        ))),
    }
}

fn parse_int(key: &str, value: &str, min: i64, max: i64) -> Result<i64> {
    match value.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(invalid(format!(
            "compaction option '{key}' must be an integer in [{min}, {max}], not '{value}'"
        ))),
    }
}

fn parse_count(key: &str, value: &str) -> Result<usize> {
    parse_int(key, value, 1, 1 << 16).map(|v| v as usize)
}

fn parse_unit(value: &str) -> Result<i64> {
    match value.to_ascii_uppercase().as_str() {
        "MINUTES" => Ok(60),
        "HOURS" => Ok(3_600),
        "DAYS" => Ok(86_400),
        _ => Err(invalid(format!(
            "compaction_window_unit must be MINUTES, HOURS or DAYS, not '{value}'"
        ))),
    }
}

fn parse_resolution(value: &str) -> Result<i64> {
    match value.to_ascii_uppercase().as_str() {
        "MICROSECONDS" => Ok(1),
        "MILLISECONDS" => Ok(1_000),
        "SECONDS" => Ok(1_000_000),
        _ => Err(invalid(format!(
            "timestamp_resolution must be MICROSECONDS, MILLISECONDS or SECONDS, not '{value}'"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_short_or_qualified_names() {
        let short = CompactionConfig::parse(&map(&[("class", "SizeTieredCompactionStrategy")]));
        assert_eq!(short.unwrap(), CompactionConfig::default());
        let long = CompactionConfig::parse(&map(&[(
            "class",
            "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
        )]));
        assert_eq!(long.unwrap(), CompactionConfig::default());
    }

    #[test]
    fn time_window_options() {
        let c = CompactionConfig::parse(&map(&[
            ("class", "TimeWindowCompactionStrategy"),
            ("compaction_window_unit", "HOURS"),
            ("compaction_window_size", "6"),
            ("tombstone_threshold", "0.5"),
            ("unchecked_tombstone_compaction", "true"),
        ]))
        .unwrap();
        let Strategy::TimeWindow(t) = c.strategy else {
            panic!("{c:?}")
        };
        assert_eq!(t.window_secs, 6 * 3600);
        assert_eq!(c.tombstones.threshold, 0.5);
        assert!(c.tombstones.unchecked);
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "'class'"),
            (
                &[("class", "LeveledCompactionStrategy")],
                "LeveledCompactionStrategy",
            ),
            (
                &[
                    ("class", "SizeTieredCompactionStrategy"),
                    ("bucket_lo", "0.3"),
                ],
                "bucket_lo",
            ),
            (
                &[
                    ("class", "SizeTieredCompactionStrategy"),
                    ("compaction_window_unit", "DAYS"),
                ],
                "compaction_window_unit",
            ),
            (
                &[
                    ("class", "TimeWindowCompactionStrategy"),
                    ("compaction_window_unit", "WEEKS"),
                ],
                "WEEKS",
            ),
            (
                &[
                    ("class", "SizeTieredCompactionStrategy"),
                    ("min_threshold", "1"),
                ],
                "min_threshold",
            ),
            (
                &[
                    ("class", "SizeTieredCompactionStrategy"),
                    ("tombstone_threshold", "x"),
                ],
                "tombstone_threshold",
            ),
        ];
        for (pairs, needle) in cases {
            let err = CompactionConfig::parse(&map(pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{pairs:?}: {err}");
        }
    }
}
