//! Data blocks: rows of one or more partitions, zstd-compressed, checksummed.
//!
//! Uncompressed layout: `base_ts` i64 LE, the rows (`codec::row` encoding, timestamps
//! relative to `base_ts`), then one u32 LE offset per row (from the block start), then the
//! row count u32 LE. The offsets let a reader binary-search a block by clustering key and
//! step backwards through it without decoding it twice.
//!
//! On disk: the zstd frame, then the uncompressed length u32 LE, then a CRC32 u32 LE over
//! the frame and the length.

use crate::codec::row::{put_row_with_max_ts, read_row, read_row_head, RowHead};
use bytes::Bytes;

use crate::codec::varint::Reader;
use crate::error::{Error, Result};
use crate::model::Row;

use super::footer::{read_u32, read_u64};

const BASE_TS_BYTES: usize = 8;
/// How far ahead of a walk over a block its rows are asked of the CPU cache (eight lines).
const PREFETCH_AHEAD_BYTES: usize = 512;
/// No block may decompress to more than this (a row bigger than it cannot be written):
/// a forged length then cannot make a reader allocate gigabytes.
pub const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;

/// Accumulates encoded rows of the block being written.
pub struct BlockBuilder {
    buf: Vec<u8>,
    offsets: Vec<u32>,
    base_ts: i64,
}

