//! Immutable sorted tables on disk: one file per table, written once from partitions in
//! ring order ([`SstableWriter`]) and read through a memory map ([`Sstable`]).
//!
//! File layout (byte by byte in `docs/FORMAT.md`): a header (magic, version), zstd-compressed
//! data blocks holding the rows of one or more partitions, then four checksummed sections
//! (block table, partition index with per-partition clustering indexes, bloom filter,
//! stats, zstd dictionary) and a fixed-size footer locating them. A read binary-searches the partition index,
//! then the partition's clustering index for its first block in either direction, and walks
//! block by block forward or backward.

mod block;
mod block_builder;
mod block_cache;
mod block_frame;
mod clustering_index;
mod dictionary;
mod file_bytes;
mod filter;
mod footer;
mod partition_index;
mod reader;
mod row_iter;
mod stats;
mod writer;

pub use block_cache::{BlockCache, BlockCacheStats};
pub use filter::KeyHash;
pub use footer::{FORMAT_VERSION, MAGIC};
pub use reader::{PartitionIter, PartitionReader, Sstable};
pub use row_iter::RowIter;
pub use stats::{DeletionHistogram, SstableStats};
pub use writer::{SstableWriter, SstableWriterOptions};

/// Decodes one uncompressed data block entirely, for the fuzz target: every row or an error.
/// The bytes are tried as a block of whole rows (formats 1 and 2), as a split block
/// (format 3) in the form [`unframe_block_for_fuzzing`] returns it (heads length u32 LE,
/// heads, bodies) and as a joined block's content (format 4: bodies, heads, heads length).
pub fn decode_block_for_fuzzing(data: &[u8]) -> crate::Result<Vec<crate::model::Row>> {
    use block::{BlockKind, DecodedBlock};
    let all_rows = |heads: &DecodedBlock, bodies: Option<&DecodedBlock>| {
        let mut rows = Vec::with_capacity(heads.row_count());
        for i in 0..heads.row_count() {
            heads.clustering(i)?;
            heads.head(i)?;
            rows.push(match bodies {
                Some(b) => heads.split_row(i, b)?,
                None => heads.row(i)?,
            });
        }
        Ok(rows)
    };
    let whole =
        DecodedBlock::parse(data.to_vec(), BlockKind::Rows).and_then(|b| all_rows(&b, None));
    let heads_len = footer::read_u32(data, 0).unwrap_or(u32::MAX) as usize;
    let split = || {
        let (heads, bodies) = (|| {
            let heads = data.get(4..4usize.checked_add(heads_len)?)?.to_vec();
            let bodies = data.get(4 + heads_len..)?.to_vec();
            Some((heads, bodies))
        })()
        .ok_or_else(|| crate::Error::Malformed("no split block".into()))?;
        let heads = DecodedBlock::parse(heads, BlockKind::Heads)?;
        let bodies = DecodedBlock::parse_bodies(bodies, heads.row_count())?;
        all_rows(&heads, Some(&bodies))
    };
    let joined = || {
        let heads = DecodedBlock::parse_joined(data.to_vec())?;
        all_rows(&heads, heads.joined_bodies().map(|b| &**b))
    };
    whole.or_else(|_| split()).or_else(|_| joined())
}

/// Checks and decompresses one on-disk (framed) block, for the fuzz target: as one part
/// (formats 1 and 2), else as a split block (format 3), returned as heads length u32 LE,
/// heads, bodies, else as a joined block (format 4), returned as its content (what
/// [`decode_block_for_fuzzing`] takes).
pub fn unframe_block_for_fuzzing(
    data: &[u8],
    max_uncompressed_bytes: usize,
) -> crate::Result<Vec<u8>> {
    use block_frame::{layout, unframe, Layout};
    unframe(data, max_uncompressed_bytes, None).or_else(|_| match layout(data)? {
        Layout::Split { heads, bodies } => {
            let heads = unframe(heads, max_uncompressed_bytes, None)?;
            let bodies = unframe(bodies, max_uncompressed_bytes, None)?;
            let mut out = (heads.len() as u32).to_le_bytes().to_vec();
            out.extend_from_slice(&heads);
            out.extend_from_slice(&bodies);
            Ok(out)
        }
        Layout::Joined(part) => unframe(part, max_uncompressed_bytes, None),
    })
}
