//! The coalescer against a fake storage read that counts its calls and can be held open, so
//! every interleaving below is forced, not hoped for.

use super::*;
use crate::storage::model::{ColumnFilter, Direction, ReadQuery, Slice};
use std::sync::atomic::AtomicUsize;
use tokio::sync::Semaphore;

fn query(pk: &'static [u8]) -> ReadQuery {
    ReadQuery {
        table: 1,
        partition_key: Bytes::from_static(pk),
        slice: Slice::all(),
        direction: Direction::Reverse,
        limit: Some(50),
        columns: ColumnFilter::All,
        now: 1_000,
    }
}

/// A storage read that waits until the test opens `release`, counting calls.
#[derive(Clone)]
struct Fake {
    calls: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
    fail: bool,
}

impl Fake {
    fn new(fail: bool) -> Fake {
        Fake {
            calls: Arc::new(AtomicUsize::new(0)),
            release: Arc::new(Semaphore::new(0)),
            fail,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn fetch(&self) -> impl FnOnce(ReadQuery) -> BoxOutcome + Send + 'static {
        let me = self.clone();
        move |_q| {
            Box::pin(async move {
                let n = me.calls.fetch_add(1, Ordering::SeqCst);
                let _p = me.release.acquire().await;
                if me.fail {
                    Err(CqlError::server("disk on fire"))
                } else {
                    // The row count tells reads apart: the n-th storage read returns n rows.
                    Ok(ReadResult {
                        rows: vec![Default::default(); n],
                        ..Default::default()
                    })
                }
            })
        }
    }
}

type BoxOutcome = std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>>;

async fn wait_until(f: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if f() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never became true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_identical_reads_make_one_storage_read() {
    let c = Coalescer::default();
    let fake = Fake::new(false);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (c, f) = (c.clone(), fake.fetch());
        tasks.push(tokio::spawn(
            async move { c.read(query(b"hot"), 0, f).await },
        ));
    }
    wait_until(|| c.stats().requests == 200).await;
    fake.release.add_permits(1_000);
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().rows.len(), 0);
    }
    assert_eq!(fake.calls(), 1);
    let s = c.stats();
    assert_eq!((s.storage_reads, s.coalesced, s.shed), (1, 199, 0));
    assert_eq!(s.leaders_in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_a_write_never_joins_an_older_leader() {
    let c = Coalescer::default();
    let fake = Fake::new(false);
    let (c1, f1) = (c.clone(), fake.fetch());
    let old = tokio::spawn(async move { c1.read(query(b"p"), 0, f1).await });
    wait_until(|| fake.calls() == 1).await;
    c.written(1, b"p");
    let (c2, f2) = (c.clone(), fake.fetch());
    let new = tokio::spawn(async move { c2.read(query(b"p"), 0, f2).await });
    wait_until(|| fake.calls() == 2).await;
    fake.release.add_permits(2);
    assert_eq!(old.await.unwrap().unwrap().rows.len(), 0);
    // The second storage read, started after the write.
    assert_eq!(new.await.unwrap().unwrap().rows.len(), 1);
    assert_eq!(c.stats().coalesced, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_the_result_is_known_reads_again() {
    let c = Coalescer::default();
    let fake = Fake::new(false);
    fake.release.add_permits(10);
    assert_eq!(
        c.read(query(b"p"), 0, fake.fetch())
            .await
            .unwrap()
            .rows
            .len(),
        0
    );
    assert_eq!(
        c.read(query(b"p"), 0, fake.fetch())
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_error_reaches_every_subscriber() {
    let c = Coalescer::default();
    let fake = Fake::new(true);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (c, f) = (c.clone(), fake.fetch());
        tasks.push(tokio::spawn(async move { c.read(query(b"p"), 0, f).await }));
    }
    wait_until(|| c.stats().requests == 50).await;
    fake.release.add_permits(10);
    for t in tasks {
        let e = t.await.unwrap().unwrap_err();
        assert_eq!(e.message, "disk on fire");
    }
    assert_eq!(fake.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_timeout_reaches_every_subscriber_and_the_next_read_starts_afresh() {
    let c = Coalescer::new(CoalesceOptions {
        leader_timeout: Some(std::time::Duration::from_millis(500)),
        ..CoalesceOptions::default()
    });
    let stuck = Fake::new(false);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, f) = (c.clone(), stuck.fetch());
        tasks.push(tokio::spawn(async move { c.read(query(b"p"), 0, f).await }));
    }
    for t in tasks {
        let e = t.await.unwrap().unwrap_err();
        assert!(matches!(e.kind, ErrorKind::ReadFailure { .. }), "{e:?}");
        assert!(e.message.contains("500 ms"), "{}", e.message);
    }
    assert_eq!(stuck.calls(), 1);
    assert_eq!(c.stats().leaders_in_flight, 0);
    let fine = Fake::new(false);
    fine.release.add_permits(1);
    assert!(c.read(query(b"p"), 0, fine.fetch()).await.is_ok());
    assert_eq!(fine.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_does_not_cancel_the_read_for_others() {
    let c = Coalescer::default();
    let fake = Fake::new(false);
    let (c1, f1) = (c.clone(), fake.fetch());
    let leader = tokio::spawn(async move { c1.read(query(b"p"), 0, f1).await });
    wait_until(|| fake.calls() == 1).await;
    let (c2, f2) = (c.clone(), fake.fetch());
    let follower = tokio::spawn(async move { c2.read(query(b"p"), 0, f2).await });
    wait_until(|| c.stats().coalesced == 1).await;
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    fake.release.add_permits(1);
    assert!(follower.await.unwrap().is_ok());
    assert_eq!(fake.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_partition_sheds_with_overloaded_and_others_still_read() {
    let c = Coalescer::new(CoalesceOptions {
        enabled: false,
        partition_max_reads: 2,
        partition_max_waiting: 3,
        ..CoalesceOptions::default()
    });
    let fake = Fake::new(false);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, f) = (c.clone(), fake.fetch());
        tasks.push(tokio::spawn(
            async move { c.read(query(b"hot"), 0, f).await },
        ));
    }
    // 2 reading, 3 waiting, 15 refused at once.
    wait_until(|| c.stats().shed == 15).await;
    assert_eq!(fake.calls(), 2);
    // Another partition is not held up by the hot one.
    let cold = fake.fetch();
    let c2 = c.clone();
    let cold = tokio::spawn(async move { c2.read(query(b"cold"), 0, cold).await });
    wait_until(|| fake.calls() == 3).await;
    fake.release.add_permits(100);
    assert!(cold.await.unwrap().is_ok());
    let mut overloaded = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            assert_eq!(e.kind, ErrorKind::Overloaded);
            overloaded += 1;
        }
    }
    assert_eq!(overloaded, 15);
    assert_eq!(c.stats().storage_reads, 6);
}

/// Opens a flight with `n` subscribers on `pk` and lets it land, so the partition is hot.
async fn make_hot(c: &Coalescer, pk: &'static [u8], n: usize) {
    let fake = Fake::new(false);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (c, f) = (c.clone(), fake.fetch());
        tasks.push(tokio::spawn(async move { c.read(query(pk), 0, f).await }));
    }
    wait_until(|| c.stats().requests as usize >= n && fake.calls() == 1).await;
    fake.release.add_permits(1);
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    wait_until(|| c.stats().leaders_in_flight == 0).await;
}

fn holding(hold_ms: u64) -> Coalescer {
    Coalescer::new(CoalesceOptions {
        hot: HotOptions {
            subscribers: 4,
            hold: Some(std::time::Duration::from_millis(hold_ms)),
            lasts: std::time::Duration::from_secs(60),
        },
        ..CoalesceOptions::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_partitions_leader_holds_so_later_requests_join_it() {
    let hold = std::time::Duration::from_secs(1);
    let c = holding(hold.as_millis() as u64);
    make_hot(&c, b"hot", 10).await;
    let (reads_before, joined_before) = (c.stats().storage_reads, c.stats().coalesced);
    // Under load `make_hot`'s ten requests may take more than one flight: count from here.
    let hot_before = c.hot_partitions();
    assert_eq!(hot_before.len(), 1);
    let fake = Fake::new(false);
    let started = std::time::Instant::now();
    let (c1, f1) = (c.clone(), fake.fetch());
    let first = tokio::spawn(async move { c1.read(query(b"hot"), 0, f1).await });
    // Well inside the hold: the leader has not read yet, and a new request joins it.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(fake.calls(), 0, "the leader read before its hold ended");
    let (c2, f2) = (c.clone(), fake.fetch());
    let second = tokio::spawn(async move { c2.read(query(b"hot"), 0, f2).await });
    wait_until(|| c.stats().coalesced == joined_before + 1).await;
    fake.release.add_permits(10);
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert!(started.elapsed() >= hold);
    assert_eq!(fake.calls(), 1);
    assert_eq!(c.stats().storage_reads, reads_before + 1);
    assert_eq!(a.rows.len(), b.rows.len());
    // This flight is counted against the partition too: 2 more requests, 1 more read.
    let hot = c.hot_partitions();
    assert_eq!(hot.len(), 1);
    assert_eq!(hot[0].partition_key, Bytes::from_static(b"hot"));
    assert_eq!(hot_before[0].requests, 10);
    assert_eq!(
        (hot[0].requests, hot[0].storage_reads),
        (12, hot_before[0].storage_reads + 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_partitions_and_small_flights_never_hold() {
    let c = holding(10_000);
    // Three subscribers are below the threshold of four: the partition stays cold.
    make_hot(&c, b"lukewarm", 3).await;
    let fake = Fake::new(false);
    fake.release.add_permits(2);
    let started = std::time::Instant::now();
    let pks: [&'static [u8]; 2] = [b"lukewarm", b"cold"];
    for pk in pks {
        c.read(query(pk), 0, fake.fetch()).await.unwrap();
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_during_the_hold_is_seen_by_reads_after_it() {
    let c = holding(200);
    make_hot(&c, b"hot", 10).await;
    let fake = Fake::new(false);
    fake.release.add_permits(10);
    let (c1, f1) = (c.clone(), fake.fetch());
    let before_write = tokio::spawn(async move { c1.read(query(b"hot"), 0, f1).await });
    wait_until(|| c.stats().leaders_in_flight == 1).await;
    c.written(1, b"hot");
    // After the acknowledged write: a new flight, not the held one from before it.
    c.read(query(b"hot"), 0, fake.fetch()).await.unwrap();
    before_write.await.unwrap().unwrap();
    assert_eq!(fake.calls(), 2);
    // One for making the partition hot, then the held read and the one after the write.
    assert_eq!(c.stats().storage_reads, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_partitions_leader_reads_without_yielding() {
    // A leader that yielded this often would never read: only hot partitions yield.
    let c = Coalescer::new(CoalesceOptions {
        leader_yields: u32::MAX,
        ..CoalesceOptions::default()
    });
    let fake = Fake::new(false);
    fake.release.add_permits(1);
    let read = c.read(query(b"cold"), 0, fake.fetch());
    let done = tokio::time::timeout(std::time::Duration::from_secs(5), read).await;
    assert!(done.is_ok_and(|r| r.is_ok()), "the cold leader yielded");
    assert_eq!(fake.calls(), 1);
}
