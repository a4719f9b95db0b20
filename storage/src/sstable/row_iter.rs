//! Iterates one partition's rows within a slice, forward or in reverse, one block at a time.
//!
//! The start block comes from a binary search of the partition's clustering index: forward,
//! the first block whose last key is not before the slice start; reverse, the last block
//! whose first key is not after the slice end. Inside a block the two slice bounds are
//! binary-searched on the block's row offsets, so a block is decoded once and walked either
//! way. The next block is only decompressed when the walk reaches it and its index entry
//! says it can still hold rows of the slice.
//!
//! Besides iterating decoded rows, the iterator can stand on a row and show only its head
//! (key, deletion, greatest data timestamp; [`RowIter::advance`], [`RowIter::head`]), so a
//! merge decodes the cells of a row only when no tombstone shadows them.

use std::cell::OnceCell;
use std::sync::Arc;

use crate::codec::row::RowHead;
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
    /// The row `advance` stopped on: its index in the current block and its head.
    head: Option<(usize, RowHead)>,
}

/// The rows `lo..hi` of a loaded block that are in the slice; `pos` is the next one to
/// return (forward) or one past it (reverse).
struct Cursor {
    /// The block's row heads (format 3) or whole rows.
    block: Arc<DecodedBlock>,
    /// The row bodies of a split block, once a row of it is decoded (set through `&self`:
    /// the merge decodes a row while it still borrows the key from the heads).
    bodies: OnceCell<Arc<DecodedBlock>>,
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
            head: None,
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
        // Only a block a bound falls into is searched; the index keys clear the others.
        let (lo, hi) = (|| -> Result<(usize, usize)> {
            let lo = if slice.after_start(entry.first_key) {
                first
            } else {
                block.partition_point(first, end, |k| !slice.after_start(k))?
            };
            let hi = if slice.before_end(entry.last_key) {
                end
            } else {
                block.partition_point(lo, end, |k| slice.before_end(k))?
            };
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
        // A walk over a block is mostly cache misses taken one row at a time; asking for
        // the rows ahead of it lets them overlap.
        block.prefetch_rows(lo, hi, forward);
        self.current = Some(Cursor {
            block,
            bodies: OnceCell::new(),
            block_no: entry.block,
            lo,
            hi,
            pos: if forward { lo } else { hi },
        });
        Ok(())
    }

    /// Moves to the next row of the slice and reads its head; `false` when there is none.
    /// After an error the iterator is exhausted.
    // Always inlined into the merge: there the head it writes is read back at once, and
    // across a call that read stalled on store forwarding.
    #[inline(always)]
    pub fn advance(&mut self) -> Result<bool> {
        // The common case, the next row of the loaded block, stays inline in the merge.
        if self.pending_error.is_none() {
            if let Some(c) = &mut self.current {
                if let Some(i) = c.step(self.direction) {
                    match c.block.head(i) {
                        Ok(head) => {
                            let forward = self.direction == Direction::Forward;
                            c.block.prefetch_ahead(head.clustering.start, forward);
                            self.head = Some((i, head));
                            return Ok(true);
                        }
                        Err(e) => {
                            let e = self.table.corruption(e, c.block_no);
                            return Err(self.fail(e));
                        }
                    }
                }
            }
        }
        self.advance_slow()
    }

    #[inline(never)]
    fn advance_slow(&mut self) -> Result<bool> {
        self.head = None;
        let moved = match self.pending_error.take() {
            Some(e) => Err(e),
            None => self.advance_inner(),
        };
        moved.map_err(|e| self.fail(e))
    }

    /// Ends the walk after an error (it cannot continue safely) and locates the error.
    fn fail(&mut self, e: Error) -> Error {
        self.head = None;
        self.current = None;
        self.next_entry = None;
        e.at(self.table.path(), self.table.index_offset())
    }

    /// The key and head of the row `advance` stopped on.
    #[inline]
    pub fn head(&self) -> Option<(&[u8], &RowHead)> {
        let c = self.current.as_ref()?;
        let (_, head) = self.head.as_ref()?;
        Some((c.block.key(head.clustering.clone()), head))
    }

    /// The head of the row `advance` stopped on.
    #[inline]
    pub fn head_only(&self) -> Option<&RowHead> {
        self.head.as_ref().map(|(_, h)| h)
    }

    /// Decodes the whole row `advance` stopped on. In a split block (format 3) this is
    /// where the block's bodies are first read; the cursor keeps them for its other rows.
    /// A joined block's heads (format 4) came with their bodies.
    pub fn decode_head(&self) -> Result<Row> {
        let (Some(c), Some((i, _))) = (&self.current, &self.head) else {
            return Err(Error::Malformed("no row to decode".into()));
        };
        let table = self.table;
        if !table.split_blocks() {
            return c.block.row(*i).map_err(|e| table.corruption(e, c.block_no));
        }
        let bodies = match c.block.joined_bodies().or(c.bodies.get()) {
            Some(b) => b,
            None => {
                let read = table.read_bodies(c.block_no, c.block.row_count())?;
                c.bodies.get_or_init(|| read)
            }
        };
        c.block
            .split_row(*i, bodies)
            .map_err(|e| table.corruption(e, c.block_no))
    }

    fn advance_inner(&mut self) -> Result<bool> {
        loop {
            if let Some(c) = &mut self.current {
                if let Some(i) = c.step(self.direction) {
                    let head = c
                        .block
                        .head(i)
                        .map_err(|e| self.table.corruption(e, c.block_no))?;
                    self.head = Some((i, head));
                    return Ok(true);
                }
                self.current = None;
            }
            match self.next_entry.take() {
                Some(i) => self.load(i)?,
                None => return Ok(false),
            }
        }
    }
}

impl Cursor {
    /// The index of the next row in `direction`, if the block has one left.
    #[inline]
    fn step(&mut self, direction: Direction) -> Option<usize> {
        match direction {
            Direction::Forward if self.pos < self.hi => {
                self.pos += 1;
                Some(self.pos - 1)
            }
            Direction::Reverse if self.pos > self.lo => {
                self.pos -= 1;
                Some(self.pos)
            }
            _ => None,
        }
    }
}

impl Iterator for RowIter<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.advance() {
            Ok(true) => Some(self.decode_head()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
