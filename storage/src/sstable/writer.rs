//! Writes one SSTable from partitions given in ring order.
//!
//! The file is written under a temporary name beside its final path and renamed into place
//! by [`SstableWriter::finish`] after an fsync, then the directory is fsynced: a crash
//! leaves either no table at `path` or a complete one. A writer dropped unfinished removes
//! its temporary file.

use bytes::Bytes;
use std::borrow::Borrow;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{self, Io, SyncKind};
use crate::model::{DecoratedKey, DeletionTime, RangeTombstone, Row};

use super::block_builder::{BlockBuilder, SplitBlock};
use super::block_frame::{frame_joined, frame_split};
use super::clustering_index::Span;
use super::footer::{encode_header, Footer, Section, FORMAT_VERSION, HEADER_BYTES};
use super::partition_index::{encode_entry, PartitionIndex};
use super::stats::SstableStats;
use super::{dictionary, filter};

/// Bytes buffered before a write is handed to the I/O backend.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// zstd level of a split block's heads frame, whatever the table's level: a negative level
/// stores literals without Huffman coding, so a cold block's heads decompress without
/// building entropy tables (a cost that dominated these small frames on the live read path).
const HEADS_ZSTD_LEVEL: i32 = -5;

/// What the block being written holds: the partitions (numbered in write order) of its
/// first and last rows, and whether its first row continues a partition begun earlier.
#[derive(Clone, Copy, Debug, Default)]
struct BlockContents {
    first_partition: usize,
    last_partition: usize,
    starts_inside_partition: bool,
}

impl BlockContents {
    /// Whether the block is a piece of one large partition (one that has rows in other
    /// blocks, or fills this one), so it is written split: there a walk can step over a
    /// long run of shadowed rows reading heads only. Any other block (small partitions,
    /// read whole) is joined: a cold read of it decompresses one frame, not two. `full`:
    /// the block was cut for its size inside a partition.
    fn inside_large_partition(&self, full: bool) -> bool {
        self.first_partition == self.last_partition && (self.starts_inside_partition || full)
    }
}

/// How an SSTable is written.
#[derive(Clone, Debug)]
pub struct SstableWriterOptions {
    /// A block is cut once its uncompressed size reaches this.
    pub block_size_bytes: usize,
    /// A block already this large when a partition ends is cut there rather than filled
    /// with the next partition's rows (0: never). A cold read of a small partition then
    /// decompresses less of its neighbours: the sparse channel's read of ten buckets pays
    /// ten cold blocks, and their decompression is most of its time.
    pub partition_cut_bytes: usize,
    pub zstd_level: i32,
    /// Target false-positive rate of the partition bloom filter.
    pub bloom_fp_rate: f64,
}

impl Default for SstableWriterOptions {
    fn default() -> Self {
        SstableWriterOptions {
            block_size_bytes: 4 * 1024,
            partition_cut_bytes: 512,
            zstd_level: 3,
            bloom_fp_rate: 0.01,
        }
    }
}

/// Writes one SSTable; see the module documentation.
pub struct SstableWriter {
    path: PathBuf,
    tmp_path: PathBuf,
    /// `None` once finished; the temporary file is removed on drop while it is `Some`.
    file: Option<File>,
    io: Io,
    /// Bytes not yet handed to `io`; written out in `WRITE_BUFFER_BYTES` pieces.
    pending: Vec<u8>,
    /// File offset where `pending` starts.
    pending_at: u64,
    opts: SstableWriterOptions,
    offset_bytes: u64,
    block: BlockBuilder,
    /// Blocks cut so far (written or waiting in `sample_blocks`): the next block's number.
    blocks_cut: u64,
    /// Leading uncompressed blocks kept until the dictionary is trained on them.
    sample_blocks: Vec<SplitBlock>,
    sample_bytes: usize,
    /// Set once the dictionary is decided (trained or not); blocks then go straight out.
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// Compresses the row heads, never with the dictionary: trained on message text, it
    /// made the heads (keys, timestamps, offsets) compress to 1.3-1.8x the bytes.
    heads_compressor: zstd::bulk::Compressor<'static>,
    dictionary: Vec<u8>,
    /// File offset of every written block.
    block_offsets: Vec<u64>,
    /// What the current block holds, to choose its layout when it is cut.
    block_contents: BlockContents,
    /// Uncompressed content of a joined block, reused.
    joined_scratch: Vec<u8>,
    max_block_uncompressed_bytes: u32,
    index_entries: Vec<u8>,
    index_offsets: Vec<u64>,
    last_key: Option<DecoratedKey>,
    min_token: i64,
    max_token: i64,
    stats: SstableStats,
}

