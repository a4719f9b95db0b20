//! A data block's on-disk form: zstd frames, each with its uncompressed length and a CRC32.
//!
//! Formats 1 and 2 store a block as one part: `frame ‖ uncompressed length u32 ‖ CRC32`
//! (the CRC over the frame and the length). Format 3 splits a block into its rows' heads
//! and their bodies: `heads part length u32 ‖ heads part ‖ bodies part`, each part shaped
//! as above, so a walk over shadowed rows checks and decompresses the small heads part only.
//!
//! Format 4 splits only a block of one partition's rows, where a walk over a long run of
//! shadowed rows can happen. A block of several partitions (small partitions, read whole:
//! the sparse channel's few messages per bucket) is stored joined: `0 u32 ‖ part`, one part
//! whose frame holds `bodies ‖ heads ‖ heads length u32`. A cold read of it costs one check
//! and one decompression instead of two; a heads length of 0 cannot occur in a split block
//! (a part is at least 8 bytes), so it marks the joined form.

use crate::error::{Error, Result};

use super::block::MAX_BLOCK_BYTES;
use super::footer::read_u32;

/// Which part of a format-3 block to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Heads,
    Bodies,
}

/// The parts of a format-3 or format-4 block as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout<'a> {
    /// Heads and bodies, each its own part.
    Split { heads: &'a [u8], bodies: &'a [u8] },
    /// One part holding `bodies ‖ heads ‖ heads length u32` (format 4).
    Joined(&'a [u8]),
}

/// Marks a joined block where a split block has its heads part's length.
const JOINED_MARK: u32 = 0;

/// Compresses an uncompressed block (or one part of one) into its on-disk form.
pub fn frame(
    uncompressed: &[u8],
    compressor: &mut zstd::bulk::Compressor<'_>,
) -> std::io::Result<Vec<u8>> {
    let mut out = compressor.compress(uncompressed)?;
    seal(&mut out, uncompressed.len());
    Ok(out)
}

