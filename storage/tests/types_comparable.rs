//! The byte-comparable clustering encoding against Cassandra's order (`cql_compare`).

mod types_common;

/// In a module named `types_*` so that `cargo test -p scrolldb-storage types` runs it.
mod types_clustering {
    use super::types_common::*;
    use proptest::prelude::*;
    use scrolldb_storage::types::{
        cql_compare, decode_clustering, encode_clustering, CqlType, Order, Value,
    };
    use scrolldb_storage::Error;
    use std::cmp::Ordering;

    fn key_compare(columns: &[(CqlType, Order)], a: &[Value], b: &[Value]) -> Ordering {
        for ((_, order), (x, y)) in columns.iter().zip(a.iter().zip(b)) {
            let c = cql_compare(x, y);
            let c = if *order == Order::Desc {
                c.reverse()
            } else {
                c
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        a.len().cmp(&b.len())
    }

    fn pair() -> impl Strategy<Value = (CqlType, Order, Value, Value)> {
        (clustering_type(), order()).prop_flat_map(|(t, o)| {
            let pair = value_pair(&t);
            (Just(t), Just(o), pair).prop_map(|(t, o, (a, b))| (t, o, a, b))
        })
    }

    /// Columns and two full keys for them.
    fn two_keys() -> impl Strategy<Value = (Vec<(CqlType, Order)>, Vec<Value>, Vec<Value>)> {
        prop::collection::vec((clustering_type(), order()), 1..5).prop_flat_map(|cols| {
            let pairs: Vec<_> = cols.iter().map(|(t, _)| value_pair(t)).collect();
            (Just(cols), pairs).prop_map(|(cols, pairs)| {
                let (a, b) = pairs.into_iter().unzip();
                (cols, a, b)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn one_column_order((ty, order, a, b) in pair()) {
            let cols = [(ty, order)];
            let ea = encode_clustering(&cols, std::slice::from_ref(&a)).unwrap();
            let eb = encode_clustering(&cols, std::slice::from_ref(&b)).unwrap();
            prop_assert_eq!(ea.cmp(&eb), key_compare(&cols, std::slice::from_ref(&a), std::slice::from_ref(&b)),
                "{} vs {}: {:02x?} {:02x?}", a, b, &ea[..], &eb[..]);
            let da = decode_clustering(&cols, &ea).unwrap();
            prop_assert_eq!(da.len(), 1);
            prop_assert!(same(&da[0], &a), "{:?} decoded as {:?}", a, da[0]);
        }

        #[test]
        fn multi_column_order_and_prefixes((cols, a, b) in two_keys()) {
            let ea = encode_clustering(&cols, &a).unwrap();
            let eb = encode_clustering(&cols, &b).unwrap();
            prop_assert_eq!(ea.cmp(&eb), key_compare(&cols, &a, &b));
            for k in 0..=a.len() {
                let pa = encode_clustering(&cols, &a[..k]).unwrap();
                prop_assert!(ea.starts_with(&pa), "prefix {} is not a byte prefix", k);
                let decoded = decode_clustering(&cols, &pa).unwrap();
                prop_assert_eq!(decoded.len(), k);
                for (x, y) in decoded.iter().zip(&a) {
                    prop_assert!(same(x, y));
                }
                // A prefix bound orders against a full key as the key's first k columns do.
                let pb = encode_clustering(&cols, &b[..k]).unwrap();
                prop_assert_eq!(pa.cmp(&pb), key_compare(&cols, &a[..k], &b[..k]));
            }
        }

        #[test]
        fn decode_never_panics(
            cols in prop::collection::vec((clustering_type(), order()), 1..4),
            bytes in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let _ = decode_clustering(&cols, &bytes);
        }
    }

    #[test]
    fn wrong_type_and_unsupported_columns() {
        let cols = [(CqlType::Int, Order::Asc)];
        assert!(matches!(
            encode_clustering(&cols, &[Value::BigInt(1)]),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            encode_clustering(&cols, &[Value::Int(1), Value::Int(2)]),
            Err(Error::InvalidRequest(_))
        ));
        for ty in ["decimal", "duration", "frozen<list<int>>", "set<int>"] {
            let ty = CqlType::parse(ty).unwrap();
            assert!(matches!(
                scrolldb_storage::types::check_clustering_type(&ty),
                Err(Error::InvalidRequest(_))
            ));
        }
        assert!(decode_clustering(&cols, &[0x80, 0, 0, 1, 5]).is_err());
        assert!(decode_clustering(&cols, &[0x80, 0, 0]).is_err());
    }

    #[test]
    fn message_id_desc_newest_first() {
        // The messages table: clustering by message_id DESC, so a larger (newer) id sorts first.
        let cols = [(CqlType::BigInt, Order::Desc)];
        let older = encode_clustering(&cols, &[Value::BigInt(100)]).unwrap();
        let newer = encode_clustering(&cols, &[Value::BigInt(200)]).unwrap();
        assert!(newer < older);
    }

    #[test]
    fn escaping_examples() {
        let cols = [(CqlType::Blob, Order::Asc), (CqlType::Int, Order::Asc)];
        let k = encode_clustering(
            &cols,
            &[
                Value::Blob(bytes::Bytes::from_static(&[0, 1])),
                Value::Int(0),
            ],
        )
        .unwrap();
        assert_eq!(&k[..], &[0, 0xff, 1, 0, 0, 0x80, 0, 0, 0]);
        let desc = [(CqlType::Text, Order::Desc)];
        let k = encode_clustering(&desc, &[Value::Text("a".into())]).unwrap();
        assert_eq!(&k[..], &[!b'a', 0xff, 0xff]);
    }
}
