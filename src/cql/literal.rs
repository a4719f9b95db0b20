//! CQL literals to values: what `'2015-01-01'` means for a `timestamp` column, which integer
//! literals fit a `tinyint`, and so on, following Cassandra's rules for each type.

use crate::cql::ast::Term;
use crate::cql::result::CqlError;
use crate::storage::types::value::{DATE_EPOCH_DAYS, NANOS_PER_DAY};
use crate::storage::types::{CqlType, Value};
use bytes::Bytes;
use std::net::IpAddr;

/// The value of a literal term for a column of type `ty`; `None` for `NULL`. Bind markers
/// are resolved before this is called (see `bind`); function calls other than the time
/// functions are refused.
pub fn literal_value(term: &Term, ty: &CqlType, what: &str) -> Result<Option<Value>, CqlError> {
    let bad = |t: &str| CqlError::invalid(format!("Invalid {t} constant for {what} of type {ty}"));
    let v = match (term, ty) {
        (Term::Null, _) => return Ok(None),
        (Term::Marker(_), _) => {
            return Err(CqlError::server("bind marker reached literal conversion"))
        }
        (Term::Int(s), _) => int_value(s, ty).ok_or_else(|| bad("INTEGER"))?,
        (Term::Float(s), CqlType::Float) => {
            Value::Float(parse_f64(s).ok_or_else(|| bad("FLOAT"))? as f32)
        }
        (Term::Float(s), CqlType::Double) => {
            Value::Double(parse_f64(s).ok_or_else(|| bad("FLOAT"))?)
        }
        (Term::Float(s), CqlType::Decimal) => decimal(s).ok_or_else(|| bad("FLOAT"))?,
        (Term::Str(s), CqlType::Text) => Value::Text(s.clone()),
        (Term::Str(s), CqlType::Ascii) if s.is_ascii() => Value::Ascii(s.clone()),
        (Term::Str(s), CqlType::Timestamp) => {
            Value::Timestamp(parse_timestamp(s).ok_or_else(|| {
                CqlError::invalid(format!("Unable to parse a date/time from '{s}'"))
            })?)
        }
        (Term::Str(s), CqlType::Date) => Value::Date(
            parse_date(s)
                .and_then(|d| u32::try_from(d + i64::from(DATE_EPOCH_DAYS)).ok())
                .ok_or_else(|| {
                    CqlError::invalid(format!("Unable to coerce '{s}' to a formatted date (long)"))
                })?,
        ),
        (Term::Str(s), CqlType::Time) => Value::Time(parse_time(s).ok_or_else(|| {
            CqlError::invalid(format!("Unable to coerce '{s}' to a formatted time (long)"))
        })?),
        (Term::Str(s), CqlType::Inet) => {
            Value::Inet(s.parse::<IpAddr>().map_err(|_| {
                CqlError::invalid(format!("Unable to make inet address from '{s}'"))
            })?)
        }
        (Term::Bool(b), CqlType::Boolean) => Value::Boolean(*b),
        (Term::Blob(b), CqlType::Blob) => Value::Blob(Bytes::copy_from_slice(b)),
        (Term::Uuid(u), CqlType::Uuid) => Value::Uuid(*u),
        (Term::Uuid(u), CqlType::TimeUuid) if u[6] >> 4 == 1 => Value::TimeUuid(*u),
        (Term::Duration(s), CqlType::Duration) => parse_duration(s)
            .ok_or_else(|| CqlError::invalid(format!("Unable to convert '{s}' to a duration")))?,
        (Term::List(items), CqlType::List { elem, .. }) => {
            Value::List(elements(items, elem, what)?)
        }
        (Term::Set(items), CqlType::Set { elem, .. }) => {
            Value::Set(elements(items, elem, what)?).normalized()
        }
        (Term::Map(entries), CqlType::Map { key, value, .. }) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let k = literal_value(k, key, what)?
                    .ok_or_else(|| CqlError::invalid("null is not supported inside collections"))?;
                let v = literal_value(v, value, what)?
                    .ok_or_else(|| CqlError::invalid("null is not supported inside collections"))?;
                out.push((k, v));
            }
            Value::Map(out).normalized()
        }
        (Term::EmptyBraces, CqlType::Set { .. }) => Value::Set(Vec::new()),
        (Term::EmptyBraces, CqlType::Map { .. }) => Value::Map(Vec::new()),
        (Term::Call(name, args), _) => return call(name, args, ty, what).map(Some),
        (Term::Float(_), _) => return Err(bad("FLOAT")),
        (Term::Str(_), _) => return Err(bad("STRING")),
        (Term::Bool(_), _) => return Err(bad("BOOLEAN")),
        (Term::Blob(_), _) => return Err(bad("HEX")),
        (Term::Uuid(_), _) => return Err(bad("UUID")),
        (Term::Duration(_), _) => return Err(bad("DURATION")),
        (Term::List(_) | Term::Set(_) | Term::Map(_) | Term::EmptyBraces, _) => {
            return Err(CqlError::invalid(format!(
                "Invalid collection literal for {what} of type {ty}"
            )))
        }
    };
    Ok(Some(v))
}

