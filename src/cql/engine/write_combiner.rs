//! Write combining: concurrent writes share one trip to the shards.
//!
//! Profiling single-row prepared inserts over CQL showed the server spending most of its CPU
//! on thread hand-offs, not on CQL or storage: every write woke a parked shard thread and
//! then a parked runtime worker. Here at most [`MAX_ROUNDS_IN_FLIGHT`] rounds of writes are on
//! their way to the shards at once; writes that arrive meanwhile queue, and the next round
//! takes all of them (up to [`MAX_WRITES_PER_ROUND`]) in one `Db::apply_async`, so one shard
//! wake-up serves many statements. Under light load a write leads its own round at once and
//! pays nothing extra.
//!
//! There is no background task: the write that starts a round leads it, and when its round
//! is done it hands the round slot to the oldest queued write ([`Leadership`]), which then
//! leads the next round with everything queued behind it. The slot is an RAII token, so a
//! leader that panics or whose future is dropped still passes it on and nobody waits forever.
//!
//! Failure semantics are those the shard already has: it applies the writes queued on it as
//! one commitlog batch, and an I/O failure fails that whole batch. The only per-mutation check
//! below the CQL layer (an empty partition key) is made here first: such a write never joins
//! a round, so it cannot fail other writes.

use super::store::db_error;
use crate::cql::result::CqlError;
use crate::storage::model::Mutation;
use crate::Db;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Rounds on their way to the shards at once. One round gathers the most writes per shard
/// wake-up; measured against two (`docs/BENCHMARKS.md`, "CQL load") it inserted as fast at
/// 32 requests in flight and faster at 128. A round waits for its slowest shard either way.
pub(crate) const MAX_ROUNDS_IN_FLIGHT: usize = 1;
/// Writes (statements) one round carries at most.
pub(crate) const MAX_WRITES_PER_ROUND: usize = 256;
/// Writes that may queue for a round; past this a write goes to the shards on its own (and
/// meets the shards' own backpressure) rather than growing the queue.
pub(crate) const MAX_QUEUED_WRITES: usize = 16 * 1024;

/// The combiner of one engine; shared by all its requests.
#[derive(Default)]
pub(crate) struct WriteCombiner {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Waiter>,
    /// Round slots taken: by a running round, or handed to a waiter that will run one.
    rounds: usize,
}

struct Waiter {
    mutations: Vec<Mutation>,
    reply: oneshot::Sender<Turn>,
}

/// How a write starts.
enum Start {
    /// It took a free round slot and leads a round now.
    Lead(Vec<Mutation>),
    /// The queue is full: it goes to the shards on its own.
    Alone(Vec<Mutation>),
    /// It waits for its turn.
    Queued(oneshot::Receiver<Turn>),
}

/// What a queued write is told.
enum Turn {
    /// Its mutations were applied in another write's round, with this outcome.
    Done(Result<(), CqlError>),
    /// It leads the next round: its own mutations come back with the slot.
    Lead(Leadership, Vec<Mutation>),
}

/// One round slot. Dropping it hands the slot to the oldest queued write, or frees it.
struct Leadership {
    combiner: Arc<WriteCombiner>,
    /// False once the slot has been passed on or given back.
    armed: bool,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let mut state = self.combiner.state.lock();
        while let Some(w) = state.queue.pop_front() {
            let token = Leadership {
                combiner: Arc::clone(&self.combiner),
                armed: true,
            };
            match w.reply.send(Turn::Lead(token, w.mutations)) {
                Ok(()) => return,
                // That write is gone (its future was dropped): disarm the returned token
                // (we still hold the lock it would take) and try the next one.
                Err(Turn::Lead(mut token, _)) => token.armed = false,
                Err(Turn::Done(_)) => {}
            }
        }
        state.rounds = state.rounds.saturating_sub(1);
    }
}

impl WriteCombiner {
    /// Applies `mutations` (one statement's) together with whatever other writes are queued.
    pub(crate) async fn apply(
        self: &Arc<Self>,
        db: &Db,
        mutations: Vec<Mutation>,
    ) -> Result<(), CqlError> {
        if mutations.iter().any(|m| m.partition_key.is_empty()) {
            return db.apply_async(mutations).await.map_err(db_error);
        }
        let start = {
            let mut state = self.state.lock();
            if state.rounds < MAX_ROUNDS_IN_FLIGHT {
                state.rounds += 1;
                Start::Lead(mutations)
            } else if state.queue.len() >= MAX_QUEUED_WRITES {
                Start::Alone(mutations)
            } else {
                let (reply, turn) = oneshot::channel();
                state.queue.push_back(Waiter { mutations, reply });
                Start::Queued(turn)
            }
        };
        let (leadership, mine) = match start {
            Start::Lead(mine) => (
                Leadership {
                    combiner: Arc::clone(self),
                    armed: true,
                },
                mine,
            ),
            Start::Alone(mutations) => return db.apply_async(mutations).await.map_err(db_error),
            Start::Queued(turn) => match turn.await {
                Ok(Turn::Done(result)) => return result,
                Ok(Turn::Lead(leadership, mine)) => (leadership, mine),
                Err(_) => {
                    return Err(CqlError::server(
                        "a write round ended without answering (see the server log)",
                    ))
                }
            },
        };
        let others = self.take_round();
        let result = round(db, mine, others).await;
        drop(leadership);
        result
    }

