//! The statistics an SSTable stores are exact for counts and ranges, survive a reopen, and
//! estimate droppable tombstones from the deletion-time histogram.

use bytes::Bytes;

use scrolldb_storage::model::{Bound, Cell, DecoratedKey, DeletionTime, RangeTombstone, Row};
use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};

const DAY_SECS: i64 = 86_400;
const T0_SECS: i64 = 1_700_000_000;

#[test]
fn stats_are_exact_and_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut keys: Vec<DecoratedKey> = (0..3)
        .map(|i| DecoratedKey::new(Bytes::from(format!("k{i}"))))
        .collect();
    keys.sort();
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 3).unwrap();

    // Partition 0: partition deletion (day 0) + a range tombstone (day 1) + 2 live rows.
    let mut live = Row::new(Bytes::from_static(b"b"));
    live.marker = Some(Cell::live(100, Bytes::new()));
    live.set(1, Cell::live(200, &b"x"[..]));
    let mut live2 = Row::new(Bytes::from_static(b"c"));
    live2.set(1, Cell::live(150, &b"y"[..]));
    w.add_partition(
        &keys[0],
        Some(DeletionTime::new(50, T0_SECS)),
        &[RangeTombstone::new(
            Bound::Included(Bytes::from_static(b"a")),
            Bound::Excluded(Bytes::from_static(b"b")),
            DeletionTime::new(60, T0_SECS + DAY_SECS),
        )],
        vec![live, live2],
    )
    .unwrap();

    // Partition 1: a row tombstone (day 2), a row with a cell tombstone (day 3) and an
    // expiring cell (expires day 20).
    let mut dead = Row::new(Bytes::from_static(b"a"));
    dead.deletion = Some(DeletionTime::new(10, T0_SECS + 2 * DAY_SECS));
    let mut mixed = Row::new(Bytes::from_static(b"z"));
    mixed.set(1, Cell::tombstone(300, T0_SECS + 3 * DAY_SECS));
    mixed.set(
        2,
        Cell::expiring(5, &b"e"[..], 17 * 86_400, T0_SECS + 3 * DAY_SECS),
    );
    w.add_partition(&keys[1], None, &[], vec![dead, mixed])
        .unwrap();

    // Partition 2: empty.
    w.add_partition(&keys[2], None, &[], vec![]).unwrap();
    let stats = w.finish().unwrap();

    assert_eq!(stats.partition_count, 3);
    assert_eq!(stats.row_count, 4);
    // partition + range + row + cell tombstone + expiring cell.
    assert_eq!(stats.tombstone_count, 5);
    assert_eq!(stats.min_timestamp, 5);
    assert_eq!(stats.max_timestamp, 300);
    assert_eq!(stats.min_clustering.as_deref(), Some(&b"a"[..]));
    assert_eq!(stats.max_clustering.as_deref(), Some(&b"z"[..]));
    // Live cells never become purgeable, as in Cassandra.
    assert_eq!(stats.max_local_deletion_time, i64::MAX);

    assert_eq!(stats.estimated_droppable_tombstones(T0_SECS - 1), 0);
    assert_eq!(
        stats.estimated_droppable_tombstones(T0_SECS + 2 * DAY_SECS - 3600),
        2
    );
    assert_eq!(
        stats.estimated_droppable_tombstones(T0_SECS + 10 * DAY_SECS),
        4
    );
    assert_eq!(
        stats.estimated_droppable_tombstones(T0_SECS + 30 * DAY_SECS),
        5
    );

    let t = Sstable::open(&path).unwrap();
    assert_eq!(t.stats(), &stats);
}

#[test]
fn tombstone_only_table_has_finite_max_local_deletion_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 1).unwrap();
    let rows = (0..1000u32).map(|i| {
        let mut r = Row::new(Bytes::from(i.to_be_bytes().to_vec()));
        r.deletion = Some(DeletionTime::new(i64::from(i), T0_SECS + i64::from(i)));
        r
    });
    w.add_partition(
        &DecoratedKey::new(Bytes::from_static(b"p")),
        None,
        &[],
        rows,
    )
    .unwrap();
    let stats = w.finish().unwrap();
    assert_eq!(stats.max_local_deletion_time, T0_SECS + 999);
    assert_eq!(stats.tombstone_count, 1000);
    // Past the end of the last hour bucket every tombstone counts; inside it, interpolated.
    assert_eq!(stats.estimated_droppable_tombstones(T0_SECS + 7200), 1000);
    assert_eq!(stats.estimated_droppable_tombstones(T0_SECS - 3600), 0);
}
