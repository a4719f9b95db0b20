//! Record framing: `length u32 LE | crc32 u32 LE | payload`.
//!
//! The CRC covers the segment id, the length and the payload, so a record is valid only in the
//! segment it was written to: stale bytes of an older segment (a reused file, a copied file)
//! never replay as records of a newer one, and a corrupt length is caught by the checksum
//! rather than trusted. Lengths are bounded so that a corrupt length is never an allocation.

// Decoders of bytes from disk: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

/// Bytes of the frame header in front of every payload.
pub const FRAME_HEADER_BYTES: u64 = 8;

/// Largest payload a record may carry; a larger length on disk is corruption.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The checksum of one record, as stored in its frame.
pub fn record_crc(segment_id: u64, len_bytes: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&segment_id.to_le_bytes());
    h.update(&len_bytes.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Fills the blank header of `frame` (8 header bytes, then the payload) for segment
/// `segment_id`. The payload must be non-empty and at most `MAX_RECORD_BYTES`.
pub fn fill_header(frame: &mut [u8], segment_id: u64) {
    let Some((header, payload)) = frame.split_at_mut_checked(FRAME_HEADER_BYTES as usize) else {
        return;
    };
    let len_bytes = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let crc = record_crc(segment_id, len_bytes, payload);
    let (len_field, crc_field) = header.split_at_mut(4);
    len_field.copy_from_slice(&len_bytes.to_le_bytes());
    crc_field.copy_from_slice(&crc.to_le_bytes());
}

/// Appends the frame of `payload` to `out`. The caller has checked that the payload is
/// non-empty and at most `MAX_RECORD_BYTES`, so the length fits a u32.
pub fn encode_record(out: &mut Vec<u8>, segment_id: u64, payload: &[u8]) {
    let len_bytes = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len_bytes.to_le_bytes());
    out.extend_from_slice(&record_crc(segment_id, len_bytes, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What lies at one offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A record whose checksum matches; `end` is the offset just after it.
    Valid { payload: &'a [u8], end: usize },
    /// Not a record, and why.
    Invalid(String),
}

/// Decodes the frame starting at byte `at` of `segment` (a whole segment file's bytes).
/// Never panics and never allocates, whatever the bytes.
pub fn decode_frame(segment: &[u8], at: usize, segment_id: u64) -> Frame<'_> {
    let left = segment.len().saturating_sub(at);
    let Some(header) = segment.get(at..at.saturating_add(FRAME_HEADER_BYTES as usize)) else {
        return Frame::Invalid(format!("incomplete record header ({left} bytes left)"));
    };
    let mut len4 = [0u8; 4];
    let mut crc4 = [0u8; 4];
    len4.copy_from_slice(header.get(0..4).unwrap_or(&[0; 4]));
    crc4.copy_from_slice(header.get(4..8).unwrap_or(&[0; 4]));
    let len_bytes = u32::from_le_bytes(len4);
    let stored_crc = u32::from_le_bytes(crc4);
    if len_bytes == 0 {
        // Writers never frame empty payloads, so this is zero-filled space (a crash after
        // the file grew but before its data reached the disk) or damage.
        return Frame::Invalid("record length 0 (zero-filled bytes)".to_string());
    }
    if u64::from(len_bytes) > MAX_RECORD_BYTES {
        return Frame::Invalid(format!(
            "record length {len_bytes} exceeds the maximum {MAX_RECORD_BYTES}"
        ));
    }
    let start = at.saturating_add(FRAME_HEADER_BYTES as usize);
    let end = start.saturating_add(len_bytes as usize);
    let Some(payload) = segment.get(start..end) else {
        return Frame::Invalid(format!(
            "record of {len_bytes} bytes runs past the end of the file ({left} bytes left)"
        ));
    };
    let crc = record_crc(segment_id, len_bytes, payload);
    if crc != stored_crc {
        return Frame::Invalid(format!(
            "record checksum mismatch (stored {stored_crc:#010x}, computed {crc:#010x})"
        ));
    }
    Frame::Valid { payload, end }
}

/// The first offset at or after `from` where a valid record starts, if any. Used to tell a
/// torn tail (nothing valid follows) from corruption in the middle of the log.
///
/// Cost: every offset is tried, but a candidate is rejected on its length field unless that
/// length fits in what is left of the file, so checksums are computed only for plausible
/// frames; zero-filled tails are rejected in O(1) per byte.
pub fn find_next_valid(segment: &[u8], from: usize, segment_id: u64) -> Option<usize> {
    (from..segment.len())
        .find(|&at| matches!(decode_frame(segment, at, segment_id), Frame::Valid { .. }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn segment_with(records: &[&[u8]], id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            encode_record(&mut out, id, r);
        }
        out
    }

    #[test]
    fn round_trip_and_end_offsets() {
        let buf = segment_with(&[b"a", b"hello"], 7);
        assert_eq!(
            decode_frame(&buf, 0, 7),
            Frame::Valid {
                payload: b"a",
                end: 9
            }
        );
        assert_eq!(
            decode_frame(&buf, 9, 7),
            Frame::Valid {
                payload: b"hello",
                end: 22
            }
        );
        assert!(matches!(decode_frame(&buf, 22, 7), Frame::Invalid(_)));
    }

    #[test]
    fn segment_id_is_part_of_the_checksum() {
        let buf = segment_with(&[b"payload"], 1);
        assert!(matches!(decode_frame(&buf, 0, 2), Frame::Invalid(r) if r.contains("checksum")));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_invalid() {
        let buf = segment_with(&[b"some payload bytes"], 3);
        for cut in 0..buf.len() {
            assert!(matches!(decode_frame(&buf[..cut], 0, 3), Frame::Invalid(_)));
        }
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                assert!(
                    matches!(decode_frame(&b, 0, 3), Frame::Invalid(_)),
                    "{i} {bit}"
                );
            }
        }
    }

    #[test]
    fn huge_and_zero_lengths_are_rejected_without_allocating() {
        let mut buf = u32::MAX.to_le_bytes().to_vec();
        buf.extend_from_slice(&[0; 4]);
        assert!(matches!(decode_frame(&buf, 0, 0), Frame::Invalid(r) if r.contains("maximum")));
        assert!(matches!(decode_frame(&[0; 64], 0, 0), Frame::Invalid(r) if r.contains("zero")));
        assert!(matches!(
            decode_frame(&[], usize::MAX, 0),
            Frame::Invalid(_)
        ));
    }

    #[test]
    fn finds_the_next_valid_record() {
        let mut buf = vec![0xAB; 5];
        buf.extend(segment_with(&[b"x"], 4));
        assert_eq!(find_next_valid(&buf, 0, 4), Some(5));
        assert_eq!(find_next_valid(&buf, 6, 4), None);
    }
}
