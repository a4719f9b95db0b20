//! Native protocol v4 value encoding: round trips, known bytes, and hostile input.

mod types_common;

/// In a module named `types_*` so that `cargo test -p scrolldb-storage types` runs it.
mod types_serialize {
    use super::types_common::*;
    use bytes::Bytes;
    use proptest::prelude::*;
    use scrolldb_storage::types::{CqlType, Value};

    fn same_deep(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_deep(p, q))
            }
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((k1, v1), (k2, v2))| same_deep(k1, k2) && same_deep(v1, v2))
            }
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn roundtrip((ty, v) in typed_value()) {
            let bytes = v.serialize();
            let back = ty.deserialize(&bytes).unwrap();
            prop_assert!(same_deep(&back, &v), "{} -> {:02x?} -> {:?}", ty, &bytes[..], back);
            // The type name round-trips as well.
            prop_assert_eq!(CqlType::parse(&ty.to_string()).unwrap(), ty);
        }

        #[test]
        fn deserialize_never_panics(ty in any_type(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = ty.deserialize(&bytes);
        }

        #[test]
        fn truncation_is_an_error((ty, v) in typed_value()) {
            let bytes = v.serialize();
            // Fixed-size and length-prefixed values reject any shorter buffer.
            let fixed = !matches!(ty, CqlType::Text | CqlType::Ascii | CqlType::Blob | CqlType::Varint | CqlType::Decimal | CqlType::Duration | CqlType::Inet);
            if fixed && !bytes.is_empty() {
                prop_assert!(ty.deserialize(&bytes[..bytes.len() - 1]).is_err());
            }
        }
    }

    #[test]
    fn known_bytes() {
        assert_eq!(&Value::BigInt(1).serialize()[..], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&Value::Int(-2).serialize()[..], &[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(&Value::Date(1 << 31).serialize()[..], &[0x80, 0, 0, 0]);
        assert_eq!(&Value::varint_from_i128(128).serialize()[..], &[0x00, 0x80]);
        assert_eq!(
            &Value::varint_from_i128(-129).serialize()[..],
            &[0xff, 0x7f]
        );
        let Value::Varint(unscaled) = Value::varint_from_i128(12345) else {
            unreachable!()
        };
        assert_eq!(
            &Value::Decimal { scale: 2, unscaled }.serialize()[..],
            &[0, 0, 0, 2, 0x30, 0x39]
        );
        // Duration 1mo2d3ns: zigzag vints 2, 4, 6.
        assert_eq!(
            &Value::Duration {
                months: 1,
                days: 2,
                nanos: 3
            }
            .serialize()[..],
            &[2, 4, 6]
        );
        let list = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(
            &list.serialize()[..],
            &[0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]
        );
        let map = CqlType::parse("map<text, int>").unwrap();
        let v = map
            .deserialize(&[0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 4, 0, 0, 0, 9])
            .unwrap();
        assert_eq!(
            v,
            Value::Map(vec![(Value::Text("k".into()), Value::Int(9))])
        );
    }

    #[test]
    fn hostile_input() {
        let list = CqlType::parse("list<int>").unwrap();
        // A count far larger than the bytes, a null element, a negative count.
        assert!(list.deserialize(&[0x7f, 0xff, 0xff, 0xff]).is_err());
        assert!(list
            .deserialize(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])
            .is_err());
        assert!(list.deserialize(&[0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(CqlType::Text.deserialize(&[0xc3]).is_err());
        assert!(CqlType::Ascii.deserialize(&[0x80]).is_err());
        assert!(CqlType::Inet.deserialize(&[1, 2, 3]).is_err());
        assert!(CqlType::Time.deserialize(&(-1i64).to_be_bytes()).is_err());
        // Version 4 bytes are not a timeuuid.
        let mut v4 = [0u8; 16];
        v4[6] = 0x40;
        assert!(CqlType::TimeUuid.deserialize(&v4).is_err());
        assert!(CqlType::Uuid.deserialize(&v4).is_ok());
        // Mixed-sign durations: months 1 (zigzag 2), days -1 (zigzag 1).
        assert!(CqlType::Duration.deserialize(&[2, 1, 0]).is_err());
        assert!(CqlType::Duration.deserialize(&[0xff]).is_err());
        assert!(CqlType::Varint.deserialize(&[]).is_err());
        assert!(CqlType::Blob.deserialize(&[]).is_ok());
        let _ = Bytes::new();
    }
}