    /// The queued writes the next round takes.
    fn take_round(&self) -> Vec<Waiter> {
        let mut state = self.state.lock();
        let n = state.queue.len().min(MAX_WRITES_PER_ROUND - 1);
        state.queue.drain(..n).collect()
    }

    #[cfg(test)]
    fn rounds(&self) -> usize {
        self.state.lock().rounds
    }
}

/// Applies the leader's and the waiters' mutations in one call and tells every waiter.
async fn round(db: &Db, mine: Vec<Mutation>, mut others: Vec<Waiter>) -> Result<(), CqlError> {
    let mut all = mine;
    for w in &mut others {
        all.append(&mut w.mutations);
    }
    let result = db.apply_async(all).await.map_err(db_error);
    for w in others {
        // A waiter whose future was dropped no longer needs its answer.
        let _ = w.reply.send(Turn::Done(result.clone()));
    }
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cql::result::{QueryParams, QueryResult};
    use crate::cql::{CqlEngine, NodeInfo, Session};
    use std::time::{Duration, Instant};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    async fn engine_with_table() -> CqlEngine {
        let engine = CqlEngine::new(Db::temporary().unwrap(), NodeInfo::default());
        let mut s = Session::default();
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "CREATE TABLE ks.t (k bigint, c int, v text, PRIMARY KEY (k, c))",
            "CREATE TABLE ks.s (k text PRIMARY KEY, v text)",
        ] {
            engine.query(&mut s, cql, QueryParams::default()).await.unwrap();
        }
        engine
    }

    async fn count(engine: &CqlEngine, k: i64) -> usize {
        let cql = format!("SELECT c FROM ks.t WHERE k = {k}");
        let r = engine
            .query(&mut Session::default(), &cql, QueryParams::default())
            .await
            .unwrap();
        match r {
            QueryResult::Rows(rows) => rows.rows.len(),
            other => panic!("{other:?}"),
        }
    }

    async fn insert(engine: CqlEngine, k: i64, c: i32) -> Result<QueryResult, CqlError> {
        let cql = format!("INSERT INTO ks.t (k, c, v) VALUES ({k}, {c}, 'x')");
        engine
            .query(&mut Session::default(), &cql, QueryParams::default())
            .await
    }

    #[test]
    fn concurrent_writes_all_land_and_free_their_slots() {
        runtime().block_on(async {
            let engine = engine_with_table().await;
            let mut tasks = Vec::new();
            for i in 0..400 {
                tasks.push(tokio::spawn(insert(engine.clone(), i % 8, i as i32)));
            }
            // A write the storage layer would refuse never shares a round with others.
            let mut s = Session::default();
            let bad = engine.query(
                &mut s,
                "INSERT INTO ks.s (k, v) VALUES ('', 'x')",
                QueryParams::default(),
            );
            assert!(bad.await.is_err());
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            let mut total = 0;
            for k in 0..8 {
                total += count(&engine, k).await;
            }
            assert_eq!(total, 400);
            assert_eq!(engine.inner.writes.rounds(), 0);
        });
    }

    #[test]
    fn queued_writes_go_in_one_round_when_a_slot_frees() {
        runtime().block_on(async {
            let engine = engine_with_table().await;
            let writes = Arc::clone(&engine.inner.writes);
            // Both slots busy, as if two rounds were at the shards.
            writes.state.lock().rounds = MAX_ROUNDS_IN_FLIGHT;
            let tasks: Vec<_> = (0..10)
                .map(|c| tokio::spawn(insert(engine.clone(), 1, c)))
                .collect();
            let deadline = Instant::now() + Duration::from_secs(5);
            while writes.state.lock().queue.len() < 10 {
                assert!(Instant::now() < deadline, "writes did not queue");
                tokio::task::yield_now().await;
            }
            assert_eq!(count(&engine, 1).await, 0, "nothing applied while queued");
            // One round finishes: its slot goes to the oldest write, which takes the rest.
            drop(Leadership {
                combiner: Arc::clone(&writes),
                armed: true,
            });
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            assert_eq!(count(&engine, 1).await, 10);
            assert_eq!(writes.rounds(), MAX_ROUNDS_IN_FLIGHT - 1);
        });
    }

    #[test]
    fn a_slot_skips_waiters_that_are_gone() {
        let writes = Arc::new(WriteCombiner::default());
        writes.state.lock().rounds = 1;
        let (gone, dropped) = oneshot::channel();
        drop(dropped);
        let (alive, mut turn) = oneshot::channel();
        for reply in [gone, alive] {
            writes.state.lock().queue.push_back(Waiter {
                mutations: Vec::new(),
                reply,
            });
        }
        drop(Leadership {
            combiner: Arc::clone(&writes),
            armed: true,
        });
        let Ok(Turn::Lead(token, _)) = turn.try_recv() else {
            panic!("the live waiter should lead");
        };
        assert_eq!(writes.rounds(), 1);
        assert!(writes.state.lock().queue.is_empty());
        drop(token);
        assert_eq!(writes.rounds(), 0);
    }
}
