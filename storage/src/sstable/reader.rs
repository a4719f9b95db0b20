//! Opens an SSTable and finds partitions in it.
//!
//! Opening checks the header, the footer and every section's CRC and loads only the bloom
//! filter and the stats; the partition index and the clustering indexes are searched in
//! place (in the memory map, or in the metadata a mirrored engine reads into memory: see
//! `file_bytes.rs`). Data blocks are checked and decompressed when a read reaches them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{DecoratedKey, DeletionTime, Direction, RangeTombstone, Slice};

use super::block::{BlockKind, DecodedBlock};
use super::block_cache::{BlockCache, BlockKey};
use super::block_frame::{layout, unframe, unframe_with_spare, Layout};
use super::clustering_index::ClusteringIndex;
use super::file_bytes::{ReadBytes, TableBytes};
use super::filter::{self, Filter, KeyHash};
use super::footer::{read_u64, Footer, Section, FOOTER_BYTES, HEADER_BYTES, SPLIT_BLOCKS_VERSION};
use super::partition_index::{PartitionIndex, TokenIndex};
use super::row_iter::RowIter;
use super::stats::SstableStats;
use crate::io::Io;

/// One open, immutable SSTable. Shared as `Arc<Sstable>`.
pub struct Sstable {
    path: PathBuf,
    bytes: TableBytes,
    footer: Footer,
    stats: SstableStats,
    filter: Filter,
    dictionary: Option<zstd::dict::DecoderDictionary<'static>>,
    blocks_read: AtomicU64,
    /// Token of every partition index entry, for a cache-friendly binary search.
    tokens: TokenIndex,
    /// The engine's block cache and this table's generation, its key there.
    cache: Option<(Arc<BlockCache>, u64)>,
}

impl Drop for Sstable {
    fn drop(&mut self) {
        // The last reference goes when a compaction or a table drop removes the table:
        // its blocks must not take cache room any longer.
        if let Some((cache, generation)) = &self.cache {
            cache.evict_generation(*generation);
        }
    }
}

impl std::fmt::Debug for Sstable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sstable")
            .field("path", &self.path)
            .field("file_size", &self.bytes.len())
            .field("partitions", &self.footer.partition_count)
            .finish()
    }
}

impl Sstable {
    /// Checks magic, version, footer and section checksums; builds nothing large in memory.
    /// Blocks are decompressed on every read (no cache); see [`Sstable::open_cached`].
    pub fn open(path: &Path) -> Result<Arc<Sstable>> {
        Self::open_with(path, None)
    }

    /// Like [`Sstable::open`], keeping decompressed blocks in `cache` under `generation`,
    /// which must be unique among the tables sharing the cache.
    pub fn open_cached(
        path: &Path,
        cache: &Arc<BlockCache>,
        generation: u64,
    ) -> Result<Arc<Sstable>> {
        Self::open_with(path, Some((Arc::clone(cache), generation)))
    }

