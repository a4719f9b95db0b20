//! The body notations of native protocol v4 (section 3 of the spec): `[int]`, `[long]`,
//! `[short]`, `[string]`, `[long string]`, `[bytes]`, `[short bytes]`, `[value]`, `[string map]`,
//! `[string multimap]`, `[string list]`, `[bytes map]`.
//!
//! Reading never panics and never trusts a length: every length is checked against what is
//! left of the body before anything is allocated.

use super::ProtocolError;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use scrolldb::cql::result::BoundValue;
use std::collections::BTreeMap;

/// Bounds the entries of any map, list or value list read from a body: more than this many
/// entries cannot fit in a 256 MiB frame anyway once each has its length prefix.
const MAX_ENTRIES: usize = 1 << 16;

/// A cursor over a request body.
pub struct BodyReader {
    buf: Bytes,
}

impl BodyReader {
    pub fn new(buf: Bytes) -> Self {
        BodyReader { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn need(&self, n: usize, what: &str) -> Result<(), ProtocolError> {
        if self.buf.len() < n {
            return Err(ProtocolError::new(format!(
                "truncated body: {what} needs {n} bytes, {} left",
                self.buf.len()
            )));
        }
        Ok(())
    }

    pub fn byte(&mut self) -> Result<u8, ProtocolError> {
        self.need(1, "a byte")?;
        Ok(self.buf.get_u8())
    }

    pub fn short(&mut self) -> Result<u16, ProtocolError> {
        self.need(2, "a [short]")?;
        Ok(self.buf.get_u16())
    }

    pub fn int(&mut self) -> Result<i32, ProtocolError> {
        self.need(4, "an [int]")?;
        Ok(self.buf.get_i32())
    }

    pub fn long(&mut self) -> Result<i64, ProtocolError> {
        self.need(8, "a [long]")?;
        Ok(self.buf.get_i64())
    }

    fn take(&mut self, n: usize, what: &str) -> Result<Bytes, ProtocolError> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    fn utf8(bytes: Bytes, what: &str) -> Result<String, ProtocolError> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ProtocolError::new(format!("{what} is not valid UTF-8")))
    }

    /// `[string]`: a `[short]` length then UTF-8.
    pub fn string(&mut self) -> Result<String, ProtocolError> {
        let n = usize::from(self.short()?);
        let b = self.take(n, "a [string]")?;
        Self::utf8(b, "a [string]")
    }

    /// `[long string]`: an `[int]` length then UTF-8.
    pub fn long_string(&mut self) -> Result<String, ProtocolError> {
        let n = self.int()?;
        let n = usize::try_from(n)
            .map_err(|_| ProtocolError::new(format!("negative [long string] length {n}")))?;
        let b = self.take(n, "a [long string]")?;
        Self::utf8(b, "a [long string]")
    }

    /// `[bytes]`: an `[int]` length (negative is null) then the bytes.
    pub fn bytes(&mut self) -> Result<Option<Bytes>, ProtocolError> {
        let n = self.int()?;
        if n < 0 {
            return Ok(None);
        }
        let n = usize::try_from(n).map_err(|_| ProtocolError::new("bad [bytes] length"))?;
        Ok(Some(self.take(n, "[bytes]")?))
    }

    /// `[short bytes]`: a `[short]` length then the bytes.
    pub fn short_bytes(&mut self) -> Result<Bytes, ProtocolError> {
        let n = usize::from(self.short()?);
        self.take(n, "[short bytes]")
    }

    /// `[value]`: like `[bytes]`, with -1 null and -2 unset; other negative lengths are errors.
    pub fn value(&mut self) -> Result<BoundValue, ProtocolError> {
        let n = self.int()?;
        match n {
            -1 => Ok(BoundValue::Null),
            -2 => Ok(BoundValue::Unset),
            n if n < 0 => Err(ProtocolError::new(format!("invalid [value] length {n}"))),
            n => {
                let n = usize::try_from(n).map_err(|_| ProtocolError::new("bad [value] length"))?;
                Ok(BoundValue::Value(self.take(n, "a [value]")?))
            }
        }
    }

