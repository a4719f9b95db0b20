//! The rows of one memtable partition, in clustering order, shaped for rows that arrive in
//! order.
//!
//! Chat messages arrive in clustering order: at the end of a partition clustered ASC, at the
//! front of one clustered DESC (newest first). A `BTreeMap` pays a tree walk, node
//! allocations and node splits for each of them; here such a row is a `push_back` or
//! `push_front` on a `VecDeque`. Rows that land between the two ends (late or out-of-order
//! writes, updates of existing rows are merged in place) go to a `BTreeMap` beside it. A
//! clustering key is in one of the two, never both; readers merge them.

use std::cmp::Ordering;
use std::collections::{btree_map, vec_deque, BTreeMap, VecDeque};
use std::ops::Bound;

use bytes::Bytes;

use crate::model::Row;

/// Rows by clustering key: an in-order run plus the rows that arrived out of order.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    /// Sorted by clustering key, ascending.
    run: VecDeque<Row>,
    /// Rows whose key fell strictly between the run's first and last when they arrived.
    scattered: BTreeMap<Bytes, Row>,
    /// Copies of the run's first and last keys when they are short (a chat message id is
    /// 8 bytes). Every write compares its key with both ends; read through the run, that
    /// was two cache misses per write on a random partition (the run's buffer, then the
    /// key's bytes in the arena), about a fifth of the ingest writer's time.
    front_key: InlineKey,
    back_key: InlineKey,
}

/// A clustering key of up to [`InlineKey::CAPACITY`] bytes held in place; longer keys (and
/// an empty run) are `len == NONE`, and the comparison then reads the run.
#[derive(Debug, Clone, Copy)]
struct InlineKey {
    len: u8,
    bytes: [u8; InlineKey::CAPACITY],
}

impl Default for InlineKey {
    fn default() -> Self {
        InlineKey {
            len: InlineKey::NONE,
            bytes: [0; InlineKey::CAPACITY],
        }
    }
}

impl InlineKey {
    const CAPACITY: usize = 15;
    const NONE: u8 = u8::MAX;

    fn of(key: &[u8]) -> InlineKey {
        let mut k = InlineKey::default();
        if let Some(dst) = k.bytes.get_mut(..key.len()) {
            dst.copy_from_slice(key);
            k.len = key.len() as u8;
        }
        k
    }

    /// The key, or `None` when it was too long to hold.
    #[inline]
    fn get(&self) -> Option<&[u8]> {
        self.bytes.get(..usize::from(self.len))
    }
}

