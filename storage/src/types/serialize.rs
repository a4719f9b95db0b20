//! Native protocol v4 value encoding: what drivers send in bound values and receive in rows,
//! and what Cassandra hashes for a partition key.
//!
//! Deserialization reads bytes from the network: every length is checked and a bad one is an
//! [`Error::Malformed`], never a panic.

use super::cql_type::CqlType;
use super::value::{duration_signs_agree, minimal_twos_complement, uuid_version, Value};
use crate::{Error, Result};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bounds collection nesting on decode so hostile input cannot overflow the stack; the type
/// parser bounds the types the same way.
const MAX_DEPTH: usize = 32;

impl Value {
    /// The native protocol v4 bytes of this value (without the `[bytes]` length prefix).
    pub fn serialize(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.serialize_into(&mut out);
        out.freeze()
    }

    /// Appends the native protocol bytes of this value to `out`.
    pub fn serialize_into(&self, out: &mut BytesMut) {
        match self {
            Value::Ascii(s) | Value::Text(s) => out.put_slice(s.as_bytes()),
            Value::BigInt(v) | Value::Timestamp(v) | Value::Time(v) => out.put_i64(*v),
            Value::Blob(b) | Value::Varint(b) => out.put_slice(b),
            Value::Boolean(v) => out.put_u8(u8::from(*v)),
            Value::Date(d) => out.put_u32(*d),
            Value::Decimal { scale, unscaled } => {
                out.put_i32(*scale);
                out.put_slice(unscaled);
            }
            Value::Double(v) => out.put_f64(*v),
            Value::Float(v) => out.put_f32(*v),
            Value::Duration {
                months,
                days,
                nanos,
            } => {
                put_vint(out, i64::from(*months));
                put_vint(out, i64::from(*days));
                put_vint(out, *nanos);
            }
            Value::Inet(IpAddr::V4(a)) => out.put_slice(&a.octets()),
            Value::Inet(IpAddr::V6(a)) => out.put_slice(&a.octets()),
            Value::Int(v) => out.put_i32(*v),
            Value::SmallInt(v) => out.put_i16(*v),
            Value::TinyInt(v) => out.put_i8(*v),
            Value::Uuid(u) | Value::TimeUuid(u) => out.put_slice(u),
            Value::List(items) | Value::Set(items) => {
                out.put_i32(items.len() as i32);
                for v in items {
                    put_element(out, v);
                }
            }
            Value::Map(entries) => {
                out.put_i32(entries.len() as i32);
                for (k, v) in entries {
                    put_element(out, k);
                    put_element(out, v);
                }
            }
        }
    }
}

/// A collection element: `[int length][bytes]`.
fn put_element(out: &mut BytesMut, v: &Value) {
    let at = out.len();
    out.put_i32(0);
    v.serialize_into(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Cassandra's `VIntCoding.writeUnsignedVInt` of the zigzag of `v`: the count of leading
/// 1 bits of the first byte is the number of extra bytes, big-endian.
fn put_vint(out: &mut BytesMut, v: i64) {
    let u = ((v << 1) ^ (v >> 63)) as u64;
    let magnitude = (u | 1).leading_zeros() as usize;
    let size = (639 - magnitude * 9) >> 6; // 1..=9 bytes
    if size == 1 {
        out.put_u8(u as u8);
        return;
    }
    let be = u.to_be_bytes();
    if size == 9 {
        out.put_u8(0xff);
        out.put_slice(&be);
        return;
    }
    // The size formula leaves the top `size` bits of the first byte zero for the marker.
    let mut first = be[8 - size];
    first |= !(0xffu8 >> (size - 1));
    out.put_u8(first);
    out.put_slice(&be[9 - size..]);
}

/// Reads one vint (see [`put_vint`]) from the front of `buf`.
fn take_vint(buf: &mut &[u8]) -> Result<i64> {
    let (&first, rest) = buf
        .split_first()
        .ok_or_else(|| malformed("duration: truncated vint"))?;
    let extra = first.leading_ones() as usize;
    let (tail, rest) = rest
        .split_at_checked(extra)
        .ok_or_else(|| malformed("duration: truncated vint"))?;
    let mut u: u64 = if extra >= 8 {
        0
    } else {
        u64::from(first & (0xff >> extra))
    };
    for &b in tail {
        u = (u << 8) | u64::from(b);
    }
    *buf = rest;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

fn malformed(what: &str) -> Error {
    Error::Malformed(what.to_string())
}

fn fixed<const N: usize>(bytes: &[u8], ty: &CqlType) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| Error::Malformed(format!("{ty}: expected {N} bytes, got {}", bytes.len())))
}

/// Splits `[int n][bytes]` off the front of `buf`; a negative length (null) is rejected, as
/// Cassandra rejects nulls inside collections.
fn take_element<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let (len, rest) = buf
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("collection: truncated element length"))?;
    let len = i32::from_be_bytes(*len);
    let len = usize::try_from(len).map_err(|_| malformed("collection: null element"))?;
    let (elem, rest) = rest
        .split_at_checked(len)
        .ok_or_else(|| malformed("collection: element longer than the value"))?;
    *buf = rest;
    Ok(elem)
}

