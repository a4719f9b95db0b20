//! Merging one partition's versions from several sources (the memtable and SSTables).
//!
//! Every source yields rows of the partition in the read's direction. The merge walks them
//! together, reconciles the versions of each clustering key, and applies the partition
//! deletion, the range tombstones and the row tombstone, so that what comes out holds no
//! shadowed data. Row tombstones and cell tombstones are kept (a read skips them, a compaction
//! decides whether to purge them). Both reads and compaction are built on this iterator.

use std::cmp::Ordering;

use crate::error::Result;
use crate::model::{DeletionTime, Direction, RangeTombstone, Row};

/// One source's view of a partition.
pub struct PartitionSource<'a> {
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub rows: Box<dyn Iterator<Item = Result<Row>> + 'a>,
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

/// Reconciled rows of one partition, in the sources' direction, with shadowed data removed.
pub struct MergedRows<'a> {
    direction: Direction,
    iters: Vec<Box<dyn Iterator<Item = Result<Row>> + 'a>>,
    heads: Vec<Option<Row>>,
    deletions: Deletions,
    rows_scanned: u64,
    primed: bool,
}

impl<'a> MergedRows<'a> {
    /// Merges `sources`; `keep_range` drops range tombstones that cannot matter to the caller.
    pub fn new(
        sources: Vec<PartitionSource<'a>>,
        direction: Direction,
        keep_range: impl Fn(&RangeTombstone) -> bool,
    ) -> Self {
        let mut deletions = Deletions::default();
        let mut iters = Vec::with_capacity(sources.len());
        for s in sources {
            deletions.partition = DeletionTime::max(deletions.partition, s.deletion);
            deletions
                .ranges
                .extend(s.range_tombstones.into_iter().filter(&keep_range));
            iters.push(s.rows);
        }
        // A range tombstone no stronger than the partition deletion adds nothing.
        if let Some(p) = deletions.partition {
            deletions.ranges.retain(|rt| rt.deletion.supersedes(&p));
        }
        deletions.ranges.dedup();
        let heads = vec![None; iters.len()];
        MergedRows {
            direction,
            iters,
            heads,
            deletions,
            rows_scanned: 0,
            primed: false,
        }
    }

    pub fn deletions(&self) -> &Deletions {
        &self.deletions
    }

    /// Row versions taken from the sources so far.
    pub fn rows_scanned(&self) -> u64 {
        self.rows_scanned
    }

    fn pull(&mut self, i: usize) -> Result<()> {
        self.heads[i] = match self.iters[i].next() {
            Some(row) => {
                self.rows_scanned += 1;
                Some(row?)
            }
            None => None,
        };
        Ok(())
    }

    fn before(&self, a: &[u8], b: &[u8]) -> bool {
        match self.direction {
            Direction::Forward => a < b,
            Direction::Reverse => a > b,
        }
    }

    fn next_merged(&mut self) -> Result<Option<Row>> {
        if !self.primed {
            for i in 0..self.iters.len() {
                self.pull(i)?;
            }
            self.primed = true;
        }
        let mut first: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            if let Some(row) = head {
                let better = match first.and_then(|f| self.heads[f].as_ref()) {
                    None => true,
                    Some(best) => self.before(&row.clustering, &best.clustering),
                };
                if better {
                    first = Some(i);
                }
            }
        }
        let Some(first) = first else {
            return Ok(None);
        };
        let mut row = self.heads[first].take().unwrap_or_default();
        self.pull(first)?;
        for i in 0..self.heads.len() {
            let same = self.heads[i]
                .as_ref()
                .is_some_and(|h| h.clustering.cmp(&row.clustering) == Ordering::Equal);
            if same {
                if let Some(other) = self.heads[i].take() {
                    row.merge(other);
                }
                self.pull(i)?;
            }
        }
        let covering = self.deletions.covering(&row.clustering);
        row.apply_deletion(covering);
        // A row tombstone that a partition or range deletion already supersedes is redundant.
        if let (Some(rd), Some(cd)) = (row.deletion, covering) {
            if !rd.supersedes(&cd) {
                row.deletion = None;
            }
        }
        Ok(Some(row))
    }
}

impl Iterator for MergedRows<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.next_merged().transpose()
    }
}
