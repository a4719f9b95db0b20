//! Leader/follower group commit over any `Store`, so many writers share one fsync.
//!
//! A writer queues its message. If no batch is being written it becomes the leader: it
//! takes everything queued so far and writes it as one durable batch, then wakes every
//! writer whose message that batch carried. Otherwise it waits; messages queued while a
//! batch syncs form the next batch, so the batch size follows the load.

use std::sync::{Condvar, Mutex};

use crate::generator::Message;
use crate::store::{Result, Store};

/// Bounds a batch: a leader writes at most this many queued messages per sync.
pub const MAX_BATCH_MESSAGES: usize = 4_096;

struct State {
    /// Bounded by the writers: each has at most one message queued.
    queue: Vec<Message>,
    /// Sequence number of the last message queued (the first is 1).
    last_queued: u64,
    /// Sequence number up to which every message is durable.
    committed: u64,
    leader_active: bool,
    batches: u64,
}

pub struct GroupCommitter {
    state: Mutex<State>,
    committed_changed: Condvar,
    store: Mutex<Box<dyn Store>>,
}

impl GroupCommitter {
    /// `store` must have been opened with `Durability::GroupCommit`.
    pub fn new(store: Box<dyn Store>) -> Self {
        GroupCommitter {
            state: Mutex::new(State {
                queue: Vec::new(),
                last_queued: 0,
                committed: 0,
                leader_active: false,
                batches: 0,
            }),
            committed_changed: Condvar::new(),
            store: Mutex::new(store),
        }
    }

    /// Returns once `message` is durable.
    pub fn write(&self, message: Message) -> Result<()> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| "group commit lock poisoned")?;
        state.queue.push(message);
        state.last_queued += 1;
        let sequence = state.last_queued;
        while state.committed < sequence {
            if state.leader_active {
                state = self
                    .committed_changed
                    .wait(state)
                    .map_err(|_| "group commit lock poisoned")?;
                continue;
            }
            state.leader_active = true;
            let take = state.queue.len().min(MAX_BATCH_MESSAGES);
            let rest = state.queue.split_off(take);
            let batch = std::mem::replace(&mut state.queue, rest);
            // Messages are queued in sequence order, so what stays queued is the tail.
            let last = state.last_queued - state.queue.len() as u64;
            drop(state);

            let written = self
                .store
                .lock()
                .map_err(|_| "store lock poisoned".into())
                .and_then(|mut store| store.ingest(&batch));

            state = self
                .state
                .lock()
                .map_err(|_| "group commit lock poisoned")?;
            state.leader_active = false;
            if written.is_ok() {
                state.committed = last;
                state.batches += 1;
            }
            // Wakes the batch's writers, and a waiter to lead the next batch on failure.
            self.committed_changed.notify_all();
            written?;
        }
        Ok(())
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