impl SstableWriter {
    /// Writes to a temporary name beside `path`; nothing appears at `path` until finish.
    /// Writes with plain file I/O; see [`SstableWriter::create_with_io`].
    pub fn create(
        path: &Path,
        opts: SstableWriterOptions,
        expected_partitions: usize,
    ) -> Result<Self> {
        Self::create_with_io(io::plain(), path, opts, expected_partitions)
    }

    /// [`SstableWriter::create`] writing (and fsyncing) through the I/O backend `io`.
    pub fn create_with_io(
        io: Io,
        path: &Path,
        opts: SstableWriterOptions,
        expected_partitions: usize,
    ) -> Result<Self> {
        let tmp_path = temp_path(path);
        let heads_compressor =
            zstd::bulk::Compressor::new(HEADS_ZSTD_LEVEL).map_err(|e| Error::io(&tmp_path, e))?;
        let file = io
            .create_file(&tmp_path, false)
            .map_err(|e| Error::io(&tmp_path, e))?;
        let mut pending = Vec::with_capacity(WRITE_BUFFER_BYTES + opts.block_size_bytes);
        pending.extend_from_slice(&encode_header());
        Ok(SstableWriter {
            path: path.to_path_buf(),
            tmp_path,
            file: Some(file),
            io,
            pending,
            pending_at: 0,
            block: BlockBuilder::new(opts.block_size_bytes),
            opts,
            offset_bytes: HEADER_BYTES as u64,
            blocks_cut: 0,
            sample_blocks: Vec::new(),
            sample_bytes: 0,
            compressor: None,
            heads_compressor,
            dictionary: Vec::new(),
            block_offsets: Vec::new(),
            block_contents: BlockContents::default(),
            joined_scratch: Vec::new(),
            max_block_uncompressed_bytes: 0,
            index_entries: Vec::with_capacity(expected_partitions.min(1 << 20) * 32),
            index_offsets: Vec::with_capacity(expected_partitions.min(1 << 20)),
            last_key: None,
            min_token: i64::MAX,
            max_token: i64::MIN,
            stats: SstableStats::default(),
        })
    }

    /// Partitions must come in DecoratedKey order; rows sorted by clustering, unique.
    pub fn add_partition(
        &mut self,
        key: &DecoratedKey,
        deletion: Option<DeletionTime>,
        range_tombstones: &[RangeTombstone],
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<()> {
        self.add_partition_rows(key, deletion, range_tombstones, rows)
    }

    /// [`SstableWriter::add_partition`] with borrowed rows: a flush writes the memtable's
    /// rows without cloning them.
    pub fn add_partition_borrowed<'r>(
        &mut self,
        key: &DecoratedKey,
        deletion: Option<DeletionTime>,
        range_tombstones: &[RangeTombstone],
        rows: impl IntoIterator<Item = &'r Row>,
    ) -> Result<()> {
        self.add_partition_rows(key, deletion, range_tombstones, rows)
    }

