//! Decompressed data blocks: one zstd frame's worth of rows, row heads or row bodies.
//!
//! In memory, the same layout for all three kinds: `base_ts` i64 LE, the entries
//! (timestamps relative to `base_ts`), then one u32 LE offset per entry (from the block
//! start), then the entry count u32 LE. The offsets let a reader binary-search a block by
//! clustering key and step backwards through it without decoding it twice. On disk the
//! bodies part has no offsets and no count (each body says its length):
//! [`DecodedBlock::parse_bodies`] rebuilds them.
//!
//! - [`BlockKind::Rows`] (formats 1 and 2): each entry a whole row (`codec::row::read_row`).
//! - [`BlockKind::Heads`] (format 3): each entry a row's head (`codec::row::put_head`):
//!   flags, key, greatest data timestamp, deletion. A walk over shadowed rows reads only
//!   these, and the block cache holds them apart from the bodies: a million-row partition's
//!   heads fit a cache its whole rows do not.
//! - [`BlockKind::Bodies`] (format 3): entry `i` the body (marker, cells) of head `i`, timed
//!   relative to that head's greatest data timestamp; its `base_ts` is reserved, 0.
//!
//! A joined block (format 4: the rows of several partitions in one frame) decodes to its
//! heads carrying its bodies ([`DecodedBlock::joined_bodies`]), one block cache entry.
//!
//! The on-disk framing is in `block_frame.rs`, the writer's side in `block_builder.rs`.

use crate::codec::row::{
    read_row, read_row_head, read_split_head, read_split_row, skip_body, RowHead,
};
use bytes::Bytes;
use std::sync::Arc;

use crate::codec::varint::Reader;
use crate::error::{Error, Result};
use crate::model::Row;

use super::block_frame::unjoin;
use super::footer::{read_u32, read_u64};

const BASE_TS_BYTES: usize = 8;
/// How far ahead of a walk over a block its rows are asked of the CPU cache (eight lines).
const PREFETCH_AHEAD_BYTES: usize = 512;
/// No block may decompress to more than this (a row bigger than it cannot be written):
/// a forged length then cannot make a reader allocate gigabytes.
pub const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;

/// What the entries of a decoded block are; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Rows,
    Heads,
    Bodies,
}

/// A decompressed block, with its row offsets validated (and read in place: a block that
/// is parsed once per read when the cache is too small for a partition should cost no
/// allocation beyond its bytes). Cloning shares the bytes.
#[derive(Clone)]
pub struct DecodedBlock {
    /// Shared so that rows read from the block borrow their values instead of copying them.
    data: Bytes,
    /// End of the rows region (start of the offsets array).
    rows_end: usize,
    row_count: usize,
    base_ts: i64,
    kind: BlockKind,
    /// The bodies of a joined block's heads (format 4), decoded with them: one cache entry
    /// and one decompression for both.
    joined_bodies: Option<Arc<DecodedBlock>>,
}

impl DecodedBlock {
    /// Heap bytes this block holds, the weight the block cache charges for it.
    pub fn memory_bytes(&self) -> usize {
        self.data.len()
            + std::mem::size_of::<Self>()
            + self.joined_bodies.as_ref().map_or(0, |b| b.memory_bytes())
    }

    /// Decodes a joined block's content (`bodies ‖ heads ‖ heads length`, format 4) into
    /// its heads carrying its bodies.
    pub fn parse_joined(content: Vec<u8>) -> Result<Self> {
        let (heads, bodies) = unjoin(content)?;
        let mut heads = Self::parse(heads, BlockKind::Heads)?;
        let bodies = Self::parse_bodies(bodies, heads.row_count)?;
        heads.joined_bodies = Some(Arc::new(bodies));
        Ok(heads)
    }

    /// The bodies decoded with these heads, for a joined block.
    #[inline]
    pub fn joined_bodies(&self) -> Option<&Arc<DecodedBlock>> {
        self.joined_bodies.as_ref()
    }