/// What [`Rows::upsert`] did with a row.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    /// A new clustering key.
    Inserted,
    /// Merged into the row already there.
    Merged,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.run.len() + self.scattered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run.is_empty() && self.scattered.is_empty()
    }

    /// Compares `key` with the run's first and last keys (the run is not empty).
    #[inline]
    fn cmp_ends(&self, key: &[u8]) -> (Ordering, Ordering) {
        let end = |inline: &InlineKey, row: Option<&Row>| match inline.get() {
            Some(k) => key.cmp(k),
            None => row.map_or(Ordering::Equal, |r| key.cmp(r.clustering.as_ref())),
        };
        (
            end(&self.front_key, self.run.front()),
            end(&self.back_key, self.run.back()),
        )
    }

    /// Inserts `row`, or merges it into the row with the same clustering key.
    pub fn upsert(&mut self, row: Row) -> Upserted {
        if self.run.is_empty() {
            self.front_key = InlineKey::of(&row.clustering);
            self.back_key = self.front_key;
            self.run.push_back(row);
            return Upserted::Inserted;
        }
        let key = &row.clustering;
        let (vs_first, vs_last) = self.cmp_ends(key);
        match (vs_first, vs_last) {
            (_, Ordering::Greater) => {
                self.back_key = InlineKey::of(key);
                self.run.push_back(row);
                return Upserted::Inserted;
            }
            (Ordering::Less, _) => {
                self.front_key = InlineKey::of(key);
                self.run.push_front(row);
                return Upserted::Inserted;
            }
            (_, Ordering::Equal) => {
                if let Some(last) = self.run.back_mut() {
                    last.merge(row);
                }
                return Upserted::Merged;
            }
            (Ordering::Equal, _) => {
                if let Some(first) = self.run.front_mut() {
                    first.merge(row);
                }
                return Upserted::Merged;
            }
            _ => {}
        }
        let found = self
            .run
            .binary_search_by(|r| r.clustering.as_ref().cmp(key.as_ref()));
        if let Ok(i) = found {
            if let Some(existing) = self.run.get_mut(i) {
                existing.merge(row);
            }
            return Upserted::Merged;
        }
        match self.scattered.get_mut(key) {
            Some(existing) => {
                existing.merge(row);
                Upserted::Merged
            }
            None => {
                self.scattered.insert(row.clustering.clone(), row);
                Upserted::Inserted
            }
        }
    }

    /// Every row, ascending.
    pub fn values(&self) -> MergedRows<'_> {
        self.range((Bound::Unbounded, Bound::Unbounded), false)
    }

    /// The rows with a clustering key in `range`, ascending, or descending if `reverse`.
    pub fn range(&self, range: (Bound<Bytes>, Bound<Bytes>), reverse: bool) -> MergedRows<'_> {
        let start = match &range.0 {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.run.partition_point(|r| r.clustering < *k),
            Bound::Excluded(k) => self.run.partition_point(|r| r.clustering <= *k),
        };
        let end = match &range.1 {
            Bound::Unbounded => self.run.len(),
            Bound::Included(k) => self.run.partition_point(|r| r.clustering <= *k),
            Bound::Excluded(k) => self.run.partition_point(|r| r.clustering < *k),
        };
        let run = self.run.range(start..end.max(start));
        // `BTreeMap::range` panics on a start after the end; such a range holds nothing.
        let scattered = if range_is_empty(&range) {
            None
        } else {
            Some(self.scattered.range(range))
        };
        MergedRows::new(run, scattered, reverse)
    }
}

/// Whether `range` provably holds no key (`BTreeMap::range` would panic on it).
fn range_is_empty(range: &(Bound<Bytes>, Bound<Bytes>)) -> bool {
    match range {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

/// Two disjoint sorted streams of rows merged into one, in the direction both are in.
/// The iterators are concrete (not boxed) and the merge takes from the run alone once the
/// scattered rows are used up: a reverse read of a channel's deleted rows calls `next`
/// once per row, and it stays inline in the read.
pub struct MergedRows<'a> {
    run: vec_deque::Iter<'a, Row>,
    scattered: Option<btree_map::Range<'a, Bytes, Row>>,
    /// The next row of each stream, taken from it already.
    run_next: Option<&'a Row>,
    scattered_next: Option<&'a Row>,
    reverse: bool,
}

impl<'a> MergedRows<'a> {
    fn new(
        mut run: vec_deque::Iter<'a, Row>,
        mut scattered: Option<btree_map::Range<'a, Bytes, Row>>,
        reverse: bool,
    ) -> Self {
        let run_next = if reverse { run.next_back() } else { run.next() };
        let scattered_next = scattered.as_mut().and_then(|s| {
            let kv = if reverse { s.next_back() } else { s.next() };
            kv.map(|(_, r)| r)
        });
        MergedRows {
            run,
            scattered,
            run_next,
            scattered_next,
            reverse,
        }
    }

    #[inline(always)]
    fn pull_run(&mut self) -> Option<&'a Row> {
        let next = if self.reverse {
            self.run.next_back()
        } else {
            self.run.next()
        };
        std::mem::replace(&mut self.run_next, next)
    }

    fn pull_scattered(&mut self) -> Option<&'a Row> {
        let reverse = self.reverse;
        let next = self.scattered.as_mut().and_then(|s| {
            let kv = if reverse { s.next_back() } else { s.next() };
            kv.map(|(_, r)| r)
        });
        std::mem::replace(&mut self.scattered_next, next)
    }
}