impl BlockBuilder {
    pub fn new(capacity_bytes: usize) -> Self {
        BlockBuilder {
            buf: Vec::with_capacity(capacity_bytes + capacity_bytes / 4),
            offsets: Vec::new(),
            base_ts: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    pub fn row_count(&self) -> usize {
        self.offsets.len()
    }

    /// Encoded size so far, the number a block size limit compares with.
    pub fn size_bytes(&self) -> usize {
        self.buf.len() + 4 * self.offsets.len() + 4
    }

    /// Appends a row; the first row of a block fixes the block's base timestamp.
    pub fn add(&mut self, row: &Row) -> Result<()> {
        if self.offsets.is_empty() {
            self.buf.clear();
            // Most timestamps in a block are near its first row's: deltas stay short.
            let ts = row.max_timestamp();
            self.base_ts = if ts == i64::MIN { 0 } else { ts };
            self.buf.extend_from_slice(&self.base_ts.to_le_bytes());
        }
        let offset = u32::try_from(self.buf.len())
            .ok()
            .filter(|&o| (o as usize) < MAX_BLOCK_BYTES)
            .ok_or_else(|| Error::InvalidRequest("SSTable block too large".into()))?;
        self.offsets.push(offset);
        put_row_with_max_ts(&mut self.buf, row, self.base_ts);
        if self.size_bytes() > MAX_BLOCK_BYTES {
            return Err(Error::InvalidRequest(format!(
                "row of {} bytes too large for an SSTable block",
                self.buf.len() - offset as usize
            )));
        }
        Ok(())
    }

    /// Returns the uncompressed block and resets the builder.
    pub fn take(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for o in &self.offsets {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        self.offsets.clear();
        out
    }
}

/// Compresses an uncompressed block into its on-disk form (frame, length, CRC).
pub fn frame(
    uncompressed: &[u8],
    compressor: &mut zstd::bulk::Compressor<'_>,
) -> std::io::Result<Vec<u8>> {
    let mut out = compressor.compress(uncompressed)?;
    out.extend_from_slice(&(uncompressed.len() as u32).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

thread_local! {
    /// One decompression context per thread, reused: creating a zstd context costs more
    /// than decompressing a small block.
    static DCTX: std::cell::RefCell<zstd::zstd_safe::DCtx<'static>> =
        std::cell::RefCell::new(zstd::zstd_safe::DCtx::create());
}

/// Checks an on-disk block's CRC and decompresses it (with the table's dictionary, if it
/// has one), refusing to produce more than `max_uncompressed_bytes`. Errors are
/// `Malformed`; the caller adds file and offset.
pub fn unframe(
    on_disk: &[u8],
    max_uncompressed_bytes: usize,
    dictionary: Option<&zstd::dict::DecoderDictionary<'static>>,
) -> Result<Vec<u8>> {
    let body_len = on_disk
        .len()
        .checked_sub(4)
        .filter(|&n| n >= 4)
        .ok_or_else(|| Error::Malformed(format!("block of {} bytes too short", on_disk.len())))?;
    let stored_crc = read_u32(on_disk, body_len).unwrap_or_default();
    let body = on_disk.get(..body_len).unwrap_or_default();
    if crc32fast::hash(body) != stored_crc {
        return Err(Error::Malformed("block checksum mismatch".into()));
    }
    let frame_len = body_len - 4;
    let expected = read_u32(on_disk, frame_len).unwrap_or_default() as usize;
    if expected > max_uncompressed_bytes.min(MAX_BLOCK_BYTES) {
        return Err(Error::Malformed(format!(
            "block claims {expected} uncompressed bytes, more than the table's maximum {max_uncompressed_bytes}"
        )));
    }
    let frame = on_disk.get(..frame_len).unwrap_or_default();
    // The frame header states its content size; refuse to allocate for a frame that lies.
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n == expected as u64 => {}
        _ => {
            return Err(Error::Malformed(
                "block frame size does not match its trailer".into(),
            ))
        }
    }
    let mut out = Vec::with_capacity(expected);
    DCTX.with(|cell| {
        let mut dctx = cell.borrow_mut();
        let result = match dictionary {
            Some(d) => dctx.decompress_using_ddict(&mut out, frame, d.as_ddict()),
            None => dctx.decompress(&mut out, frame),
        };
        result.map_err(|code| {
            Error::Malformed(format!(
                "block does not decompress: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })
    })?;
    if out.len() != expected {
        return Err(Error::Malformed(format!(
            "block decompressed to {} bytes, expected {expected}",
            out.len()
        )));
    }
    Ok(out)
}

/// A decompressed block, with its row offsets validated (and read in place: a block that
/// is parsed once per read when the cache is too small for a partition should cost no
/// allocation beyond its bytes).
pub struct DecodedBlock {
    /// Shared so that rows read from the block borrow their values instead of copying them.
    data: Bytes,
    /// End of the rows region (start of the offsets array).
    rows_end: usize,
    row_count: usize,
    base_ts: i64,
}

impl DecodedBlock {
    /// Heap bytes this block holds, the weight the block cache charges for it.
    pub fn memory_bytes(&self) -> usize {
        self.data.len() + std::mem::size_of::<Self>()
    }

    pub fn parse(data: Vec<u8>) -> Result<Self> {
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
        })
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
        let mut head = read_row_head(&mut reader, self.base_ts)?;
        head.clustering = start + head.clustering.start..start + head.clustering.end;
        Ok(head)
    }

    /// The bytes at `range` of the block, such as a [`RowHead`]'s key; empty if outside.
    #[inline]
    pub fn key(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.data.get(range).unwrap_or_default()
    }

    pub fn row(&self, i: usize) -> Result<Row> {
        let bytes = self.row_bytes(i)?;
        let mut r = Reader::shared(&self.data, bytes);
        let row = read_row(&mut r, self.base_ts)?;
        if !r.is_empty() {
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
    use super::*;
    use crate::model::Cell;

    #[test]
    fn block_round_trip_and_corruption() {
        let mut b = BlockBuilder::new(1024);
        let mut rows = Vec::new();
        for i in 0..20u8 {
            let mut row = Row::new(Bytes::from(vec![i]));
            row.set(
                1,
                Cell::live(1_700_000_000_000_000 + i64::from(i), vec![i; 10]),
            );
            b.add(&row).unwrap();
            rows.push(row);
        }
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        let framed = frame(&b.take(), &mut c).unwrap();
        let block = DecodedBlock::parse(unframe(&framed, 1 << 20, None).unwrap()).unwrap();
        assert_eq!(block.row_count(), 20);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&block.row(i).unwrap(), r);
            let head = block.head(i).unwrap();
            assert_eq!(block.key(head.clustering), &r.clustering[..]);
            assert_eq!(head.max_data_ts, r.max_data_timestamp());
        }
        assert_eq!(block.partition_point(0, 20, |k| k < &[7u8][..]).unwrap(), 7);
        for i in 0..framed.len() {
            let mut bad = framed.clone();
            bad[i] ^= 1;
            assert!(unframe(&bad, 1 << 20, None).is_err());
        }
        assert!(unframe(&framed, 10, None).is_err());
    }
}
