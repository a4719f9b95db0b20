//! Leader/follower group commit over any `Store`, so many writers share one fsync.
//!
//! A writer queues its message. If no batch is being written it becomes the leader: it
//! takes everything queued so far and writes it as one durable batch, then wakes the writers
//! whose messages that batch carried, and the oldest queued writer to lead the next batch.
//! Otherwise it waits (parked); messages queued while a batch syncs form the next batch, so
//! the batch size follows the load.

use std::sync::Mutex;
use std::thread::Thread;

use crate::generator::Message;
use crate::store::{Result, Store};

/// Bounds a batch: a leader writes at most this many queued messages per sync.
pub const MAX_BATCH_MESSAGES: usize = 4_096;

struct State {
    /// Bounded by the writers: each has at most one message queued.
    queue: Vec<Message>,
    /// The writer of each queued message (same order), to wake it alone when its batch is
    /// durable or when it should lead the next one.
    waiters: Vec<Thread>,
    /// Sequence number of the last message queued (the first is 1).
    last_queued: u64,
    /// Sequence number up to which every message is durable.
    committed: u64,
    leader_active: bool,
    batches: u64,
}

pub struct GroupCommitter {
    state: Mutex<State>,
    store: Mutex<Box<dyn Store>>,
}

impl GroupCommitter {
    /// `store` must have been opened with `Durability::GroupCommit`.
    pub fn new(store: Box<dyn Store>) -> Self {
        GroupCommitter {
            state: Mutex::new(State {
                queue: Vec::new(),
                waiters: Vec::new(),
                last_queued: 0,
                committed: 0,
                leader_active: false,
                batches: 0,
            }),
            store: Mutex::new(store),
        }
    }

    /// Returns once `message` is durable.
    ///
    /// Waiting writers are parked and woken one by one: the writers a batch carried when it
    /// is durable, and the oldest queued writer to lead the next batch. (A condition variable
    /// woken with `notify_all` woke all 64 writers per batch, half of them only to sleep
    /// again; on two cores those wake-ups cost as much CPU as the writes.)
    pub fn write(&self, message: Message) -> Result<()> {
        let lock = || self.state.lock().map_err(|_| "group commit lock poisoned");
        let mut state = lock()?;
        state.queue.push(message);
        state.waiters.push(std::thread::current());
        state.last_queued += 1;
        let sequence = state.last_queued;
        loop {
            if state.committed >= sequence {
                return Ok(());
            }
            if state.leader_active {
                drop(state);
                // A stale unpark only makes this loop check again.
                std::thread::park();
                state = lock()?;
                continue;
            }
            state.leader_active = true;
            let take = state.queue.len().min(MAX_BATCH_MESSAGES);
            let rest = state.queue.split_off(take);
            let batch = std::mem::replace(&mut state.queue, rest);
            let rest = state.waiters.split_off(take);
            let carried = std::mem::replace(&mut state.waiters, rest);
            // Messages are queued in sequence order, so what stays queued is the tail.
            let last = state.last_queued - state.queue.len() as u64;
            drop(state);

            let written = self
                .store
                .lock()
                .map_err(|_| "store lock poisoned".into())
                .and_then(|mut store| store.ingest(&batch));

            state = lock()?;
            state.leader_active = false;
            let mut durable = Vec::new();
            if written.is_ok() {
                state.committed = last;
                state.batches += 1;
                durable = carried;
            } else {
                // Nobody acknowledged: put the batch back in front for the next leader.
                let mut queue = batch;
                queue.append(&mut state.queue);
                state.queue = queue;
                let mut waiters = carried;
                waiters.append(&mut state.waiters);
                state.waiters = waiters;
            }
            let next_leader = state.waiters.first().cloned();
            drop(state);
            if let Some(next) = next_leader {
                next.unpark();
            }
            let me = std::thread::current().id();
            for writer in durable.iter().filter(|t| t.id() != me) {
                writer.unpark();
            }
            written?;
            state = lock()?;
        }
    }

    /// Durable batches written so far.
    pub fn batches(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.batches)
    }

    pub fn into_store(self) -> Result<Box<dyn Store>> {
        self.store
            .into_inner()
            .map_err(|_| "store lock poisoned".into())
    }
}