fn take_count(buf: &mut &[u8]) -> Result<usize> {
    let (n, rest) = buf
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("collection: truncated element count"))?;
    let n = usize::try_from(i32::from_be_bytes(*n))
        .map_err(|_| malformed("collection: negative element count"))?;
    *buf = rest;
    // Each element takes at least its 4-byte length: a larger count is a lie.
    if n > buf.len() / 4 {
        return Err(malformed("collection: count exceeds the value's length"));
    }
    Ok(n)
}

impl CqlType {
    /// Decodes native protocol v4 bytes of a value of this type.
    pub fn deserialize(&self, bytes: &[u8]) -> Result<Value> {
        self.deserialize_at(bytes, 0)
    }

    fn deserialize_at(&self, bytes: &[u8], depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(malformed("collection nested too deeply"));
        }
        Ok(match self {
            CqlType::Ascii => {
                if !bytes.is_ascii() {
                    return Err(malformed("ascii: non-ASCII byte"));
                }
                Value::Ascii(String::from_utf8_lossy(bytes).into_owned())
            }
            CqlType::Text => Value::Text(
                std::str::from_utf8(bytes)
                    .map_err(|e| Error::Malformed(format!("text: invalid UTF-8: {e}")))?
                    .to_string(),
            ),
            CqlType::Blob => Value::Blob(Bytes::copy_from_slice(bytes)),
            CqlType::BigInt => Value::BigInt(i64::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Timestamp => Value::Timestamp(i64::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Time => {
                let t = i64::from_be_bytes(fixed(bytes, self)?);
                if !(0..super::value::NANOS_PER_DAY).contains(&t) {
                    return Err(Error::Malformed(format!(
                        "time: {t} ns is not within a day"
                    )));
                }
                Value::Time(t)
            }
            CqlType::Int => Value::Int(i32::from_be_bytes(fixed(bytes, self)?)),
            CqlType::SmallInt => Value::SmallInt(i16::from_be_bytes(fixed(bytes, self)?)),
            CqlType::TinyInt => Value::TinyInt(i8::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Date => Value::Date(u32::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Boolean => Value::Boolean(fixed::<1>(bytes, self)?[0] != 0),
            CqlType::Float => Value::Float(f32::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Double => Value::Double(f64::from_be_bytes(fixed(bytes, self)?)),
            CqlType::Uuid => Value::Uuid(fixed(bytes, self)?),
            CqlType::TimeUuid => {
                let u: [u8; 16] = fixed(bytes, self)?;
                if uuid_version(&u) != 1 {
                    return Err(malformed("timeuuid: not a version 1 UUID"));
                }
                Value::TimeUuid(u)
            }
            CqlType::Inet => match bytes.len() {
                4 => Value::Inet(IpAddr::V4(Ipv4Addr::from(fixed::<4>(bytes, self)?))),
                16 => Value::Inet(IpAddr::V6(Ipv6Addr::from(fixed::<16>(bytes, self)?))),
                n => return Err(Error::Malformed(format!("inet: {n} bytes, not 4 or 16"))),
            },
            CqlType::Varint => {
                if bytes.is_empty() {
                    return Err(malformed("varint: empty"));
                }
                Value::Varint(minimal_twos_complement(bytes))
            }
            CqlType::Decimal => {
                let (scale, unscaled) = bytes
                    .split_first_chunk::<4>()
                    .ok_or_else(|| malformed("decimal: shorter than its scale"))?;
                if unscaled.is_empty() {
                    return Err(malformed("decimal: no unscaled value"));
                }
                Value::Decimal {
                    scale: i32::from_be_bytes(*scale),
                    unscaled: minimal_twos_complement(unscaled),
                }
            }
            CqlType::Duration => {
                let mut buf = bytes;
                let months = take_vint(&mut buf)?;
                let days = take_vint(&mut buf)?;
                let nanos = take_vint(&mut buf)?;
                if !buf.is_empty() {
                    return Err(malformed("duration: trailing bytes"));
                }
                let months =
                    i32::try_from(months).map_err(|_| malformed("duration: months overflow"))?;
                let days = i32::try_from(days).map_err(|_| malformed("duration: days overflow"))?;
                if !duration_signs_agree(months, days, nanos) {
                    return Err(malformed(
                        "duration: months, days and nanoseconds of mixed signs",
                    ));
                }
                Value::Duration {
                    months,
                    days,
                    nanos,
                }
            }
            CqlType::List { elem, .. } | CqlType::Set { elem, .. } => {
                let mut buf = bytes;
                let n = take_count(&mut buf)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(elem.deserialize_at(take_element(&mut buf)?, depth + 1)?);
                }
                if !buf.is_empty() {
                    return Err(malformed("collection: trailing bytes"));
                }
                if matches!(self, CqlType::List { .. }) {
                    Value::List(items)
                } else {
                    Value::Set(items)
                }
            }
            CqlType::Map { key, value, .. } => {
                let mut buf = bytes;
                let n = take_count(&mut buf)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = key.deserialize_at(take_element(&mut buf)?, depth + 1)?;
                    let v = value.deserialize_at(take_element(&mut buf)?, depth + 1)?;
                    entries.push((k, v));
                }
                if !buf.is_empty() {
                    return Err(malformed("map: trailing bytes"));
                }
                Value::Map(entries)
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vint_bytes(v: i64) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_vint(&mut out, v);
        out.to_vec()
    }

    #[test]
    fn vint_matches_cassandra_layout() {
        // zigzag(0) = 0, zigzag(-1) = 1, zigzag(1) = 2: one byte each below 0x80.
        assert_eq!(vint_bytes(0), [0x00]);
        assert_eq!(vint_bytes(-1), [0x01]);
        assert_eq!(vint_bytes(63), [0x7e]);
        // zigzag(64) = 128: two bytes, first byte 10xxxxxx.
        assert_eq!(vint_bytes(64), [0x80, 0x80]);
        assert_eq!(
            vint_bytes(i64::MAX),
            [0xff; 9]
                .iter()
                .enumerate()
                .map(|(i, &b)| if i == 8 { 0xfe } else { b })
                .collect::<Vec<_>>()
        );
        for v in [
            0,
            1,
            -1,
            63,
            64,
            -65,
            1 << 20,
            -(1 << 40),
            i64::MAX,
            i64::MIN,
            86_399_999_999_999,
        ] {
            let b = vint_bytes(v);
            let mut s = b.as_slice();
            assert_eq!(take_vint(&mut s).unwrap(), v, "{v}");
            assert!(s.is_empty());
        }
    }
}
