//! A bound on identical requests running in the CQL layer at once.
//!
//! When a big channel pings everyone, a thousand clients send the very same read. The
//! coalescer makes that one storage read, but every copy still runs in the CQL layer: it is
//! bound, joins the flight, and when the flight lands all of its subscribers become runnable
//! at once to build and encode 50 rows each. With hundreds of copies running, every tokio
//! run-queue hop of a cold request (parse, coalescer, shard reply, encode, write) waits
//! behind that burst, and the copies fill the fair queue's places so that a cold connection
//! is admitted once per round of every hot connection.
//!
//! So copies of one request (same statement, keyspace, bound values, page size and paging
//! state) run at most `max_running` at a time; the others wait parked in their key's line
//! (not in the run queue, and holding no fair-queue place), at most `max_waiting` of them,
//! and beyond that are refused with `Overloaded` (0x1001). A request that has no copy
//! running (every cold one) passes at once. A flight still gathers up to `max_running`
//! copies, so coalescing keeps most of its effect.
//!
//! The key is a keyed hash: two different requests that collide only share a bound, which
//! costs latency, never a wrong answer (each copy still runs the statement itself).

use crate::protocol::Request;
use scrolldb::coalesce::gate::{KeyedGate, Permit};
use scrolldb::cql::result::{BoundValue, QueryParams};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;

/// How many identical requests run at once, and how many wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdenticalOptions {
    /// Copies of one request running in the CQL layer at once (0: no bound).
    pub max_running: usize,
    /// Copies waiting for a place; beyond this, `Overloaded`.
    pub max_waiting: usize,
}

impl Default for IdenticalOptions {
    fn default() -> Self {
        IdenticalOptions {
            max_running: 32,
            max_waiting: 4096,
        }
    }
}

/// The identical request's line is full: answer `Overloaded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shed;

/// The lines of identical requests of one server.
pub struct IdenticalLines {
    gate: Option<Arc<KeyedGate<u64>>>,
    hasher: RandomState,
}

/// A place to run one copy; dropping it lets the next copy in.
pub struct Turn {
    permit: Option<Permit<u64>>,
}

impl Turn {
    /// Whether this copy waited for another to finish (counted by the metrics).
    pub fn waited(&self) -> bool {
        self.permit.as_ref().is_some_and(Permit::waited)
    }
}

impl IdenticalLines {
    pub fn new(opts: IdenticalOptions) -> IdenticalLines {
        IdenticalLines {
            gate: (opts.max_running > 0)
                .then(|| KeyedGate::new(opts.max_running, opts.max_waiting)),
            hasher: RandomState::new(),
        }
    }

    /// Waits for a place for `request` (run on `keyspace`) among its identical copies.
    /// Requests that are not statements pass at once.
    pub async fn enter(&self, request: &Request, keyspace: Option<&str>) -> Result<Turn, Shed> {
        let (Some(gate), Some(key)) = (&self.gate, self.key(request, keyspace)) else {
            return Ok(Turn { permit: None });
        };
        match gate.acquire(key).await {
            Ok(permit) => Ok(Turn {
                permit: Some(permit),
            }),
            Err(_) => Err(Shed),
        }
    }

    /// The request's identity; `None` for requests that are not bounded (PREPARE, BATCH:
    /// neither is repeated by a crowd of readers).
    fn key(&self, request: &Request, keyspace: Option<&str>) -> Option<u64> {
        let mut h = self.hasher.build_hasher();
        match request {
            Request::Query { cql, params, .. } => {
                0u8.hash(&mut h);
                cql.hash(&mut h);
                keyspace.hash(&mut h);
                hash_params(params, &mut h);
            }
            // A prepared statement's keyspace was fixed when it was prepared.
            Request::Execute { id, params, .. } => {
                1u8.hash(&mut h);
                id.hash(&mut h);
                hash_params(params, &mut h);
            }
            _ => return None,
        }
        Some(h.finish())
    }
}

/// What in the parameters changes the answer. The consistency level does not (one node),
/// nor does the client timestamp of a read; a write carrying one is bounded with its copies,
/// which only delays copies of the same write.
fn hash_params(p: &QueryParams, h: &mut impl Hasher) {
    p.values.len().hash(h);
    for v in &p.values {
        match v {
            BoundValue::Null => 0u8.hash(h),
            BoundValue::Unset => 1u8.hash(h),
            BoundValue::Value(b) => {
                2u8.hash(h);
                b.hash(h);
            }
        }
    }
    p.names.hash(h);
    p.page_size.hash(h);
    p.paging_state.hash(h);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn execute(value: &'static [u8]) -> Request {
        Request::Execute {
            id: Bytes::from_static(b"prepared-id"),
            params: QueryParams {
                consistency: 1,
                values: vec![BoundValue::Value(Bytes::from_static(value))],
                names: None,
                page_size: Some(5000),
                paging_state: None,
                serial_consistency: None,
                timestamp: None,
            },
            skip_metadata: true,
        }
    }

    #[test]
    fn equal_requests_share_a_key_and_different_values_do_not() {
        let lines = IdenticalLines::new(IdenticalOptions::default());
        assert_eq!(
            lines.key(&execute(b"a"), None),
            lines.key(&execute(b"a"), Some("ks"))
        );
        assert_ne!(
            lines.key(&execute(b"a"), None),
            lines.key(&execute(b"b"), None)
        );
        assert_eq!(lines.key(&Request::Prepare("SELECT 1".into()), None), None);
    }

    #[tokio::test]
    async fn copies_beyond_the_bound_wait_then_are_shed_while_another_request_passes() {
        let lines = Arc::new(IdenticalLines::new(IdenticalOptions {
            max_running: 2,
            max_waiting: 1,
        }));
        let a = lines.enter(&execute(b"hot"), None).await.unwrap();
        let _b = lines.enter(&execute(b"hot"), None).await.unwrap();
        let l = Arc::clone(&lines);
        let waiter = tokio::spawn(async move {
            l.enter(&execute(b"hot"), None)
                .await
                .is_ok_and(|t| t.waited())
        });
        let gate = lines.gate.clone().unwrap();
        let key = lines.key(&execute(b"hot"), None).unwrap();
        while gate.depth(&key) < 3 {
            tokio::task::yield_now().await;
        }
        // The line is full: the next copy is refused at once ...
        assert!(lines.enter(&execute(b"hot"), None).await.is_err());
        // ... while a cold request is admitted at once.
        let cold = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            lines.enter(&execute(b"cold"), None),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(!cold.waited() && !a.waited());
        drop(a);
        assert!(waiter.await.unwrap());
    }
}
