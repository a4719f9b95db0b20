//! The fixed-size file header and footer: magic, format version, and where each section is.
//!
//! The footer is at the very end of the file so a reader finds it from the file size alone;
//! its own CRC covers every field before it, so a bad byte in it is caught before any offset
//! in it is trusted.

use crate::error::{Error, Result};

/// Identifies a scrolldb SSTable, at the start and at the end of the file.
pub const MAGIC: [u8; 8] = *b"SCRLSST\x01";
/// The format version this build writes. Version 2 added each row's greatest data
/// timestamp (row flag 4), so reads can skip rows a tombstone shadows without decoding them;
/// version 3 splits each data block into its rows' heads and their bodies, two zstd frames,
/// so such a walk does not decompress the cells either (`block_frame.rs`); version 4 keeps
/// that split only for blocks of one partition's rows and stores a block of several
/// partitions (small ones, read whole) as one joined frame, one decompression per cold read.
pub const FORMAT_VERSION: u32 = 4;
/// The first version whose data blocks are split into heads and bodies.
pub const SPLIT_BLOCKS_VERSION: u32 = 3;
/// The oldest version this build reads: version 1 rows lack the stored timestamp, and the
/// reader derives it from their cells instead.
pub const OLDEST_READABLE_VERSION: u32 = 1;

fn readable(version: u32) -> bool {
    (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version)
}
/// Header: magic (8), version u32, reserved u32.
pub const HEADER_BYTES: usize = 16;
/// Footer: five section descriptors (20 bytes each), counts, tokens, version, crc, magic.
pub const FOOTER_BYTES: usize = SECTIONS * 20 + 8 + 8 + 4 + 8 + 8 + 4 + 4 + 8;

const SECTIONS: usize = 5;

/// Where one section is in the file and its CRC32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
}

/// Everything the footer records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footer {
    pub block_table: Section,
    pub partition_index: Section,
    pub filter: Section,
    pub stats: Section,
    /// zstd dictionary the blocks are compressed with; length 0 when there is none.
    pub dictionary: Section,
    pub partition_count: u64,
    pub block_count: u64,
    /// No block decompresses to more than this; caps decompression of a corrupt block.
    pub max_block_uncompressed_bytes: u32,
    pub min_token: i64,
    pub max_token: i64,
    /// The file's format version: [`FORMAT_VERSION`] for a file this build writes.
    pub version: u32,
}

pub fn encode_header() -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Checks the header's magic and version.
pub fn check_header(bytes: &[u8], file: &std::path::Path) -> Result<()> {
    let magic = bytes.get(..8);
    if magic != Some(&MAGIC[..]) {
        return Err(Error::corruption(file, 0, "bad magic in SSTable header"));
    }
    let version = read_u32(bytes, 8).ok_or_else(|| Error::corruption(file, 8, "short header"))?;
    if !readable(version) {
        return Err(Error::UnsupportedVersion {
            file: file.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    // Reserved for flags of later versions: must be zero, so every header byte is checked.
    if read_u32(bytes, 12) != Some(0) {
        return Err(Error::corruption(
            file,
            12,
            "nonzero reserved field in header",
        ));
    }
    Ok(())
}

impl Footer {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_BYTES);
        for s in [
            &self.block_table,
            &self.partition_index,
            &self.filter,
            &self.stats,
            &self.dictionary,
        ] {
            out.extend_from_slice(&s.offset.to_le_bytes());
            out.extend_from_slice(&s.len.to_le_bytes());
            out.extend_from_slice(&s.crc.to_le_bytes());
        }
        out.extend_from_slice(&self.partition_count.to_le_bytes());
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.max_block_uncompressed_bytes.to_le_bytes());
        out.extend_from_slice(&self.min_token.to_le_bytes());
        out.extend_from_slice(&self.max_token.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MAGIC);
        out
    }

    /// Decodes the footer (exactly `FOOTER_BYTES` bytes found at `file_offset`).
    pub fn decode(bytes: &[u8], file: &std::path::Path, file_offset: u64) -> Result<Footer> {
        let bad = |at: usize, why: &str| Error::corruption(file, file_offset + at as u64, why);
        if bytes.len() != FOOTER_BYTES {
            return Err(bad(0, "short footer"));
        }
        let magic_at = FOOTER_BYTES - 8;
        if bytes.get(magic_at..) != Some(&MAGIC[..]) {
            return Err(bad(magic_at, "bad magic in SSTable footer"));
        }
        let crc_at = magic_at - 4;
        let body = bytes.get(..crc_at).ok_or_else(|| bad(0, "short footer"))?;
        let stored = read_u32(bytes, crc_at).ok_or_else(|| bad(crc_at, "short footer"))?;
        if crc32fast::hash(body) != stored {
            return Err(bad(crc_at, "footer checksum mismatch"));
        }
        let version = read_u32(bytes, crc_at - 4).ok_or_else(|| bad(crc_at, "short footer"))?;
        if !readable(version) {
            return Err(Error::UnsupportedVersion {
                file: file.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let mut pos = 0usize;
        let mut sections = [Section::default(); SECTIONS];
        for s in &mut sections {
            let short = || bad(pos, "short footer");
            s.offset = read_u64(bytes, pos).ok_or_else(short)?;
            s.len = read_u64(bytes, pos + 8).ok_or_else(short)?;
            s.crc = read_u32(bytes, pos + 16).ok_or_else(short)?;
            pos += 20;
        }
        let partition_count = read_u64(bytes, pos).ok_or_else(|| bad(pos, "short footer"))?;
        let block_count = read_u64(bytes, pos + 8).ok_or_else(|| bad(pos, "short footer"))?;
        let max_block = read_u32(bytes, pos + 16).ok_or_else(|| bad(pos, "short footer"))?;
        let min_token = read_u64(bytes, pos + 20).ok_or_else(|| bad(pos, "short footer"))? as i64;
        let max_token = read_u64(bytes, pos + 28).ok_or_else(|| bad(pos, "short footer"))? as i64;
        let [block_table, partition_index, filter, stats, dictionary] = sections;
        Ok(Footer {
            block_table,
            partition_index,
            filter,
            stats,
            dictionary,
            partition_count,
            block_count,
            max_block_uncompressed_bytes: max_block,
            min_token,
            max_token,
            version,
        })
    }
}

pub fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let s = bytes.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(u32::from_le_bytes(a))
}

pub fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let s = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on bad data
mod tests {
    use super::*;

    #[test]
    fn footer_round_trip() {
        let f = Footer {
            block_table: Section {
                offset: 1,
                len: 2,
                crc: 3,
            },
            partition_index: Section {
                offset: 4,
                len: 5,
                crc: 6,
            },
            filter: Section {
                offset: 7,
                len: 8,
                crc: 9,
            },
            stats: Section {
                offset: 10,
                len: 11,
                crc: 12,
            },
            dictionary: Section {
                offset: 20,
                len: 21,
                crc: 22,
            },
            partition_count: 13,
            block_count: 14,
            max_block_uncompressed_bytes: 15,
            min_token: -16,
            max_token: 17,
            version: FORMAT_VERSION,
        };
        let enc = f.encode();
        assert_eq!(enc.len(), FOOTER_BYTES);
        let p = std::path::Path::new("x");
        assert_eq!(Footer::decode(&enc, p, 0).unwrap(), f);
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 0x10;
            assert!(Footer::decode(&bad, p, 0).is_err(), "byte {i}");
        }
    }
}
