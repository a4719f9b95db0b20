//! Round trips through the SSTable writer and reader, compared with the input filtered in
//! memory: random partitions (every cell kind, row, range and partition tombstones), random
//! slices, both directions, random block sizes so partitions share and span blocks.

use bytes::Bytes;
use proptest::prelude::*;
use std::collections::BTreeMap;

use scrolldb_storage::model::{
    Bound, Cell, DecoratedKey, DeletionTime, Direction, RangeTombstone, Row, Slice,
};
use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};

type Partition = (Option<DeletionTime>, Vec<RangeTombstone>, Vec<Row>);

fn key_bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(255)], 0..4)
        .prop_map(Bytes::from)
}

fn deletion() -> impl Strategy<Value = DeletionTime> {
    (
        1_600_000_000_000_000i64..1_600_000_100_000_000,
        1_600_000_000i64..1_700_000_000,
    )
        .prop_map(|(m, d)| DeletionTime::new(m, d))
}

fn cell() -> impl Strategy<Value = Cell> {
    let ts = 1_600_000_000_000_000i64..1_600_000_100_000_000;
    prop_oneof![
        (ts.clone(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(t, v)| Cell::live(t, v)),
        (
            ts.clone(),
            proptest::collection::vec(any::<u8>(), 0..10),
            1u32..100_000
        )
            .prop_map(|(t, v, ttl)| Cell::expiring(t, v, ttl, 1_650_000_000)),
        (ts, 1_600_000_000i64..1_700_000_000).prop_map(|(t, d)| Cell::tombstone(t, d)),
    ]
}

fn row(clustering: Bytes) -> impl Strategy<Value = Row> {
    (
        proptest::option::of(cell()),
        proptest::option::of(deletion()),
        proptest::collection::btree_map(0u32..20, cell(), 0..4),
    )
        .prop_map(move |(marker, deletion, cells)| Row {
            clustering: clustering.clone(),
            marker,
            deletion,
            cells: cells.into_iter().collect(),
        })
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        Just(Bound::Unbounded),
        key_bytes().prop_map(Bound::Included),
        key_bytes().prop_map(Bound::Excluded),
    ]
}

fn slice() -> impl Strategy<Value = Slice> {
    (bound(), bound()).prop_map(|(s, e)| Slice::new(s, e))
}

fn partition() -> impl Strategy<Value = Partition> {
    (
        proptest::option::of(deletion()),
        proptest::collection::vec(
            (bound(), bound(), deletion()).prop_map(|(s, e, d)| RangeTombstone::new(s, e, d)),
            0..3,
        ),
        proptest::collection::btree_set(key_bytes(), 0..30)
            .prop_flat_map(|keys| keys.into_iter().map(row).collect::<Vec<_>>()),
    )
}

fn table() -> impl Strategy<Value = BTreeMap<DecoratedKey, Partition>> {
    proptest::collection::btree_map(
        proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(|k| DecoratedKey::new(Bytes::from(k))),
        partition(),
        0..12,
    )
}

