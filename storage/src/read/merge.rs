//! Merging one partition's versions from several sources (the memtable and SSTables).
//!
//! Every source yields rows of the partition in the read's direction. The merge walks them
//! together, reconciles the versions of each clustering key, and applies the partition
//! deletion, the range tombstones and the row tombstone, so that what comes out holds no
//! shadowed data. Row tombstones and cell tombstones are kept (a read skips them, a compaction
//! decides whether to purge them). Both reads and compaction are built on this iterator.
//!
//! The merge looks at each version's head first (key, row deletion, greatest data
//! timestamp). A version whose data the strongest deletion at its key shadows entirely
//! (Cassandra's rule: a deletion at T shadows data at T) is stepped over undecoded, so a
//! partition of a million deleted rows costs a key comparison per version, not a million
//! row decodes; [`MergedRows::next_merged`] reports such a key without allocating.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::error::Result;
use crate::model::deletion::shadowed;
use crate::model::{DeletionTime, Direction, RangeTombstone, Row, Timestamp};
use crate::read::key_order::{cmp_keys, key_prefix};
use crate::read::source::SourceRows;

mod skip;

/// One source's view of a partition.
pub struct PartitionSource<'a> {
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub rows: SourceRows<'a>,
}

/// The partition-level deletions of all sources together.
#[derive(Clone, Debug, Default)]
pub struct Deletions {
    pub partition: Option<DeletionTime>,
    pub ranges: Vec<RangeTombstone>,
}

impl Deletions {
    /// The strongest partition or range deletion that covers `key`.
    pub fn covering(&self, key: &[u8]) -> Option<DeletionTime> {
        self.ranges
            .iter()
            .filter(|rt| rt.slice.contains(key))
            .fold(self.partition, |acc, rt| {
                DeletionTime::max(acc, Some(rt.deletion))
            })
    }
}

/// What the merge found at one clustering key.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged<'m> {
    /// Nothing at `clustering` but its row tombstone (`None` when a partition or range
    /// deletion supersedes it): every version's data is shadowed, and none was decoded.
    Deleted {
        clustering: &'m [u8],
        deletion: Option<DeletionTime>,
    },
    /// The reconciled row, with shadowed data removed (it may still hold tombstones).
    Row(Row),
}

impl Merged<'_> {
    /// The outcome as a row (a deleted key becomes a row with only its tombstone).
    pub fn into_row(self) -> Row {
        match self {
            Merged::Deleted {
                clustering,
                deletion,
            } => Row {
                clustering: Bytes::copy_from_slice(clustering),
                deletion,
                ..Row::default()
            },
            Merged::Row(row) => row,
        }
    }
}

/// Reconciled rows of one partition, in the sources' direction, with shadowed data removed.
pub struct MergedRows<'a> {
    direction: Direction,
    sources: Vec<SourceRows<'a>>,
    deletions: Deletions,
    rows_scanned: u64,
    primed: bool,
    /// The sources in `at_key` have already moved past the last key returned (a
    /// [`MergedRows::skip_shadowed_pairs`] stopped on a key it could not step over).
    advanced: bool,
    /// The sources standing on the last key returned: they move on at the next call, so
    /// that [`Merged::Deleted`] can borrow the key from one of them.
    at_key: Vec<usize>,
    /// What the merge compares of each source's current row, kept beside the sources so
    /// that finding the next key does not go through every source (there are as many as
    /// SSTables), `None` when the source is exhausted.
    heads: Vec<Option<Head>>,
    /// The first head, in the merge's direction, among the sources not in `at_key`, when
    /// known (`rest_known`). Only the sources in `at_key` move between two keys, so the next
    /// key is found by comparing their new heads with this one alone, unless one of the
    /// others stands on it too: then all heads are compared again.
    rest_best: Option<(usize, Head)>,
    rest_known: bool,
    /// Scratch for the next `at_key`.
    next_at_key: Vec<usize>,
}

/// Up to this many sources, the merge compares every head at every key (see
/// `MergedRows::rest_best`); a memtable and one or two SSTables are the common case.
const FEW_SOURCES: usize = 3;

