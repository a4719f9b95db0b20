//! Byte-comparable clustering keys: comparing two encoded keys bytewise gives the table's
//! clustering order, the order Cassandra gives the same values (see [`super::compare`]), with
//! DESC columns reversed.
//!
//! Each column is encoded on its own and the encodings are concatenated; every column
//! encoding is prefix-free, so a key of the first k columns is a byte prefix of the full key
//! and a bound on a prefix compares against the first bytes of a key.
//!
//! Per column (ASC):
//! - tinyint, smallint, int, bigint, timestamp, time: big-endian with the sign bit flipped;
//! - boolean: one byte 0 or 1; date: the u32 big-endian;
//! - float, double: the IEEE bits, sign bit flipped for positives and all bits flipped for
//!   negatives, NaN canonicalized (Java's `Float.compare`: -0.0 < 0.0 < ... < NaN);
//! - text, ascii, blob, inet: the bytes with 0x00 escaped as 0x00 0xFF, then 0x00 0x00;
//! - uuid: Cassandra's `UUIDType.asComparableBytes` (version nibble first, then the
//!   timestamp for version 1), 16 bytes; timeuuid: the reordered timestamp then the low 8
//!   bytes with every byte's top bit flipped (`TimeUUIDType` compares them as signed bytes);
//! - varint: sign byte (0 negative, 1 otherwise), u32 length (inverted if negative), the
//!   minimal two's complement bytes.
//!
//! A DESC column is the ASC encoding with every byte inverted. Decimal, duration and
//! collection clustering columns are refused (see [`check_clustering_type`]).

use super::cql_type::CqlType;
use super::value::{minimal_twos_complement, uuid_version, Value};
use crate::{Error, Result};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The clustering order of one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

const ESCAPE: u8 = 0xff;
const CANONICAL_NAN_F32: u32 = 0x7fc0_0000;
const CANONICAL_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

/// Whether `ty` may be a clustering column; the catalog calls this at CREATE TABLE.
pub fn check_clustering_type(ty: &CqlType) -> Result<()> {
    match ty {
        CqlType::Decimal => Err(Error::InvalidRequest(
            "decimal clustering columns are not supported yet".into(),
        )),
        // Cassandra refuses them too: durations have no total order.
        CqlType::Duration => Err(Error::InvalidRequest(
            "duration type is not supported for PRIMARY KEY column".into(),
        )),
        t if t.is_collection() => Err(Error::InvalidRequest(format!(
            "collection clustering columns ({t}) are not supported yet"
        ))),
        _ => Ok(()),
    }
}

/// Encodes a clustering key, or a prefix of one when `values` is shorter than `types`.
pub fn encode_clustering(types: &[(CqlType, Order)], values: &[Value]) -> Result<Bytes> {
    if values.len() > types.len() {
        return Err(Error::InvalidRequest(format!(
            "{} clustering values for {} clustering columns",
            values.len(),
            types.len()
        )));
    }
    let mut out = BytesMut::new();
    for ((ty, order), value) in types.iter().zip(values) {
        check_clustering_type(ty)?;
        if !value.is_of_type(ty) {
            return Err(Error::InvalidRequest(format!(
                "value {value} is not a valid {ty} for a clustering column"
            )));
        }
        let start = out.len();
        encode_asc(value, &mut out);
        if *order == Order::Desc {
            out[start..].iter_mut().for_each(|b| *b = !*b);
        }
    }
    Ok(out.freeze())
}

/// Decodes a clustering key or prefix made by [`encode_clustering`]: as many values as the
/// bytes hold.
pub fn decode_clustering(types: &[(CqlType, Order)], bytes: &[u8]) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    let mut columns = types.iter();
    let mut reader = Reader {
        buf: bytes,
        invert: false,
    };
    while !reader.buf.is_empty() {
        let (ty, order) = columns
            .next()
            .ok_or_else(|| malformed("clustering key longer than its columns"))?;
        reader.invert = *order == Order::Desc;
        values.push(decode_asc(ty, &mut reader)?);
    }
    Ok(values)
}

fn malformed(what: &str) -> Error {
    Error::Malformed(format!("clustering key: {what}"))
}

fn float_key_f32(v: f32) -> u32 {
    let bits = if v.is_nan() {
        CANONICAL_NAN_F32
    } else {
        v.to_bits()
    };
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits ^ 0x8000_0000
    }
}

fn float_from_key_f32(k: u32) -> f32 {
    f32::from_bits(if k & 0x8000_0000 != 0 {
        k ^ 0x8000_0000
    } else {
        !k
    })
}

fn float_key_f64(v: f64) -> u64 {
    let bits = if v.is_nan() {
        CANONICAL_NAN_F64
    } else {
        v.to_bits()
    };
    if bits & (1 << 63) != 0 {
        !bits
    } else {
        bits ^ (1 << 63)
    }
}

