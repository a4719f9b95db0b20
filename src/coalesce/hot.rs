//! Hot partitions: the ones whose reads coalesce heavily right now.
//!
//! A partition becomes hot when one of its flights gathers at least `subscribers` requests,
//! and stays hot for `lasts` after the last such flight. The coalescer uses it twice:
//! - to *hold* a hot partition's next leader a moment before its storage read (if
//!   configured): closed-loop clients of a hot channel come back in a stream, and a flight
//!   only gathers the requests that arrive while it is in the air. Waiting *before* the read
//!   only makes its result fresher, so no read gets an older answer than without the hold,
//!   and cold partitions never wait;
//! - to count, per hot partition, the requests and the storage reads it cost, which is what
//!   an operator wants to see when a channel is pinging everyone (like ScyllaDB's
//!   `toppartitions`), and what the hot-channel benchmark reports.

use crate::storage::model::TableId;
use bytes::Bytes;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// When a partition counts as hot and what that does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotOptions {
    /// A flight with at least this many subscribers makes its partition hot.
    pub subscribers: u64,
    /// How long a partition stays hot after such a flight.
    pub lasts: Duration,
    /// How long a hot partition's leader waits before its storage read. `None` never waits.
    /// Needs a runtime with its time driver enabled (the server's has), which is why it is
    /// off by default.
    pub hold: Option<Duration>,
}

impl Default for HotOptions {
    fn default() -> Self {
        HotOptions {
            subscribers: 8,
            lasts: Duration::from_secs(1),
            hold: None,
        }
    }
}

/// What one hot partition cost since it became hot (counted over landed flights).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotPartition {
    pub table: TableId,
    pub partition_key: Bytes,
    /// Requests answered (leaders and subscribers).
    pub requests: u64,
    /// Storage reads (one per flight).
    pub storage_reads: u64,
}

struct Entry {
    last_hot: Instant,
    requests: u64,
    storage_reads: u64,
}

/// Hot partitions remembered at most; beyond it the ones no longer hot are forgotten.
const REMEMBERED: usize = 4096;

/// The hot partitions of one coalescer (kept under the coalescer's lock).
#[derive(Default)]
pub(crate) struct HotTracker {
    partitions: HashMap<(TableId, Bytes), Entry>,
}

impl HotTracker {
    /// Whether `table`/`key` had a big flight within `opts.lasts`.
    pub fn is_hot(&self, table: TableId, key: &Bytes, opts: &HotOptions) -> bool {
        self.partitions
            .get(&(table, key.clone()))
            .is_some_and(|e| e.last_hot.elapsed() < opts.lasts)
    }

    /// A flight of `table`/`key` landed, answering `requests` requests with one storage read.
    pub fn landed(&mut self, table: TableId, key: &Bytes, requests: u64, opts: &HotOptions) {
        let id = (table, key.clone());
        if let Some(entry) = self.partitions.get_mut(&id) {
            entry.requests += requests;
            entry.storage_reads += 1;
            if requests > opts.subscribers {
                entry.last_hot = Instant::now();
            }
            return;
        }
        if requests <= opts.subscribers {
            return;
        }
        if self.partitions.len() >= REMEMBERED {
            self.partitions
                .retain(|_, e| e.last_hot.elapsed() < opts.lasts);
        }
        if self.partitions.len() < REMEMBERED {
            self.partitions.insert(
                id,
                Entry {
                    last_hot: Instant::now(),
                    requests,
                    storage_reads: 1,
                },
            );
        }
    }

    /// The partitions hot within `opts.lasts`, most requested first.
    pub fn snapshot(&self, opts: &HotOptions) -> Vec<HotPartition> {
        let mut hot: Vec<HotPartition> = self
            .partitions
            .iter()
            .filter(|(_, e)| e.last_hot.elapsed() < opts.lasts)
            .map(|((table, key), e)| HotPartition {
                table: *table,
                partition_key: key.clone(),
                requests: e.requests,
                storage_reads: e.storage_reads,
            })
            .collect();
        hot.sort_by_key(|h| std::cmp::Reverse(h.requests));
        hot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> HotOptions {
        HotOptions {
            subscribers: 4,
            lasts: Duration::from_secs(60),
            hold: Some(Duration::from_millis(1)),
        }
    }

    #[test]
    fn a_big_flight_makes_a_partition_hot_and_later_flights_count() {
        let mut t = HotTracker::default();
        let key = Bytes::from_static(b"k");
        t.landed(1, &key, 4, &opts());
        assert!(!t.is_hot(1, &key, &opts()), "3 subscribers is not hot");
        assert!(t.snapshot(&opts()).is_empty());
        t.landed(1, &key, 5, &opts());
        assert!(t.is_hot(1, &key, &opts()));
        t.landed(1, &key, 1, &opts());
        let hot = t.snapshot(&opts());
        assert_eq!(hot.len(), 1);
        assert_eq!((hot[0].requests, hot[0].storage_reads), (6, 2));
        assert!(!t.is_hot(2, &key, &opts()), "another table's key");
    }

    #[test]
    fn a_partition_is_hot_and_counted_without_a_hold_configured() {
        let mut t = HotTracker::default();
        let key = Bytes::from_static(b"k");
        let o = HotOptions {
            hold: None,
            ..opts()
        };
        t.landed(1, &key, 10, &o);
        assert!(t.is_hot(1, &key, &o));
        assert_eq!(t.snapshot(&o).len(), 1);
    }
}
