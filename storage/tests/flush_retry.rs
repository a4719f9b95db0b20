//! A flush job that fails (its SSTable writes fail) leaves the frozen memtable readable and
//! is handed out again; the retry installs it, and a reopen finds every row.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use scrolldb_storage::engine::{Engine, EngineOptions, FlushMode};
use scrolldb_storage::io::{self, FileIo, Io, IoMode, SyncKind};
use scrolldb_storage::model::{Cell, Mutation, ReadQuery, Row};

/// Plain I/O whose writes and fsyncs fail while `failing` is set.
#[derive(Debug)]
struct SwitchableIo {
    inner: Io,
    failing: AtomicBool,
}

impl SwitchableIo {
    fn check(&self) -> std::io::Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    }
}

impl FileIo for SwitchableIo {
    fn name(&self) -> &'static str {
        "switchable"
    }

    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.write_all_at(file, buf, offset)
    }

    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        self.check()?;
        self.inner.sync(file, kind)
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        memtable_flush_bytes: 8 << 10,
        flush_mode: FlushMode::External,
        io: IoMode::Plain,
        ..EngineOptions::default()
    }
}

fn count(engine: &mut Engine) -> usize {
    engine
        .read(&ReadQuery::partition(1, Bytes::from_static(b"p")))
        .unwrap()
        .rows
        .len()
}

#[test]
fn a_failed_flush_job_keeps_its_memtable_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let switch = Arc::new(SwitchableIo {
        inner: io::plain(),
        failing: AtomicBool::new(false),
    });
    let io: Io = switch.clone();
    let mut engine = Engine::open_with_io(dir.path(), options(), io).unwrap();
    let mut written = 0usize;
    while engine.frozen_memtables() == 0 {
        let mut row = Row::new(Bytes::copy_from_slice(&(written as u64).to_be_bytes()));
        row.set(0, Cell::live(1, Bytes::from(vec![b'x'; 100])));
        engine
            .apply(Mutation::new(1, Bytes::from_static(b"p")).with_row(row))
            .unwrap();
        written += 1;
    }

    let job = engine.take_flush().expect("a frozen memtable to flush");
    assert!(engine.take_flush().is_none(), "one job out at a time");
    switch.failing.store(true, Ordering::SeqCst);
    let result = job.run();
    switch.failing.store(false, Ordering::SeqCst);
    assert!(!result.is_ok());
    assert!(engine.install_flush(result).is_err());
    assert_eq!(engine.frozen_memtables(), 1, "the memtable stays frozen");
    assert_eq!(engine.stats().sstable_count, 0);
    assert_eq!(count(&mut engine), written, "frozen rows stay readable");

    let retry = engine
        .take_flush()
        .expect("the failed flush is handed out again");
    engine.install_flush(retry.run()).unwrap();
    assert_eq!(engine.frozen_memtables(), 0);
    assert_eq!(engine.stats().sstable_count, 1);
    assert_eq!(count(&mut engine), written);
    engine.close().unwrap();

    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(count(&mut engine), written, "after reopen");
    assert_eq!(engine.stats().sstable_count, 1);
}

#[test]
fn an_explicit_flush_overtakes_a_running_job_whose_result_is_then_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    let mut written = 0usize;
    while engine.frozen_memtables() == 0 {
        let mut row = Row::new(Bytes::copy_from_slice(&(written as u64).to_be_bytes()));
        row.set(0, Cell::live(1, Bytes::from(vec![b'y'; 100])));
        engine
            .apply(Mutation::new(1, Bytes::from_static(b"p")).with_row(row))
            .unwrap();
        written += 1;
    }
    let job = engine.take_flush().unwrap();
    engine.flush().unwrap();
    assert_eq!(engine.frozen_memtables(), 0);
    let sstables = engine.stats().sstable_count;
    engine.install_flush(job.run()).unwrap();
    assert_eq!(
        engine.stats().sstable_count,
        sstables,
        "the late result is discarded"
    );
    assert_eq!(count(&mut engine), written);
    let files = std::fs::read_dir(dir.path().join("tables").join("1"))
        .unwrap()
        .count();
    assert_eq!(files, sstables, "the late result's file is removed");
}
