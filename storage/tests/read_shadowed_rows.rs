//! Reads through a real engine over rows a newer row tombstone shadows, with the tombstones
//! in the memtable and then in an SSTable: shadowed versions are skipped (Cassandra's rule,
//! a deletion at T shadows data at T), a cell newer than the tombstone survives it.

use bytes::Bytes;
use scrolldb_storage::compaction::CompactionMode;
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::model::{Cell, DeletionTime, Direction, Mutation, ReadQuery, Row};

const TABLE: u32 = 1;

fn ck(i: u8) -> Bytes {
    Bytes::from(vec![i])
}

fn write(engine: &mut Engine, row: Row) {
    engine
        .apply(Mutation::new(TABLE, &b"channel"[..]).with_row(row))
        .unwrap();
}

fn read(engine: &mut Engine, direction: Direction) -> (Vec<Row>, u64) {
    let mut q = ReadQuery::partition(TABLE, &b"channel"[..]).limit(50);
    q.direction = direction;
    let r = engine.read(&q).unwrap();
    (r.rows, r.stats.tombstones_scanned)
}

#[test]
fn row_tombstones_shadow_older_data_and_ties_but_not_newer_cells() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        compaction_mode: CompactionMode::External,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir.path(), opts).unwrap();
    for i in 0..6u8 {
        let mut row = Row::new(ck(i));
        // Row 5 is written at the deletion's own timestamp.
        let ts = if i == 5 { 20 } else { 10 };
        row.marker = Some(Cell::live(ts, Bytes::new()));
        row.set(0, Cell::live(ts, vec![b'm'; 40]));
        if i == 2 {
            row.set(1, Cell::live(30, &b"edited after the delete"[..]));
        }
        write(&mut engine, row);
    }
    engine.flush().unwrap();
    for i in 0..6u8 {
        let mut row = Row::new(ck(i));
        row.deletion = Some(DeletionTime::new(20, 1_700_000_000));
        write(&mut engine, row);
    }
    let mut survivor = Row::new(ck(2));
    survivor.set(1, Cell::live(30, &b"edited after the delete"[..]));
    for phase in ["tombstones in the memtable", "tombstones in an sstable"] {
        for direction in [Direction::Forward, Direction::Reverse] {
            let (rows, tombstones) = read(&mut engine, direction);
            assert_eq!(rows, vec![survivor.clone()], "{phase}, {direction:?}");
            assert_eq!(tombstones, 6, "{phase}, {direction:?}");
        }
        engine.flush().unwrap();
    }
}