    fn open_with(path: &Path, cache: Option<(Arc<BlockCache>, u64)>) -> Result<Arc<Sstable>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::open_file(file, path, cache)
    }

    /// Like [`Sstable::open_cached`] (or `open` without a cache) on an already opened
    /// `file`, which `path` names in errors, through a memory map.
    pub fn open_file(
        file: File,
        path: &Path,
        cache: Option<(Arc<BlockCache>, u64)>,
    ) -> Result<Arc<Sstable>> {
        Self::load(TableBytes::map(&file, path)?, path, cache)
    }

    /// Opens the SSTable at `path` the way the engine's I/O layer `io` wants it read: a
    /// memory map for a single disk, or positioned reads through `io` when it mirrors
    /// ([`crate::io::FileIo::positioned_reads`]), so that every read of the table can be
    /// answered from the mirror's copy when the local one fails. A local copy that cannot
    /// be opened, or whose header, footer or sections are damaged, is replaced by the
    /// mirror's copy for the whole table; both damaged is an error naming `path`.
    pub fn open_io(
        io: &Io,
        path: &Path,
        cache: Option<(Arc<BlockCache>, u64)>,
    ) -> Result<Arc<Sstable>> {
        let file = io.open_read(path).map_err(|e| Error::io(path, e))?;
        if !io.positioned_reads() {
            return Self::open_file(file, path, cache);
        }
        let local = ReadBytes::open(io, file, path);
        let bytes = match local {
            Ok(b) => b,
            Err(local_err) => match io.open_other_copy(path, &local_err.to_string()) {
                Some(Ok(other)) => ReadBytes::open(io, other, path).map_err(|other_err| {
                    Error::corruption(
                        path,
                        0,
                        format!(
                            "both copies are damaged: local: {local_err}; mirror copy: {other_err}"
                        ),
                    )
                })?,
                _ => return Err(local_err),
            },
        };
        Self::load(TableBytes::Read(bytes), path, cache)
    }

    /// Opens this table again, read the same way, without the block cache: a compaction
    /// reads its inputs through such a copy so as not to evict the hot blocks.
    pub fn reopen_uncached(&self) -> Result<Arc<Sstable>> {
        match &self.bytes {
            TableBytes::Mapped(_) => Self::open(&self.path),
            TableBytes::Read(r) => Self::open_io(&r.io, &self.path, None),
        }
    }

    /// Parses the footer and checks the sections of a file whose header was checked.
    fn load(
        bytes: TableBytes,
        path: &Path,
        cache: Option<(Arc<BlockCache>, u64)>,
    ) -> Result<Arc<Sstable>> {
        let size = bytes.len();
        let footer_at = size - FOOTER_BYTES;
        let footer = Footer::decode(
            bytes.get(footer_at..size).unwrap_or_default(),
            path,
            footer_at as u64,
        )?;
        let section = |s: &Section, name: &str| -> Result<&[u8]> {
            let range = usize::try_from(s.offset)
                .ok()
                .zip(usize::try_from(s.len).ok())
                .and_then(|(o, l)| Some(o..o.checked_add(l)?))
                .filter(|r| r.start >= HEADER_BYTES && r.end <= footer_at)
                .and_then(|r| bytes.get(r))
                .ok_or_else(|| {
                    Error::corruption(path, s.offset, format!("{name} section out of the file"))
                })?;
            if crc32fast::hash(range) != s.crc {
                return Err(Error::corruption(
                    path,
                    s.offset,
                    format!("{name} section checksum mismatch"),
                ));
            }
            Ok(range)
        };
        let table = section(&footer.block_table, "block table")?;
        let expected_table = footer
            .block_count
            .checked_add(1)
            .and_then(|n| n.checked_mul(8));
        if expected_table != Some(table.len() as u64) {
            return Err(Error::corruption(
                path,
                footer.block_table.offset,
                "block table length does not match the block count",
            ));
        }
        let index = section(&footer.partition_index, "partition index")?;
        let tokens = PartitionIndex::new(index, footer.partition_count)
            .and_then(|index| index.tokens())
            .map(TokenIndex::new)
            .map_err(|e| e.at(path, footer.partition_index.offset))?;
        let filter = filter::load(section(&footer.filter, "filter")?)
            .map_err(|e| e.at(path, footer.filter.offset))?;
        let stats = SstableStats::decode(section(&footer.stats, "stats")?)
            .map_err(|e| e.at(path, footer.stats.offset))?;
        let dictionary_bytes = section(&footer.dictionary, "dictionary")?;
        let dictionary = if dictionary_bytes.is_empty() {
            None
        } else {
            // `DecoderDictionary::copy` panics on a dictionary zstd rejects; loading it into
            // a decompressor first turns that into an error.
            zstd::bulk::Decompressor::with_dictionary(dictionary_bytes).map_err(|e| {
                Error::corruption(
                    path,
                    footer.dictionary.offset,
                    format!("bad dictionary: {e}"),
                )
            })?;
            Some(zstd::dict::DecoderDictionary::copy(dictionary_bytes))
        };
        Ok(Arc::new(Sstable {
            path: path.to_path_buf(),
            bytes,
            footer,
            stats,
            filter,
            dictionary,
            blocks_read: AtomicU64::new(0),
            tokens,
            cache,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file_size(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn stats(&self) -> &SstableStats {
        &self.stats
    }

    /// Cumulative count of data blocks reads reached in this table, from the block cache or
    /// decompressed: the measure of how much of the table a read touched.
    pub fn blocks_read(&self) -> u64 {
        self.blocks_read.load(Ordering::Relaxed)
    }

    /// The zstd dictionary the blocks were compressed with (empty for none).
    pub fn dictionary_bytes(&self) -> &[u8] {
        self.section_bytes(&self.footer.dictionary)
    }

    pub fn partition_count(&self) -> u64 {
        self.footer.partition_count
    }

    /// Whether the table may hold `key`: token range, then the bloom filter.
    pub fn may_contain(&self, key: &DecoratedKey) -> bool {
        self.may_contain_hashed(key, &KeyHash::new(&key.key))
    }

    /// [`Sstable::may_contain`] with the key's filter hashes computed once for all tables.
    #[inline]
    pub fn may_contain_hashed(&self, key: &DecoratedKey, hash: &KeyHash) -> bool {
        self.footer.partition_count > 0
            && key.token >= self.footer.min_token
            && key.token <= self.footer.max_token
            && self.filter.check_hash(&key.key[..], hash)
    }

    fn section_bytes(&self, s: &Section) -> &[u8] {
        // Validated by `open`; an empty slice here would only produce a clean error later.
        usize::try_from(s.offset)
            .ok()
            .zip(usize::try_from(s.len).ok())
            .and_then(|(o, l)| self.bytes.get(o..o.checked_add(l)?))
            .unwrap_or_default()
    }

    fn index(&self) -> Result<PartitionIndex<'_>> {
        PartitionIndex::new(
            self.section_bytes(&self.footer.partition_index),
            self.footer.partition_count,
        )
        .map_err(|e| e.at(&self.path, self.footer.partition_index.offset))
    }

    fn reader_at<'s>(
        &'s self,
        index: &PartitionIndex<'s>,
        i: usize,
    ) -> Result<PartitionReader<'s>> {
        let e = index
            .entry(i)
            .map_err(|e| e.at(&self.path, self.footer.partition_index.offset))?;
        Ok(PartitionReader {
            table: self,
            key: e.key,
            deletion: e.deletion,
            range_tombstones: e.range_tombstones,
            clustering: e.clustering,
        })
    }

    /// The partition `key`, if the table holds it.
    pub fn partition(&self, key: &DecoratedKey) -> Result<Option<PartitionReader<'_>>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        self.find_partition(key)
    }

    /// [`Sstable::partition`] for a caller that asked the filter already.
    pub fn find_partition(&self, key: &DecoratedKey) -> Result<Option<PartitionReader<'_>>> {
        let index = self.index()?;
        match index
            .find_in(&self.tokens, key)
            .map_err(|e| e.at(&self.path, self.footer.partition_index.offset))?
        {
            Some(i) => self.reader_at(&index, i).map(Some),
            None => Ok(None),
        }
    }

    /// Partitions in ring order starting at `start` (inclusive or exclusive per flag).
    pub fn partitions_from(&self, start: Option<(&DecoratedKey, bool)>) -> PartitionIter<'_> {
        let first = match (self.index(), start) {
            (Ok(index), Some((key, inclusive))) => index
                .lower_bound(key, inclusive)
                .map_err(|e| e.at(&self.path, self.footer.partition_index.offset)),
            (Ok(_), None) => Ok(0),
            (Err(e), _) => Err(e),
        };
        match first {
            Ok(next) => PartitionIter {
                table: self,
                next,
                error: None,
            },
            Err(e) => PartitionIter {
                table: self,
                next: 0,
                error: Some(e),
            },
        }
    }

    /// Whether the data blocks are split into row heads and bodies (format 3 on).
    #[inline]
    pub(crate) fn split_blocks(&self) -> bool {
        self.footer.version >= SPLIT_BLOCKS_VERSION
    }

    /// Data block `block` as a walk reads it, from the block cache or read, checked and
    /// decompressed: the row heads of a split block, the heads carrying their bodies of a
    /// joined one (format 4), else (formats 1 and 2) the whole rows.
    pub(crate) fn read_block(&self, block: u64) -> Result<Arc<DecodedBlock>> {
        self.blocks_read.fetch_add(1, Ordering::Relaxed);
        let kind = if self.split_blocks() {
            BlockKind::Heads
        } else {
            BlockKind::Rows
        };
        self.cached_part(block, kind, 0)
    }

    /// The row bodies of split data block `block`, whose heads part has `row_count` rows
    /// (a row that survives a merge needs them).
    pub(crate) fn read_bodies(&self, block: u64, row_count: usize) -> Result<Arc<DecodedBlock>> {
        if !self.split_blocks() {
            return Err(self.corruption(
                Error::Malformed("row bodies asked of an unsplit block".into()),
                block,
            ));
        }
        self.cached_part(block, BlockKind::Bodies, row_count)
    }

    /// Part `kind` of `block`; `row_count` (the heads' count) only matters for bodies.
    fn cached_part(
        &self,
        block: u64,
        kind: BlockKind,
        row_count: usize,
    ) -> Result<Arc<DecodedBlock>> {
        // Keyed by block number, a hit costs no look at the block table (a cache miss of
        // its own on a cold read).
        let key = self.cache.as_ref().map(|(cache, generation)| {
            (
                cache,
                BlockKey::new(*generation, block, kind == BlockKind::Bodies),
            )
        });
        if let Some((cache, key)) = &key {
            if let Some(hit) = cache.get(key) {
                return Ok(hit);
            }
        }
        let (start, end) = self.block_range(block)?;
        let decoded = Arc::new(self.fetch_block(block, start, end, kind, row_count)?);
        if let Some((cache, key)) = key {
            cache.insert(key, Arc::clone(&decoded));
        }
        Ok(decoded)
    }

    /// Reads, checks and decompresses the part `kind` of the block at `start..end`: from
    /// the map, or through the I/O layer, which answers a failed local read or checksum
    /// from the mirror.
    fn fetch_block(
        &self,
        block: u64,
        start: usize,
        end: usize,
        kind: BlockKind,
        row_count: usize,
    ) -> Result<DecodedBlock> {
        let max = self.footer.max_block_uncompressed_bytes as usize;
        let dictionary = self.dictionary.as_ref();
        let decode = |framed: &[u8]| -> Result<DecodedBlock> {
            if kind == BlockKind::Rows {
                return DecodedBlock::parse(unframe(framed, max, dictionary)?, kind);
            }
            match layout(framed)? {
                // A split block's heads are compressed without the dictionary.
                Layout::Split { heads, .. } if kind == BlockKind::Heads => {
                    DecodedBlock::parse(unframe(heads, max, None)?, kind)
                }
                Layout::Split { bodies, .. } => {
                    let spare = row_count.saturating_mul(4).saturating_add(4);
                    let raw = unframe_with_spare(bodies, max, dictionary, spare)?;
                    DecodedBlock::parse_bodies(raw, row_count)
                }
                Layout::Joined(part) => {
                    let heads = DecodedBlock::parse_joined(unframe(part, max, dictionary)?)?;
                    match (kind, heads.joined_bodies()) {
                        (BlockKind::Bodies, Some(bodies)) => Ok(DecodedBlock::clone(bodies)),
                        _ => Ok(heads),
                    }
                }
            }
        };
        match &self.bytes {
            TableBytes::Mapped(map) => {
                let framed = map.get(start..end).ok_or_else(|| {
                    Error::corruption(
                        &self.path,
                        self.footer.block_table.offset,
                        format!("block {block} spans {start}..{end}, outside the data"),
                    )
                })?;
                decode(framed).map_err(|e| e.at(&self.path, start as u64))
            }
            TableBytes::Read(r) => {
                let mut out = None;
                r.read_checked(&self.path, start, end - start, &mut |framed| {
                    out = Some(decode(framed).map_err(|e| e.to_string())?);
                    Ok(())
                })?;
                out.ok_or_else(|| Error::corruption(&self.path, start as u64, "block not read"))
            }
        }
    }

    /// The file range of data block `block`, bounds-checked against the data area.
    fn block_range(&self, block: u64) -> Result<(usize, usize)> {
        let table = self.section_bytes(&self.footer.block_table);
        let bad = |offset: u64, why: String| Error::corruption(&self.path, offset, why);
        let at = usize::try_from(block)
            .ok()
            .and_then(|b| b.checked_mul(8))
            .ok_or_else(|| bad(self.footer.block_table.offset, format!("no block {block}")))?;
        let (start, end) = read_u64(table, at)
            .zip(at.checked_add(8).and_then(|n| read_u64(table, n)))
            .ok_or_else(|| bad(self.footer.block_table.offset, format!("no block {block}")))?;
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .filter(|(s, e)| {
                *s >= HEADER_BYTES && s < e && *e as u64 <= self.footer.block_table.offset
            })
            .ok_or_else(|| {
                bad(
                    self.footer.block_table.offset,
                    format!("block {block} spans {start}..{end}, outside the data"),
                )
            })
    }

    /// Where a decode error with no better location is reported: the partition index.
    pub(crate) fn index_offset(&self) -> u64 {
        self.footer.partition_index.offset
    }

    pub(crate) fn corruption(&self, e: Error, block: u64) -> Error {
        let table = self.section_bytes(&self.footer.block_table);
        let offset = usize::try_from(block)
            .ok()
            .and_then(|b| b.checked_mul(8))
            .and_then(|at| read_u64(table, at))
            .unwrap_or(0);
        e.at(&self.path, offset)
    }
}

