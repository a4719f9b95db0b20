//! The per-partition clustering index: for every block a partition's rows occupy, which
//! rows of the block are the partition's and the first and last clustering key among them.
//!
//! Layout (inside a partition index entry): varint block count `n`; if `n > 0`, varint first
//! block number; then `n` fixed 12-byte entries `{first_row u32, row_count u32,
//! keys_offset u32}` (LE); then varint heap length and the key heap, where each entry's
//! `keys_offset` points at `bytes first_key, bytes last_key`. The fixed entries make a
//! binary search for a slice's first block (forward) or last block (reverse) direct.

use bytes::Bytes;

use crate::codec::varint::{put_bytes, put_u64, Reader};
use crate::error::{Error, Result};

use super::footer::read_u32;

const ENTRY_BYTES: usize = 12;

/// The rows of one partition inside one block, as the writer tracks them.
#[derive(Clone, Debug)]
pub struct Span {
    pub block: u64,
    pub first_row: u32,
    pub row_count: u32,
    pub first_key: Bytes,
    pub last_key: Bytes,
}

pub fn encode(out: &mut Vec<u8>, spans: &[Span]) {
    put_u64(out, spans.len() as u64);
    let Some(first) = spans.first() else {
        return;
    };
    put_u64(out, first.block);
    let mut heap = Vec::new();
    for s in spans {
        out.extend_from_slice(&s.first_row.to_le_bytes());
        out.extend_from_slice(&s.row_count.to_le_bytes());
        out.extend_from_slice(&(heap.len() as u32).to_le_bytes());
        put_bytes(&mut heap, &s.first_key);
        put_bytes(&mut heap, &s.last_key);
    }
    put_bytes(out, &heap);
}

/// One entry of the index, borrowed from the file.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub block: u64,
    pub first_row: usize,
    pub row_count: usize,
    pub first_key: &'a [u8],
    pub last_key: &'a [u8],
}

/// A view of one partition's clustering index over the mapped file.
#[derive(Clone, Copy, Debug)]
pub struct ClusteringIndex<'a> {
    first_block: u64,
    entries: &'a [u8],
    heap: &'a [u8],
    len: usize,
}

impl<'a> ClusteringIndex<'a> {
    /// Reads the index at the reader's position (the reader ends after it).
    pub fn read(r: &mut Reader<'a>) -> Result<Self> {
        let len = r.count()?;
        if len == 0 {
            return Ok(ClusteringIndex {
                first_block: 0,
                entries: &[],
                heap: &[],
                len: 0,
            });
        }
        let first_block = r.u64()?;
        let entries_bytes = len
            .checked_mul(ENTRY_BYTES)
            .ok_or_else(|| Error::Malformed("clustering index too long".into()))?;
        let entries = r.slice(entries_bytes)?;
        let heap_len = r.len()?;
        let heap = r.slice(heap_len)?;
        Ok(ClusteringIndex {
            first_block,
            entries,
            heap,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn entry(&self, i: usize) -> Result<Entry<'a>> {
        let bad = || Error::Malformed(format!("clustering index entry {i} out of range"));
        if i >= self.len {
            return Err(bad());
        }
        let at = i * ENTRY_BYTES;
        let first_row = read_u32(self.entries, at).ok_or_else(bad)? as usize;
        let row_count = read_u32(self.entries, at + 4).ok_or_else(bad)? as usize;
        let keys_at = read_u32(self.entries, at + 8).ok_or_else(bad)? as usize;
        let mut r = Reader::new(self.heap.get(keys_at..).ok_or_else(bad)?);
        let n = r.len()?;
        let first_key = r.slice(n)?;
        let n = r.len()?;
        let last_key = r.slice(n)?;
        let block = self
            .first_block
            .checked_add(i as u64)
            .ok_or_else(|| Error::Malformed("block number overflow".into()))?;
        Ok(Entry {
            block,
            first_row,
            row_count,
            first_key,
            last_key,
        })
    }

    /// First entry index in `0..len` for which `pred` is false (`pred` true then false).
    pub fn partition_point(&self, pred: impl Fn(&Entry<'a>) -> bool) -> Result<usize> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(&self.entry(mid)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}
