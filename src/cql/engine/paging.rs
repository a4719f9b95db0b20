//! The opaque `paging_state` handed to clients: where the last page stopped (its last
//! partition key and clustering key) and how much of LIMIT and PER PARTITION LIMIT is left.
//!
//! Layout (big-endian): version `1` (u8), partition key (u32 length + bytes), clustering key
//! (u8 present flag, then u32 length + bytes), rows left of LIMIT (i64, -1 for none), rows
//! left of PER PARTITION LIMIT in that partition (i64, -1 for none). It comes back from the
//! network, so decoding checks every length.

use crate::cql::result::CqlError;
use bytes::{BufMut, Bytes, BytesMut};

const VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingState {
    pub partition_key: Bytes,
    /// The last row returned; `None` when the partition has no rows left to resume in.
    pub clustering: Option<Bytes>,
    pub limit_left: Option<u64>,
    pub partition_limit_left: Option<u64>,
}

impl PagingState {
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(32 + self.partition_key.len());
        out.put_u8(VERSION);
        out.put_u32(self.partition_key.len() as u32);
        out.put_slice(&self.partition_key);
        match &self.clustering {
            Some(c) => {
                out.put_u8(1);
                out.put_u32(c.len() as u32);
                out.put_slice(c);
            }
            None => out.put_u8(0),
        }
        let opt = |v: Option<u64>| v.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
        out.put_i64(opt(self.limit_left));
        out.put_i64(opt(self.partition_limit_left));
        out.freeze()
    }

    pub fn decode(bytes: &[u8]) -> Result<PagingState, CqlError> {
        let bad = || {
            CqlError::new(
                crate::cql::result::ErrorKind::Protocol,
                "Invalid paging state",
            )
        };
        let mut r = Reader { buf: bytes };
        if r.u8().ok_or_else(bad)? != VERSION {
            return Err(bad());
        }
        let partition_key = r.bytes().ok_or_else(bad)?;
        let clustering = match r.u8().ok_or_else(bad)? {
            0 => None,
            1 => Some(r.bytes().ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        let opt = |v: i64| u64::try_from(v).ok();
        let limit_left = opt(r.i64().ok_or_else(bad)?);
        let partition_limit_left = opt(r.i64().ok_or_else(bad)?);
        if !r.buf.is_empty() {
            return Err(bad());
        }
        Ok(PagingState {
            partition_key,
            clustering,
            limit_left,
            partition_limit_left,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Bytes> {
        let n = u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize;
        Some(Bytes::copy_from_slice(self.take(n)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let s = PagingState {
            partition_key: Bytes::from_static(b"pk"),
            clustering: Some(Bytes::from_static(b"\x00\x01")),
            limit_left: Some(7),
            partition_limit_left: None,
        };
        let e = s.encode();
        assert_eq!(PagingState::decode(&e).unwrap(), s);
        for cut in 0..e.len() {
            assert!(PagingState::decode(&e[..cut]).is_err());
        }
        assert!(PagingState::decode(b"\x01\xff\xff\xff\xff").is_err());
    }
}
