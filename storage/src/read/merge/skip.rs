//! The nearly empty channel's fast path: a run of keys where a row tombstone and the data
//! it deletes stand side by side in two sources, stepped over without reporting each key.
//!
//! In a channel of a million deleted messages every key looks the same: one SSTable holds
//! the message, another (or the memtable) its row tombstone, and no other source is near.
//! [`MergedRows::next_merged`] handles that key like any other (finds the sources on it
//! among all of them, reconciles, builds a [`Merged`](super::Merged) for the reader to
//! count); this loop checks only what can differ from one such key to the next.

use std::cmp::Ordering;

use crate::error::Result;
use crate::model::deletion::shadowed;
use crate::model::{DeletionTime, Timestamp};

use super::MergedRows;

impl MergedRows<'_> {
    /// Steps over the keys a nearly empty channel is made of, without reporting them one
    /// by one: while the same two sources stand on each next key, ahead of every other
    /// source, and the stronger of their row tombstones (or the partition deletion)
    /// shadows both versions, the key is deleted. Returns how many keys were stepped over
    /// and how many of them keep a row tombstone (what [`Merged::Deleted`]'s `deletion`
    /// would have been), stopping once `max_tombstones` were counted or at the first key
    /// that needs [`MergedRows::next_merged`], which then reports it. Range tombstones and
    /// any other shape of the merge stop it at once.
    pub fn skip_shadowed_pairs(&mut self, max_tombstones: u64) -> Result<(u64, u64)> {
        let (mut keys, mut tombstones) = (0u64, 0u64);
        let (&[a, b], true, false) = (
            &self.at_key[..],
            self.primed && self.deletions.ranges.is_empty(),
            self.advanced,
        ) else {
            return Ok((0, 0));
        };
        // The other sources do not move while this runs: their first head is found once
        // (the merge tracks it only from four sources on, see `FEW_SOURCES`).
        let rest = if self.rest_known {
            self.rest_best
        } else {
            let mut rest = None;
            for (i, head) in self.heads.iter().enumerate() {
                if let (Some(head), false) = (head, i == a || i == b) {
                    rest = self.first_of(rest, (i, *head));
                }
            }
            rest
        };
        let partition = self.deletions.partition;
        while tombstones < max_tombstones {
            self.advance(a)?;
            self.advance(b)?;
            self.advanced = true;
            let (Some(Some(ha)), Some(Some(hb))) = (self.heads.get(a), self.heads.get(b)) else {
                break;
            };
            let (ha, hb) = (*ha, *hb);
            if self.order(a, &ha, b, &hb) != Ordering::Equal {
                break;
            }
            if let Some((r, rh)) = rest {
                if self.order(a, &ha, r, &rh) != Ordering::Less {
                    break;
                }
            }
            let (Some(sa), Some(sb)) = (self.sources.get(a), self.sources.get(b)) else {
                break;
            };
            let (ia, ib) = (sa.info(), sb.info());
            let row_deletion = DeletionTime::max(ia.deletion, ib.deletion);
            let strongest = DeletionTime::max(partition, row_deletion);
            let dead = |ts: Timestamp| ts == Timestamp::MIN || shadowed(strongest, ts);
            if !(dead(ia.max_data_ts) && dead(ib.max_data_ts)) {
                break;
            }
            // As in `next_merged`: a row tombstone the partition deletion supersedes is gone.
            let kept = row_deletion.filter(|rd| partition.is_none_or(|cd| rd.supersedes(&cd)));
            keys += 1;
            tombstones += u64::from(kept.is_some());
            self.advanced = false;
        }
        Ok((keys, tombstones))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic
mod tests {
    use bytes::Bytes;

    use crate::model::{Bound, Cell, DeletionTime, Direction, RangeTombstone, Row};
    use crate::read::merge::Merged;

    /// What a reader sees of a merge: the rows that are not deleted keys, in order, and
    /// the number of deleted keys and of tombstones among them.
    type Outcome = (Vec<Row>, u64, u64);

    fn run(
        sources: &[Vec<Row>],
        partition: Option<DeletionTime>,
        ranges: &[RangeTombstone],
        direction: Direction,
        mut budget: impl FnMut() -> Option<u64>,
    ) -> Outcome {
        let mut merged =
            super::super::tests::merged_in_memory(sources, partition, ranges, direction);
        let (mut rows, mut deleted, mut tombstones) = (Vec::new(), 0, 0);
        loop {
            if let Some(max) = budget() {
                let (keys, t) = merged.skip_shadowed_pairs(max).unwrap();
                assert!(t <= max && t <= keys);
                deleted += keys;
                tombstones += t;
            }
            match merged.next_merged().unwrap() {
                None => break,
                Some(Merged::Deleted { deletion, .. }) => {
                    deleted += 1;
                    tombstones += u64::from(deletion.is_some());
                }
                Some(Merged::Row(row)) => rows.push(row),
            }
        }
        (rows, deleted, tombstones)
    }

    /// Random channels of deleted and live messages over up to six sources (the fast path
    /// needs two on a key and tracks the rest from four on): stepping over keys in bulk, with
    /// any budget, reports what reporting every key reports.
    #[test]
    fn skipping_pairs_matches_key_by_key() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut engaged = 0;
        for case in 0..1500 {
            let keys = 1 + next(60);
            let source_count = 2 + next(5) as usize;
            let mut sources: Vec<Vec<Row>> = vec![Vec::new(); source_count];
            for k in 0..keys {
                let clustering = if next(4) == 0 {
                    Bytes::from(format!("long-key-{k:04}"))
                } else {
                    Bytes::copy_from_slice(&k.to_be_bytes()[8 - 1 - (next(2) as usize)..])
                };
                let data = next(source_count as u64) as usize;
                let mut row = Row::new(clustering.clone());
                let ts = 10 + next(20) as i64;
                row.marker = (next(2) == 0).then(|| Cell::live(ts, Bytes::new()));
                if next(3) != 0 || row.marker.is_none() {
                    row.set(0, Cell::live(ts, vec![k as u8]));
                }
                sources[data].push(row);
                if next(4) == 0 {
                    // Another version of the message, older or newer than its tombstone.
                    let mut other = Row::new(clustering.clone());
                    other.set(1, Cell::live(next(50) as i64, vec![1]));
                    sources[next(source_count as u64) as usize].push(other);
                }
                if next(5) != 0 {
                    let mut t = Row::new(clustering);
                    t.deletion = Some(DeletionTime::new(5 + next(40) as i64, 7));
                    sources[next(source_count as u64) as usize].push(t);
                }
            }
            for rows in &mut sources {
                rows.sort_by(|a, b| a.clustering.cmp(&b.clustering));
                rows.dedup_by(|b, a| {
                    let same = a.clustering == b.clustering;
                    if same {
                        a.merge(b.clone());
                    }
                    same
                });
            }
            let partition = (next(5) == 0).then(|| DeletionTime::new(next(30) as i64, 1));
            let ranges: Vec<RangeTombstone> = (0..u64::from(next(6) == 0))
                .map(|_| {
                    RangeTombstone::new(
                        Bound::Included(Bytes::from_static(b"\x01")),
                        Bound::Excluded(Bytes::from_static(b"\x09")),
                        DeletionTime::new(next(40) as i64, 2),
                    )
                })
                .collect();
            for direction in [Direction::Forward, Direction::Reverse] {
                let want = run(&sources, partition, &ranges, direction, || None);
                let mut budgets = [0u64; 8].map(|_| next(6));
                let mut at = 0;
                let got = run(&sources, partition, &ranges, direction, || {
                    at += 1;
                    budgets[at % 8] = budgets[at % 8].max(1);
                    Some(if at % 3 == 0 {
                        u64::MAX
                    } else {
                        budgets[at % 8]
                    })
                });
                assert_eq!(got, want, "case {case} {direction:?}");
                engaged += usize::from(want.1 > 0);
            }
        }
        assert!(engaged > 1000, "deleted keys in only {engaged} merges");
    }

    /// The shape the fast path is for: it must step over it in one call, and stop at the
    /// one live message.
    #[test]
    fn a_nearly_empty_channel_is_stepped_over_in_one_call() {
        let key = |k: u64| Bytes::copy_from_slice(&k.to_be_bytes());
        let data: Vec<Row> = (0..1000)
            .map(|k| {
                let mut r = Row::new(key(k));
                r.set(0, Cell::live(k as i64, &b"m"[..]));
                r
            })
            .collect();
        let deletes: Vec<Row> = (0..999)
            .map(|k| {
                let mut r = Row::new(key(k));
                r.deletion = Some(DeletionTime::new(2000, 7));
                r
            })
            .collect();
        let mut calls = 0;
        let (rows, deleted, tombstones) = run(
            &[data.clone(), deletes],
            None,
            &[],
            Direction::Forward,
            || {
                calls += 1;
                Some(u64::MAX)
            },
        );
        assert_eq!(
            (rows, deleted, tombstones),
            (vec![data[999].clone()], 999, 999)
        );
        // One call before the first key, one that skips the other 998, one after the row.
        assert_eq!(calls, 3);
    }
}