/// A source's current row, as the merge compares it. (Its deletion and timestamp are read
/// from the source when needed: copied here right after the source wrote them, they cost a
/// store-forwarding stall per row.)
#[derive(Clone, Copy)]
struct Head {
    /// The key's first eight bytes, big-endian, zero-padded: comparing two prefixes gives
    /// the keys' order unless the prefixes are equal.
    prefix: u64,
    len: usize,
}

impl<'a> MergedRows<'a> {
    /// Merges `sources`; `keep_range` drops range tombstones that cannot matter to the caller.
    pub fn new(
        sources: Vec<PartitionSource<'a>>,
        direction: Direction,
        keep_range: impl Fn(&RangeTombstone) -> bool,
    ) -> Self {
        let mut deletions = Deletions::default();
        let mut rows = Vec::with_capacity(sources.len());
        for s in sources {
            deletions.partition = DeletionTime::max(deletions.partition, s.deletion);
            deletions
                .ranges
                .extend(s.range_tombstones.into_iter().filter(&keep_range));
            rows.push(s.rows);
        }
        // A range tombstone no stronger than the partition deletion adds nothing.
        if let Some(p) = deletions.partition {
            deletions.ranges.retain(|rt| rt.deletion.supersedes(&p));
        }
        deletions.ranges.dedup();
        MergedRows {
            direction,
            at_key: Vec::with_capacity(rows.len()),
            next_at_key: Vec::with_capacity(rows.len()),
            heads: vec![None; rows.len()],
            rest_best: None,
            rest_known: false,
            sources: rows,
            deletions,
            rows_scanned: 0,
            primed: false,
            advanced: false,
        }
    }

    pub fn deletions(&self) -> &Deletions {
        &self.deletions
    }

    /// Row versions taken from the sources so far.
    pub fn rows_scanned(&self) -> u64 {
        self.rows_scanned
    }

    #[inline(always)]
    fn advance(&mut self, i: usize) -> Result<()> {
        let (Some(s), Some(head)) = (self.sources.get_mut(i), self.heads.get_mut(i)) else {
            return Ok(());
        };
        *head = None;
        if s.advance()? {
            self.rows_scanned += 1;
            if let Some(key) = s.key() {
                *head = Some(Head {
                    prefix: key_prefix(key),
                    len: key.len(),
                });
            }
        }
        Ok(())
    }

    /// The order of the current keys of sources `i` and `j` (heads `a` and `b`), in the
    /// merge's direction.
    #[inline(always)]
    fn order(&self, i: usize, a: &Head, j: usize, b: &Head) -> Ordering {
        let forward = if a.prefix != b.prefix {
            a.prefix.cmp(&b.prefix)
        } else if a.len <= 8 && b.len <= 8 {
            // The prefixes hold the whole keys but for the padding.
            a.len.cmp(&b.len)
        } else {
            let key = |n: usize| self.sources.get(n).and_then(SourceRows::key);
            cmp_keys(key(i).unwrap_or_default(), key(j).unwrap_or_default())
        };
        match self.direction {
            Direction::Forward => forward,
            Direction::Reverse => forward.reverse(),
        }
    }

    /// Of two heads (source and head), the one first in the merge's direction (`cur` on a
    /// tie).
    #[inline(always)]
    fn first_of(&self, cur: Option<(usize, Head)>, new: (usize, Head)) -> Option<(usize, Head)> {
        match cur {
            Some((c, ch)) if self.order(new.0, &new.1, c, &ch) != Ordering::Less => cur,
            _ => Some(new),
        }
    }

