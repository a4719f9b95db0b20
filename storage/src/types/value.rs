//! CQL values, one variant per [`CqlType`], with their CQL literal form.

use super::cql_type::CqlType;
use bytes::Bytes;
use std::fmt;
use std::net::IpAddr;

/// Days since 1970-01-01 of a `date` are stored offset by 2^31, as the native protocol does,
/// so the unsigned value orders the dates.
pub const DATE_EPOCH_DAYS: u32 = 1 << 31;

/// Nanoseconds in a day: a `time` is in `0..NANOS_PER_DAY`.
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// One non-null CQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Ascii(String),
    BigInt(i64),
    Blob(Bytes),
    Boolean(bool),
    /// Days with 2^31 as 1970-01-01 (see [`DATE_EPOCH_DAYS`]).
    Date(u32),
    /// `unscaled * 10^-scale`; `unscaled` is a varint as in [`Value::Varint`].
    Decimal {
        scale: i32,
        unscaled: Bytes,
    },
    Double(f64),
    /// Months, days and nanoseconds, all of the same sign.
    Duration {
        months: i32,
        days: i32,
        nanos: i64,
    },
    Float(f32),
    Inet(IpAddr),
    Int(i32),
    SmallInt(i16),
    Text(String),
    /// Nanoseconds since midnight.
    Time(i64),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    /// A version 1 UUID, big-endian bytes.
    TimeUuid([u8; 16]),
    TinyInt(i8),
    Uuid([u8; 16]),
    /// Minimal big-endian two's complement bytes (never empty); build with
    /// [`Value::varint_from_bytes`] or [`Value::varint_from_i128`] to keep it minimal.
    Varint(Bytes),
    List(Vec<Value>),
    /// Elements in the order given; Cassandra sorts them, the CQL layer should too.
    Set(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// A varint from any two's complement big-endian bytes (empty means 0), made minimal.
    pub fn varint_from_bytes(bytes: &[u8]) -> Value {
        Value::Varint(minimal_twos_complement(bytes))
    }

    pub fn varint_from_i128(v: i128) -> Value {
        Value::varint_from_bytes(&v.to_be_bytes())
    }

    /// The value of a varint that fits in an i128.
    pub fn varint_to_i128(bytes: &[u8]) -> Option<i128> {
        let b = minimal_twos_complement(bytes);
        if b.len() > 16 {
            return None;
        }
        let fill = if b.first().is_some_and(|&x| x & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut full = [fill; 16];
        full[16 - b.len()..].copy_from_slice(&b);
        Some(i128::from_be_bytes(full))
    }

    /// Whether this value can be stored in a column of type `ty` (collections check their
    /// elements).
    pub fn is_of_type(&self, ty: &CqlType) -> bool {
        match (self, ty) {
            (Value::Ascii(s), CqlType::Ascii) => s.is_ascii(),
            (Value::BigInt(_), CqlType::BigInt)
            | (Value::Blob(_), CqlType::Blob)
            | (Value::Boolean(_), CqlType::Boolean)
            | (Value::Date(_), CqlType::Date)
            | (Value::Decimal { .. }, CqlType::Decimal)
            | (Value::Double(_), CqlType::Double)
            | (Value::Float(_), CqlType::Float)
            | (Value::Inet(_), CqlType::Inet)
            | (Value::Int(_), CqlType::Int)
            | (Value::SmallInt(_), CqlType::SmallInt)
            | (Value::Text(_), CqlType::Text)
            | (Value::Timestamp(_), CqlType::Timestamp)
            | (Value::TinyInt(_), CqlType::TinyInt)
            | (Value::Uuid(_), CqlType::Uuid)
            | (Value::Varint(_), CqlType::Varint) => true,
            (
                Value::Duration {
                    months,
                    days,
                    nanos,
                },
                CqlType::Duration,
            ) => duration_signs_agree(*months, *days, *nanos),
            (Value::Time(t), CqlType::Time) => (0..NANOS_PER_DAY).contains(t),
            (Value::TimeUuid(u), CqlType::TimeUuid) => uuid_version(u) == 1,
            (Value::List(items), CqlType::List { elem, .. })
            | (Value::Set(items), CqlType::Set { elem, .. }) => {
                items.iter().all(|v| v.is_of_type(elem))
            }
            (Value::Map(entries), CqlType::Map { key, value, .. }) => entries
                .iter()
                .all(|(k, v)| k.is_of_type(key) && v.is_of_type(value)),
            _ => false,
        }
    }
}

/// The version nibble of a UUID (the high 4 bits of byte 6).
pub fn uuid_version(uuid: &[u8; 16]) -> u8 {
    uuid[6] >> 4
}

/// Cassandra's `Duration` rejects months, days and nanoseconds of mixed signs.
pub(crate) fn duration_signs_agree(months: i32, days: i32, nanos: i64) -> bool {
    (months >= 0 && days >= 0 && nanos >= 0) || (months <= 0 && days <= 0 && nanos <= 0)
}

/// Drops redundant leading 0x00 / 0xff bytes of a two's complement number; empty is 0.
pub(crate) fn minimal_twos_complement(bytes: &[u8]) -> Bytes {
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (cur, next) = (bytes[start], bytes[start + 1]);
        let redundant = (cur == 0 && next & 0x80 == 0) || (cur == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    if bytes.is_empty() {
        Bytes::from_static(&[0])
    } else {
        Bytes::copy_from_slice(&bytes[start..])
    }
}

/// The decimal digits of a two's complement big-endian number, with a leading '-' if
/// negative.
pub(crate) fn varint_to_decimal_string(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|&b| b & 0x80 != 0);
    // Magnitude as big-endian unsigned bytes: negate if negative.
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        let mut carry = true;
        for b in mag.iter_mut().rev() {
            *b = !*b;
            if carry {
                let (s, c) = b.overflowing_add(1);
                *b = s;
                carry = c;
            }
        }
    }
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem: u32 = 0;
        for b in mag.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn fmt_uuid(f: &mut fmt::Formatter<'_>, u: &[u8; 16]) -> fmt::Result {
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            f.write_str("-")?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn fmt_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

/// A civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// CQL literal syntax, as cqlsh would accept it back.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Ascii(s) | Value::Text(s) => fmt_string(f, s),
            Value::BigInt(v) | Value::Timestamp(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::SmallInt(v) => write!(f, "{v}"),
            Value::TinyInt(v) => write!(f, "{v}"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::Float(v) => fmt_float(f, f64::from(*v), &format!("{v:?}")),
            Value::Double(v) => fmt_float(f, *v, &format!("{v:?}")),
            Value::Blob(b) => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            Value::Date(d) => {
                let (y, m, dd) = civil_from_days(i64::from(*d) - i64::from(DATE_EPOCH_DAYS));
                write!(f, "'{y:04}-{m:02}-{dd:02}'")
            }
            Value::Time(ns) => {
                let secs = ns / 1_000_000_000;
                write!(
                    f,
                    "'{:02}:{:02}:{:02}.{:09}'",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60,
                    ns % 1_000_000_000
                )
            }
            Value::Uuid(u) | Value::TimeUuid(u) => fmt_uuid(f, u),
            Value::Inet(ip) => write!(f, "'{ip}'"),
            Value::Varint(b) => f.write_str(&varint_to_decimal_string(b)),
            Value::Decimal { scale, unscaled } => {
                let digits = varint_to_decimal_string(unscaled);
                let (sign, digits) = match digits.strip_prefix('-') {
                    Some(d) => ("-", d.to_string()),
                    None => ("", digits),
                };
                if *scale <= 0 {
                    write!(f, "{sign}{digits}E{}", -i64::from(*scale))
                } else {
                    let scale = *scale as usize;
                    let padded = format!("{digits:0>width$}", width = scale + 1);
                    let (int, frac) = padded.split_at(padded.len() - scale);
                    write!(f, "{sign}{int}.{frac}")
                }
            }
            Value::Duration {
                months,
                days,
                nanos,
            } => {
                let neg = *months < 0 || *days < 0 || *nanos < 0;
                let sign = if neg { "-" } else { "" };
                write!(
                    f,
                    "{sign}{}mo{}d{}ns",
                    months.unsigned_abs(),
                    days.unsigned_abs(),
                    nanos.unsigned_abs()
                )
            }
            Value::List(items) => fmt_seq(f, "[", items, "]"),
            Value::Set(items) => fmt_seq(f, "{", items, "}"),
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// CQL spells the special values `NaN`, `Infinity` and `-Infinity`.
fn fmt_float(f: &mut fmt::Formatter<'_>, v: f64, finite: &str) -> fmt::Result {
    if v.is_nan() {
        f.write_str("NaN")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        f.write_str(finite)
    }
}

fn fmt_seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Value], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{v}")?;
    }
    f.write_str(close)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn varint_minimal_and_decimal() {
        assert_eq!(
            &Value::varint_from_i128(0),
            &Value::Varint(Bytes::from_static(&[0]))
        );
        assert_eq!(
            Value::varint_from_bytes(&[0xff, 0xff, 0x80]),
            Value::Varint(Bytes::from_static(&[0x80]))
        );
        assert_eq!(
            Value::varint_from_bytes(&[0x00, 0x00, 0x80]),
            Value::Varint(Bytes::from_static(&[0x00, 0x80]))
        );
        for v in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            i128::MAX,
            i128::MIN,
            1234567890123,
        ] {
            let Value::Varint(b) = Value::varint_from_i128(v) else {
                unreachable!()
            };
            assert_eq!(varint_to_decimal_string(&b), v.to_string());
            assert_eq!(Value::varint_to_i128(&b), Some(v));
        }
    }

    #[test]
    fn literals() {
        assert_eq!(Value::Text("it's".into()).to_string(), "'it''s'");
        assert_eq!(Value::Double(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(Value::Float(f32::NAN).to_string(), "NaN");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(Value::Date(DATE_EPOCH_DAYS).to_string(), "'1970-01-01'");
        assert_eq!(Value::Date(DATE_EPOCH_DAYS - 1).to_string(), "'1969-12-31'");
        assert_eq!(
            Value::Date(DATE_EPOCH_DAYS + 16_436).to_string(),
            "'2015-01-01'"
        );
        let Value::Varint(unscaled) = Value::varint_from_i128(-12345) else {
            unreachable!()
        };
        assert_eq!(
            Value::Decimal {
                scale: 2,
                unscaled: unscaled.clone()
            }
            .to_string(),
            "-123.45"
        );
        assert_eq!(
            Value::Decimal { scale: 7, unscaled }.to_string(),
            "-0.0012345"
        );
        assert_eq!(
            Value::Time(3_723_000_000_001).to_string(),
            "'01:02:03.000000001'"
        );
        let mut u = [0u8; 16];
        u[0] = 0xab;
        u[15] = 1;
        assert_eq!(
            Value::Uuid(u).to_string(),
            "ab000000-0000-0000-0000-000000000001"
        );
        assert_eq!(
            Value::List(vec![Value::Int(1), Value::Int(2)]).to_string(),
            "[1, 2]"
        );
    }
}
