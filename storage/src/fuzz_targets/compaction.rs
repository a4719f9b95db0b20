//! Fuzz target: compaction must never change what a read returns.
//!
//! The fuzzer's bytes are decoded into operations on one engine and on a [`model::Model`]:
//! writes (with TTLs and explicit timestamps, including ties and timestamps older than
//! existing data), every kind of deletion, flushes (explicit, and automatic with a tiny
//! memtable), table option changes (random strategy, thresholds and gc grace), major
//! compactions, background jobs run at once or held while more writes and flushes happen,
//! reopens, and clock advances. Every read, forward and reverse with slices and limits, must
//! equal the model's; after each compaction every partition is compared in full, so a purged
//! tombstone that let deleted data reappear is caught.
//!
//! The one thing the model cannot know is which purgeable tombstones the engine did purge.
//! Cassandra's contract is that a write older than a tombstone arriving after gc grace may
//! reappear; so once a compaction could have purged something, later writes to that
//! partition get timestamps above it (see [`model::Model::purgeable_floor`]).

pub mod model;
pub mod picker;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::clock::now_secs;
use crate::compaction::{CompactionConfig, CompactionJob, CompactionMode};
use crate::engine::{Engine, EngineOptions, TableOptions};
use crate::model::{
    Bound, Cell, ColumnFilter, DeletionTime, Direction, Mutation, RangeTombstone, ReadQuery, Row,
    Slice,
};
use crate::read::TombstoneThresholds;
use crate::sstable::SstableWriterOptions;
use model::Model;

const TABLE: u32 = 1;
/// Bounds the work one input can ask for.
const MAX_OPS: usize = 400;

/// Reads the input a byte at a time; past the end it yields zeros, so every input decodes.
struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    fn below(&mut self, n: u8) -> u8 {
        self.byte() % n.max(1)
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn pk(&mut self) -> Bytes {
        Bytes::from(vec![b'p', self.below(3)])
    }

    fn ck(&mut self) -> Bytes {
        Bytes::from(vec![self.below(4), self.below(6)])
    }

    /// Small timestamps so that ties and older-than-existing writes are common.
    fn ts(&mut self) -> i64 {
        1 + i64::from(self.below(48))
    }

    fn bound(&mut self) -> Bound {
        match self.below(5) {
            0 => Bound::Unbounded,
            1 => Bound::Included(Bytes::from(vec![self.below(4)])),
            2 => Bound::Excluded(Bytes::from(vec![self.below(4)])),
            3 => Bound::Included(self.ck()),
            _ => Bound::Excluded(self.ck()),
        }
    }
}

fn engine_options() -> EngineOptions {
    EngineOptions {
        memtable_flush_bytes: 2048,
        sstable: SstableWriterOptions {
            block_size_bytes: 96,
            ..SstableWriterOptions::default()
        },
        tombstones: TombstoneThresholds {
            warn: u64::MAX,
            fail: None,
        },
        compaction_mode: CompactionMode::External,
        ..EngineOptions::default()
    }
}

/// A random table configuration: strategy, thresholds and gc grace.
fn table_options(input: &mut Input<'_>) -> TableOptions {
    let mut map = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        map.insert(k.to_string(), v);
    };
    if input.flag() {
        set("class", "TimeWindowCompactionStrategy".into());
        set("compaction_window_unit", "MINUTES".into());
        set("compaction_window_size", (1 + input.below(2)).to_string());
        if input.flag() {
            // Timestamps 1..48 read as seconds: spread over a few windows.
            set("timestamp_resolution", "SECONDS".into());
        }
    } else {
        set(
            "class",
            "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy".into(),
        );
        if input.flag() {
            set("min_sstable_size", "0".into());
        }
    }
    let min = 2 + input.below(3);
    set("min_threshold", min.to_string());
    set("max_threshold", (min + input.below(4)).to_string());
    set("tombstone_threshold", format!("0.{}", input.below(6)));
    set("tombstone_compaction_interval", "0".into());
    set("unchecked_tombstone_compaction", input.flag().to_string());
    let compaction = CompactionConfig::parse(&map).expect("generated compaction options parse");
    let gc_grace_secs = [0, 0, 1, 5, 30, 600, 864_000][usize::from(input.below(7))];
    TableOptions {
        gc_grace_secs,
        compaction,
    }
}

