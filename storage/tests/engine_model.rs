//! Model test: random writes, deletes of every kind, TTLs, explicit (tied and older)
//! timestamps, flushes, compactions and reopens, driven against the engine and a simple
//! in-memory model; every read (forward and reverse, with slices and limits) must agree.

use bytes::Bytes;
use proptest::prelude::*;
use scrolldb_storage::engine::{Engine, EngineOptions, FlushMode};
// The reference: every version ever written, reconciled per cell, nothing purged (shared
// with the compaction fuzz target).
use scrolldb_storage::fuzz_targets::compaction::model::Model;
use scrolldb_storage::io::IoMode;
use scrolldb_storage::model::{
    Bound, Cell, ColumnFilter, DeletionTime, Direction, Mutation, RangeTombstone, ReadQuery, Row,
    Slice,
};
use scrolldb_storage::read::TombstoneThresholds;
use scrolldb_storage::sstable::SstableWriterOptions;

const TABLE: u32 = 1;
/// Logical time starts a little in the past so that nothing a test writes is past gc grace.
fn start_secs() -> i64 {
    scrolldb_storage::clock::now_secs() - 10_000
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        pk: u8,
        ck: (u8, u8),
        cols: Vec<(u32, u8)>,
        ts: i64,
        ttl: Option<u32>,
        marker: bool,
    },
    DeleteCell {
        pk: u8,
        ck: (u8, u8),
        col: u32,
        ts: i64,
    },
    DeleteRow {
        pk: u8,
        ck: (u8, u8),
        ts: i64,
    },
    DeleteRange {
        pk: u8,
        start: BoundSpec,
        end: BoundSpec,
        ts: i64,
    },
    DeletePartition {
        pk: u8,
        ts: i64,
    },
    Read {
        pk: u8,
        start: BoundSpec,
        end: BoundSpec,
        reverse: bool,
        limit: Option<usize>,
        cols: Option<Vec<u32>>,
    },
    Advance {
        secs: u8,
    },
    Flush,
    Compact,
    Reopen,
}

