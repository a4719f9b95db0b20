//! Property tests of the decoders: arbitrary bytes never panic, and what a client encodes
//! (with this file's own encoder) decodes to the same contract values.

mod support;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use scrolldb::cql::result::{BatchKind, BatchStatement, BoundValue, QueryParams};
use scrolldb::storage::types::CqlType;
use scrolldb_server::protocol::option::{put_option, read_option};
use scrolldb_server::protocol::primitives::BodyReader;
use scrolldb_server::protocol::{Compression, Opcode, Request};
use support::long_string;

fn value() -> impl Strategy<Value = BoundValue> {
    prop_oneof![
        Just(BoundValue::Null),
        Just(BoundValue::Unset),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|v| BoundValue::Value(Bytes::from(v))),
    ]
}

fn params() -> impl Strategy<Value = (QueryParams, bool)> {
    (
        any::<u16>(),
        proptest::collection::vec(value(), 0..6),
        any::<bool>(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<i64>()),
        any::<bool>(),
    )
        .prop_map(
            |(consistency, values, named, page_size, state, serial, timestamp, skip)| {
                let names = named.then(|| (0..values.len()).map(|i| format!("v{i}")).collect());
                (
                    QueryParams {
                        consistency,
                        values,
                        names,
                        page_size,
                        paging_state: state.map(Bytes::from),
                        serial_consistency: serial,
                        timestamp,
                    },
                    skip,
                )
            },
        )
}