/// Appends a frame's uncompressed length and the CRC over the frame and that length.
fn seal(out: &mut Vec<u8>, uncompressed_len: usize) {
    out.extend_from_slice(&(uncompressed_len as u32).to_le_bytes());
    let crc = crc32fast::hash(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Compresses a split block's heads and bodies into its format-3 on-disk form, each with
/// its own compressor (the heads' never uses the table's dictionary).
pub fn frame_split(
    heads: &[u8],
    heads_compressor: &mut zstd::bulk::Compressor<'_>,
    bodies: &[u8],
    compressor: &mut zstd::bulk::Compressor<'_>,
) -> std::io::Result<Vec<u8>> {
    let heads_part = frame(heads, heads_compressor)?;
    let mut out = Vec::with_capacity(4 + heads_part.len() + bodies.len() / 2);
    out.extend_from_slice(&(heads_part.len() as u32).to_le_bytes());
    out.extend_from_slice(&heads_part);
    out.extend_from_slice(&frame(bodies, compressor)?);
    Ok(out)
}

/// Compresses a block's heads and bodies as one joined part (format 4), with the table's
/// compressor; `scratch` is reused between blocks for the uncompressed content.
pub fn frame_joined(
    heads: &[u8],
    bodies: &[u8],
    compressor: &mut zstd::bulk::Compressor<'_>,
    scratch: &mut Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    scratch.clear();
    scratch.extend_from_slice(bodies);
    scratch.extend_from_slice(heads);
    scratch.extend_from_slice(&(heads.len() as u32).to_le_bytes());
    let part = frame(scratch, compressor)?;
    let mut out = Vec::with_capacity(4 + part.len());
    out.extend_from_slice(&JOINED_MARK.to_le_bytes());
    out.extend_from_slice(&part);
    Ok(out)
}

/// How the format-3 or format-4 block `on_disk` stores its parts.
pub fn layout(on_disk: &[u8]) -> Result<Layout<'_>> {
    let mark = read_u32(on_disk, 0)
        .ok_or_else(|| Error::Malformed(format!("block of {} bytes too short", on_disk.len())))?;
    if mark == JOINED_MARK {
        return Ok(Layout::Joined(on_disk.get(4..).unwrap_or_default()));
    }
    Ok(Layout::Split {
        heads: split_part(on_disk, Part::Heads)?,
        bodies: split_part(on_disk, Part::Bodies)?,
    })
}

/// Splits a joined part's decompressed content `bodies ‖ heads ‖ heads length u32` into
/// the heads (copied out) and the bodies (`content` truncated in place: its spare capacity,
/// at least the heads' size, then holds the offsets `DecodedBlock::parse_bodies` appends).
pub fn unjoin(mut content: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>)> {
    let bad = || Error::Malformed(format!("joined block of {} bytes malformed", content.len()));
    let len_at = content.len().checked_sub(4).ok_or_else(bad)?;
    let heads_len = read_u32(&content, len_at).ok_or_else(bad)? as usize;
    let heads_at = len_at.checked_sub(heads_len).ok_or_else(bad)?;
    let heads = content.get(heads_at..len_at).ok_or_else(bad)?.to_vec();
    content.truncate(heads_at);
    Ok((heads, content))
}

/// The on-disk bytes of one part of a split block. A length that does not fit the block
/// is an error; one that is wrong but fits makes a part whose CRC does not match.
pub fn split_part(on_disk: &[u8], part: Part) -> Result<&[u8]> {
    let heads_len = read_u32(on_disk, 0)
        .ok_or_else(|| Error::Malformed(format!("block of {} bytes too short", on_disk.len())))?
        as usize;
    let range = match part {
        Part::Heads => 4usize.checked_add(heads_len).map(|end| 4..end),
        Part::Bodies => 4usize
            .checked_add(heads_len)
            .map(|start| start..on_disk.len()),
    };
    range
        .and_then(|r| on_disk.get(r))
        .ok_or_else(|| Error::Malformed(format!("block heads length {heads_len} does not fit")))
}

thread_local! {
    /// One decompression context per thread, reused: creating a zstd context costs more
    /// than decompressing a small block.
    static DCTX: std::cell::RefCell<zstd::zstd_safe::DCtx<'static>> =
        std::cell::RefCell::new(zstd::zstd_safe::DCtx::create());
}

/// Checks an on-disk part's CRC and decompresses it (with the table's dictionary, if it
/// has one), refusing to produce more than `max_uncompressed_bytes`. Errors are
/// `Malformed`; the caller adds file and offset.
pub fn unframe(
    on_disk: &[u8],
    max_uncompressed_bytes: usize,
    dictionary: Option<&zstd::dict::DecoderDictionary<'static>>,
) -> Result<Vec<u8>> {
    unframe_with_spare(on_disk, max_uncompressed_bytes, dictionary, 0)
}

/// [`unframe`] into a buffer with `spare` bytes of capacity beyond the content, for what
/// the caller appends (a bodies part's offsets) without moving the content.
pub fn unframe_with_spare(
    on_disk: &[u8],
    max_uncompressed_bytes: usize,
    dictionary: Option<&zstd::dict::DecoderDictionary<'static>>,
    spare: usize,
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
    let mut out = Vec::with_capacity(expected.saturating_add(spare));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on bad data
mod tests {
    use super::*;

    #[test]
    fn every_flipped_bit_of_a_split_block_is_an_error() {
        let heads: Vec<u8> = (0..200u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let bodies: Vec<u8> = (0..300u32).map(|i| (i % 13) as u8).collect();
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        let mut hc = zstd::bulk::Compressor::new(3).unwrap();
        let framed = frame_split(&heads, &mut hc, &bodies, &mut c).unwrap();
        let part = |bytes: &[u8], p| unframe(split_part(bytes, p)?, 1 << 20, None);
        assert_eq!(part(&framed, Part::Heads).unwrap(), heads);
        assert_eq!(part(&framed, Part::Bodies).unwrap(), bodies);
        for i in 0..framed.len() {
            for bit in [0, 7] {
                let mut bad = framed.clone();
                bad[i] ^= 1 << bit;
                // Flipping a byte of one part leaves the other intact; both never decode.
                assert!(
                    part(&bad, Part::Heads).is_err() || part(&bad, Part::Bodies).is_err(),
                    "byte {i} bit {bit}"
                );
                if i < 4 {
                    assert!(
                        part(&bad, Part::Heads).is_err(),
                        "length byte {i} bit {bit}"
                    );
                }
            }
        }
        for n in 0..framed.len() {
            assert!(part(&framed[..n], Part::Bodies).is_err(), "prefix {n}");
        }
        assert!(part(&framed, Part::Heads).is_ok());
        assert!(unframe(split_part(&framed, Part::Heads).unwrap(), 10, None).is_err());
    }

    #[test]
    fn a_joined_block_round_trips_and_every_flipped_bit_is_an_error() {
        let heads: Vec<u8> = (0..200u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let bodies: Vec<u8> = (0..300u32).map(|i| (i % 13) as u8).collect();
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        let framed = frame_joined(&heads, &bodies, &mut c, &mut Vec::new()).unwrap();
        let decode = |bytes: &[u8]| match layout(bytes)? {
            Layout::Joined(part) => unjoin(unframe(part, 1 << 20, None)?),
            Layout::Split { .. } => Err(Error::Malformed("split".into())),
        };
        let (h, b) = decode(&framed).unwrap();
        assert_eq!((h, b), (heads.clone(), bodies.clone()));
        for i in 0..framed.len() {
            for bit in [0, 7] {
                let mut bad = framed.clone();
                bad[i] ^= 1 << bit;
                assert!(decode(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
        for n in 0..framed.len() {
            assert!(decode(&framed[..n]).is_err(), "prefix {n}");
        }
        // A joined content whose heads length does not fit is an error, not a panic.
        let mut content = bodies.clone();
        content.extend_from_slice(&(u32::MAX).to_le_bytes());
        assert!(unjoin(content).is_err());
        assert!(unjoin(vec![1, 2]).is_err());
    }
}
