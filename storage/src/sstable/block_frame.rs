//! A data block's on-disk form: zstd frames, each with its uncompressed length and a CRC32.
//!
//! Formats 1 and 2 store a block as one part: `frame ‖ uncompressed length u32 ‖ CRC32`
//! (the CRC over the frame and the length). Format 3 splits a block into its rows' heads
//! and their bodies: `heads part length u32 ‖ heads part ‖ bodies part`, each part shaped
//! as above, so a walk over shadowed rows checks and decompresses the small heads part only.

use crate::error::{Error, Result};

use super::block::MAX_BLOCK_BYTES;
use super::footer::read_u32;

/// Which part of a format-3 block to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Heads,
    Bodies,
}

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

/// The on-disk bytes of one part of a format-3 block. A length that does not fit the block
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
    let mut out = Vec::with_capacity(expected);
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
}
