//! Frame body compression negotiated in STARTUP (`COMPRESSION`): lz4 as the v4 spec frames it
//! (a 4-byte big-endian uncompressed length, then a raw lz4 block) and raw snappy.

use super::{ProtocolError, MAX_BODY_BYTES};
use bytes::{BufMut, Bytes, BytesMut};

/// lz4 cannot expand data by more than about 255x, so a claimed length beyond that is a lie
/// and is refused before anything is allocated.
const LZ4_MAX_RATIO: usize = 256;
/// Snappy's densest element (a 3-byte copy of 64 bytes) expands about 22x.
const SNAPPY_MAX_RATIO: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Snappy,
}

impl Compression {
    /// The STARTUP `COMPRESSION` value, case-insensitive as Cassandra treats it.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "lz4" => Some(Compression::Lz4),
            "snappy" => Some(Compression::Snappy),
            _ => None,
        }
    }

    pub fn names() -> Vec<String> {
        vec!["lz4".to_string(), "snappy".to_string()]
    }

    pub fn compress(self, body: &[u8]) -> Result<Bytes, ProtocolError> {
        match self {
            Compression::Lz4 => {
                let mut out = BytesMut::with_capacity(4 + body.len() / 2);
                out.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
                out.put_slice(&lz4_flex::block::compress(body));
                Ok(out.freeze())
            }
            Compression::Snappy => snap::raw::Encoder::new()
                .compress_vec(body)
                .map(Bytes::from)
                .map_err(|e| ProtocolError::new(format!("snappy compression failed: {e}"))),
        }
    }

    pub fn decompress(self, body: &[u8]) -> Result<Bytes, ProtocolError> {
        let too_long = |n: usize| {
            ProtocolError::new(format!(
                "compressed body claims an impossible uncompressed length of {n} bytes"
            ))
        };
        match self {
            Compression::Lz4 => {
                let (len, block) = match body {
                    [a, b, c, d, rest @ ..] => (u32::from_be_bytes([*a, *b, *c, *d]), rest),
                    _ => return Err(ProtocolError::new("lz4 body shorter than its length")),
                };
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > MAX_BODY_BYTES || len > block.len().saturating_mul(LZ4_MAX_RATIO) + 16 {
                    return Err(too_long(len));
                }
                let out = lz4_flex::block::decompress(block, len)
                    .map_err(|e| ProtocolError::new(format!("bad lz4 body: {e}")))?;
                if out.len() != len {
                    return Err(ProtocolError::new(
                        "lz4 body shorter than its stated length",
                    ));
                }
                Ok(Bytes::from(out))
            }
            Compression::Snappy => {
                let len = snap::raw::decompress_len(body)
                    .map_err(|e| ProtocolError::new(format!("bad snappy body: {e}")))?;
                if len > MAX_BODY_BYTES || len > body.len().saturating_mul(SNAPPY_MAX_RATIO) + 64 {
                    return Err(too_long(len));
                }
                snap::raw::Decoder::new()
                    .decompress_vec(body)
                    .map(Bytes::from)
                    .map_err(|e| ProtocolError::new(format!("bad snappy body: {e}")))
            }
        }
    }
}