    pub fn parse(data: Vec<u8>, kind: BlockKind) -> Result<Self> {
        let short = || Error::Malformed(format!("block of {} bytes too short", data.len()));
        let count_at = data.len().checked_sub(4).ok_or_else(short)?;
        let count = read_u32(&data, count_at).ok_or_else(short)? as usize;
        let rows_end = count
            .checked_mul(4)
            .and_then(|n| count_at.checked_sub(n))
            .filter(|&e| e >= BASE_TS_BYTES)
            .ok_or_else(|| Error::Malformed(format!("block row count {count} does not fit")))?;
        let base_ts = read_u64(&data, 0).ok_or_else(short)? as i64;
        let offsets = data.get(rows_end..count_at).unwrap_or_default();
        let mut prev = 0usize;
        for (i, o) in offsets.chunks_exact(4).enumerate() {
            let o = read_u32(o, 0).ok_or_else(short)? as usize;
            // Strictly increasing and inside the rows region: every row has at least a byte.
            if o < BASE_TS_BYTES || o >= rows_end || (i > 0 && o <= prev) {
                return Err(Error::Malformed(format!("bad row offset {o} for row {i}")));
            }
            prev = o;
        }
        Ok(DecodedBlock {
            data: Bytes::from(data),
            rows_end,
            row_count: count,
            base_ts,
            kind,
            joined_bodies: None,
        })
    }

    /// Parses a split block's bodies part as stored (eight zero bytes, then `row_count`
    /// bodies back to back), appending the offsets and count the in-memory layout has.
    pub fn parse_bodies(mut data: Vec<u8>, row_count: usize) -> Result<Self> {
        if read_u64(&data, 0) != Some(0) {
            return Err(Error::Malformed(
                "row bodies' reserved base is not 0".into(),
            ));
        }
        let mut offsets = Vec::with_capacity(row_count.min(data.len()));
        let mut r = Reader::new(data.get(BASE_TS_BYTES..).ok_or_else(|| {
            Error::Malformed(format!("bodies of {} bytes too short", data.len()))
        })?);
        for _ in 0..row_count {
            offsets.push(BASE_TS_BYTES + r.position());
            skip_body(&mut r)?;
        }
        if !r.is_empty() {
            return Err(Error::Malformed(format!(
                "{} bytes after the last of {row_count} row bodies",
                r.remaining()
            )));
        }
        data.reserve_exact(4 * row_count + 4);
        for o in offsets {
            // Below the block size cap, checked when the part was decompressed.
            data.extend_from_slice(&(o as u32).to_le_bytes());
        }
        data.extend_from_slice(&(row_count as u32).to_le_bytes());
        Self::parse(data, BlockKind::Bodies)
    }

    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// Asks the CPU cache for the offsets of rows `lo..hi` and the first rows a walk over
    /// them reads (`forward` from `lo`, else backwards from `hi`); the walk asks for the
    /// following rows as it goes ([`DecodedBlock::prefetch_ahead`]).
    pub fn prefetch_rows(&self, lo: usize, hi: usize, forward: bool) {
        let offsets = (self.rows_end + 4 * lo)..(self.rows_end + 4 * hi.min(self.row_count));
        crate::read::prefetch::prefetch(self.data.get(offsets).unwrap_or_default());
        let start = self.offset(lo).unwrap_or(self.rows_end);
        let end = self.offset(hi).unwrap_or(self.rows_end);
        let first = if forward {
            start..end.min(start + PREFETCH_AHEAD_BYTES)
        } else {
            end.saturating_sub(PREFETCH_AHEAD_BYTES).max(start)..end
        };
        crate::read::prefetch::prefetch(self.data.get(first).unwrap_or_default());
    }

    /// Asks the CPU cache for the line `PREFETCH_AHEAD_BYTES` past `at` in the walk's
    /// direction: a steady stream of requests, where asking for a whole block at once
    /// stalled on the CPU's few outstanding-miss slots.
    #[inline(always)]
    pub fn prefetch_ahead(&self, at: usize, forward: bool) {
        let target = if forward {
            at.checked_add(PREFETCH_AHEAD_BYTES)
        } else {
            at.checked_sub(PREFETCH_AHEAD_BYTES)
        };
        if let Some(line) = target.and_then(|t| self.data.get(t..)) {
            crate::read::prefetch::prefetch(line.get(..1).unwrap_or_default());
        }
    }