fn float_from_key_f64(k: u64) -> f64 {
    f64::from_bits(if k & (1 << 63) != 0 {
        k ^ (1 << 63)
    } else {
        !k
    })
}

/// Cassandra's `TimeUUIDType.reorderTimestampBytes`: time_hi (with the version) first, then
/// time_mid, then time_low, so the 60-bit timestamp orders the UUIDs.
pub(crate) fn reorder_timestamp(msb: u64) -> u64 {
    (msb << 48) | ((msb << 16) & 0xffff_0000_0000) | (msb >> 32)
}

fn reorder_timestamp_back(r: u64) -> u64 {
    (r << 32) | ((r >> 16) & 0xffff_0000) | (r >> 48)
}

fn uuid_halves(u: &[u8; 16]) -> (u64, u64) {
    let mut msb = [0u8; 8];
    let mut lsb = [0u8; 8];
    msb.copy_from_slice(&u[..8]);
    lsb.copy_from_slice(&u[8..]);
    (u64::from_be_bytes(msb), u64::from_be_bytes(lsb))
}

fn uuid_from_halves(msb: u64, lsb: u64) -> [u8; 16] {
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&msb.to_be_bytes());
    u[8..].copy_from_slice(&lsb.to_be_bytes());
    u
}

/// `UUIDType.asComparableBytes`: the version nibble moves to the top; version 1 puts the
/// timestamp first. The low half stays as is (UUIDType compares it unsigned).
fn uuid_key_msb(msb: u64) -> u64 {
    let version = (msb >> 12) & 0xf;
    if version == 1 {
        reorder_timestamp(msb)
    } else {
        (version << 60) | ((msb >> 4) & 0x0fff_ffff_ffff_f000) | (msb & 0xfff)
    }
}

fn uuid_msb_from_key(k: u64) -> u64 {
    let version = k >> 60;
    if version == 1 {
        reorder_timestamp_back(k)
    } else {
        ((k << 4) & 0xffff_ffff_ffff_0000) | (version << 12) | (k & 0xfff)
    }
}

/// `TimeUUIDType` compares the low 8 bytes as signed bytes: flipping each top bit makes
/// that an unsigned comparison.
const SIGNED_BYTES_FLIP: u64 = 0x8080_8080_8080_8080;

fn put_escaped(out: &mut BytesMut, bytes: &[u8]) {
    for &b in bytes {
        out.put_u8(b);
        if b == 0 {
            out.put_u8(ESCAPE);
        }
    }
    out.put_slice(&[0, 0]);
}

fn encode_asc(value: &Value, out: &mut BytesMut) {
    match value {
        Value::TinyInt(v) => out.put_u8((*v as u8) ^ 0x80),
        Value::SmallInt(v) => out.put_u16((*v as u16) ^ 0x8000),
        Value::Int(v) => out.put_u32((*v as u32) ^ 0x8000_0000),
        Value::BigInt(v) | Value::Timestamp(v) | Value::Time(v) => {
            out.put_u64((*v as u64) ^ (1 << 63))
        }
        Value::Boolean(v) => out.put_u8(u8::from(*v)),
        Value::Date(d) => out.put_u32(*d),
        Value::Float(v) => out.put_u32(float_key_f32(*v)),
        Value::Double(v) => out.put_u64(float_key_f64(*v)),
        Value::Text(s) | Value::Ascii(s) => put_escaped(out, s.as_bytes()),
        Value::Blob(b) => put_escaped(out, b),
        Value::Inet(IpAddr::V4(a)) => put_escaped(out, &a.octets()),
        Value::Inet(IpAddr::V6(a)) => put_escaped(out, &a.octets()),
        Value::Uuid(u) => {
            let (msb, lsb) = uuid_halves(u);
            out.put_u64(uuid_key_msb(msb));
            out.put_u64(lsb);
        }
        Value::TimeUuid(u) => {
            let (msb, lsb) = uuid_halves(u);
            out.put_u64(reorder_timestamp(msb));
            out.put_u64(lsb ^ SIGNED_BYTES_FLIP);
        }
        Value::Varint(b) => {
            let b = minimal_twos_complement(b);
            let negative = b.first().is_some_and(|&x| x & 0x80 != 0);
            let len = b.len() as u32;
            if negative {
                out.put_u8(0);
                out.put_u32(!len);
            } else {
                out.put_u8(1);
                out.put_u32(len);
            }
            out.put_slice(&b);
        }
        // Refused by check_clustering_type before we get here; encoding nothing would make
        // distinct values equal, so the callers must keep that check.
        Value::Decimal { .. }
        | Value::Duration { .. }
        | Value::List(_)
        | Value::Set(_)
        | Value::Map(_) => {}
    }
}

