//! The rows of one source of a partition (a memtable or an SSTable), seen one row at a time
//! through its head: key, row deletion and greatest data timestamp. The merge decides from
//! the heads whether a row version can matter and decodes (or clones) only those that can.

use std::collections::VecDeque;

use crate::codec::row::RowHead;
use crate::error::Result;
use crate::model::{DeletionTime, Row, Timestamp};
use crate::read::prefetch::{prefetch, prefetch_value};
use crate::sstable::RowIter;

/// What the merge reads from a source's current row before deciding to decode it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadInfo {
    pub deletion: Option<DeletionTime>,
    /// The greatest timestamp of the marker and cells; `Timestamp::MIN` when there are none.
    pub max_data_ts: Timestamp,
}

impl From<&RowHead> for HeadInfo {
    fn from(h: &RowHead) -> Self {
        HeadInfo {
            deletion: h.deletion,
            max_data_ts: h.max_data_ts,
        }
    }
}

/// One source's rows in the read's direction. Call [`SourceRows::advance`] to stand on
/// the first row; then [`SourceRows::key`] and [`SourceRows::info`] describe it and
/// [`SourceRows::decode`] materializes it.
// A read has a handful of sources, touched on every row: inline beats boxed here.
#[allow(clippy::large_enum_variant)]
pub enum SourceRows<'a> {
    /// Rows of a memtable partition (already reconciled, in memory).
    Memtable(MemRows<'a>),
    /// Rows of an SSTable partition, decoded from their block only when asked.
    Sstable(RowIter<'a>),
}

impl<'a> SourceRows<'a> {
    pub fn memtable(rows: Box<dyn Iterator<Item = &'a Row> + 'a>) -> Self {
        Self::mem_rows(MemIter::Boxed(rows))
    }

    fn mem_rows(rows: MemIter<'a>) -> Self {
        SourceRows::Memtable(MemRows {
            rows,
            ahead: VecDeque::with_capacity(MEM_LOOKAHEAD_ROWS),
            started: false,
            head: None,
            info: HeadInfo {
                deletion: None,
                max_data_ts: Timestamp::MIN,
            },
        })
    }

    /// The rows of memtable partition `p` in `slice`, walked in `direction`.
    pub fn mem_partition(
        p: &'a crate::memtable::MemPartition,
        slice: &crate::model::Slice,
        direction: crate::model::Direction,
    ) -> Self {
        let reverse = direction == crate::model::Direction::Reverse;
        match slice.byte_range() {
            // The memtable's own iterator, not boxed: the walk over a channel's deleted rows
            // calls it once per row.
            Some(range) => Self::mem_rows(MemIter::Rows(p.rows.range(range, reverse))),
            None => Self::memtable(Box::new(std::iter::empty())),
        }
    }

    pub fn sstable(rows: RowIter<'a>) -> Self {
        SourceRows::Sstable(rows)
    }

    /// Moves to the next row; `false` when the source is exhausted.
    #[inline(always)]
    pub fn advance(&mut self) -> Result<bool> {
        match self {
            SourceRows::Memtable(m) => Ok(m.advance()),
            SourceRows::Sstable(s) => s.advance(),
        }
    }

    /// The current row's clustering key; `None` before the first `advance` or at the end.
    #[inline(always)]
    pub fn key(&self) -> Option<&[u8]> {
        match self {
            SourceRows::Memtable(m) => m.head.map(|r| &r.clustering[..]),
            SourceRows::Sstable(s) => s.head().map(|(k, _)| k),
        }
    }

    /// The current row's deletion and greatest data timestamp.
    #[inline(always)]
    pub fn info(&self) -> HeadInfo {
        match self {
            SourceRows::Memtable(m) => m.info,
            SourceRows::Sstable(s) => s.head_only().map_or(
                HeadInfo {
                    deletion: None,
                    max_data_ts: Timestamp::MIN,
                },
                HeadInfo::from,
            ),
        }
    }

    /// The current row, whole.
    pub fn decode(&self) -> Result<Row> {
        match self {
            SourceRows::Memtable(m) => Ok(m.head.cloned().unwrap_or_default()),
            SourceRows::Sstable(s) => s.decode_head(),
        }
    }
}

/// How many memtable rows [`MemRows`] fetches ahead of the merge, so that their cache
/// misses (the row in its tree node, then its key on the heap) overlap. 8 left most of the
/// misses in the walk at 200,000 rows, 32 gained nothing over 16; a short read pays for at
/// most this many extra tree steps.
const MEM_LOOKAHEAD_ROWS: usize = 16;

/// Where a [`MemRows`] takes its rows from.
enum MemIter<'a> {
    /// A memtable partition's rows.
    Rows(crate::memtable::rows::MergedRows<'a>),
    /// Any rows in order (tests and callers with rows of their own).
    Boxed(Box<dyn Iterator<Item = &'a Row> + 'a>),
}

/// A memtable partition's rows with the head of the current one.
pub struct MemRows<'a> {
    rows: MemIter<'a>,
    /// The next rows, already asked of the CPU cache.
    ahead: VecDeque<&'a Row>,
    started: bool,
    head: Option<&'a Row>,
    info: HeadInfo,
}

impl<'a> MemRows<'a> {
    #[inline(always)]
    fn advance(&mut self) -> bool {
        if !self.started {
            self.started = true;
            for _ in 0..MEM_LOOKAHEAD_ROWS {
                self.fetch_ahead();
            }
        }
        self.head = self.ahead.pop_front();
        self.fetch_ahead();
        // Half way, the row itself is cached: its key (on the heap) can be asked for
        // without waiting.
        if let Some(row) = self.ahead.get(MEM_LOOKAHEAD_ROWS / 2) {
            prefetch(row.clustering.get(..1).unwrap_or_default());
        }
        if let Some(r) = self.head {
            self.info = HeadInfo {
                deletion: r.deletion,
                max_data_ts: r.max_data_timestamp(),
            };
        }
        self.head.is_some()
    }

    #[inline(always)]
    fn fetch_ahead(&mut self) {
        let next = match &mut self.rows {
            MemIter::Rows(rows) => rows.next(),
            MemIter::Boxed(rows) => rows.next(),
        };
        if let Some(row) = next {
            prefetch_value(row);
            self.ahead.push_back(row);
        }
    }
}