impl<'a> Iterator for MergedRows<'a> {
    type Item = &'a Row;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a Row> {
        let Some(b) = self.scattered_next else {
            return self.pull_run();
        };
        let take_run = match self.run_next {
            Some(a) => (a.clustering < b.clustering) != self.reverse,
            None => false,
        };
        if take_run {
            self.pull_run()
        } else {
            self.pull_scattered()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Cell;

    fn row(k: u8, ts: i64) -> Row {
        let mut r = Row::new(Bytes::from(vec![k]));
        r.marker = Some(Cell::live(ts, Bytes::new()));
        r
    }

    fn keys<'a>(it: impl Iterator<Item = &'a Row>) -> Vec<u8> {
        it.map(|r| r.clustering[0]).collect()
    }

    #[test]
    fn in_order_rows_stay_in_the_run_and_others_merge_in() {
        let mut rows = Rows::default();
        // DESC arrival (front), then ASC (back), then holes and duplicates.
        for k in [50u8, 40, 30, 60, 70] {
            assert_eq!(rows.upsert(row(k, 1)), Upserted::Inserted);
        }
        assert!(rows.scattered.is_empty());
        assert_eq!(rows.upsert(row(45, 1)), Upserted::Inserted);
        assert_eq!(rows.upsert(row(65, 1)), Upserted::Inserted);
        assert_eq!(rows.scattered.len(), 2);
        for k in [30u8, 50, 70, 45] {
            assert_eq!(rows.upsert(row(k, 2)), Upserted::Merged);
        }
        assert_eq!(rows.len(), 7);
        assert_eq!(keys(rows.values()), vec![30, 40, 45, 50, 60, 65, 70]);
        let newer = rows.values().find(|r| r.clustering[0] == 45).unwrap();
        assert_eq!(newer.marker.as_ref().unwrap().timestamp, 2);
    }

    #[test]
    fn short_and_long_keys_at_the_ends_order_like_a_btreemap() {
        // Keys of 0 to 24 bytes: some held inline at the run's ends, some too long.
        let mut rows = Rows::default();
        let mut model = BTreeMap::new();
        let mut x = 11u32;
        for i in 0..400u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let len = (x >> 8) as usize % 25;
            let key: Vec<u8> = (0..len).map(|j| (x >> (j % 3 * 8)) as u8).collect();
            let mut r = Row::new(Bytes::from(key.clone()));
            r.marker = Some(Cell::live(i64::from(i), Bytes::new()));
            let expected = if model.insert(key, i).is_some() {
                Upserted::Merged
            } else {
                Upserted::Inserted
            };
            assert_eq!(rows.upsert(r), expected, "row {i}");
        }
        let got: Vec<(Vec<u8>, i64)> = rows
            .values()
            .map(|r| (r.clustering.to_vec(), r.marker.as_ref().unwrap().timestamp))
            .collect();
        let want: Vec<(Vec<u8>, i64)> = model.into_iter().map(|(k, i)| (k, i64::from(i))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn ranges_in_both_directions_match_a_btreemap() {
        let mut rows = Rows::default();
        let mut model = BTreeMap::new();
        // A fixed pseudo-random order covering in-order and scattered arrivals.
        let mut x = 7u32;
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let k = (x >> 16) as u8;
            rows.upsert(row(k, 1));
            model.insert(Bytes::from(vec![k]), ());
        }
        let b = |k: u8| Bytes::from(vec![k]);
        let bounds = [
            (Bound::Unbounded, Bound::Unbounded),
            (Bound::Included(b(10)), Bound::Excluded(b(200))),
            (Bound::Excluded(b(10)), Bound::Included(b(200))),
            (Bound::Included(b(90)), Bound::Unbounded),
            (Bound::Unbounded, Bound::Excluded(b(90))),
            (Bound::Included(b(90)), Bound::Excluded(b(91))),
        ];
        for range in bounds {
            let want: Vec<u8> = model.range(range.clone()).map(|(k, _)| k[0]).collect();
            assert_eq!(keys(rows.range(range.clone(), false)), want, "{range:?}");
            let mut rev = want.clone();
            rev.reverse();
            assert_eq!(keys(rows.range(range.clone(), true)), rev, "{range:?}");
        }
    }
}
