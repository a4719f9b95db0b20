//! Accumulates the rows of the block being written, as a format-3 split block: the rows'
//! heads in one buffer and their bodies in another (laid out as `block.rs` says), each
//! compressed into its own zstd frame (`block_frame.rs`).

use crate::codec::row::{put_body, put_head};
use crate::error::{Error, Result};
use crate::model::Row;

use super::block::MAX_BLOCK_BYTES;

/// The two uncompressed parts of a finished block.
pub struct SplitBlock {
    pub heads: Vec<u8>,
    pub bodies: Vec<u8>,
    /// Stored as one joined frame (format 4; `block_frame.rs`): the writer sets it for a
    /// block holding rows of more than one partition.
    pub joined: bool,
}

impl SplitBlock {
    /// The largest frame's content: what the footer's maximum uncompressed block size must
    /// admit (a joined frame holds both parts and the heads' length).
    pub fn max_part_bytes(&self) -> usize {
        if self.joined {
            self.heads.len() + self.bodies.len() + 4
        } else {
            self.heads.len().max(self.bodies.len())
        }
    }
}

/// One part being built: `base_ts`, entries, then (at `finish`, when `indexed`) their
/// offsets and count. The bodies part is not indexed: each body says its own length, and
/// an offset array, four bytes a row that compress poorly, would cost more on disk than the
/// walk that rebuilds it when the part is read.
struct PartBuilder {
    buf: Vec<u8>,
    offsets: Vec<u32>,
    indexed: bool,
}

impl PartBuilder {
    fn start(&mut self, base_ts: i64) {
        self.buf.clear();
        self.offsets.clear();
        self.buf.extend_from_slice(&base_ts.to_le_bytes());
    }

    fn mark(&mut self) -> Result<()> {
        let offset = u32::try_from(self.buf.len())
            .ok()
            .filter(|&o| (o as usize) < MAX_BLOCK_BYTES)
            .ok_or_else(|| Error::InvalidRequest("SSTable block too large".into()))?;
        self.offsets.push(offset);
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        if self.indexed {
            self.buf.len() + 4 * self.offsets.len() + 4
        } else {
            self.buf.len()
        }
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        if !self.indexed {
            self.offsets.clear();
            return out;
        }
        out.reserve(4 * self.offsets.len() + 4);
        for o in &self.offsets {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        self.offsets.clear();
        out
    }
}

/// Accumulates encoded rows of the block being written.
pub struct BlockBuilder {
    heads: PartBuilder,
    bodies: PartBuilder,
    capacity_bytes: usize,
    base_ts: i64,
}

impl BlockBuilder {
    pub fn new(capacity_bytes: usize) -> Self {
        BlockBuilder {
            heads: PartBuilder {
                buf: Vec::with_capacity(capacity_bytes / 2),
                offsets: Vec::new(),
                indexed: true,
            },
            bodies: PartBuilder {
                buf: Vec::with_capacity(capacity_bytes + capacity_bytes / 4),
                offsets: Vec::new(),
                indexed: false,
            },
            capacity_bytes,
            base_ts: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.heads.offsets.is_empty()
    }

    pub fn row_count(&self) -> usize {
        self.heads.offsets.len()
    }

    /// Encoded size so far (both parts), the number a block size limit compares with.
    pub fn size_bytes(&self) -> usize {
        self.heads.size_bytes() + self.bodies.size_bytes()
    }

    /// Appends a row; the first row of a block fixes the block's base timestamp.
    pub fn add(&mut self, row: &Row) -> Result<()> {
        if self.is_empty() {
            // Most timestamps in a block are near its first row's: deltas stay short.
            let ts = row.max_timestamp();
            self.base_ts = if ts == i64::MIN { 0 } else { ts };
            self.heads.start(self.base_ts);
            // Bodies are timed relative to their rows' heads: their base is reserved, 0.
            self.bodies.start(0);
        }
        self.heads.mark()?;
        self.bodies.mark()?;
        let body_at = self.bodies.buf.len();
        put_head(&mut self.heads.buf, row, self.base_ts);
        put_body(&mut self.bodies.buf, row);
        if self.heads.size_bytes().max(self.bodies.size_bytes()) > MAX_BLOCK_BYTES {
            return Err(Error::InvalidRequest(format!(
                "row of {} bytes too large for an SSTable block",
                self.bodies.buf.len() - body_at
            )));
        }
        Ok(())
    }

    /// Returns the uncompressed parts of the block and resets the builder.
    pub fn take(&mut self) -> SplitBlock {
        let block = SplitBlock {
            heads: self.heads.finish(),
            bodies: self.bodies.finish(),
            joined: false,
        };
        self.heads.buf.reserve(self.capacity_bytes / 2);
        self.bodies
            .buf
            .reserve(self.capacity_bytes + self.capacity_bytes / 4);
        block
    }
}
