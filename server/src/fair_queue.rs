//! Fair queuing between connections: at most `max_running` requests run in the CQL layer at
//! once; the rest wait in one line per connection, and a finishing request hands its place
//! to the next connection in round-robin order, not to the oldest request. A client that
//! floods therefore waits behind itself, never in front of others. A connection's line holds
//! as many requests as the connection may have in flight
//! ([`crate::connection::MAX_IN_FLIGHT_PER_CONNECTION`]), past which the connection stops
//! reading its socket: a driver that pipelines thousands of requests (the Python driver does)
//! is slowed by TCP back-pressure, not failed. A line that is full anyway (a smaller limit
//! given to [`FairQueue::new`]) refuses with `Overloaded` (0x1001) rather than grow.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Requests running in the CQL layer at once, across all connections.
pub const MAX_RUNNING: usize = 128;
/// Requests one connection may have waiting for a place: all it may have in flight.
pub const MAX_WAITING_PER_CONNECTION: usize = crate::connection::MAX_IN_FLIGHT_PER_CONNECTION;

/// The connection's line is full: answer `Overloaded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shed;

#[derive(Default)]
struct Line {
    waiters: VecDeque<oneshot::Sender<()>>,
    /// Whether the connection is in `State::turns`.
    has_turn: bool,
}

#[derive(Default)]
struct State {
    running: usize,
    lines: HashMap<u64, Line>,
    /// Connections with waiters, in the order they will be served.
    turns: VecDeque<u64>,
}

pub struct FairQueue {
    max_running: usize,
    max_waiting_per_connection: usize,
    state: Mutex<State>,
}

/// A place to run; dropping it hands the place on.
pub struct Place {
    queue: Arc<FairQueue>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.queue.release();
    }
}

/// A request waiting in line whose future may be dropped (its connection closed): a place
/// handed to it meanwhile goes on to the next connection.
struct Waiting {
    queue: Arc<FairQueue>,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.done {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                self.queue.release();
            }
        }
    }
}

impl FairQueue {
    pub fn new(max_running: usize, max_waiting_per_connection: usize) -> Arc<FairQueue> {
        Arc::new(FairQueue {
            max_running: max_running.max(1),
            max_waiting_per_connection,
            state: Mutex::new(State::default()),
        })
    }

    /// A place for a request of `connection`, after that connection's earlier requests and
    /// in turn with other connections.
    pub async fn enter(self: &Arc<Self>, connection: u64) -> Result<Place, Shed> {
        let rx = {
            let mut st = self.state.lock();
            if st.running < self.max_running && st.turns.is_empty() {
                st.running += 1;
                return Ok(Place {
                    queue: Arc::clone(self),
                });
            }
            let line = st.lines.entry(connection).or_default();
            line.waiters.retain(|tx| !tx.is_closed());
            if line.waiters.len() >= self.max_waiting_per_connection {
                return Err(Shed);
            }
            let (tx, rx) = oneshot::channel();
            line.waiters.push_back(tx);
            if !line.has_turn {
                line.has_turn = true;
                st.turns.push_back(connection);
            }
            rx
        };
        let mut waiting = Waiting {
            queue: Arc::clone(self),
            rx,
            done: false,
        };
        let granted = (&mut waiting.rx).await.is_ok();
        waiting.done = true;
        if granted {
            Ok(Place {
                queue: Arc::clone(self),
            })
        } else {
            Err(Shed)
        }
    }

    fn release(&self) {
        let mut st = self.state.lock();
        while let Some(conn) = st.turns.pop_front() {
            let Some(line) = st.lines.get_mut(&conn) else {
                continue;
            };
            let next = line.waiters.pop_front();
            if line.waiters.is_empty() {
                st.lines.remove(&conn);
            } else {
                st.turns.push_back(conn);
            }
            if let Some(tx) = next {
                if tx.send(()).is_ok() {
                    return;
                }
                // That waiter left: this connection's turn is not used up, but the next
                // connection's is as good a next step and keeps the loop simple.
            }
        }
        st.running = st.running.saturating_sub(1);
    }

    /// Requests running plus waiting.
    pub fn depth(&self) -> usize {
        let st = self.state.lock();
        st.running + st.lines.values().map(|l| l.waiters.len()).sum::<usize>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn wait_depth(q: &FairQueue, n: usize) {
        for _ in 0..100_000 {
            if q.depth() == n {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("depth never reached {n}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flooding_connection_waits_behind_itself_and_is_shed() {
        let q = FairQueue::new(1, 5);
        let first = q.enter(1).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let mut shed = 0;
        // Connection 1 floods: 5 wait, the rest are refused at once.
        for i in 0..8 {
            let (qc, order) = (Arc::clone(&q), Arc::clone(&order));
            let task = tokio::spawn(async move {
                let p = qc.enter(1).await?;
                order.lock().push((1, i));
                drop(p);
                Ok::<(), Shed>(())
            });
            if i < 5 {
                tasks.push(task);
                wait_depth(&q, i + 2).await;
            } else if task.await.unwrap().is_err() {
                // Refused before anything moves in the line (awaited here, or it might
                // only ask once the line has drained).
                shed += 1;
            }
        }
        // Connection 2 arrives last but is served second.
        let (q2, order2) = (Arc::clone(&q), Arc::clone(&order));
        let other = tokio::spawn(async move {
            let _p = q2.enter(2).await.unwrap();
            order2.lock().push((2, 0));
        });
        wait_depth(&q, 7).await;
        drop(first);
        other.await.unwrap();
        for t in tasks {
            if t.await.unwrap().is_err() {
                shed += 1;
            }
        }
        assert_eq!(shed, 3);
        let order = order.lock().clone();
        assert_eq!(order.len(), 6);
        let pos = order.iter().position(|o| o.0 == 2).unwrap();
        assert!(pos <= 1, "connection 2 waited behind the flood: {order:?}");
        assert_eq!(q.depth(), 0);
    }
}