fn write(
    dir: &std::path::Path,
    parts: &BTreeMap<DecoratedKey, Partition>,
    block_size_bytes: usize,
) -> std::sync::Arc<Sstable> {
    let path = dir.join("t.db");
    let opts = SstableWriterOptions {
        block_size_bytes,
        ..SstableWriterOptions::default()
    };
    let mut w = SstableWriter::create(&path, opts, parts.len()).unwrap();
    for (k, (d, rts, rows)) in parts {
        w.add_partition(k, *d, rts, rows.iter().cloned()).unwrap();
    }
    w.finish().unwrap();
    Sstable::open(&path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip_with_random_slices(
        parts in table(),
        block_size_bytes in prop_oneof![Just(1usize), 30..400usize, Just(16 * 1024)],
        slices in proptest::collection::vec(slice(), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let t = write(dir.path(), &parts, block_size_bytes);
        prop_assert_eq!(t.stats().partition_count, parts.len() as u64);
        // Every partition, in ring order.
        let keys: Vec<DecoratedKey> = t
            .partitions_from(None)
            .map(|p| p.unwrap().key().clone())
            .collect();
        prop_assert_eq!(&keys, &parts.keys().cloned().collect::<Vec<_>>());
        for (k, (d, rts, rows)) in &parts {
            prop_assert!(t.may_contain(k));
            let p = t.partition(k).unwrap().expect("partition present");
            prop_assert_eq!(p.key(), k);
            prop_assert_eq!(p.deletion(), *d);
            prop_assert_eq!(p.range_tombstones(), &rts[..]);
            for s in slices.iter().chain([&Slice::all()]) {
                let want: Vec<Row> = rows.iter().filter(|r| s.contains(&r.clustering)).cloned().collect();
                let fwd: Vec<Row> = p.rows(s, Direction::Forward).map(|r| r.unwrap()).collect();
                prop_assert_eq!(&fwd, &want, "forward {:?}", s);
                let mut rev: Vec<Row> = p.rows(s, Direction::Reverse).map(|r| r.unwrap()).collect();
                rev.reverse();
                prop_assert_eq!(&rev, &want, "reverse {:?}", s);
            }
        }
    }

    #[test]
    fn partitions_from_honours_start_bound(
        parts in table(),
        probe in proptest::collection::vec(any::<u8>(), 0..6),
        inclusive in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let t = write(dir.path(), &parts, 256);
        // Probe with both an absent key and, when there is one, a present key.
        let mut probes = vec![DecoratedKey::new(Bytes::from(probe))];
        probes.extend(parts.keys().nth(parts.len() / 2).cloned());
        for start in &probes {
            let got: Vec<DecoratedKey> = t
                .partitions_from(Some((start, inclusive)))
                .map(|p| p.unwrap().key().clone())
                .collect();
            let want: Vec<DecoratedKey> = parts
                .keys()
                .filter(|k| if inclusive { *k >= start } else { *k > start })
                .cloned()
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn absent_keys_are_filtered_by_bloom() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = BTreeMap::new();
    for i in 0..2_000u32 {
        let mut r = Row::new(Bytes::from_static(b"c"));
        r.set(0, Cell::live(1, i.to_be_bytes().to_vec()));
        parts.insert(
            DecoratedKey::new(Bytes::from(format!("present-{i}"))),
            (None, vec![], vec![r]),
        );
    }
    let t = write(dir.path(), &parts, 16 * 1024);
    let mut false_positives = 0;
    for i in 0..10_000u32 {
        let k = DecoratedKey::new(Bytes::from(format!("absent-{i}")));
        if t.may_contain(&k) {
            false_positives += 1;
        }
        assert!(t.partition(&k).unwrap().is_none());
    }
    // 1% target rate; allow slack for randomness of the keys.
    assert!(false_positives < 300, "{false_positives} false positives");
    for k in parts.keys() {
        assert!(t.may_contain(k));
    }
    // Reopen: the filter (and its hash keys) come from the file.
    let t2 = Sstable::open(t.path()).unwrap();
    for k in parts.keys() {
        assert!(t2.may_contain(k));
    }
}

#[test]
fn empty_table_opens_and_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), &BTreeMap::new(), 1024);
    assert_eq!(t.partitions_from(None).count(), 0);
    assert!(!t.may_contain(&DecoratedKey::new(Bytes::from_static(b"x"))));
    assert_eq!(t.stats().partition_count, 0);
}

#[test]
fn out_of_order_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 2).unwrap();
    let a = DecoratedKey::new(Bytes::from_static(b"a"));
    let rows = vec![
        Row::new(Bytes::from_static(b"2")),
        Row::new(Bytes::from_static(b"1")),
    ];
    assert!(w.add_partition(&a, None, &[], rows).is_err());
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 2).unwrap();
    w.add_partition(&a, None, &[], vec![]).unwrap();
    assert!(w.add_partition(&a, None, &[], vec![]).is_err());
}

#[test]
fn sstable_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sstable>();
    assert_send_sync::<std::sync::Arc<Sstable>>();
}

#[test]
fn shared_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = BTreeMap::new();
    for i in 0..50u32 {
        let rows = (0..100u32)
            .map(|j| {
                let mut r = Row::new(Bytes::from(j.to_be_bytes().to_vec()));
                r.set(0, Cell::live(1, format!("{i}/{j}")));
                r
            })
            .collect();
        parts.insert(
            DecoratedKey::new(Bytes::from(format!("p{i}"))),
            (None, vec![], rows),
        );
    }
    let t = write(dir.path(), &parts, 512);
    let keys: Vec<DecoratedKey> = parts.keys().cloned().collect();
    std::thread::scope(|s| {
        for dir in [Direction::Forward, Direction::Reverse] {
            let t = t.clone();
            let keys = &keys;
            s.spawn(move || {
                for k in keys {
                    let p = t.partition(k).unwrap().unwrap();
                    assert_eq!(p.rows(&Slice::all(), dir).count(), 100);
                }
            });
        }
    });
    assert!(t.blocks_read() > 0);
}
