//! Cassandra's comparison of two values of one type, written from its `AbstractType`
//! comparators; the reference the byte-comparable encoding ([`super::comparable`]) is tested
//! against, and usable wherever values must be ordered without encoding them.

use super::value::Value;
use std::cmp::Ordering;
use std::net::IpAddr;

/// Compares two values as Cassandra orders values of their type (ASC):
/// - integers, `timestamp`, `time`: signed; `date`: unsigned days; `boolean`: false < true;
/// - `float`/`double`: Java's `Float.compare` (-0.0 < 0.0, NaN above everything, all NaNs equal);
/// - `text`/`ascii`/`blob`/`inet`: unsigned bytes, a prefix first (`BYTE_ORDER`);
/// - `uuid`: `UUIDType.compareCustom`; `timeuuid`: `TimeUUIDType.compare`;
/// - `varint`: numeric.
///
/// Decimal, duration, collections and values of different types are not ordered as
/// Cassandra does (they cannot be clustering columns here): they compare by their
/// serialized bytes, which is only a stable total order.
pub fn cql_compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::TinyInt(x), Value::TinyInt(y)) => x.cmp(y),
        (Value::SmallInt(x), Value::SmallInt(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::BigInt(x), Value::BigInt(y))
        | (Value::Timestamp(x), Value::Timestamp(y))
        | (Value::Time(x), Value::Time(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => {
            java_compare(x.is_nan(), y.is_nan(), || x.total_cmp(y))
        }
        (Value::Double(x), Value::Double(y)) => {
            java_compare(x.is_nan(), y.is_nan(), || x.total_cmp(y))
        }
        (Value::Text(x), Value::Text(y)) | (Value::Ascii(x), Value::Ascii(y)) => {
            x.as_bytes().cmp(y.as_bytes())
        }
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        (Value::Inet(x), Value::Inet(y)) => inet_octets(x).cmp(&inet_octets(y)),
        (Value::Uuid(x), Value::Uuid(y)) => uuid_type_compare(x, y),
        (Value::TimeUuid(x), Value::TimeUuid(y)) => time_uuid_type_compare(x, y),
        (Value::Varint(x), Value::Varint(y)) => varint_compare(x, y),
        _ => a.serialize().cmp(&b.serialize()),
    }
}

impl Value {
    /// The value as Cassandra stores it: set elements sorted and deduplicated, map entries
    /// sorted by key with the last value of a repeated key winning (Cassandra builds a
    /// `TreeSet`/`TreeMap` from what the client sent), recursively. Frozen collections in a
    /// key must be normalized so that equal values have equal bytes and tokens.
    pub fn normalized(self) -> Value {
        match self {
            Value::List(items) => Value::List(items.into_iter().map(Value::normalized).collect()),
            Value::Set(items) => {
                let mut items: Vec<Value> = items.into_iter().map(Value::normalized).collect();
                items.sort_by(cql_compare);
                items.dedup_by(|a, b| cql_compare(a, b) == Ordering::Equal);
                Value::Set(items)
            }
            Value::Map(entries) => {
                let mut entries: Vec<(Value, Value)> = entries
                    .into_iter()
                    .map(|(k, v)| (k.normalized(), v.normalized()))
                    .collect();
                // Stable: among equal keys the last sent stays last; keep that one.
                entries.sort_by(|a, b| cql_compare(&a.0, &b.0));
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    match out.last_mut() {
                        Some(last) if cql_compare(&last.0, &k) == Ordering::Equal => *last = (k, v),
                        _ => out.push((k, v)),
                    }
                }
                Value::Map(out)
            }
            other => other,
        }
    }
}

/// Java's `Double.compare`: NaN equals NaN and is above everything; otherwise -0.0 < 0.0,
/// which `total_cmp` already gives for non-NaN values.
fn java_compare(x_nan: bool, y_nan: bool, otherwise: impl FnOnce() -> Ordering) -> Ordering {
    match (x_nan, y_nan) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => otherwise(),
    }
}

