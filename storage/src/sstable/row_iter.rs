//! Iterates one partition's rows within a slice, forward or in reverse, one block at a time.
//!
//! The start block comes from a binary search of the partition's clustering index: forward,
//! the first block whose last key is not before the slice start; reverse, the last block
//! whose first key is not after the slice end. Inside a block the two slice bounds are
//! binary-searched on the block's row offsets, so a block is decoded once and walked either
//! way. The next block is only decompressed when the walk reaches it and its index entry
//! says it can still hold rows of the slice.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{Direction, Row, Slice};

use super::block::DecodedBlock;
use super::clustering_index::ClusteringIndex;
use super::reader::Sstable;

/// Rows of one partition within a slice; see the module documentation.
pub struct RowIter<'a> {
    table: &'a Sstable,
    index: ClusteringIndex<'a>,
    slice: Slice,
    direction: Direction,
    /// Clustering index entry of the next block to load.
    next_entry: Option<usize>,
    current: Option<Cursor>,
    pending_error: Option<Error>,
    blocks_read: u64,
}

/// The rows `lo..hi` of a loaded block that are in the slice; `pos` is the next one to
/// return (forward) or one past it (reverse).
struct Cursor {
    block: Arc<DecodedBlock>,
    block_no: u64,
    lo: usize,
    hi: usize,
    pos: usize,
}

impl<'a> RowIter<'a> {
    pub(crate) fn new(
        table: &'a Sstable,
        index: ClusteringIndex<'a>,
        slice: Slice,
        direction: Direction,
    ) -> Self {
        let mut it = RowIter {
            table,
            index,
            slice,
            direction,
            next_entry: None,
            current: None,
            pending_error: None,
            blocks_read: 0,
        };
        if it.slice.is_empty() || index.is_empty() {
            return it;
        }
        match it.start_entry() {
            Ok(e) => it.next_entry = e,
            Err(e) => it.pending_error = Some(e),
        }
        it
    }

    /// Data blocks this iterator has decompressed.
    pub fn blocks_read(&self) -> u64 {
        self.blocks_read
    }

    fn start_entry(&self) -> Result<Option<usize>> {
        let slice = &self.slice;
        let found = match self.direction {
            Direction::Forward => {
                let i = self
                    .index
                    .partition_point(|e| !slice.after_start(e.last_key))?;
                (i < self.index.len()).then_some(i)
            }
            Direction::Reverse => self
                .index
                .partition_point(|e| slice.before_end(e.first_key))?
                .checked_sub(1),
        };
        Ok(found)
    }

    fn load(&mut self, i: usize) -> Result<()> {
        let entry = self.index.entry(i)?;
        let forward = self.direction == Direction::Forward;
        // The index alone can tell that a block holds nothing of the slice any more.
        let reachable = if forward {
            self.slice.before_end(entry.first_key)
        } else {
            self.slice.after_start(entry.last_key)
        };
        if !reachable {
            self.next_entry = None;
            return Ok(());
        }
        let block = self.table.read_block(entry.block)?;
        self.blocks_read += 1;
        let first = entry.first_row;
        let end = first
            .checked_add(entry.row_count)
            .filter(|&e| e <= block.row_count())
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "clustering index rows {first}+{} not in block {} of {} rows",
                    entry.row_count,
                    entry.block,
                    block.row_count()
                ))
            })
            .map_err(|e| self.table.corruption(e, entry.block))?;
        let slice = &self.slice;
        let (lo, hi) = (|| -> Result<(usize, usize)> {
            let lo = block.partition_point(first, end, |k| !slice.after_start(k))?;
            let hi = block.partition_point(lo, end, |k| slice.before_end(k))?;
            Ok((lo, hi))
        })()
        .map_err(|e| self.table.corruption(e, entry.block))?;
        // Rows of the slice stop inside this block: no need to look further.
        let stops_here = if forward { hi < end } else { lo > first };
        self.next_entry = if stops_here {
            None
        } else if forward {
            Some(i + 1).filter(|&n| n < self.index.len())
        } else {
            i.checked_sub(1)
        };
        self.current = Some(Cursor {
            block,
            block_no: entry.block,
            lo,
            hi,
            pos: if forward { lo } else { hi },
        });
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        loop {
            if let Some(c) = &mut self.current {
                let row_index = match self.direction {
                    Direction::Forward if c.pos < c.hi => {
                        c.pos += 1;
                        Some(c.pos - 1)
                    }
                    Direction::Reverse if c.pos > c.lo => {
                        c.pos -= 1;
                        Some(c.pos)
                    }
                    _ => None,
                };
                if let Some(i) = row_index {
                    let block_no = c.block_no;
                    return c
                        .block
                        .row(i)
                        .map(Some)
                        .map_err(|e| self.table.corruption(e, block_no));
                }
                self.current = None;
            }
            match self.next_entry.take() {
                Some(i) => self.load(i)?,
                None => return Ok(None),
            }
        }
    }
}

impl Iterator for RowIter<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        match self.next_row() {
            Ok(row) => row.map(Ok),
            Err(e) => {
                // After an error the walk cannot continue safely.
                self.current = None;
                self.next_entry = None;
                Some(Err(e.at(self.table.path(), self.table.index_offset())))
            }
        }
    }
}