    fn add_partition_rows<R: Borrow<Row>>(
        &mut self,
        key: &DecoratedKey,
        deletion: Option<DeletionTime>,
        range_tombstones: &[RangeTombstone],
        rows: impl IntoIterator<Item = R>,
    ) -> Result<()> {
        if self.last_key.as_ref().is_some_and(|last| last >= key) {
            return Err(Error::InvalidRequest(format!(
                "SSTable partitions out of order: {key:?} after {:?}",
                self.last_key
            )));
        }
        let mut spans: Vec<Span> = Vec::new();
        // The previous row: the order check, and the last key of a span when it closes
        // (keys are cloned once per span, not once per row).
        let mut prev: Option<R> = None;
        for item in rows {
            let row = item.borrow();
            if let Some(p) = &prev {
                if p.borrow().clustering >= row.clustering {
                    return Err(Error::InvalidRequest(format!(
                        "SSTable rows out of order or duplicated in partition {key:?}"
                    )));
                }
            }
            self.stats.add_row(row);
            let block_no = self.blocks_cut;
            let row_in_block = self.block.row_count() as u32;
            // This partition's number: its index entry is pushed after its rows.
            let partition = self.index_offsets.len();
            if self.block.is_empty() {
                self.block_contents = BlockContents {
                    first_partition: partition,
                    last_partition: partition,
                    starts_inside_partition: prev.is_some(),
                };
            }
            self.block_contents.last_partition = partition;
            self.block.add(row)?;
            match spans.last_mut() {
                Some(s) if s.block == block_no => s.row_count += 1,
                last => {
                    if let (Some(s), Some(p)) = (last, &prev) {
                        s.last_key = p.borrow().clustering.clone();
                    }
                    spans.push(Span {
                        block: block_no,
                        first_row: row_in_block,
                        row_count: 1,
                        first_key: row.clustering.clone(),
                        last_key: Bytes::new(),
                    });
                }
            }
            prev = Some(item);
            if self.block.size_bytes() >= self.opts.block_size_bytes {
                self.flush_block(true)?;
            }
        }
        if let (Some(s), Some(p)) = (spans.last_mut(), &prev) {
            s.last_key = p.borrow().clustering.clone();
        }
        let cut_here = self.opts.partition_cut_bytes > 0
            && self.block.size_bytes() >= self.opts.partition_cut_bytes;
        self.stats
            .add_partition(deletion.as_ref(), range_tombstones);
        self.index_offsets.push(self.index_entries.len() as u64);
        encode_entry(
            &mut self.index_entries,
            key,
            deletion.as_ref(),
            range_tombstones,
            &spans,
        );
        self.min_token = self.min_token.min(key.token);
        self.max_token = self.max_token.max(key.token);
        self.last_key = Some(key.clone());
        if cut_here {
            self.flush_block(false)?;
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        self.offset_bytes += bytes.len() as u64;
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Hands the buffered bytes to the I/O backend.
    fn write_pending(&mut self) -> Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| Error::InvalidRequest("SSTable writer already finished".into()))?;
        self.io
            .write_all_at(file, &self.pending, self.pending_at)
            .map_err(|e| Error::io(&self.tmp_path, e))?;
        self.pending_at += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Cuts the current block; `full` when it reached the block size inside a partition.
    fn flush_block(&mut self, full: bool) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let mut raw = self.block.take();
        raw.joined = !self.block_contents.inside_large_partition(full);
        let len = u32::try_from(raw.max_part_bytes())
            .map_err(|_| Error::InvalidRequest("SSTable block larger than 4 GiB".into()))?;
        self.max_block_uncompressed_bytes = self.max_block_uncompressed_bytes.max(len);
        self.blocks_cut += 1;
        if self.compressor.is_none() {
            self.sample_bytes += raw.heads.len() + raw.bodies.len();
            self.sample_blocks.push(raw);
            if self.sample_bytes >= dictionary::SAMPLE_BYTES {
                self.start_compressing()?;
            }
            return Ok(());
        }
        self.write_block(&raw)
    }

    /// Compresses with `dictionary` (the zstd dictionary of an earlier SSTable of the same
    /// table) instead of training one: training costs about as much CPU as compressing a
    /// few hundred blocks, and a table's vocabulary changes slowly, so a flush reuses the
    /// dictionary of the table's newest SSTable. Must be called before the first row.
    pub fn reuse_dictionary(&mut self, dictionary: &[u8]) -> Result<()> {
        if self.blocks_cut > 0 || !self.block.is_empty() || self.compressor.is_some() {
            return Err(Error::InvalidRequest(
                "SSTable dictionary must be chosen before the first row".into(),
            ));
        }
        if dictionary.is_empty() {
            return Ok(());
        }
        let compressor = zstd::bulk::Compressor::with_dictionary(self.opts.zstd_level, dictionary)
            .map_err(|e| Error::io(&self.tmp_path, e))?;
        self.dictionary = dictionary.to_vec();
        self.compressor = Some(compressor);
        Ok(())
    }

