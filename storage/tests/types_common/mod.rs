//! Proptest strategies for CQL types and values, shared by the `types_*` tests.
#![allow(dead_code)]

use bytes::Bytes;
use proptest::prelude::*;
use scrolldb_storage::types::value::NANOS_PER_DAY;
use scrolldb_storage::types::{CqlType, Order, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Types that may be clustering columns.
pub fn clustering_type() -> impl Strategy<Value = CqlType> {
    prop_oneof![
        Just(CqlType::TinyInt),
        Just(CqlType::SmallInt),
        Just(CqlType::Int),
        Just(CqlType::BigInt),
        Just(CqlType::Boolean),
        Just(CqlType::Float),
        Just(CqlType::Double),
        Just(CqlType::Text),
        Just(CqlType::Ascii),
        Just(CqlType::Blob),
        Just(CqlType::Timestamp),
        Just(CqlType::Date),
        Just(CqlType::Time),
        Just(CqlType::Uuid),
        Just(CqlType::TimeUuid),
        Just(CqlType::Inet),
        Just(CqlType::Varint),
    ]
}

/// Every type, collections (frozen or not, nested frozen) included.
pub fn any_type() -> impl Strategy<Value = CqlType> {
    let leaf = prop_oneof![
        clustering_type(),
        Just(CqlType::Decimal),
        Just(CqlType::Duration)
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>()).prop_map(|(e, frozen)| CqlType::List {
                elem: Box::new(freeze(e)),
                frozen
            }),
            (inner.clone(), any::<bool>()).prop_map(|(e, frozen)| CqlType::Set {
                elem: Box::new(freeze(e)),
                frozen
            }),
            (inner.clone(), inner, any::<bool>()).prop_map(|(k, v, frozen)| CqlType::Map {
                key: Box::new(freeze(k)),
                value: Box::new(freeze(v)),
                frozen
            }),
        ]
    })
}

fn freeze(t: CqlType) -> CqlType {
    match t {
        CqlType::List { elem, .. } => CqlType::List { elem, frozen: true },
        CqlType::Set { elem, .. } => CqlType::Set { elem, frozen: true },
        CqlType::Map { key, value, .. } => CqlType::Map {
            key,
            value,
            frozen: true,
        },
        t => t,
    }
}

/// Small byte strings over an alphabet that exercises the escaping: 0x00, 0xff, 0x01 and
/// 0x80, so that equal values, prefixes and escapes are common.
fn small_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x80, 0xff, b'a']), 0..6)
}

fn uuid_bytes(version: Option<u8>) -> impl Strategy<Value = [u8; 16]> {
    let byte = prop_oneof![
        prop::sample::select(vec![0u8, 0x7f, 0x80, 0xff]),
        any::<u8>()
    ];
    (
        prop::array::uniform16(byte),
        prop::sample::select(vec![1u8, 1, 2, 4, 0, 15]),
    )
        .prop_map(move |(mut u, v)| {
            let v = version.unwrap_or(v);
            u[6] = (u[6] & 0x0f) | (v << 4);
            u
        })
}

fn float32() -> impl Strategy<Value = f32> {
    prop_oneof![
        prop::sample::select(vec![
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
        ]),
        any::<u32>().prop_map(f32::from_bits),
    ]
}

fn float64() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            0.0f64,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0xfff0_0000_0000_0001),
            f64::MAX,
            f64::MIN,
        ]),
        any::<u64>().prop_map(f64::from_bits),
    ]
}

fn small_i64() -> impl Strategy<Value = i64> {
    prop_oneof![-3i64..3, Just(i64::MIN), Just(i64::MAX), any::<i64>()]
}

fn varint() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-300i128..300).prop_map(Value::varint_from_i128),
        any::<i128>().prop_map(Value::varint_from_i128),
        prop::collection::vec(any::<u8>(), 1..24).prop_map(|b| Value::varint_from_bytes(&b)),
    ]
}