    fn count(&mut self, what: &str) -> Result<usize, ProtocolError> {
        let n = usize::from(self.short()?);
        // Every entry takes at least two bytes, so a count the body cannot hold is a lie.
        if n > MAX_ENTRIES || n.saturating_mul(2) > self.remaining() {
            return Err(ProtocolError::new(format!(
                "{what} claims {n} entries but the body is too short"
            )));
        }
        Ok(n)
    }

    /// `[string list]`.
    pub fn string_list(&mut self) -> Result<Vec<String>, ProtocolError> {
        let n = self.count("a [string list]")?;
        (0..n).map(|_| self.string()).collect()
    }

    /// `[string map]`.
    pub fn string_map(&mut self) -> Result<BTreeMap<String, String>, ProtocolError> {
        let n = self.count("a [string map]")?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.string()?;
            map.insert(k, v);
        }
        Ok(map)
    }

    /// `[string multimap]`.
    pub fn string_multimap(&mut self) -> Result<BTreeMap<String, Vec<String>>, ProtocolError> {
        let n = self.count("a [string multimap]")?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.string_list()?;
            map.insert(k, v);
        }
        Ok(map)
    }

    /// `[bytes map]`: the custom payload of a request; read so it can be skipped.
    pub fn bytes_map(&mut self) -> Result<BTreeMap<String, Option<Bytes>>, ProtocolError> {
        let n = self.count("a [bytes map]")?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.bytes()?;
            map.insert(k, v);
        }
        Ok(map)
    }

    /// `<n><value_1>...<value_n>` where `n` is a `[short]`, optionally each preceded by a name.
    pub fn values(
        &mut self,
        with_names: bool,
    ) -> Result<(Vec<BoundValue>, Option<Vec<String>>), ProtocolError> {
        let n = self.count("a value list")?;
        let mut values = Vec::with_capacity(n);
        let mut names = with_names.then(|| Vec::with_capacity(n));
        for _ in 0..n {
            if let Some(names) = names.as_mut() {
                names.push(self.string()?);
            }
            values.push(self.value()?);
        }
        Ok((values, names))
    }
}

/// Writing the same notations into a response body. Lengths are clamped to what the
/// notation can carry: callers never produce strings over 64 KiB for a `[string]`.
pub trait BodyWriter {
    fn put_string(&mut self, s: &str);
    fn put_long_string(&mut self, s: &str);
    fn put_cql_bytes(&mut self, b: Option<&[u8]>);
    fn put_short_bytes(&mut self, b: &[u8]);
    fn put_string_list(&mut self, list: &[String]);
    fn put_string_map(&mut self, map: &BTreeMap<String, String>);
    fn put_string_multimap(&mut self, map: &BTreeMap<String, Vec<String>>);
}

fn short_len(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn int_len(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl BodyWriter for BytesMut {
    fn put_string(&mut self, s: &str) {
        // Cut an over-long string at a character boundary so it stays valid UTF-8.
        let mut n = s.len().min(usize::from(u16::MAX));
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let cut = s.get(..n).unwrap_or_default();
        self.put_u16(short_len(cut.len()));
        self.put_slice(cut.as_bytes());
    }

    fn put_long_string(&mut self, s: &str) {
        self.put_i32(int_len(s.len()));
        self.put_slice(s.as_bytes());
    }

    fn put_cql_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_i32(int_len(b.len()));
                self.put_slice(b);
            }
        }
    }

    fn put_short_bytes(&mut self, b: &[u8]) {
        let cut = b.get(..usize::from(short_len(b.len()))).unwrap_or_default();
        self.put_u16(short_len(cut.len()));
        self.put_slice(cut);
    }

    fn put_string_list(&mut self, list: &[String]) {
        self.put_u16(short_len(list.len()));
        for s in list.iter().take(usize::from(u16::MAX)) {
            self.put_string(s);
        }
    }

    fn put_string_map(&mut self, map: &BTreeMap<String, String>) {
        self.put_u16(short_len(map.len()));
        for (k, v) in map.iter().take(usize::from(u16::MAX)) {
            self.put_string(k);
            self.put_string(v);
        }
    }

    fn put_string_multimap(&mut self, map: &BTreeMap<String, Vec<String>>) {
        self.put_u16(short_len(map.len()));
        for (k, v) in map.iter().take(usize::from(u16::MAX)) {
            self.put_string(k);
            self.put_string_list(v);
        }
    }
}