#[derive(Clone, Debug)]
enum BoundSpec {
    Open,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl BoundSpec {
    fn bound(&self) -> Bound {
        match self {
            BoundSpec::Open => Bound::Unbounded,
            BoundSpec::Incl(p) => Bound::Included(Bytes::from(p.clone())),
            BoundSpec::Excl(p) => Bound::Excluded(Bytes::from(p.clone())),
        }
    }
}

fn ck_bytes(ck: (u8, u8)) -> Bytes {
    Bytes::from(vec![ck.0, ck.1])
}

fn pk_bytes(pk: u8) -> Bytes {
    Bytes::from(vec![b'p', pk])
}

fn arb_ck() -> impl Strategy<Value = (u8, u8)> {
    (0u8..4, 0u8..6)
}

fn arb_bound() -> impl Strategy<Value = BoundSpec> {
    prop_oneof![
        Just(BoundSpec::Open),
        (0u8..4).prop_map(|a| BoundSpec::Incl(vec![a])),
        (0u8..4).prop_map(|a| BoundSpec::Excl(vec![a])),
        arb_ck().prop_map(|(a, b)| BoundSpec::Incl(vec![a, b])),
        arb_ck().prop_map(|(a, b)| BoundSpec::Excl(vec![a, b])),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    let pk = 0u8..3;
    let ts = 1i64..40;
    prop_oneof![
        10 => (pk.clone(), arb_ck(), prop::collection::vec((0u32..4, any::<u8>()), 0..3), ts.clone(),
               prop::option::weighted(0.2, 1u32..30), any::<bool>())
            .prop_map(|(pk, ck, cols, ts, ttl, marker)| Op::Insert { pk, ck, cols, ts, ttl, marker }),
        2 => (pk.clone(), arb_ck(), 0u32..4, ts.clone()).prop_map(|(pk, ck, col, ts)| Op::DeleteCell { pk, ck, col, ts }),
        2 => (pk.clone(), arb_ck(), ts.clone()).prop_map(|(pk, ck, ts)| Op::DeleteRow { pk, ck, ts }),
        1 => (pk.clone(), arb_bound(), arb_bound(), ts.clone()).prop_map(|(pk, start, end, ts)| Op::DeleteRange { pk, start, end, ts }),
        1 => (pk.clone(), ts.clone()).prop_map(|(pk, ts)| Op::DeletePartition { pk, ts }),
        6 => (pk, arb_bound(), arb_bound(), any::<bool>(), prop::option::of(1usize..6),
              prop::option::weighted(0.3, prop::collection::btree_set(0u32..4, 1..3)))
            .prop_map(|(pk, start, end, reverse, limit, cols)| Op::Read {
                pk, start, end, reverse, limit, cols: cols.map(|c| c.into_iter().collect()) }),
        1 => (1u8..20).prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn options(io: IoMode, flush_mode: FlushMode) -> EngineOptions {
    EngineOptions {
        io,
        flush_mode,
        // Smaller with external flushes, so that runs see frozen memtables pile up.
        memtable_flush_bytes: if flush_mode == FlushMode::External {
            1024
        } else {
            4096
        },
        sstable: SstableWriterOptions {
            block_size_bytes: 96,
            ..SstableWriterOptions::default()
        },
        tombstones: TombstoneThresholds {
            warn: u64::MAX,
            fail: None,
        },
        ..EngineOptions::default()
    }
}

/// Every backend this machine can run: the model test runs on each.
fn io_modes() -> Vec<IoMode> {
    if scrolldb_storage::io::uring_available() {
        vec![IoMode::Plain, IoMode::Uring]
    } else {
        eprintln!("io_uring unavailable here: the model runs on plain I/O only");
        vec![IoMode::Plain, IoMode::Uring]
    }
}

/// With `FlushMode::External` and no thread running flush jobs, full memtables stay frozen
/// (read from memory) until the limit makes the engine flush the oldest inline, or until an
/// explicit flush: reads must merge frozen memtables with every kind of tombstone.
fn run(ops: Vec<Op>, io: IoMode, flush_mode: FlushMode) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let options = |io| options(io, flush_mode);
    let mut engine = Some(Engine::open(dir.path(), options(io)).unwrap());
    let mut model = Model::default();
    let mut now = start_secs();
    for (i, op) in ops.into_iter().enumerate() {
        let e = engine.as_mut().unwrap();
        let mutation = |pk: u8| Mutation::new(TABLE, pk_bytes(pk));
        match op {
            Op::Insert {
                pk,
                ck,
                cols,
                ts,
                ttl,
                marker,
            } => {
                let mut row = Row::new(ck_bytes(ck));
                let cell = |v: Bytes| match ttl {
                    Some(t) => Cell::expiring(ts, v, t, now),
                    None => Cell::live(ts, v),
                };
                if marker {
                    row.marker = Some(cell(Bytes::new()));
                }
                for (col, v) in cols {
                    row.set(col, cell(Bytes::from(vec![v])));
                }
                let m = mutation(pk).with_row(row);
                model.apply(&m);
                e.apply(m).unwrap();
            }
            Op::DeleteCell { pk, ck, col, ts } => {
                let mut row = Row::new(ck_bytes(ck));
                row.set(col, Cell::tombstone(ts, now));
                let m = mutation(pk).with_row(row);
                model.apply(&m);
                e.apply(m).unwrap();
            }
            Op::DeleteRow { pk, ck, ts } => {
                let mut row = Row::new(ck_bytes(ck));
                row.deletion = Some(DeletionTime::new(ts, now));
                let m = mutation(pk).with_row(row);
                model.apply(&m);
                e.apply(m).unwrap();
            }
            Op::DeleteRange { pk, start, end, ts } => {
                let mut m = mutation(pk);
                m.range_tombstones.push(RangeTombstone::new(
                    start.bound(),
                    end.bound(),
                    DeletionTime::new(ts, now),
                ));
                model.apply(&m);
                e.apply(m).unwrap();
            }
            Op::DeletePartition { pk, ts } => {
                let mut m = mutation(pk);
                m.partition_deletion = Some(DeletionTime::new(ts, now));
                model.apply(&m);
                e.apply(m).unwrap();
            }
            Op::Read {
                pk,
                start,
                end,
                reverse,
                limit,
                cols,
            } => {
                let q = ReadQuery {
                    table: TABLE,
                    partition_key: pk_bytes(pk),
                    slice: Slice::new(start.bound(), end.bound()),
                    direction: if reverse {
                        Direction::Reverse
                    } else {
                        Direction::Forward
                    },
                    limit,
                    columns: cols.map_or(ColumnFilter::All, ColumnFilter::Only),
                    now,
                };
                let got = e.read(&q).unwrap().rows;
                let want = model.read(&q);
                prop_assert_eq!(got, want, "op {} read {:?}", i, q);
            }
            Op::Advance { secs } => now += i64::from(secs),
            Op::Flush => e.flush().unwrap(),
            Op::Compact => e.compact_all().unwrap(),
            Op::Reopen => {
                engine.take().unwrap().close().unwrap();
                engine = Some(Engine::open(dir.path(), options(io)).unwrap());
            }
        }
    }
    Ok(())
}

proptest! {
    // 48 cases on each backend: the same 96 engine runs as before there were two.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in prop::collection::vec(arb_op(), 1..120)) {
        for io in io_modes() {
            run(ops.clone(), io, FlushMode::Inline)?;
        }
        run(ops, IoMode::Plain, FlushMode::External)?;
    }
}
