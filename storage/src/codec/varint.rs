//! LEB128 varints and a bounds-checked reader for every decoder in the crate.

use bytes::{BufMut, Bytes};

use crate::error::{Error, Result};

pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.put_slice(b);
}

/// The value of a varint of at most eight bytes, given its bytes as a little-endian word
/// with the bytes after it zeroed: the low seven bits of each byte, packed together.
#[inline(always)]
fn compact_7bit_groups(word: u64) -> u64 {
    let x = word & 0x7f7f_7f7f_7f7f_7f7f;
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4)
}

/// A cursor over an encoded buffer. Every read is bounds-checked and fails with
/// `Error::Malformed` instead of panicking, so it is safe on bytes from disk or network.
/// Whether `part` lies inside `whole`'s memory.
fn within(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr_range(), part.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// The small reads are always inlined: the merge parses a row head per row, and a call
/// per varint cost more than the varint.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The buffer `buf` lies in, when it is shared: `bytes()` then hands out slices of it
    /// instead of copies (a cell read from a cached SSTable block allocates nothing).
    owner: Option<&'a Bytes>,
    /// `buf` and the bytes after it that may be loaded (never used) by a word-at-a-time
    /// varint read near `buf`'s end; `buf` itself when there are none.
    readable: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            owner: None,
            readable: buf,
        }
    }

    /// A reader of the first `len` bytes of `readable` (all of it if shorter), which may
    /// load the bytes after them to read a varint at once, never returning them: a row in
    /// a block ends with varints, and the bytes after it are the next row's.
    pub fn with_readable_after(readable: &'a [u8], len: usize) -> Self {
        Reader {
            buf: readable.get(..len).unwrap_or(readable),
            pos: 0,
            owner: None,
            readable,
        }
    }

    /// A reader of `buf`, a sub-slice of `owner`, whose `bytes()` share `owner`'s memory.
    pub fn shared(owner: &'a Bytes, buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            owner: Some(owner),
            readable: buf,
        }
    }

    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline(always)]
    pub fn u8(&mut self) -> Result<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.end_of_data()),
        }
    }

    #[cold]
    fn end_of_data(&self) -> Error {
        Error::Malformed(format!("unexpected end of data at byte {}", self.pos))
    }

    /// A varint; the one-byte case (most lengths, flags and timestamp deltas) stays inline.
    #[inline(always)]
    pub fn u64(&mut self) -> Result<u64> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        // Up to eight bytes from one load, without a loop: a deletion's local time (five
        // bytes) and most timestamp deltas are read here, once per row a merge steps over.
        if let Some(word) = self
            .readable
            .get(self.pos..)
            .and_then(|b| b.first_chunk::<8>())
        {
            let word = u64::from_le_bytes(*word);
            let ends = !word & 0x8080_8080_8080_8080;
            // Every bit up to the high bit of the first byte without a continuation.
            let keep = ends ^ ends.wrapping_sub(1);
            let end = self.pos + (keep.count_ones() / 8) as usize;
            if ends != 0 && end <= self.buf.len() {
                self.pos = end;
                return Ok(compact_7bit_groups(word & keep));
            }
        }
        self.u64_multi_byte()
    }

    #[inline(never)]
    fn u64_multi_byte(&mut self) -> Result<u64> {
        // One bounds check for the whole varint, not one per byte.
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let mut v: u64 = 0;
        for (i, &b) in rest.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(v);
            }
        }
        if rest.len() < 10 {
            self.pos += rest.len();
            return Err(self.end_of_data());
        }
        Err(Error::Malformed(format!(
            "varint too long at byte {}",
            self.pos
        )))
    }

    #[inline(always)]
    pub fn i64(&mut self) -> Result<i64> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    #[inline(always)]
    pub fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.u64()?)
            .map_err(|_| Error::Malformed(format!("value too large at byte {}", self.pos)))
    }

    /// A length that must fit in what is left of the buffer.
    #[inline(always)]
    pub fn len(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > self.remaining() as u64 {
            return Err(self.too_long(n));
        }
        Ok(n as usize)
    }

    #[cold]
    fn too_long(&self, n: u64) -> Error {
        Error::Malformed(format!(
            "length {n} at byte {} runs past the end ({} bytes left)",
            self.pos,
            self.remaining()
        ))
    }

    /// A count of items that each take at least one byte.
    #[inline(always)]
    pub fn count(&mut self) -> Result<usize> {
        self.len()
    }

    #[inline(always)]
    pub fn slice(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::Malformed(format!("{n} bytes at byte {} run past the end", self.pos))
            })?;
        let s = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Result<Bytes> {
        let n = self.len()?;
        let owner = self.owner;
        let s = self.slice(n)?;
        Ok(match owner {
            // `slice_ref` panics on a slice outside `owner`: check rather than trust `shared`.
            Some(o) if !s.is_empty() && within(o, s) => o.slice_ref(s),
            _ => Bytes::copy_from_slice(s),
        })
    }

    pub fn fixed_u32_le(&mut self) -> Result<u32> {
        let s = self.slice(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub fn fixed_u64_le(&mut self) -> Result<u64> {
        let s = self.slice(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            i64::MAX,
            i64::MIN,
            1_700_000_000_000_000,
        ] {
            put_i64(&mut out, v);
        }
        let mut r = Reader::new(&out);
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            i64::MAX,
            i64::MIN,
            1_700_000_000_000_000,
        ] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert!(r.is_empty());
        assert!(r.u8().is_err());
    }

    #[test]
    fn every_varint_length_decodes_with_and_without_bytes_after_it() {
        let mut values = vec![0u64, 1, 127, 128, 300, 1_700_000_000, u64::MAX];
        for bits in 1..64 {
            values.push((1u64 << bits) - 1);
            values.push(1u64 << bits);
            values.push(0x5555_5555_5555_5555 >> (63 - bits));
        }
        for v in values {
            let mut out = Vec::new();
            put_u64(&mut out, v);
            let len = out.len();
            for trailing in [0usize, 1, 7, 9] {
                let mut buf = out.clone();
                buf.extend(std::iter::repeat_n(0xffu8, trailing));
                let mut r = Reader::new(&buf);
                assert_eq!(r.u64().unwrap(), v, "{v} with {trailing} bytes after");
                assert_eq!(r.position(), len);
            }
        }
        // A varint may be read with bytes after the reader's end, never past it.
        let mut out = Vec::new();
        put_u64(&mut out, 1_700_000_000);
        let len = out.len();
        out.extend_from_slice(&[0x81; 8]);
        let mut r = Reader::with_readable_after(&out, len);
        assert_eq!(r.u64().unwrap(), 1_700_000_000);
        assert!(r.is_empty());
        let mut r = Reader::with_readable_after(&out, len - 1);
        assert!(r.u64().is_err());
        // Non-canonical encodings (a zero continuation) mean the same as the loop says.
        let mut r = Reader::new(&[0x80, 0x80, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!((r.u64().unwrap(), r.position()), (0, 3));
    }

    #[test]
    fn overlong_and_short_inputs_are_errors() {
        assert!(Reader::new(&[0xff; 11]).u64().is_err());
        let mut r = Reader::new(&[5, 1, 2]);
        assert!(r.bytes().is_err());
    }
}