    /// Where row `i` starts (validated by `parse`).
    #[inline(always)]
    fn offset(&self, i: usize) -> Result<usize> {
        if i >= self.row_count {
            return Err(Error::Malformed(format!("row {i} not in block")));
        }
        self.data
            .get(self.rows_end + 4 * i..)
            .and_then(|b| b.first_chunk::<4>())
            .map(|o| u32::from_le_bytes(*o) as usize)
            .ok_or_else(|| Error::Malformed(format!("row {i} not in block")))
    }

    #[inline(always)]
    fn row_bytes(&self, i: usize) -> Result<&[u8]> {
        let start = self.offset(i)?;
        let end = if i + 1 < self.row_count {
            self.offset(i + 1)?
        } else {
            self.rows_end
        };
        self.data
            .get(start..end)
            .ok_or_else(|| Error::Malformed(format!("row {i} out of block")))
    }

    /// The clustering key of row `i`, without decoding the rest of the row.
    pub fn clustering(&self, i: usize) -> Result<&[u8]> {
        let mut r = Reader::new(self.row_bytes(i)?);
        r.u8()?;
        let n = r.len()?;
        r.slice(n)
    }

    /// The head of row `i` (key, deletion, greatest data timestamp) without decoding its
    /// cells; its `clustering` range is in the block's bytes, see [`DecodedBlock::key`].
    #[inline(always)]
    pub fn head(&self, i: usize) -> Result<RowHead> {
        let start = self.offset(i)?;
        let len = self.row_bytes(i)?.len();
        // The row's last varints are read a word at a time from the bytes after it.
        let readable = self.data.get(start..).unwrap_or_default();
        let mut reader = Reader::with_readable_after(readable, len);
        let mut head = if self.kind == BlockKind::Heads {
            read_split_head(&mut reader, self.base_ts)?
        } else {
            read_row_head(&mut reader, self.base_ts)?
        };
        head.clustering = start + head.clustering.start..start + head.clustering.end;
        Ok(head)
    }

    /// The bytes at `range` of the block, such as a [`RowHead`]'s key; empty if outside.
    #[inline]
    pub fn key(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.data.get(range).unwrap_or_default()
    }

    /// Decodes row `i` of a [`BlockKind::Rows`] block.
    pub fn row(&self, i: usize) -> Result<Row> {
        if self.kind != BlockKind::Rows {
            return Err(Error::Malformed("whole row asked of a split block".into()));
        }
        let bytes = self.row_bytes(i)?;
        let mut r = Reader::shared(&self.data, bytes);
        let row = read_row(&mut r, self.base_ts)?;
        if !r.is_empty() {
            return Err(Error::Malformed(format!("trailing bytes after row {i}")));
        }
        Ok(row)
    }

    /// Decodes row `i` of a [`BlockKind::Heads`] block from its head and its body in
    /// `bodies`, the same block's [`BlockKind::Bodies`] part.
    pub fn split_row(&self, i: usize, bodies: &DecodedBlock) -> Result<Row> {
        if self.kind != BlockKind::Heads || bodies.kind != BlockKind::Bodies {
            return Err(Error::Malformed(
                "split row asked of an unsplit block".into(),
            ));
        }
        if bodies.row_count != self.row_count {
            return Err(Error::Malformed(format!(
                "block has {} row heads but {} bodies",
                self.row_count, bodies.row_count
            )));
        }
        let mut head = Reader::shared(&self.data, self.row_bytes(i)?);
        let mut body = Reader::shared(&bodies.data, bodies.row_bytes(i)?);
        let row = read_split_row(&mut head, self.base_ts, &mut body)?;
        if !head.is_empty() || !body.is_empty() {
            return Err(Error::Malformed(format!("trailing bytes after row {i}")));
        }
        Ok(row)
    }

