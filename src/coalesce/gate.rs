//! A keyed admission gate: at most `max_running` holders per key at once, at most
//! `max_waiting` more waiting in FIFO order, and beyond that an immediate refusal, so a hot
//! key costs bounded memory and bounded latency instead of an ever-growing queue.
//!
//! Keys are partitions (one hot channel cannot take every storage read) and shards (one shard
//! cannot collect an unbounded backlog). A key's slot exists only while someone holds or waits
//! for it, so the map holds no more than the requests in flight.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The gate is full for this key: the caller should answer `Overloaded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shed;

#[derive(Default)]
struct Slot {
    running: usize,
    /// Each waiter is woken by being handed the running place of a releasing holder.
    waiting: VecDeque<oneshot::Sender<()>>,
}

pub struct KeyedGate<K> {
    max_running: usize,
    max_waiting: usize,
    slots: Mutex<HashMap<K, Slot>>,
}

/// A place in the gate; dropping it hands the place to the next waiter.
pub struct Permit<K: Eq + Hash + Clone> {
    gate: Arc<KeyedGate<K>>,
    key: K,
    /// Whether the holder had to wait in line for its place.
    waited: bool,
}

impl<K: Eq + Hash + Clone> Permit<K> {
    /// Whether this place was handed over by a releasing holder rather than free at once.
    pub fn waited(&self) -> bool {
        self.waited
    }
}

impl<K: Eq + Hash + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        self.gate.release(&self.key);
    }
}

/// A waiter whose future may be dropped (its client went away): if it was handed a place in
/// the meantime, the place goes on to the next waiter instead of leaking.
struct Waiting<K: Eq + Hash + Clone> {
    gate: Arc<KeyedGate<K>>,
    key: K,
    rx: oneshot::Receiver<()>,
    granted: bool,
}

impl<K: Eq + Hash + Clone> Drop for Waiting<K> {
    fn drop(&mut self) {
        if !self.granted {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                self.gate.release(&self.key);
            }
        }
    }
}

impl<K: Eq + Hash + Clone> KeyedGate<K> {
    pub fn new(max_running: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(KeyedGate {
            max_running: max_running.max(1),
            max_waiting,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `key`, waiting in line if every place is taken, or fails at once
    /// with [`Shed`] when the line is full too.
    pub async fn acquire(self: &Arc<Self>, key: K) -> Result<Permit<K>, Shed> {
        let rx = {
            let mut slots = self.slots.lock();
            let slot = slots.entry(key.clone()).or_default();
            if slot.running < self.max_running && slot.waiting.is_empty() {
                slot.running += 1;
                return Ok(Permit {
                    gate: Arc::clone(self),
                    key,
                    waited: false,
                });
            }
            // Waiters whose clients left still sit in the line: they do not count.
            slot.waiting.retain(|tx| !tx.is_closed());
            if slot.waiting.len() >= self.max_waiting {
                return Err(Shed);
            }
            let (tx, rx) = oneshot::channel();
            slot.waiting.push_back(tx);
            rx
        };
        let mut waiting = Waiting {
            gate: Arc::clone(self),
            key,
            rx,
            granted: false,
        };
        match (&mut waiting.rx).await {
            Ok(()) => {
                waiting.granted = true;
                Ok(Permit {
                    gate: Arc::clone(&waiting.gate),
                    key: waiting.key.clone(),
                    waited: true,
                })
            }
            // The gate dropped our line entry without handing us a place: cannot happen
            // while the gate lives, but shedding is the safe answer.
            Err(_) => {
                waiting.granted = true;
                Err(Shed)
            }
        }
    }

    fn release(&self, key: &K) {
        let mut slots = self.slots.lock();
        let Some(slot) = slots.get_mut(key) else {
            return;
        };
        while let Some(next) = slot.waiting.pop_front() {
            if next.send(()).is_ok() {
                return;
            }
        }
        slot.running = slot.running.saturating_sub(1);
        if slot.running == 0 {
            slots.remove(key);
        }
    }

    /// Holders plus waiters of `key`.
    pub fn depth(&self, key: &K) -> usize {
        self.slots
            .lock()
            .get(key)
            .map_or(0, |s| s.running + s.waiting.len())
    }

    /// Keys with at least one holder or waiter.
    pub fn busy_keys(&self) -> usize {
        self.slots.lock().len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_running_then_waiting_then_shed() {
        let gate = KeyedGate::new(2, 1);
        let a = gate.acquire(7u32).await.unwrap();
        let _b = gate.acquire(7).await.unwrap();
        // Another key is not affected.
        let _other = gate.acquire(8).await.unwrap();
        let g = Arc::clone(&gate);
        let waiter = tokio::spawn(async move { g.acquire(7).await.map(|p| p.waited()) });
        while gate.depth(&7) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.acquire(7).await.err(), Some(Shed));
        assert!(!a.waited());
        drop(a);
        assert_eq!(
            waiter.await.unwrap(),
            Ok(true),
            "the waiter was handed a place"
        );
    }

    #[tokio::test]
    async fn abandoned_waiter_does_not_leak_its_place() {
        let gate = KeyedGate::new(1, 4);
        let a = gate.acquire(1u8).await.unwrap();
        let g = Arc::clone(&gate);
        let waiter = tokio::spawn(async move {
            let _p = g.acquire(1).await;
        });
        while gate.depth(&1) < 2 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        drop(a);
        // The place came back: the key is free again.
        assert_eq!(gate.depth(&1), 0);
        let _again = gate.acquire(1).await.unwrap();
        assert_eq!(gate.busy_keys(), 1);
    }
}