fn elements(items: &[Term], elem: &CqlType, what: &str) -> Result<Vec<Value>, CqlError> {
    items
        .iter()
        .map(|t| {
            literal_value(t, elem, what)?
                .ok_or_else(|| CqlError::invalid("null is not supported inside collections"))
        })
        .collect()
}

/// `now()`, `uuid()`, `currenttimestamp()` and friends: the few functions cheap to support.
fn call(name: &str, args: &[Term], ty: &CqlType, what: &str) -> Result<Value, CqlError> {
    if !args.is_empty() {
        return Err(CqlError::invalid(format!(
            "Unknown function {name} with arguments"
        )));
    }
    let now_ms = crate::storage::clock::now_micros() / 1000;
    match (name, ty) {
        ("now", CqlType::TimeUuid) => Ok(Value::TimeUuid(crate::cql::timeuuid::new_timeuuid())),
        ("uuid", CqlType::Uuid) => Ok(Value::Uuid(crate::cql::timeuuid::random_uuid())),
        ("currenttimestamp", CqlType::Timestamp) => Ok(Value::Timestamp(now_ms)),
        ("currentdate", CqlType::Date) => Ok(Value::Date(
            (now_ms.div_euclid(86_400_000) + i64::from(DATE_EPOCH_DAYS)) as u32,
        )),
        _ => Err(CqlError::invalid(format!(
            "Unknown function {name}() for {what} of type {ty}"
        ))),
    }
}

fn int_value(s: &str, ty: &CqlType) -> Option<Value> {
    Some(match ty {
        CqlType::TinyInt => Value::TinyInt(s.parse().ok()?),
        CqlType::SmallInt => Value::SmallInt(s.parse().ok()?),
        CqlType::Int => Value::Int(s.parse().ok()?),
        CqlType::BigInt => Value::BigInt(s.parse().ok()?),
        CqlType::Timestamp => Value::Timestamp(s.parse().ok()?),
        CqlType::Time => {
            let t: i64 = s.parse().ok()?;
            if !(0..NANOS_PER_DAY).contains(&t) {
                return None;
            }
            Value::Time(t)
        }
        CqlType::Date => Value::Date(s.parse().ok()?),
        CqlType::Varint => varint(s)?,
        CqlType::Decimal => decimal(s)?,
        CqlType::Float => Value::Float(s.parse().ok()?),
        CqlType::Double => Value::Double(s.parse().ok()?),
        _ => return None,
    })
}

fn parse_f64(s: &str) -> Option<f64> {
    match s {
        "NaN" | "-NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// Decimal digits (with an optional '-') to a minimal two's complement varint.
fn varint(s: &str) -> Option<Value> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 10_000 {
        return None;
    }
    // Big-endian magnitude, multiplied by 10 and added to digit by digit.
    let mut mag: Vec<u8> = vec![0];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in mag.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    mag.insert(0, 0);
    if neg {
        let mut carry = true;
        for b in mag.iter_mut().rev() {
            *b = !*b;
            if carry {
                let (v, c) = b.overflowing_add(1);
                *b = v;
                carry = c;
            }
        }
    }
    Some(Value::varint_from_bytes(&mag))
}

/// `-12.345e-2` to unscaled digits and a scale.
fn decimal(s: &str) -> Option<Value> {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
    let Value::Varint(unscaled) = varint(&format!("{int}{frac}"))? else {
        return None;
    };
    Some(Value::Decimal { scale, unscaled })
}

/// Days since 1970-01-01 of `yyyy-mm-dd`.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `hh:mm[:ss[.fffffffff]]` to nanoseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    let (hms, frac) = match s.find('.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 || frac.len() > 9 {
        return None;
    }
    let h: i64 = parts.first()?.parse().ok()?;
    let m: i64 = parts.get(1)?.parse().ok()?;
    let sec: i64 = parts.get(2).map_or(Some(0), |p| p.parse().ok())?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return None;
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + nanos)
}

/// `yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][Z|(+|-)hh[:]mm]` to milliseconds since the epoch (UTC
/// when no zone is given, as scrolldb's node time zone is UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) if i >= 8 => (&s[..i], s[i + 1..].trim_start()),
        _ => {
            // A date alone, possibly with a zone.
            let (d, z) = split_zone(s)?;
            return Some(parse_date(d)? * 86_400_000 - z);
        }
    };
    let days = parse_date(date)?;
    let (time, zone) = split_zone(rest)?;
    let nanos = parse_time(time)?;
    Some(days * 86_400_000 + nanos / 1_000_000 - zone)
}

/// Splits a trailing zone off; returns the zone offset in milliseconds.
fn split_zone(s: &str) -> Option<(&str, i64)> {
    if let Some(t) = s.strip_suffix('Z') {
        return Some((t.trim_end(), 0));
    }
    // A sign after position 8 (past any date's dashes) starts a zone.
    if let Some(i) = s
        .rfind(['+', '-'])
        .filter(|&i| i >= 5 && s.len() - i <= 6 && s[..i].contains(':'))
    {
        let z = s[i + 1..].replace(':', "");
        if z.len() != 4 || !z.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let h: i64 = z[..2].parse().ok()?;
        let m: i64 = z[2..].parse().ok()?;
        let off = (h * 60 + m) * 60_000;
        let off = if s.as_bytes().get(i) == Some(&b'-') {
            -off
        } else {
            off
        };
        return Some((s[..i].trim_end(), off));
    }
    Some((s, 0))
}