/// Reads a column's bytes, inverting them for a DESC column.
struct Reader<'a> {
    buf: &'a [u8],
    invert: bool,
}

impl Reader<'_> {
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (head, rest) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or_else(|| malformed("truncated column"))?;
        let mut out = *head;
        if self.invert {
            out.iter_mut().for_each(|b| *b = !*b);
        }
        self.buf = rest;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.fixed::<1>()?[0])
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        let (head, rest) = self
            .buf
            .split_at_checked(n)
            .ok_or_else(|| malformed("truncated column"))?;
        self.buf = rest;
        Ok(head
            .iter()
            .map(|&b| if self.invert { !b } else { b })
            .collect())
    }

    fn escaped(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let b = self.u8()?;
            if b != 0 {
                out.push(b);
                continue;
            }
            match self.u8()? {
                0 => return Ok(out),
                ESCAPE => out.push(0),
                _ => return Err(malformed("bad escape in a variable-length column")),
            }
        }
    }
}

fn decode_asc(ty: &CqlType, r: &mut Reader<'_>) -> Result<Value> {
    Ok(match ty {
        CqlType::TinyInt => Value::TinyInt((r.u8()? ^ 0x80) as i8),
        CqlType::SmallInt => Value::SmallInt((u16::from_be_bytes(r.fixed()?) ^ 0x8000) as i16),
        CqlType::Int => Value::Int((u32::from_be_bytes(r.fixed()?) ^ 0x8000_0000) as i32),
        CqlType::BigInt | CqlType::Timestamp | CqlType::Time => {
            let v = (u64::from_be_bytes(r.fixed()?) ^ (1 << 63)) as i64;
            match ty {
                CqlType::BigInt => Value::BigInt(v),
                CqlType::Timestamp => Value::Timestamp(v),
                _ => Value::Time(v),
            }
        }
        CqlType::Boolean => match r.u8()? {
            0 => Value::Boolean(false),
            1 => Value::Boolean(true),
            _ => return Err(malformed("boolean not 0 or 1")),
        },
        CqlType::Date => Value::Date(u32::from_be_bytes(r.fixed()?)),
        CqlType::Float => Value::Float(float_from_key_f32(u32::from_be_bytes(r.fixed()?))),
        CqlType::Double => Value::Double(float_from_key_f64(u64::from_be_bytes(r.fixed()?))),
        CqlType::Text => {
            Value::Text(String::from_utf8(r.escaped()?).map_err(|_| malformed("text not UTF-8"))?)
        }
        CqlType::Ascii => {
            let b = r.escaped()?;
            if !b.is_ascii() {
                return Err(malformed("ascii with a non-ASCII byte"));
            }
            Value::Ascii(String::from_utf8_lossy(&b).into_owned())
        }
        CqlType::Blob => Value::Blob(Bytes::from(r.escaped()?)),
        CqlType::Inet => {
            let b = r.escaped()?;
            match <[u8; 4]>::try_from(b.as_slice()) {
                Ok(v4) => Value::Inet(IpAddr::V4(Ipv4Addr::from(v4))),
                Err(_) => Value::Inet(IpAddr::V6(Ipv6Addr::from(
                    <[u8; 16]>::try_from(b.as_slice())
                        .map_err(|_| malformed("inet not 4 or 16 bytes"))?,
                ))),
            }
        }
        CqlType::Uuid => {
            let msb = uuid_msb_from_key(u64::from_be_bytes(r.fixed()?));
            let lsb = u64::from_be_bytes(r.fixed()?);
            Value::Uuid(uuid_from_halves(msb, lsb))
        }
        CqlType::TimeUuid => {
            let msb = reorder_timestamp_back(u64::from_be_bytes(r.fixed()?));
            let lsb = u64::from_be_bytes(r.fixed()?) ^ SIGNED_BYTES_FLIP;
            let u = uuid_from_halves(msb, lsb);
            if uuid_version(&u) != 1 {
                return Err(malformed("timeuuid not version 1"));
            }
            Value::TimeUuid(u)
        }
        CqlType::Varint => {
            let sign = r.u8()?;
            let len = u32::from_be_bytes(r.fixed()?);
            let len = match sign {
                0 => !len,
                1 => len,
                _ => return Err(malformed("bad varint sign byte")),
            };
            let b = r.bytes(len as usize)?;
            let negative = b.first().is_some_and(|&x| x & 0x80 != 0);
            if b.is_empty() || negative != (sign == 0) {
                return Err(malformed("varint sign does not match its bytes"));
            }
            Value::Varint(minimal_twos_complement(&b))
        }
        CqlType::Decimal
        | CqlType::Duration
        | CqlType::List { .. }
        | CqlType::Set { .. }
        | CqlType::Map { .. } => return Err(malformed("type cannot be a clustering column")),
    })
}