fn inet_octets(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn longs(u: &[u8; 16]) -> (i64, i64) {
    let mut msb = [0u8; 8];
    let mut lsb = [0u8; 8];
    msb.copy_from_slice(&u[..8]);
    lsb.copy_from_slice(&u[8..]);
    (i64::from_be_bytes(msb), i64::from_be_bytes(lsb))
}

/// `TimeUUIDType.reorderTimestampBytes` on a Java long.
fn reorder(input: i64) -> i64 {
    let u = input as u64;
    ((u << 48) | ((u << 16) & 0xFFFF_0000_0000) | (u >> 32)) as i64
}

/// `UUIDType.compareCustom` (Cassandra 4.x/5.x), for two 16-byte values.
fn uuid_type_compare(a: &[u8; 16], b: &[u8; 16]) -> Ordering {
    let (msb1, lsb1) = longs(a);
    let (msb2, lsb2) = longs(b);
    let version1 = ((msb1 as u64) >> 12) & 0xf;
    let version2 = ((msb2 as u64) >> 12) & 0xf;
    if version1 != version2 {
        return version1.cmp(&version2);
    }
    let c = if version1 == 1 {
        reorder(msb1).cmp(&reorder(msb2))
    } else {
        (msb1 as u64).cmp(&(msb2 as u64))
    };
    c.then((lsb1 as u64).cmp(&(lsb2 as u64)))
}

/// `TimeUUIDType.compare`: the reordered timestamp as a signed long, then the low 8 bytes
/// as signed bytes (`signedBytesToNativeLong` then `Long.compare`).
fn time_uuid_type_compare(a: &[u8; 16], b: &[u8; 16]) -> Ordering {
    let (msb1, lsb1) = longs(a);
    let (msb2, lsb2) = longs(b);
    reorder(msb1)
        .cmp(&reorder(msb2))
        .then((lsb1 ^ 0x0080_8080_8080_8080).cmp(&(lsb2 ^ 0x0080_8080_8080_8080)))
}

/// Numeric order of two's complement big-endian numbers of any length.
fn varint_compare(a: &[u8], b: &[u8]) -> Ordering {
    let a = super::value::minimal_twos_complement(a);
    let b = super::value::minimal_twos_complement(b);
    let neg_a = a.first().is_some_and(|&x| x & 0x80 != 0);
    let neg_b = b.first().is_some_and(|&x| x & 0x80 != 0);
    match (neg_a, neg_b) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // Same sign, minimal: more bytes is further from zero.
        (false, false) => a.len().cmp(&b.len()).then_with(|| a.cmp(&b)),
        (true, true) => b.len().cmp(&a.len()).then_with(|| a.cmp(&b)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn uuid(s: &str) -> [u8; 16] {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        let mut u = [0u8; 16];
        for (i, b) in u.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        u
    }

    #[test]
    fn uuid_orders_by_version_then_time() {
        // Version 1 with an earlier timestamp but larger time_low sorts first.
        let t_early = uuid("ffffffff-0000-1000-8000-000000000000");
        let t_late = uuid("00000000-0000-1001-8000-000000000000");
        assert_eq!(uuid_type_compare(&t_early, &t_late), Ordering::Less);
        assert_eq!(time_uuid_type_compare(&t_early, &t_late), Ordering::Less);
        // Version 4 above every version 1, whatever the bytes.
        let v4 = uuid("00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_type_compare(&t_early, &v4), Ordering::Less);
        // The low half: unsigned for UUIDType, signed bytes for TimeUUIDType (CASSANDRA-8730).
        let lo = uuid("00000000-0000-1000-0000-000000000000");
        let hi = uuid("00000000-0000-1000-8000-000000000000");
        assert_eq!(uuid_type_compare(&lo, &hi), Ordering::Less);
        assert_eq!(time_uuid_type_compare(&lo, &hi), Ordering::Greater);
        let lo7 = uuid("00000000-0000-1000-0000-000000000000");
        let hi7 = uuid("00000000-0000-1000-0080-000000000000");
        assert_eq!(time_uuid_type_compare(&lo7, &hi7), Ordering::Greater);
    }

    #[test]
    fn normalized_sets_and_maps() {
        let set = Value::Set(vec![Value::Int(3), Value::Int(-1), Value::Int(3)]);
        assert_eq!(
            set.normalized(),
            Value::Set(vec![Value::Int(-1), Value::Int(3)])
        );
        let map = Value::Map(vec![
            (Value::Text("b".into()), Value::Int(1)),
            (Value::Text("a".into()), Value::Int(2)),
            (Value::Text("b".into()), Value::Int(3)),
        ]);
        assert_eq!(
            map.normalized(),
            Value::Map(vec![
                (Value::Text("a".into()), Value::Int(2)),
                (Value::Text("b".into()), Value::Int(3)),
            ])
        );
    }

    #[test]
    fn floats_like_java() {
        let c = |a: f64, b: f64| cql_compare(&Value::Double(a), &Value::Double(b));
        assert_eq!(c(-0.0, 0.0), Ordering::Less);
        assert_eq!(c(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(c(-f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(c(f64::NEG_INFINITY, -1e308), Ordering::Less);
    }

    #[test]
    fn inet_is_byte_order() {
        let v4: IpAddr = "200.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let c = |a: IpAddr, b: IpAddr| cql_compare(&Value::Inet(a), &Value::Inet(b));
        // BYTE_ORDER: 0x00.. (v6) before 0xc8.. (v4); a v4 address that is a byte prefix
        // of a v6 one comes first.
        assert_eq!(c(v6, v4), Ordering::Less);
        let v4b: IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(c(v4b, v6), Ordering::Less);
    }
}
