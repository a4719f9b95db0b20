//! A bounded cache of decompressed data blocks, shared by the SSTables of one engine.
//!
//! The newest-50 read of a hot channel hits the same one or two blocks again and again;
//! without a cache every read paid a CRC check, a zstd decompression and a parse of the row
//! offsets for them. Entries are keyed by the SSTable's generation (unique within an
//! engine, never reused) and the block's number in it, weighted by their decompressed size,
//! and evicted by `quick_cache`'s scan-resistant CLOCK policy (LRU-ish: a one-off scan such
//! as a compaction does not push out the hot blocks). An SSTable evicts its own entries
//! when it is dropped, which is when a compaction or a table drop removes it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::block::DecodedBlock;

/// Where a block lives: the SSTable generation and the block's number in that file (not its
/// offset: a hit then needs no look at the file's block table). The row bodies of a split
/// block (format 3) are an entry of their own, its number with the top bit set: a walk
/// over shadowed rows caches only the heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    pub generation: u64,
    pub block: u64,
}

const BODIES_BIT: u64 = 1 << 63;

impl BlockKey {
    pub fn new(generation: u64, block: u64, bodies: bool) -> Self {
        BlockKey {
            generation,
            block: if bodies { block | BODIES_BIT } else { block },
        }
    }
}

#[derive(Clone)]
struct BlockWeighter;

impl Weighter<BlockKey, Arc<DecodedBlock>> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Arc<DecodedBlock>) -> u64 {
        block.memory_bytes() as u64
    }
}

/// Counters of a [`BlockCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Decompressed bytes held now.
    pub bytes: u64,
    pub capacity_bytes: u64,
}

/// Decompressed blocks of one engine's SSTables; see the module documentation.
pub struct BlockCache {
    blocks: Cache<BlockKey, Arc<DecodedBlock>, BlockWeighter>,
    capacity_bytes: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Typical decompressed block size, to size the cache's hash table.
const TYPICAL_BLOCK_BYTES: u64 = 16 * 1024;

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of decompressed blocks (at least 1).
    pub fn new(capacity_bytes: u64) -> Arc<BlockCache> {
        let capacity_bytes = capacity_bytes.max(1);
        let items = (capacity_bytes / TYPICAL_BLOCK_BYTES).clamp(16, 1 << 20) as usize;
        Arc::new(BlockCache {
            blocks: Cache::with_weighter(items, capacity_bytes, BlockWeighter),
            capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    pub(crate) fn get(&self, key: &BlockKey) -> Option<Arc<DecodedBlock>> {
        let found = self.blocks.get(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(&self, key: BlockKey, block: Arc<DecodedBlock>) {
        self.blocks.insert(key, block);
    }

    /// Drops every block of SSTable `generation` (called when the SSTable goes away).
    pub fn evict_generation(&self, generation: u64) {
        self.blocks.retain(|k, _| k.generation != generation);
    }

    pub fn stats(&self) -> BlockCacheStats {
        BlockCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.blocks.weight(),
            capacity_bytes: self.capacity_bytes,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Row;
    use crate::sstable::block::BlockKind;
    use crate::sstable::block_builder::BlockBuilder;
    use bytes::Bytes;

    fn block(rows: u8) -> Arc<DecodedBlock> {
        let mut b = BlockBuilder::new(1024);
        for i in 0..rows {
            b.add(&Row::new(Bytes::from(vec![i; 100]))).unwrap();
        }
        Arc::new(DecodedBlock::parse(b.take().heads, BlockKind::Heads).unwrap())
    }

    #[test]
    fn hits_misses_eviction_and_bound() {
        let cache = BlockCache::new(64 * 1024);
        let k = |generation, block| BlockKey::new(generation, block, false);
        assert!(cache.get(&k(1, 0)).is_none());
        cache.insert(k(1, 0), block(10));
        cache.insert(k(2, 0), block(10));
        assert!(cache.get(&k(1, 0)).is_some());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (1, 1));
        cache.insert(BlockKey::new(1, 0, true), block(10));
        assert!(cache.get(&BlockKey::new(1, 0, true)).is_some());
        cache.evict_generation(1);
        assert!(cache.get(&k(1, 0)).is_none());
        assert!(cache.get(&BlockKey::new(1, 0, true)).is_none());
        assert!(cache.get(&k(2, 0)).is_some());
        for n in 0..1000 {
            cache.insert(k(3, n), block(10));
        }
        assert!(cache.stats().bytes <= 64 * 1024, "{:?}", cache.stats());
    }
}
