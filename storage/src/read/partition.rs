//! A read of one partition: merge the sources, skip what is dead, count tombstones, keep the
//! requested columns, stop at the limit.

use crate::error::{Error, Result};
use crate::model::{ReadQuery, ReadResult, ReadStats};
use crate::read::merge::{Merged, MergedRows, PartitionSource};

/// Limits on how many tombstones one read may step over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TombstoneThresholds {
    /// Past this many, the read logs the partition (a warning, the read goes on).
    pub warn: u64,
    /// Past this many, the read fails with `Error::TombstoneOverwhelm`; `None` never fails.
    pub fail: Option<u64>,
}

impl Default for TombstoneThresholds {
    fn default() -> Self {
        TombstoneThresholds {
            warn: 1_000,
            fail: Some(100_000),
        }
    }
}

/// Reads one partition from `sources` (each already restricted to the query's slice and
/// direction). `stats` arrives with the source-level counters (blocks, sstables) filled in.
pub fn read_partition(
    sources: Vec<PartitionSource<'_>>,
    query: &ReadQuery,
    thresholds: TombstoneThresholds,
    mut stats: ReadStats,
) -> Result<ReadResult> {
    let slice = &query.slice;
    let mut merged = MergedRows::new(sources, query.direction, |rt| {
        !rt.slice.is_empty() && overlaps(&rt.slice, slice)
    });
    stats.tombstones_scanned +=
        merged.deletions().ranges.len() as u64 + u64::from(merged.deletions().partition.is_some());
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    if limit == 0 {
        return Ok(ReadResult { rows, stats });
    }
    let mut warned = false;
    loop {
        // Runs of deleted keys are stepped over in bulk, up to the next threshold, so that
        // the checks below see the same counts as key by key.
        let budget = thresholds
            .fail
            .map_or(u64::MAX, |f| f.saturating_add(1))
            .min(if warned {
                u64::MAX
            } else {
                thresholds.warn.saturating_add(1)
            })
            .saturating_sub(stats.tombstones_scanned);
        let (_, skipped_tombstones) = merged.skip_shadowed_pairs(budget)?;
        stats.tombstones_scanned += skipped_tombstones;
        if let Some(fail) = thresholds.fail {
            if stats.tombstones_scanned > fail {
                return Err(Error::TombstoneOverwhelm {
                    scanned: stats.tombstones_scanned,
                    threshold: fail,
                });
            }
        }
        let Some(merged_row) = merged.next_merged()? else {
            break;
        };
        let (tombstones, row) = match merged_row {
            // A deleted key is counted but never materialized.
            Merged::Deleted { deletion, .. } => (u64::from(deletion.is_some()), None),
            Merged::Row(row) => (row.tombstone_count(query.now), Some(row)),
        };
        stats.tombstones_scanned += tombstones;
        if let Some(fail) = thresholds.fail {
            if stats.tombstones_scanned > fail {
                return Err(Error::TombstoneOverwhelm {
                    scanned: stats.tombstones_scanned,
                    threshold: fail,
                });
            }
        }
        if !warned && stats.tombstones_scanned > thresholds.warn {
            warned = true;
            tracing::warn!(
                table = query.table,
                partition_key = ?query.partition_key,
                tombstones = stats.tombstones_scanned,
                "read stepped over more tombstones than the warning threshold"
            );
        }
        let Some(mut row) = row.filter(|r| r.is_live(query.now)) else {
            continue;
        };
        row.deletion = None;
        row.cells
            .retain(|(c, cell)| query.columns.includes(*c) && cell.is_live(query.now));
        if row.marker.as_ref().is_some_and(|m| !m.is_live(query.now)) {
            row.marker = None;
        }
        rows.push(row);
        if rows.len() >= limit {
            break;
        }
    }
    stats.rows_scanned += merged.rows_scanned();
    Ok(ReadResult { rows, stats })
}

/// Whether two slices can share a key (conservative: true when unsure).
fn overlaps(a: &crate::model::Slice, b: &crate::model::Slice) -> bool {
    use crate::model::Slice;
    // The intersection is [later start, earlier end]; empty only if provably so.
    match (
        narrower(&a.start, &b.start, true),
        narrower(&a.end, &b.end, false),
    ) {
        (Some(start), Some(end)) => !Slice::new(start, end).is_empty(),
        _ => true,
    }
}

/// Of two bounds, the one that admits less: the later start (`is_start`) or the earlier
/// end, compared by prefix bytes. `None` when that cannot be told from the prefixes.
fn narrower(
    x: &crate::model::Bound,
    y: &crate::model::Bound,
    is_start: bool,
) -> Option<crate::model::Bound> {
    use crate::model::Bound;
    match (x, y) {
        (Bound::Unbounded, other) | (other, Bound::Unbounded) => Some(other.clone()),
        (Bound::Included(px) | Bound::Excluded(px), Bound::Included(py) | Bound::Excluded(py)) => {
            let x_wins = if is_start { px >= py } else { px <= py };
            Some(if x_wins { x.clone() } else { y.clone() })
        }
    }
}