    /// Trains the dictionary on the buffered blocks and writes them out.
    fn start_compressing(&mut self) -> Result<()> {
        let samples = std::mem::take(&mut self.sample_blocks);
        self.sample_bytes = 0;
        // Trained on the bodies, where the text is: the heads (keys and timestamps) gain
        // little from a dictionary, and their many small samples would crowd the text out.
        let bodies: Vec<&[u8]> = samples.iter().map(|b| &b.bodies[..]).collect();
        self.dictionary = dictionary::train(&bodies).unwrap_or_default();
        let level = self.opts.zstd_level;
        let compressor = if self.dictionary.is_empty() {
            zstd::bulk::Compressor::new(level)
        } else {
            zstd::bulk::Compressor::with_dictionary(level, &self.dictionary)
        }
        .map_err(|e| Error::io(&self.tmp_path, e))?;
        self.compressor = Some(compressor);
        for raw in &samples {
            self.write_block(raw)?;
        }
        Ok(())
    }

    fn write_block(&mut self, raw: &SplitBlock) -> Result<()> {
        let compressor = self
            .compressor
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("SSTable compressor not ready".into()))?;
        let framed = if raw.joined {
            frame_joined(
                &raw.heads,
                &raw.bodies,
                compressor,
                &mut self.joined_scratch,
            )
        } else {
            frame_split(
                &raw.heads,
                &mut self.heads_compressor,
                &raw.bodies,
                compressor,
            )
        }
        .map_err(|e| Error::io(&self.tmp_path, e))?;
        self.block_offsets.push(self.offset_bytes);
        self.write(&framed)
    }

    fn write_section(&mut self, bytes: &[u8]) -> Result<Section> {
        let section = Section {
            offset: self.offset_bytes,
            len: bytes.len() as u64,
            crc: crc32fast::hash(bytes),
        };
        self.write(bytes)?;
        Ok(section)
    }

    /// Writes index, filter, stats, footer; fsyncs the file, renames it to `path`, fsyncs
    /// the directory.
    pub fn finish(mut self) -> Result<SstableStats> {
        self.flush_block(false)?;
        if self.compressor.is_none() {
            self.start_compressing()?;
        }
        // Block table: each block's offset, then the end of the last block.
        let mut table = Vec::with_capacity(8 * (self.block_offsets.len() + 1));
        for o in self.block_offsets.iter().chain([&self.offset_bytes]) {
            table.extend_from_slice(&o.to_le_bytes());
        }
        let block_table = self.write_section(&table)?;

        let mut index = std::mem::take(&mut self.index_entries);
        for o in &self.index_offsets {
            index.extend_from_slice(&o.to_le_bytes());
        }
        let partition_index = self.write_section(&index)?;

        // Built now rather than on the fly: the exact partition count sizes it.
        let count = self.index_offsets.len();
        let view = PartitionIndex::new(&index, count as u64)?;
        let filter_bytes = filter::build(view.keys(), count, self.opts.bloom_fp_rate)?;
        let filter = self.write_section(&filter_bytes)?;

        let stats_section = self.write_section(&self.stats.encode())?;
        let dictionary = std::mem::take(&mut self.dictionary);
        let dictionary = self.write_section(&dictionary)?;
        let footer = Footer {
            block_table,
            partition_index,
            filter,
            stats: stats_section,
            dictionary,
            partition_count: count as u64,
            block_count: self.block_offsets.len() as u64,
            max_block_uncompressed_bytes: self.max_block_uncompressed_bytes,
            min_token: self.min_token,
            max_token: self.max_token,
            version: FORMAT_VERSION,
        };
        self.write(&footer.encode())?;
        // The last bytes go out with the fsync (one linked submission with io_uring).
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::InvalidRequest("SSTable writer already finished".into()))?;
        // From here the writer no longer owns the file: clean up the temporary by hand.
        let published = self
            .io
            .write_all_at_and_sync(&file, &self.pending, self.pending_at, SyncKind::All)
            .map_err(|e| Error::io(&self.tmp_path, e))
            .and_then(|()| {
                drop(file);
                self.io
                    .rename(&self.tmp_path, &self.path)
                    .map_err(|e| Error::io(&self.path, e))
            });
        if let Err(e) = published {
            let _ = self.io.remove_file(&self.tmp_path);
            return Err(e);
        }
        self.pending = Vec::new();
        let dir = parent_dir(&self.path);
        self.io.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for SstableWriter {
    fn drop(&mut self) {
        // Unfinished (error or abandoned): leave nothing behind. Best effort.
        if self.file.take().is_some() {
            let _ = self.io.remove_file(&self.tmp_path);
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}