    /// Finds the next key: fills `at_key` with the sources standing on it and returns one
    /// of them, or `None` when every source is exhausted.
    #[inline(always)]
    fn find_next_key(&mut self) -> Option<usize> {
        if self.rest_known && !self.at_key.is_empty() {
            // Only the sources of the previous key moved: compare their heads among
            // themselves, then with the best of the rest.
            let mut next = std::mem::take(&mut self.next_at_key);
            next.clear();
            let mut first: Option<(usize, Head)> = None;
            for &i in &self.at_key {
                let Some(Some(head)) = self.heads.get(i) else {
                    continue;
                };
                let order = match &first {
                    None => Ordering::Less,
                    Some((f, best)) => self.order(i, head, *f, best),
                };
                if order == Ordering::Less {
                    next.clear();
                    first = Some((i, *head));
                }
                if order != Ordering::Greater {
                    next.push(i);
                }
            }
            let before_rest = match (&first, &self.rest_best) {
                (Some((f, fh)), Some((r, rh))) => self.order(*f, fh, *r, rh) == Ordering::Less,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if before_rest {
                // The sources left behind join the rest.
                let mut rest = self.rest_best;
                for &i in &self.at_key {
                    if let Some(Some(head)) = self.heads.get(i) {
                        if !next.contains(&i) {
                            rest = self.first_of(rest, (i, *head));
                        }
                    }
                }
                self.rest_best = rest;
                self.next_at_key = std::mem::replace(&mut self.at_key, next);
                return first.map(|(f, _)| f);
            }
            self.next_at_key = next;
        }
        // One pass over every head finds the first key, the sources standing on it, and the
        // best of the others.
        self.at_key.clear();
        let mut first: Option<(usize, Head)> = None;
        let mut rest: Option<(usize, Head)> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some(head) = head else { continue };
            let order = match &first {
                None => Ordering::Less,
                Some((f, best)) => self.order(i, head, *f, best),
            };
            match order {
                Ordering::Less => {
                    if let Some(old) = first {
                        rest = self.first_of(rest, old);
                    }
                    self.at_key.clear();
                    self.at_key.push(i);
                    first = Some((i, *head));
                }
                Ordering::Equal => self.at_key.push(i),
                Ordering::Greater => rest = self.first_of(rest, (i, *head)),
            }
        }
        self.rest_best = rest;
        self.rest_known = self.heads.len() > FEW_SOURCES;
        first.map(|(f, _)| f)
    }

    /// The next clustering key's outcome, in the merge's direction; `None` at the end.
    // Inlined into its callers: returned through memory, the outcome cost a
    // store-forwarding stall per key.
    #[inline(always)]
    pub fn next_merged(&mut self) -> Result<Option<Merged<'_>>> {
        if !self.primed {
            for i in 0..self.sources.len() {
                self.advance(i)?;
            }
            self.primed = true;
        }
        // The sources of the previous key move on now that its outcome is no longer used.
        if !self.advanced {
            for n in 0..self.at_key.len() {
                if let Some(&i) = self.at_key.get(n) {
                    self.advance(i)?;
                }
            }
        }
        self.advanced = false;
        let Some(first) = self.find_next_key() else {
            return Ok(None);
        };
        let mut row_deletion = None;
        for s in self.at_key.iter().filter_map(|&i| self.sources.get(i)) {
            row_deletion = DeletionTime::max(row_deletion, s.info().deletion);
        }
        let key = self
            .sources
            .get(first)
            .and_then(SourceRows::key)
            .unwrap_or_default();
        let covering = self.deletions.covering(key);
        let strongest = DeletionTime::max(covering, row_deletion);
        let mut row: Option<Row> = None;
        for source in self.at_key.iter().filter_map(|&i| self.sources.get(i)) {
            let max_data_ts = source.info().max_data_ts;
            // Decode only a version with data the strongest deletion does not shadow:
            // reconciling the others could only add cells `apply_deletion` drops again.
            if max_data_ts != Timestamp::MIN && !shadowed(strongest, max_data_ts) {
                let version = source.decode()?;
                match &mut row {
                    Some(r) => r.merge(version),
                    None => row = Some(version),
                }
            }
        }
        // A row tombstone that a partition or range deletion already supersedes is redundant.
        let kept = row_deletion.filter(|rd| covering.is_none_or(|cd| rd.supersedes(&cd)));
        Ok(Some(match row {
            None => Merged::Deleted {
                clustering: key,
                deletion: kept,
            },
            Some(mut row) => {
                // The strongest row tombstone may come from a version left undecoded.
                row.deletion = row_deletion;
                row.apply_deletion(covering);
                row.deletion = kept;
                Merged::Row(row)
            }
        }))
    }
}