/// The fuzzed run. Panics on any difference between the engine and the model.
pub fn run(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let mut engine = Engine::open(dir.path(), engine_options()).expect("open");
    let mut model = Model::default();
    let mut options = TableOptions {
        gc_grace_secs: 0,
        ..TableOptions::default()
    };
    engine.set_table_options(TABLE, options);
    // Logical clock: never behind the real one, so SSTable ages (from file times) are >= 0.
    let mut now = now_secs();
    // The most any compaction so far could have purged: its clock and its gc_before.
    let mut purge_now = i64::MIN;
    let mut purge_gc_before = i64::MIN;
    let mut held: Vec<CompactionJob> = Vec::new();
    let mut input = Input { data, at: 0 };
    for step in 0..MAX_OPS {
        if input.done() {
            break;
        }
        match input.below(16) {
            0..=4 => {
                let key = input.pk();
                let mut ts = input.ts();
                let floor = model.purgeable_floor(&key, purge_now, purge_gc_before);
                if ts <= floor {
                    ts = floor + 1 + i64::from(input.below(3));
                }
                let ttl = input.flag().then(|| 1 + u32::from(input.below(30)));
                let cell = |v: Bytes| match ttl {
                    Some(t) => Cell::expiring(ts, v, t, now),
                    None => Cell::live(ts, v),
                };
                let mut row = Row::new(input.ck());
                if input.flag() {
                    row.marker = Some(cell(Bytes::new()));
                }
                for _ in 0..input.below(3) {
                    let col = u32::from(input.below(4));
                    let v = input.byte();
                    row.set(col, cell(Bytes::from(vec![v])));
                }
                apply(
                    &mut engine,
                    &mut model,
                    Mutation::new(TABLE, key).with_row(row),
                );
            }
            5 => {
                let key = input.pk();
                let mut row = Row::new(input.ck());
                let col = u32::from(input.below(4));
                row.set(col, Cell::tombstone(input.ts(), now));
                apply(
                    &mut engine,
                    &mut model,
                    Mutation::new(TABLE, key).with_row(row),
                );
            }
            6 => {
                let key = input.pk();
                let mut row = Row::new(input.ck());
                row.deletion = Some(DeletionTime::new(input.ts(), now));
                apply(
                    &mut engine,
                    &mut model,
                    Mutation::new(TABLE, key).with_row(row),
                );
            }
            7 => {
                let mut m = Mutation::new(TABLE, input.pk());
                let (start, end) = (input.bound(), input.bound());
                let deletion = DeletionTime::new(input.ts(), now);
                if input.flag() {
                    m.partition_deletion = Some(deletion);
                } else {
                    m.range_tombstones
                        .push(RangeTombstone::new(start, end, deletion));
                }
                apply(&mut engine, &mut model, m);
            }
            8..=9 => {
                let q = ReadQuery {
                    table: TABLE,
                    partition_key: input.pk(),
                    slice: Slice::new(input.bound(), input.bound()),
                    direction: if input.flag() {
                        Direction::Reverse
                    } else {
                        Direction::Forward
                    },
                    limit: input.flag().then(|| 1 + usize::from(input.below(5))),
                    columns: if input.below(4) == 0 {
                        ColumnFilter::Only(vec![u32::from(input.below(4))])
                    } else {
                        ColumnFilter::All
                    },
                    now,
                };
                check(&mut engine, &model, &q, step);
            }
            10 => now += 1 + i64::from(input.below(60)),
            11 => engine.flush().expect("flush"),
            12 => {
                options = table_options(&mut input);
                engine.set_table_options(TABLE, options);
            }
            13 => {
                note_purge(&mut purge_now, &mut purge_gc_before, now, &options);
                engine
                    .compact_table_at(TABLE, now)
                    .expect("major compaction");
                check_all(&mut engine, &model, now, step);
            }
            14 => {
                note_purge(&mut purge_now, &mut purge_gc_before, now, &options);
                if let Some(job) = engine.pick_compaction_at(now) {
                    if input.flag() && held.len() < 4 {
                        held.push(job);
                    } else {
                        engine.install(job.run()).expect("install");
                        check_all(&mut engine, &model, now, step);
                    }
                }
            }
            _ => {
                if let Some(job) = held.pop() {
                    engine.install(job.run()).expect("install a held job");
                    check_all(&mut engine, &model, now, step);
                } else if input.flag() {
                    engine.close().expect("close");
                    engine = Engine::open(dir.path(), engine_options()).expect("reopen");
                    engine.set_table_options(TABLE, options);
                    check_all(&mut engine, &model, now, step);
                }
            }
        }
    }
    for job in held.drain(..) {
        engine.install(job.run()).expect("install a held job");
    }
    check_all(&mut engine, &model, now, MAX_OPS);
    note_purge(&mut purge_now, &mut purge_gc_before, now, &options);
    engine
        .compact_table_at(TABLE, now)
        .expect("final major compaction");
    check_all(&mut engine, &model, now, MAX_OPS);
}

fn note_purge(purge_now: &mut i64, purge_gc_before: &mut i64, now: i64, options: &TableOptions) {
    *purge_now = (*purge_now).max(now);
    *purge_gc_before = (*purge_gc_before).max(now.saturating_sub(options.gc_grace_secs));
}

fn apply(engine: &mut Engine, model: &mut Model, m: Mutation) {
    model.apply(&m);
    engine.apply(m).expect("apply");
}

fn check(engine: &mut Engine, model: &Model, q: &ReadQuery, step: usize) {
    let got = engine.read(q).expect("read").rows;
    let want = model.read(q);
    assert_eq!(got, want, "step {step}: read {q:?}");
}

/// Every partition, whole, both directions.
fn check_all(engine: &mut Engine, model: &Model, now: i64, step: usize) {
    for key in model.keys() {
        for direction in [Direction::Forward, Direction::Reverse] {
            let q = ReadQuery {
                direction,
                now,
                ..ReadQuery::partition(TABLE, key.clone())
            };
            check(engine, model, &q, step);
        }
    }
}
