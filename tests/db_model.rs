//! Model test: the typed API and a `BTreeMap` driven by the same random operations, every
//! read compared (slices, both directions, limits, paging, full scans), across flushes,
//! compactions, reopens and changes of shard count.

mod common;

use common::*;
use scrolldb::storage::engine::ScanQuery;
use scrolldb::storage::types::Value;
use scrolldb::{Db, Delete, KeyBound, Options, Select, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;

/// A row of the model: whether an INSERT's liveness marker is there, and the content.
#[derive(Clone, Debug, Default)]
struct ModelRow {
    marker: bool,
    content: Option<String>,
}

type Model = BTreeMap<i64, BTreeMap<i64, ModelRow>>;

/// xorshift64*: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CHANNELS: u64 = 6;
const IDS: u64 = 40;

fn open(dir: &Path, shards: usize) -> Db {
    Db::open(
        dir,
        Options {
            pin_threads: false,
            ..Options::with_shards(shards)
        },
    )
    .unwrap()
}

fn bound(rng: &mut Rng) -> (KeyBound, Option<(i64, bool)>) {
    let id = rng.below(IDS + 2) as i64;
    match rng.below(3) {
        0 => (KeyBound::Unbounded, None),
        1 => (
            KeyBound::Included(vec![Value::BigInt(id)]),
            Some((id, true)),
        ),
        _ => (
            KeyBound::Excluded(vec![Value::BigInt(id)]),
            Some((id, false)),
        ),
    }
}

/// Whether `id` is inside [start, end] in the table's (descending) clustering order.
fn in_range(id: i64, start: Option<(i64, bool)>, end: Option<(i64, bool)>) -> bool {
    let after_start = match start {
        None => true,
        Some((s, true)) => id <= s,
        Some((s, false)) => id < s,
    };
    let before_end = match end {
        None => true,
        Some((e, true)) => id >= e,
        Some((e, false)) => id > e,
    };
    after_start && before_end
}

fn live(row: &ModelRow) -> bool {
    row.marker || row.content.is_some()
}

/// Compares one random select; returns how many rows it read.
fn check_select(db: &Db, model: &Model, rng: &mut Rng) -> usize {
    let channel = rng.below(CHANNELS) as i64;
    let (start, s) = bound(rng);
    let (end, e) = bound(rng);
    let reversed = rng.below(2) == 0;
    let limit = 1 + rng.below(15) as usize;
    let mut expected: Vec<(i64, Option<String>)> = model
        .get(&channel)
        .map(|rows| {
            rows.iter()
                .rev()
                .filter(|(id, row)| live(row) && in_range(**id, s, e))
                .map(|(id, row)| (*id, row.content.clone()))
                .collect()
        })
        .unwrap_or_default();
    if reversed {
        expected.reverse();
    }
    let mut got = Vec::new();
    let mut state = None;
    for _ in 0..100 {
        let mut select = Select::new("chat", "messages", key(channel))
            .range(start.clone(), end.clone())
            .limit(limit)
            .page(state.clone());
        if reversed {
            select = select.reversed();
        }
        let page = db.select(&select).unwrap();
        assert!(page.rows.len() <= limit);
        for row in &page.rows {
            let id = match row.get("message_id") {
                Some(Value::BigInt(i)) => *i,
                other => panic!("{other:?}"),
            };
            let content = match row.get("content") {
                Some(Value::Text(t)) => Some(t.clone()),
                None => None,
                other => panic!("{other:?}"),
            };
            got.push((id, content));
        }
        state = page.paging_state;
        if state.is_none() {
            break;
        }
    }
    assert_eq!(
        got, expected,
        "channel {channel} {start:?}..{end:?} reversed {reversed} limit {limit}"
    );
    got.len()
}

fn check_scan(db: &Db, model: &Model, page_rows: usize) {
    let table = db.catalog().table("chat", "messages").unwrap().id;
    let mut q = ScanQuery::all(table);
    q.page_rows = page_rows;
    let mut rows = 0;
    loop {
        let page = db.scan(q.clone()).unwrap();
        rows += page.partitions.iter().map(|(_, r)| r.len()).sum::<usize>();
        match page.resume {
            Some(p) => q.resume = Some(p),
            None => break,
        }
    }
    let expected: usize = model
        .values()
        .map(|rows| rows.values().filter(|r| live(r)).count())
        .sum();
    assert_eq!(rows, expected);
}

fn run(seed: u64, ops: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut shards = 1 + rng.below(4) as usize;
    let mut db = open(dir.path(), shards);
    create_messages(&db);
    let mut model = Model::new();
    // Explicit, increasing write timestamps: two writes never tie.
    let mut ts = 1_000_000i64;
    let mut rows_compared = 0;
    for op in 0..ops {
        ts += 1;
        let opts = WriteOptions {
            timestamp: Some(ts),
            ttl_secs: None,
        };
        let channel = rng.below(CHANNELS) as i64;
        let id = rng.below(IDS) as i64;
        let rows = model.entry(channel).or_default();
        match rng.below(100) {
            0..=39 => {
                let content = format!("c{op}");
                db.insert_with(
                    "chat",
                    "messages",
                    &[
                        ("channel_id", Value::BigInt(channel)),
                        ("bucket", Value::Int(0)),
                        ("message_id", Value::BigInt(id)),
                        ("content", Value::Text(content.clone())),
                    ],
                    opts,
                )
                .unwrap();
                *rows.entry(id).or_default() = ModelRow {
                    marker: true,
                    content: Some(content),
                };
            }
            40..=54 => {
                let content = (rng.below(3) > 0).then(|| format!("u{op}"));
                db.update(
                    "chat",
                    "messages",
                    &[
                        ("channel_id", Some(Value::BigInt(channel))),
                        ("bucket", Some(Value::Int(0))),
                        ("message_id", Some(Value::BigInt(id))),
                        ("content", content.clone().map(Value::Text)),
                    ],
                    opts,
                )
                .unwrap();
                rows.entry(id).or_default().content = content;
            }
            55..=69 => {
                let delete = Delete::Row {
                    key: key(channel),
                    clustering: vec![Value::BigInt(id)],
                };
                db.delete_with("chat", "messages", &delete, opts).unwrap();
                rows.remove(&id);
            }
            70..=79 => {
                let (start, s) = bound(&mut rng);
                let (end, e) = bound(&mut rng);
                let delete = Delete::Range {
                    key: key(channel),
                    start,
                    end,
                };
                db.delete_with("chat", "messages", &delete, opts).unwrap();
                rows.retain(|id, _| !in_range(*id, s, e));
            }
            80..=81 => {
                let delete = Delete::Partition { key: key(channel) };
                db.delete_with("chat", "messages", &delete, opts).unwrap();
                rows.clear();
            }
            82..=94 => rows_compared += check_select(&db, &model, &mut rng),
            95 => db.flush().unwrap(),
            96 => db.compact(None).unwrap(),
            97 => check_scan(&db, &model, 1 + rng.below(30) as usize),
            _ => {
                drop(db);
                shards = 1 + rng.below(4) as usize;
                db = open(dir.path(), shards);
            }
        }
    }
    check_scan(&db, &model, 7);
    for _ in 0..50 {
        rows_compared += check_select(&db, &model, &mut rng);
    }
    assert!(
        rows_compared > 200,
        "the selects saw too little: {rows_compared}"
    );
}

#[test]
fn model_seed_1() {
    run(1, 1000);
}

#[test]
fn model_seed_2() {
    run(2, 1000);
}

#[test]
fn model_seed_3() {
    run(3, 1000);
}
