//! Fault injection through the I/O backend seam: the N-th write or fsync fails (a failing
//! write first writes part of its buffer, as a torn write would), for many N, while the
//! engine writes in group-commit mode with flushes and commitlog rotations, and goes on
//! writing after the error. Then the engine is reopened on plain I/O: it must open cleanly,
//! hold every write that was acknowledged, and nothing that was never written.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use scrolldb_storage::commitlog::{CommitlogOptions, SyncMode};
use scrolldb_storage::engine::{Engine, EngineOptions};
use scrolldb_storage::io::{self, FileIo, Io, IoMode, SyncKind};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

const PARTITIONS: u64 = 4;

/// Passes operations to `inner` until the `fail_at`-th, which fails. A `permanent` failure
/// fails every later operation too (a dead disk: the process dies with whatever is on
/// disk); a transient one lets the engine go on, so it must itself refuse to write after a
/// failure it cannot repair.
#[derive(Debug)]
struct FailingIo {
    inner: Io,
    ops: AtomicU64,
    fail_at: u64,
    permanent: bool,
    torn: bool,
}

impl FailingIo {
    fn injected(&self) -> Option<std::io::Error> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        let fails = n == self.fail_at || (self.permanent && n > self.fail_at);
        fails.then(|| std::io::Error::other(format!("injected failure at op {n}")))
    }
}

impl FileIo for FailingIo {
    fn name(&self) -> &'static str {
        "failing"
    }

    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        if let Some(e) = self.injected() {
            if self.torn && buf.len() > 1 {
                let _ = self.inner.write_all_at(file, &buf[..buf.len() / 2], offset);
            }
            return Err(e);
        }
        self.inner.write_all_at(file, buf, offset)
    }

    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        match self.injected() {
            Some(e) => Err(e),
            None => self.inner.sync(file, kind),
        }
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        commitlog: CommitlogOptions {
            sync: SyncMode::GroupCommit,
            segment_size_bytes: 8 << 10,
            ..CommitlogOptions::default()
        },
        memtable_flush_bytes: 4 << 10,
        io: IoMode::Plain,
        ..EngineOptions::default()
    }
}

fn mutation(id: u64) -> Mutation {
    let mut row = Row::new(Bytes::copy_from_slice(&id.to_be_bytes()));
    row.marker = Some(Cell::live(id as i64, Bytes::new()));
    row.set(
        0,
        Cell::live(
            id as i64,
            Bytes::from(format!("message {id} {}", "z".repeat((id % 61) as usize))),
        ),
    );
    Mutation::new(1, Bytes::copy_from_slice(&(id % PARTITIONS).to_be_bytes())).with_row(row)
}

fn present(engine: &mut Engine) -> HashSet<u64> {
    let mut ids = HashSet::new();
    for p in 0..PARTITIONS {
        let q = ReadQuery::partition(1, Bytes::copy_from_slice(&p.to_be_bytes()));
        for r in engine.read(&q).unwrap().rows {
            ids.insert(u64::from_be_bytes(
                r.clustering.as_ref().try_into().unwrap(),
            ));
        }
    }
    ids
}

/// Runs one engine life with a failure at op `fail_at`, ending some operations later;
/// returns the acknowledged and the attempted ids and the flushes that completed.
fn life(
    dir: &Path,
    first_id: u64,
    fail_at: u64,
    permanent: bool,
    torn: bool,
) -> (Vec<u64>, Vec<u64>, u64) {
    let failing = Arc::new(FailingIo {
        inner: io::plain(),
        ops: AtomicU64::new(0),
        fail_at,
        permanent,
        torn,
    });
    let io: Io = failing.clone();
    let (mut acked, mut attempted) = (Vec::new(), Vec::new());
    let Ok(mut engine) = Engine::open_with_io(dir, options(), io) else {
        return (acked, attempted, 0); // died while opening: nothing written
    };
    let mut id = first_id;
    // A poisoned commitlog fails without any I/O: bound the batches as well as the ops.
    for _ in 0..400 {
        if failing.ops.load(Ordering::SeqCst) >= fail_at + 40 {
            break;
        }
        let batch: Vec<u64> = (id..id + 1 + id % 3).collect();
        id += batch.len() as u64;
        attempted.extend(&batch);
        // After an error keep going: later writes either fail too (a poisoned commitlog)
        // or must be safe to acknowledge.
        if engine
            .apply_batch(batch.iter().copied().map(mutation).collect())
            .is_ok()
        {
            acked.extend(&batch);
        }
    }
    let flushes = engine.stats().flushes;
    (acked, attempted, flushes)
}

#[test]
fn acknowledged_writes_survive_failed_writes_and_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: HashSet<u64> = HashSet::new();
    let mut attempted: HashSet<u64> = HashSet::new();
    let mut next = 0u64;
    // Early ops (segment creation, first appends), then points spread over flushes and
    // rotations; every other failure is permanent, every third tears the failing write.
    let points = [
        1u64, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 34, 42, 51, 61, 72, 84, 97, 111, 126, 142, 159,
        177, 196, 216, 237,
    ];
    let mut flushes = 0;
    for (i, &fail_at) in points.iter().enumerate() {
        let (permanent, torn) = (i % 2 == 0, i % 3 == 1);
        let (a, t, f) = life(dir.path(), next, fail_at, permanent, torn);
        flushes += f;
        next += 10_000;
        acked.extend(a);
        attempted.extend(t);
        let mut engine = Engine::open(dir.path(), options())
            .unwrap_or_else(|e| panic!("reopen after a failure at op {fail_at}: {e}"));
        let got = present(&mut engine);
        for id in &acked {
            assert!(
                got.contains(id),
                "failure at op {fail_at}: acknowledged id {id} lost"
            );
        }
        for id in &got {
            assert!(
                attempted.contains(id),
                "failure at op {fail_at}: id {id} never written"
            );
        }
        engine.close().unwrap();
    }
    assert!(
        acked.len() > 500,
        "too few acknowledged writes to test anything: {}",
        acked.len()
    );
    assert!(
        acked.len() < attempted.len(),
        "some writes must have failed"
    );
    assert!(
        flushes >= 10,
        "failures must land around flushes too: {flushes} flushes"
    );
}
