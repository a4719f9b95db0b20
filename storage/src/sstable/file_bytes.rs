//! Where an open SSTable's bytes come from.
//!
//! An unmirrored engine maps the file: the kernel pages it in, and nothing is copied. A
//! mirrored engine must not: when the local disk fails under a mapping, a read of it is a
//! SIGBUS (or silently different bytes), and no second copy can answer. There the
//! metadata at the end of the file (block table, partition index, filter, stats,
//! dictionary, footer: a small fraction of the file) is read into memory at open, and each
//! data block is read on demand through the I/O layer's
//! [`FileIo::read_checked`](crate::io::FileIo::read_checked), which
//! verifies the block and, in the mirror, reads the mirror's copy of a block whose local
//! read or checksum failed. The engine's block cache keeps hot blocks from being read again.

use memmap2::Mmap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::Io;

use super::footer::{check_header, Footer, Section, FOOTER_BYTES, HEADER_BYTES};

/// The bytes of one open SSTable file.
pub(super) enum TableBytes {
    /// The whole file, memory-mapped.
    Mapped(Mmap),
    /// The metadata in memory, data blocks read through the I/O layer.
    Read(ReadBytes),
}

/// A file read through the I/O layer; see the module documentation.
pub(super) struct ReadBytes {
    pub io: Io,
    pub file: File,
    len: usize,
    /// File offset of `tail`'s first byte: the first metadata section.
    tail_start: usize,
    /// From `tail_start` to the end of the file, sections checksum-verified.
    tail: Vec<u8>,
}

impl TableBytes {
    /// Maps `file` and checks its size and header (`Sstable::load` checks the rest).
    pub fn map(file: &File, path: &Path) -> Result<TableBytes> {
        // SAFETY: SSTables are immutable once renamed into place and never truncated while
        // open; every byte read from the map is still bounds- and checksum-checked.
        let map = unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))?;
        check_size(map.len(), path)?;
        check_header(&map, path)?;
        Ok(TableBytes::Mapped(map))
    }

    pub fn len(&self) -> usize {
        match self {
            TableBytes::Mapped(map) => map.len(),
            TableBytes::Read(r) => r.len,
        }
    }

    /// The bytes of `range`, if they are at hand: anywhere in a map; only in the metadata
    /// (the sections and the footer) for a read file.
    pub fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        match self {
            TableBytes::Mapped(map) => map.get(range),
            // An empty section may sit anywhere in the file.
            TableBytes::Read(r) if range.is_empty() => (range.start <= r.len).then_some(&[]),
            TableBytes::Read(r) => {
                let start = range.start.checked_sub(r.tail_start)?;
                let end = range.end.checked_sub(r.tail_start)?;
                r.tail.get(start..end)
            }
        }
    }
}

impl ReadBytes {
    /// Reads and checks the header, the footer and every metadata section of `file` through
    /// `io` (each read answered from the mirror's copy where the local one fails).
    pub fn open(io: &Io, file: File, path: &Path) -> Result<ReadBytes> {
        let len = usize::try_from(file.metadata().map_err(|e| Error::io(path, e))?.len())
            .map_err(|_| Error::corruption(path, 0, "file too large for this platform"))?;
        check_size(len, path)?;
        read_checked(io, &file, path, 0, HEADER_BYTES, &mut |b| {
            check_header(b, path).map_err(|e| e.to_string())
        })?;
        let footer_at = len - FOOTER_BYTES;
        let mut footer = None;
        read_checked(io, &file, path, footer_at, FOOTER_BYTES, &mut |b| {
            footer = Some(Footer::decode(b, path, footer_at as u64).map_err(|e| e.to_string())?);
            Ok(())
        })?;
        let footer =
            footer.ok_or_else(|| Error::corruption(path, footer_at as u64, "no footer"))?;
        let tail_start = sections(&footer)
            .iter()
            .filter(|(s, _)| s.len > 0)
            .map(|(s, _)| s.offset)
            .chain([footer_at as u64])
            .min()
            .and_then(|o| usize::try_from(o).ok())
            .filter(|&o| o >= HEADER_BYTES && o <= footer_at)
            .ok_or_else(|| {
                Error::corruption(path, footer_at as u64, "sections outside the file")
            })?;
        let mut tail = Vec::new();
        read_checked(io, &file, path, tail_start, len - tail_start, &mut |b| {
            check_sections(&footer, tail_start, b)?;
            tail = b.to_vec();
            Ok(())
        })?;
        Ok(ReadBytes {
            io: io.clone(),
            file,
            len,
            tail_start,
            tail,
        })
    }

    /// Reads `len` bytes at `offset` and passes them to `check` (see
    /// [`FileIo::read_checked`](crate::io::FileIo::read_checked)); an error names `path`.
    pub fn read_checked(
        &self,
        path: &Path,
        offset: usize,
        len: usize,
        check: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        read_checked(&self.io, &self.file, path, offset, len, check)
    }
}

fn check_size(size: usize, path: &Path) -> Result<()> {
    if size < HEADER_BYTES + FOOTER_BYTES {
        return Err(Error::corruption(
            path,
            0,
            format!("file of {size} bytes is too short to be an SSTable"),
        ));
    }
    Ok(())
}

fn sections(f: &Footer) -> [(&Section, &'static str); 5] {
    [
        (&f.block_table, "block table"),
        (&f.partition_index, "partition index"),
        (&f.filter, "filter"),
        (&f.stats, "stats"),
        (&f.dictionary, "dictionary"),
    ]
}

/// Every section of `footer` lies in `tail` (file bytes from `tail_start`) and matches its
/// checksum.
fn check_sections(
    footer: &Footer,
    tail_start: usize,
    tail: &[u8],
) -> std::result::Result<(), String> {
    for (s, name) in sections(footer).into_iter().filter(|(s, _)| s.len > 0) {
        let bytes = usize::try_from(s.offset)
            .ok()
            .and_then(|o| o.checked_sub(tail_start))
            .zip(usize::try_from(s.len).ok())
            .and_then(|(o, l)| tail.get(o..o.checked_add(l)?))
            .ok_or_else(|| format!("{name} section out of the file"))?;
        if crc32fast::hash(bytes) != s.crc {
            return Err(format!("{name} section checksum mismatch"));
        }
    }
    Ok(())
}

fn read_checked(
    io: &Io,
    file: &File,
    path: &Path,
    offset: usize,
    len: usize,
    check: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
) -> Result<()> {
    io.read_checked(file, path, offset as u64, len, check)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                Error::corruption(path, offset as u64, e.to_string())
            }
            _ => Error::io(path, e),
        })
}