/// One partition of an SSTable: its deletions, and its rows on demand.
pub struct PartitionReader<'a> {
    table: &'a Sstable,
    key: DecoratedKey,
    deletion: Option<DeletionTime>,
    range_tombstones: Vec<RangeTombstone>,
    clustering: ClusteringIndex<'a>,
}

impl<'a> PartitionReader<'a> {
    pub fn key(&self) -> &DecoratedKey {
        &self.key
    }

    pub fn deletion(&self) -> Option<DeletionTime> {
        self.deletion
    }

    pub fn range_tombstones(&self) -> &[RangeTombstone] {
        &self.range_tombstones
    }

    /// Rows within `slice`, forward (clustering order) or in reverse, block by block,
    /// decompressing only blocks that can hold rows of the slice.
    pub fn rows(&self, slice: &Slice, direction: Direction) -> RowIter<'a> {
        RowIter::new(self.table, self.clustering, slice.clone(), direction)
    }
}

/// Partitions in ring order; see [`Sstable::partitions_from`].
pub struct PartitionIter<'a> {
    table: &'a Sstable,
    next: usize,
    error: Option<Error>,
}

impl<'a> Iterator for PartitionIter<'a> {
    type Item = Result<PartitionReader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.next = usize::MAX;
            return Some(Err(e));
        }
        let index = match self.table.index() {
            Ok(i) => i,
            Err(e) => {
                self.next = usize::MAX;
                return Some(Err(e));
            }
        };
        if self.next >= index.len() {
            return None;
        }
        let i = self.next;
        let r = self.table.reader_at(&index, i);
        // A corrupt entry ends the scan: later offsets cannot be trusted in order.
        self.next = if r.is_ok() { i + 1 } else { usize::MAX };
        Some(r)
    }
}