    /// First row index in `lo..hi` for which `pred` is false (`pred` must be true then false).
    pub fn partition_point(
        &self,
        lo: usize,
        hi: usize,
        pred: impl Fn(&[u8]) -> bool,
    ) -> Result<usize> {
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.clustering(mid)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on bad data
mod tests {
    use super::super::block_builder::BlockBuilder;
    use super::super::block_frame::{frame_split, split_part, unframe, Part};
    use super::*;
    use crate::codec::row::put_row_with_max_ts;
    use crate::model::{Cell, DeletionTime};

    fn rows() -> Vec<Row> {
        (0..20u8)
            .map(|i| {
                let mut row = Row::new(Bytes::from(vec![i]));
                let ts = 1_700_000_000_000_000 + i64::from(i);
                match i % 4 {
                    0 => row.deletion = Some(DeletionTime::new(ts, 1_700_000_000)),
                    1 => row.marker = Some(Cell::live(ts, Bytes::new())),
                    _ => row.set(1, Cell::live(ts, vec![i; 10])),
                }
                row
            })
            .collect()
    }

    #[test]
    fn split_block_round_trip_and_corruption() {
        let rows = rows();
        let mut b = BlockBuilder::new(1024);
        for r in &rows {
            b.add(r).unwrap();
        }
        let raw = b.take();
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        let mut hc = zstd::bulk::Compressor::new(3).unwrap();
        let framed = frame_split(&raw.heads, &mut hc, &raw.bodies, &mut c).unwrap();
        let part = |p| unframe(split_part(&framed, p).unwrap(), 1 << 20, None).unwrap();
        let heads = DecodedBlock::parse(part(Part::Heads), BlockKind::Heads).unwrap();
        let bodies = DecodedBlock::parse_bodies(part(Part::Bodies), 20).unwrap();
        assert_eq!(heads.row_count(), 20);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&heads.split_row(i, &bodies).unwrap(), r);
            let head = heads.head(i).unwrap();
            assert_eq!(heads.key(head.clustering), &r.clustering[..]);
            assert_eq!(head.max_data_ts, r.max_data_timestamp());
            assert_eq!(head.deletion, r.deletion);
            assert!(heads.row(i).is_err());
        }
        assert_eq!(heads.partition_point(0, 20, |k| k < &[7u8][..]).unwrap(), 7);
        // Bodies of another block (fewer rows) are refused, not misread.
        let mut short = BlockBuilder::new(1024);
        short.add(&rows[1]).unwrap();
        let other = DecodedBlock::parse_bodies(short.take().bodies, 1).unwrap();
        assert!(heads.split_row(0, &other).is_err());
        // Bodies that do not match the heads' count do not parse.
        let raw_bodies =
            unframe(split_part(&framed, Part::Bodies).unwrap(), 1 << 20, None).unwrap();
        assert!(DecodedBlock::parse_bodies(raw_bodies.clone(), 19).is_err());
        assert!(DecodedBlock::parse_bodies(raw_bodies.clone(), 21).is_err());
        assert!(
            DecodedBlock::parse_bodies(raw_bodies[..raw_bodies.len() - 1].to_vec(), 20).is_err()
        );
    }

    #[test]
    fn rows_block_of_format_2_reads() {
        // Built as a format-2 writer did: whole rows with their maximum timestamp.
        let rows = rows();
        let base = 1_700_000_000_000_000i64;
        let mut data = base.to_le_bytes().to_vec();
        let mut offsets = Vec::new();
        for r in &rows {
            offsets.push(data.len() as u32);
            put_row_with_max_ts(&mut data, r, base);
        }
        for o in &offsets {
            data.extend_from_slice(&o.to_le_bytes());
        }
        data.extend_from_slice(&(offsets.len() as u32).to_le_bytes());
        let block = DecodedBlock::parse(data.clone(), BlockKind::Rows).unwrap();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&block.row(i).unwrap(), r);
            assert_eq!(block.head(i).unwrap().max_data_ts, r.max_data_timestamp());
        }
        for n in 0..data.len() {
            if let Ok(b) = DecodedBlock::parse(data[..n].to_vec(), BlockKind::Rows) {
                for i in 0..b.row_count() {
                    let _ = b.row(i);
                    let _ = b.head(i);
                }
            }
        }
    }
}