/// Duration literals in Cassandra's unit form: `1y2mo3w4d5h6m7s8ms9us10ns`, optionally
/// negative.
pub fn parse_duration(s: &str) -> Option<Value> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let (mut months, mut days, mut nanos) = (0i64, 0i64, 0i64);
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit())?;
        if n_end == 0 {
            return None;
        }
        let n: i64 = rest[..n_end].parse().ok()?;
        let r = &rest[n_end..];
        let u_end = r.find(|c: char| c.is_ascii_digit()).unwrap_or(r.len());
        let unit = r[..u_end].to_ascii_lowercase();
        rest = &r[u_end..];
        let add = |acc: &mut i64, mul: i64| -> Option<()> {
            *acc = acc.checked_add(n.checked_mul(mul)?)?;
            Some(())
        };
        match unit.as_str() {
            "y" => add(&mut months, 12)?,
            "mo" => add(&mut months, 1)?,
            "w" => add(&mut days, 7)?,
            "d" => add(&mut days, 1)?,
            "h" => add(&mut nanos, 3_600_000_000_000)?,
            "m" => add(&mut nanos, 60_000_000_000)?,
            "s" => add(&mut nanos, 1_000_000_000)?,
            "ms" => add(&mut nanos, 1_000_000)?,
            "us" | "µs" => add(&mut nanos, 1_000)?,
            "ns" => add(&mut nanos, 1)?,
            _ => return None,
        }
    }
    let sign = if neg { -1 } else { 1 };
    Some(Value::Duration {
        months: i32::try_from(months * sign).ok()?,
        days: i32::try_from(days * sign).ok()?,
        nanos: nanos * sign,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lit(t: Term, ty: &str) -> Value {
        literal_value(&t, &CqlType::parse(ty).unwrap(), "x")
            .unwrap()
            .unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            lit(Term::Int("-128".into()), "tinyint"),
            Value::TinyInt(-128)
        );
        assert!(literal_value(&Term::Int("128".into()), &CqlType::TinyInt, "x").is_err());
        assert_eq!(lit(Term::Int("7".into()), "double"), Value::Double(7.0));
        assert_eq!(
            lit(
                Term::Int("-123456789012345678901234567890".into()),
                "varint"
            )
            .to_string(),
            "-123456789012345678901234567890"
        );
        assert_eq!(
            lit(Term::Float("-1.25e1".into()), "decimal").to_string(),
            "-12.5"
        );
        assert_eq!(
            lit(Term::Float("0.001".into()), "decimal").to_string(),
            "0.001"
        );
        assert!(matches!(lit(Term::Float("NaN".into()), "float"), Value::Float(f) if f.is_nan()));
        assert!(literal_value(&Term::Float("1.5".into()), &CqlType::Int, "x").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(
            lit(Term::Str("1970-01-02".into()), "timestamp"),
            Value::Timestamp(86_400_000)
        );
        assert_eq!(
            lit(Term::Str("2015-01-01 00:00:01.5+0100".into()), "timestamp"),
            Value::Timestamp(1_420_070_400_000 + 1500 - 3_600_000)
        );
        assert_eq!(
            lit(Term::Str("2015-01-01T00:00:00Z".into()), "timestamp"),
            Value::Timestamp(1_420_070_400_000)
        );
        assert_eq!(
            lit(Term::Str("2015-01-01".into()), "date").to_string(),
            "'2015-01-01'"
        );
        assert_eq!(
            lit(Term::Str("01:02:03.5".into()), "time"),
            Value::Time(3_723_500_000_000)
        );
        assert_eq!(
            lit(Term::Duration("1h30m".into()), "duration"),
            Value::Duration {
                months: 0,
                days: 0,
                nanos: 5_400_000_000_000
            }
        );
        assert_eq!(
            lit(Term::Duration("-1y2d".into()), "duration"),
            Value::Duration {
                months: -12,
                days: -2,
                nanos: 0
            }
        );
        assert!(literal_value(&Term::Str("nope".into()), &CqlType::Timestamp, "x").is_err());
    }

    #[test]
    fn collections_are_normalized() {
        let v = lit(
            Term::Set(vec![
                Term::Int("3".into()),
                Term::Int("1".into()),
                Term::Int("3".into()),
            ]),
            "set<int>",
        );
        assert_eq!(v, Value::Set(vec![Value::Int(1), Value::Int(3)]));
        assert_eq!(lit(Term::EmptyBraces, "map<int, text>"), Value::Map(vec![]));
        assert!(literal_value(&Term::List(vec![]), &CqlType::Int, "x").is_err());
        assert_eq!(lit(Term::Str("::1".into()), "inet").to_string(), "'::1'");
    }
}