fn encode_value(out: &mut Vec<u8>, v: &BoundValue) {
    match v {
        BoundValue::Null => out.extend((-1i32).to_be_bytes()),
        BoundValue::Unset => out.extend((-2i32).to_be_bytes()),
        BoundValue::Value(b) => {
            out.extend((b.len() as i32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

fn encode_params(p: &QueryParams, skip: bool) -> Vec<u8> {
    let mut flags = 0u8;
    if !p.values.is_empty() || p.names.is_some() {
        flags |= 0x01;
    }
    if skip {
        flags |= 0x02;
    }
    if p.page_size.is_some() {
        flags |= 0x04;
    }
    if p.paging_state.is_some() {
        flags |= 0x08;
    }
    if p.serial_consistency.is_some() {
        flags |= 0x10;
    }
    if p.timestamp.is_some() {
        flags |= 0x20;
    }
    if p.names.is_some() {
        flags |= 0x40;
    }
    let mut out = p.consistency.to_be_bytes().to_vec();
    out.push(flags);
    if flags & 0x01 != 0 {
        out.extend((p.values.len() as u16).to_be_bytes());
        for (i, v) in p.values.iter().enumerate() {
            if let Some(names) = &p.names {
                out.extend(support::string(&names[i]));
            }
            encode_value(&mut out, v);
        }
    }
    if let Some(n) = p.page_size {
        out.extend(n.to_be_bytes());
    }
    if let Some(s) = &p.paging_state {
        out.extend((s.len() as i32).to_be_bytes());
        out.extend_from_slice(s);
    }
    if let Some(s) = p.serial_consistency {
        out.extend(s.to_be_bytes());
    }
    if let Some(t) = p.timestamp {
        out.extend(t.to_be_bytes());
    }
    out
}

fn cql_type() -> impl Strategy<Value = CqlType> {
    let leaf = prop_oneof![
        Just(CqlType::Ascii),
        Just(CqlType::BigInt),
        Just(CqlType::Blob),
        Just(CqlType::Boolean),
        Just(CqlType::Date),
        Just(CqlType::Decimal),
        Just(CqlType::Double),
        Just(CqlType::Duration),
        Just(CqlType::Float),
        Just(CqlType::Inet),
        Just(CqlType::Int),
        Just(CqlType::SmallInt),
        Just(CqlType::Text),
        Just(CqlType::Time),
        Just(CqlType::Timestamp),
        Just(CqlType::TimeUuid),
        Just(CqlType::TinyInt),
        Just(CqlType::Uuid),
        Just(CqlType::Varint),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| CqlType::List {
                elem: Box::new(e),
                frozen: false
            }),
            inner.clone().prop_map(|e| CqlType::Set {
                elem: Box::new(e),
                frozen: false
            }),
            (inner.clone(), inner).prop_map(|(k, v)| CqlType::Map {
                key: Box::new(k),
                value: Box::new(v),
                frozen: false
            }),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        scrolldb_server::fuzz_targets::frame::run(&data);
    }

    #[test]
    fn arbitrary_bodies_never_panic(opcode in 0u8..0x11, flags in any::<u8>(),
                                    body in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Some(op) = Opcode::from_u8(opcode) {
            for c in [None, Some(Compression::Lz4), Some(Compression::Snappy)] {
                let _ = scrolldb_server::protocol::request::decode_request(op, flags, Bytes::from(body.clone()), c);
            }
        }
    }

    #[test]
    fn query_and_execute_roundtrip((p, skip) in params(), cql in ".{0,40}") {
        let mut body = long_string(&cql);
        body.extend(encode_params(&p, skip));
        let decoded = Request::decode(Opcode::Query, 0, Bytes::from(body)).unwrap();
        prop_assert_eq!(decoded, Request::Query { cql, params: p.clone(), skip_metadata: skip });

        let mut body = vec![0, 3, 1, 2, 3];
        body.extend(encode_params(&p, skip));
        let decoded = Request::decode(Opcode::Execute, 0, Bytes::from(body)).unwrap();
        prop_assert_eq!(decoded, Request::Execute { id: Bytes::from_static(&[1, 2, 3]), params: p, skip_metadata: skip });
    }

    #[test]
    fn batch_roundtrip(values in proptest::collection::vec(value(), 0..4), ts in proptest::option::of(any::<i64>())) {
        let mut body = vec![1u8];
        body.extend(2u16.to_be_bytes());
        body.push(0);
        body.extend(long_string("INSERT INTO t (a) VALUES (?)"));
        body.extend((values.len() as u16).to_be_bytes());
        for v in &values { encode_value(&mut body, v); }
        body.push(1);
        body.extend([0u8, 2, 9, 9]);
        body.extend(0u16.to_be_bytes());
        body.extend(6u16.to_be_bytes());
        body.push(if ts.is_some() { 0x20 } else { 0 });
        if let Some(t) = ts { body.extend(t.to_be_bytes()); }
        let Request::Batch(b) = Request::decode(Opcode::Batch, 0, Bytes::from(body)).unwrap() else {
            panic!("not a batch");
        };
        prop_assert_eq!(b.kind, BatchKind::Unlogged);
        prop_assert_eq!(b.consistency, 6);
        prop_assert_eq!(b.timestamp, ts);
        prop_assert_eq!(&b.statements[0], &BatchStatement::Query { cql: "INSERT INTO t (a) VALUES (?)".into(), values });
        prop_assert_eq!(&b.statements[1], &BatchStatement::Prepared { id: Bytes::from_static(&[9, 9]), values: vec![] });
    }

    #[test]
    fn option_roundtrip(ty in cql_type()) {
        let mut out = BytesMut::new();
        put_option(&mut out, &ty);
        let mut r = BodyReader::new(out.freeze());
        prop_assert_eq!(read_option(&mut r).unwrap(), ty);
        prop_assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn compression_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        for c in [Compression::Lz4, Compression::Snappy] {
            let packed = c.compress(&data).unwrap();
            let unpacked = c.decompress(&packed).unwrap();
            prop_assert_eq!(unpacked.as_ref(), &data[..]);
        }
    }
}

#[test]
fn custom_payload_is_skipped() {
    let mut body = 1u16.to_be_bytes().to_vec();
    body.extend(support::string("k"));
    body.extend(2i32.to_be_bytes());
    body.extend([7, 7]);
    body.extend(support::query_body("SELECT 1"));
    let r = Request::decode(Opcode::Query, 0x04, Bytes::from(body)).unwrap();
    assert!(matches!(r, Request::Query { cql, .. } if cql == "SELECT 1"));
}

#[test]
fn lz4_lengths_beyond_the_ratio_are_refused_before_allocating() {
    let mut body = (200u32 << 20).to_be_bytes().to_vec();
    body.extend([0u8; 8]);
    let e = Compression::Lz4.decompress(&body).unwrap_err();
    assert!(e.message.contains("impossible"), "{e}");
}