impl Iterator for MergedRows<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.next_merged()
            .map(|m| m.map(Merged::into_row))
            .transpose()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic
mod tests {
    use super::*;
    use crate::model::{Bound, Cell};

    fn key(bytes: &[u8]) -> Bytes {
        Bytes::copy_from_slice(bytes)
    }

    /// A merge of in-memory sources (rows sorted by key); the first source also carries
    /// the partition deletion and the range tombstones.
    pub(super) fn merged_in_memory<'a>(
        sources: &'a [Vec<Row>],
        partition: Option<DeletionTime>,
        ranges: &[RangeTombstone],
        direction: Direction,
    ) -> MergedRows<'a> {
        let parts = sources
            .iter()
            .enumerate()
            .map(|(i, rows)| PartitionSource {
                deletion: partition.filter(|_| i == 0),
                range_tombstones: if i == 0 { ranges.to_vec() } else { Vec::new() },
                rows: SourceRows::memtable(match direction {
                    Direction::Forward => Box::new(rows.iter()),
                    Direction::Reverse => Box::new(rows.iter().rev()),
                }),
            })
            .collect();
        MergedRows::new(parts, direction, |_| true)
    }

    /// Merges in-memory sources (rows sorted by key) the way a read does.
    fn merge(
        sources: &[Vec<Row>],
        partition: Option<DeletionTime>,
        ranges: &[RangeTombstone],
        direction: Direction,
    ) -> (Vec<Row>, usize) {
        let mut merged = merged_in_memory(sources, partition, ranges, direction);
        let (mut out, mut undecoded) = (Vec::new(), 0);
        while let Some(m) = merged.next_merged().unwrap() {
            undecoded += usize::from(matches!(m, Merged::Deleted { .. }));
            out.push(m.into_row());
        }
        (out, undecoded)
    }

    /// The merge without skipping: every version reconciled, then the deletions applied
    /// (what `MergedRows` did before it looked at row heads).
    fn reference(
        sources: &[Vec<Row>],
        partition: Option<DeletionTime>,
        ranges: &[RangeTombstone],
        direction: Direction,
    ) -> Vec<Row> {
        let mut by_key: std::collections::BTreeMap<Bytes, Row> = Default::default();
        for row in sources.iter().flatten() {
            match by_key.get_mut(&row.clustering) {
                Some(r) => r.merge(row.clone()),
                None => {
                    by_key.insert(row.clustering.clone(), row.clone());
                }
            }
        }
        let deletions = Deletions {
            partition,
            ranges: ranges.to_vec(),
        };
        let mut out: Vec<Row> = by_key
            .into_values()
            .map(|mut row| {
                let covering = deletions.covering(&row.clustering);
                row.apply_deletion(covering);
                if let (Some(rd), Some(cd)) = (row.deletion, covering) {
                    if !rd.supersedes(&cd) {
                        row.deletion = None;
                    }
                }
                row
            })
            .collect();
        if direction == Direction::Reverse {
            out.reverse();
        }
        out
    }

    #[test]
    fn a_shadowed_version_with_a_newer_cell_is_decoded() {
        let mut old = Row::new(key(b"k"));
        old.marker = Some(Cell::live(5, Bytes::new()));
        old.set(0, Cell::live(5, &b"old"[..]));
        old.set(1, Cell::live(20, &b"newer than the delete"[..]));
        let mut delete = Row::new(key(b"k"));
        delete.deletion = Some(DeletionTime::new(10, 100));
        let (rows, undecoded) = merge(&[vec![delete], vec![old]], None, &[], Direction::Forward);
        assert_eq!(undecoded, 0);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].deletion, Some(DeletionTime::new(10, 100)));
        assert_eq!(rows[0].marker, None);
        assert_eq!(rows[0].cells.len(), 1);
        assert_eq!(rows[0].cells[0].0, 1);
    }

    #[test]
    fn a_deletion_shadows_data_at_its_own_timestamp() {
        let mut old = Row::new(key(b"k"));
        old.marker = Some(Cell::live(10, Bytes::new()));
        old.set(0, Cell::live(10, &b"tie"[..]));
        let mut delete = Row::new(key(b"k"));
        delete.deletion = Some(DeletionTime::new(10, 100));
        for direction in [Direction::Forward, Direction::Reverse] {
            let (rows, undecoded) = merge(
                &[vec![old.clone()], vec![delete.clone()]],
                None,
                &[],
                direction,
            );
            assert_eq!(undecoded, 1);
            assert_eq!(rows, vec![delete.clone()]);
        }
    }

    #[test]
    fn a_covered_row_tombstone_is_dropped_but_the_key_is_reported() {
        let mut old = Row::new(key(b"k"));
        old.set(0, Cell::live(5, &b"x"[..]));
        let mut delete = Row::new(key(b"k"));
        delete.deletion = Some(DeletionTime::new(10, 100));
        let range = RangeTombstone::new(
            Bound::Included(key(b"a")),
            Bound::Included(key(b"z")),
            DeletionTime::new(30, 100),
        );
        let (rows, undecoded) = merge(
            &[vec![old], vec![delete]],
            None,
            &[range],
            Direction::Forward,
        );
        assert_eq!(undecoded, 1);
        assert_eq!(rows, vec![Row::new(key(b"k"))]);
    }

    /// Random sources, deletions of every kind and ties: skipping undecoded versions never
    /// changes the merge's output.
    #[test]
    fn skipping_matches_full_reconciliation() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // Short keys, keys sharing an eight-byte prefix, zero-padded look-alikes.
        let keys: Vec<Bytes> = [
            &b"a"[..],
            b"a\0",
            b"b",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgh\x01",
            b"abcdefgi",
        ]
        .iter()
        .map(|k| key(k))
        .collect();
        for case in 0..2000 {
            let sources: Vec<Vec<Row>> = (0..1 + next(4))
                .map(|_| {
                    let mut rows = Vec::new();
                    for k in &keys {
                        if next(3) == 0 {
                            continue;
                        }
                        rows.push({
                            let mut row = Row::new(k.clone());
                            if next(3) == 0 {
                                row.marker = Some(Cell::live(next(8) as i64, Bytes::new()));
                            }
                            if next(3) == 0 {
                                row.deletion =
                                    Some(DeletionTime::new(next(8) as i64, next(3) as i64));
                            }
                            for c in 0..next(3) as u32 {
                                let ts = next(8) as i64;
                                let cell = match next(3) {
                                    0 => Cell::live(ts, vec![next(4) as u8]),
                                    1 => Cell::expiring(ts, vec![1], 10, next(3) as i64),
                                    _ => Cell::tombstone(ts, next(3) as i64),
                                };
                                row.set(c, cell);
                            }
                            row
                        });
                    }
                    rows.sort_by(|a, b| a.clustering.cmp(&b.clustering));
                    rows
                })
                .collect();
            let partition = (next(4) == 0).then(|| DeletionTime::new(next(8) as i64, 0));
            let ranges: Vec<RangeTombstone> = (0..next(3))
                .map(|_| {
                    let a = keys[next(keys.len() as u64) as usize].clone();
                    let b = keys[next(keys.len() as u64) as usize].clone();
                    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                    RangeTombstone::new(
                        Bound::Included(lo),
                        Bound::Included(hi),
                        DeletionTime::new(next(8) as i64, next(3) as i64),
                    )
                })
                .collect();
            for direction in [Direction::Forward, Direction::Reverse] {
                let (got, _) = merge(&sources, partition, &ranges, direction);
                let want = reference(&sources, partition, &ranges, direction);
                assert_eq!(got, want, "case {case} {direction:?}");
            }
        }
    }
}
