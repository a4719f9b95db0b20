//! Model test for background flushes (`FlushMode::External`): random writes and deletes,
//! with flush jobs taken, run and installed at random points (jobs held across many writes,
//! results held before install, jobs abandoned), explicit flushes, compactions and reopens.
//! Every read (forward and reverse, with limits) and every full scan must match a
//! `BTreeMap`, and frozen memtables must stay bounded.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use scrolldb_storage::engine::{
    Engine, EngineOptions, FlushJob, FlushMode, FlushResult, ScanQuery, MAX_FROZEN_MEMTABLES,
};
use scrolldb_storage::model::{
    Cell, ColumnFilter, DeletionTime, Direction, Mutation, ReadQuery, Row, Slice,
};

const TABLE: u32 = 1;

#[derive(Clone, Debug)]
enum Op {
    Insert {
        pk: u8,
        ck: u8,
        v: u8,
    },
    DeleteRow {
        pk: u8,
        ck: u8,
    },
    DeletePartition {
        pk: u8,
    },
    Read {
        pk: u8,
        reverse: bool,
        limit: Option<usize>,
    },
    Scan,
    TakeJob,
    RunJob,
    Install,
    /// Drops the held job (a flush thread that died): the engine must still bound memory.
    AbandonJob,
    Flush,
    Compact,
    Reopen,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0u8..4, any::<u8>(), any::<u8>()).prop_map(|(pk, ck, v)| Op::Insert { pk, ck, v }),
        3 => (0u8..4, any::<u8>()).prop_map(|(pk, ck)| Op::DeleteRow { pk, ck }),
        1 => (0u8..4).prop_map(|pk| Op::DeletePartition { pk }),
        6 => (0u8..4, any::<bool>(), prop::option::of(1usize..8))
            .prop_map(|(pk, reverse, limit)| Op::Read { pk, reverse, limit }),
        1 => Just(Op::Scan),
        4 => Just(Op::TakeJob),
        4 => Just(Op::RunJob),
        4 => Just(Op::Install),
        1 => Just(Op::AbandonJob),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn options() -> EngineOptions {
    EngineOptions {
        memtable_flush_bytes: 1024,
        flush_mode: FlushMode::External,
        ..EngineOptions::default()
    }
}

fn pk_bytes(pk: u8) -> Bytes {
    Bytes::from(vec![b'p', pk])
}

/// Live values by partition, then clustering.
type Model = BTreeMap<u8, BTreeMap<u8, u8>>;

fn model_rows(model: &Model, pk: u8, reverse: bool, limit: Option<usize>) -> Vec<(u8, u8)> {
    let Some(p) = model.get(&pk) else {
        return vec![];
    };
    let it: Box<dyn Iterator<Item = (&u8, &u8)>> = if reverse {
        Box::new(p.iter().rev())
    } else {
        Box::new(p.iter())
    };
    it.take(limit.unwrap_or(usize::MAX))
        .map(|(c, v)| (*c, *v))
        .collect()
}