/// Values of `ty`.
pub fn value_of(ty: &CqlType) -> BoxedStrategy<Value> {
    match ty {
        CqlType::TinyInt => any::<i8>().prop_map(Value::TinyInt).boxed(),
        CqlType::SmallInt => any::<i16>().prop_map(Value::SmallInt).boxed(),
        CqlType::Int => prop_oneof![-3i32..3, any::<i32>()]
            .prop_map(Value::Int)
            .boxed(),
        CqlType::BigInt => small_i64().prop_map(Value::BigInt).boxed(),
        CqlType::Timestamp => small_i64().prop_map(Value::Timestamp).boxed(),
        CqlType::Time => prop_oneof![0i64..3, 0..NANOS_PER_DAY]
            .prop_map(Value::Time)
            .boxed(),
        CqlType::Date => prop_oneof![(1u32 << 31) - 2..(1 << 31) + 2, any::<u32>()]
            .prop_map(Value::Date)
            .boxed(),
        CqlType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        CqlType::Float => float32().prop_map(Value::Float).boxed(),
        CqlType::Double => float64().prop_map(Value::Double).boxed(),
        CqlType::Text => prop_oneof!["[a\u{0}é😀]{0,5}", any::<String>()]
            .prop_map(Value::Text)
            .boxed(),
        CqlType::Ascii => "[a-c\u{0}\u{7f}]{0,5}".prop_map(Value::Ascii).boxed(),
        CqlType::Blob => small_bytes()
            .prop_map(|b| Value::Blob(Bytes::from(b)))
            .boxed(),
        CqlType::Uuid => uuid_bytes(None).prop_map(Value::Uuid).boxed(),
        CqlType::TimeUuid => uuid_bytes(Some(1)).prop_map(Value::TimeUuid).boxed(),
        CqlType::Inet => prop_oneof![
            prop::array::uniform4(prop::sample::select(vec![0u8, 1, 0xff]))
                .prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            prop::array::uniform16(prop::sample::select(vec![0u8, 1, 0xff]))
                .prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
        .prop_map(Value::Inet)
        .boxed(),
        CqlType::Varint => varint().boxed(),
        CqlType::Decimal => (any::<i32>(), varint())
            .prop_map(|(scale, v)| match v {
                Value::Varint(unscaled) => Value::Decimal { scale, unscaled },
                other => other,
            })
            .boxed(),
        CqlType::Duration => (
            any::<bool>(),
            0i32..=i32::MAX,
            0i32..=i32::MAX,
            0i64..=i64::MAX,
        )
            .prop_map(|(neg, m, d, n)| {
                if neg {
                    Value::Duration {
                        months: -m,
                        days: -d,
                        nanos: -n,
                    }
                } else {
                    Value::Duration {
                        months: m,
                        days: d,
                        nanos: n,
                    }
                }
            })
            .boxed(),
        CqlType::List { elem, .. } => prop::collection::vec(value_of(elem), 0..4)
            .prop_map(Value::List)
            .boxed(),
        CqlType::Set { elem, .. } => prop::collection::vec(value_of(elem), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        CqlType::Map { key, value, .. } => {
            prop::collection::vec((value_of(key), value_of(value)), 0..4)
                .prop_map(Value::Map)
                .boxed()
        }
    }
}

/// A type and a value of it.
pub fn typed_value() -> impl Strategy<Value = (CqlType, Value)> {
    any_type().prop_flat_map(|t| {
        let v = value_of(&t);
        (Just(t), v)
    })
}

pub fn order() -> impl Strategy<Value = Order> {
    prop_oneof![Just(Order::Asc), Just(Order::Desc)]
}

/// Equality that treats every NaN as one value (the encoding keeps only Java's canonical
/// NaN, as Cassandra's comparison does) and -0.0 apart from 0.0.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Value::Double(x), Value::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        _ => a == b,
    }
}

/// `v` with byte `idx` changed to `byte` where that makes a close neighbour (uuids keep
/// their version nibble; blobs change or grow); other values come back unchanged, which
/// tests equal pairs.
pub fn neighbour(v: &Value, idx: usize, byte: u8) -> Value {
    match v {
        Value::Uuid(u) | Value::TimeUuid(u) => {
            let mut u = *u;
            let i = idx % 16;
            u[i] = if i == 6 {
                (u[6] & 0xf0) | (byte & 0x0f)
            } else {
                byte
            };
            if matches!(v, Value::Uuid(_)) {
                Value::Uuid(u)
            } else {
                Value::TimeUuid(u)
            }
        }
        Value::Blob(b) => {
            let mut b = b.to_vec();
            let at = idx % (b.len() + 1);
            match b.get_mut(at) {
                Some(x) => *x = byte,
                None => b.push(byte),
            }
            Value::Blob(Bytes::from(b))
        }
        other => other.clone(),
    }
}

/// Two values of `ty`: independent, or the second a close neighbour of the first.
pub fn value_pair(ty: &CqlType) -> BoxedStrategy<(Value, Value)> {
    let v = value_of(ty);
    prop_oneof![
        (v.clone(), v.clone()),
        (
            v,
            any::<usize>(),
            prop::sample::select(vec![0u8, 0x7f, 0x80, 0xff, 1])
        )
            .prop_map(|(a, i, b)| {
                let n = neighbour(&a, i, b);
                (a, n)
            }),
    ]
    .boxed()
}
