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
mod block_cache;
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
pub fn decode_block_for_fuzzing(data: &[u8]) -> crate::Result<Vec<crate::model::Row>> {
    let block = block::DecodedBlock::parse(data.to_vec())?;
    let mut rows = Vec::with_capacity(block.row_count());
    for i in 0..block.row_count() {
        block.clustering(i)?;
        block.head(i)?;
        rows.push(block.row(i)?);
    }
    Ok(rows)
}

/// Checks and decompresses one on-disk (framed) block, for the fuzz target.
pub fn unframe_block_for_fuzzing(
    data: &[u8],
    max_uncompressed_bytes: usize,
) -> crate::Result<Vec<u8>> {
    block::unframe(data, max_uncompressed_bytes, None)
}