fn row_value(row: &Row) -> (u8, u8) {
    let ck = row.clustering.first().copied().unwrap_or(0);
    let v = row
        .cells
        .first()
        .and_then(|(_, c)| c.bytes().and_then(|v| v.first().copied()))
        .unwrap_or(0);
    (ck, v)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    let mut model = Model::new();
    let mut job: Option<FlushJob> = None;
    let mut result: Option<FlushResult> = None;
    let now = scrolldb_storage::clock::now_secs();
    for (i, op) in ops.into_iter().enumerate() {
        let ts = i as i64 + 1;
        match op {
            Op::Insert { pk, ck, v } => {
                let mut row = Row::new(Bytes::from(vec![ck]));
                row.set(0, Cell::live(ts, Bytes::from(vec![v; 20])));
                engine
                    .apply(Mutation::new(TABLE, pk_bytes(pk)).with_row(row))
                    .unwrap();
                model.entry(pk).or_default().insert(ck, v);
            }
            Op::DeleteRow { pk, ck } => {
                let mut row = Row::new(Bytes::from(vec![ck]));
                row.deletion = Some(DeletionTime::new(ts, now));
                engine
                    .apply(Mutation::new(TABLE, pk_bytes(pk)).with_row(row))
                    .unwrap();
                model.entry(pk).or_default().remove(&ck);
            }
            Op::DeletePartition { pk } => {
                let mut m = Mutation::new(TABLE, pk_bytes(pk));
                m.partition_deletion = Some(DeletionTime::new(ts, now));
                engine.apply(m).unwrap();
                model.remove(&pk);
            }
            Op::Read { pk, reverse, limit } => {
                let q = ReadQuery {
                    table: TABLE,
                    partition_key: pk_bytes(pk),
                    slice: Slice::all(),
                    direction: if reverse {
                        Direction::Reverse
                    } else {
                        Direction::Forward
                    },
                    limit,
                    columns: ColumnFilter::All,
                    now,
                };
                let got: Vec<(u8, u8)> = engine
                    .read(&q)
                    .unwrap()
                    .rows
                    .iter()
                    .map(row_value)
                    .collect();
                prop_assert_eq!(got, model_rows(&model, pk, reverse, limit), "op {}", i);
            }
            Op::Scan => {
                let mut got: BTreeMap<u8, Vec<(u8, u8)>> = BTreeMap::new();
                let mut q = ScanQuery::all(TABLE);
                q.page_rows = 7;
                loop {
                    let page = engine.scan(&q).unwrap();
                    for (key, rows) in page.partitions {
                        got.entry(key[1])
                            .or_default()
                            .extend(rows.iter().map(row_value));
                    }
                    match page.resume {
                        Some(r) => q.resume = Some(r),
                        None => break,
                    }
                }
                let want: BTreeMap<u8, Vec<(u8, u8)>> = model
                    .iter()
                    .filter(|(_, p)| !p.is_empty())
                    .map(|(pk, p)| (*pk, p.iter().map(|(c, v)| (*c, *v)).collect()))
                    .collect();
                prop_assert_eq!(got, want, "op {} scan", i);
            }
            Op::TakeJob => {
                if job.is_none() {
                    job = engine.take_flush();
                }
            }
            Op::RunJob => {
                if result.is_none() {
                    result = job.take().map(FlushJob::run);
                }
            }
            Op::Install => {
                if let Some(r) = result.take() {
                    engine.install_flush(r).unwrap();
                }
            }
            Op::AbandonJob => job = None,
            Op::Flush => engine.flush().unwrap(),
            Op::Compact => engine.compact_all().unwrap(),
            Op::Reopen => {
                job = None;
                result = None;
                engine.close().unwrap();
                engine = Engine::open(dir.path(), options()).unwrap();
            }
        }
        prop_assert!(engine.frozen_memtables() <= MAX_FROZEN_MEMTABLES);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn external_flushes_match_model(ops in prop::collection::vec(arb_op(), 1..300)) {
        run(ops)?;
    }
}

/// Writes with no flush thread at all: the engine flushes inline once frozen memtables pile
/// up, and everything survives a reopen.
#[test]
fn frozen_memtables_stay_bounded_without_a_flush_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    for i in 0..2000u32 {
        let mut row = Row::new(Bytes::copy_from_slice(&i.to_be_bytes()));
        row.set(0, Cell::live(1, Bytes::from(vec![7u8; 50])));
        engine
            .apply(Mutation::new(TABLE, pk_bytes((i % 5) as u8)).with_row(row))
            .unwrap();
        assert!(engine.frozen_memtables() <= MAX_FROZEN_MEMTABLES);
    }
    assert!(engine.stats().flushes > 0);
    engine.close().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    let mut total = 0;
    let mut q = ScanQuery::all(TABLE);
    loop {
        let page = engine.scan(&q).unwrap();
        total += page.partitions.iter().map(|(_, r)| r.len()).sum::<usize>();
        match page.resume {
            Some(r) => q.resume = Some(r),
            None => break,
        }
    }
    assert_eq!(total, 2000);
}
