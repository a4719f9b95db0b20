//! The storage-level data path: mutations routed to their shards, one-partition reads, and
//! maintenance (flush, compact, stats) fanned out to every shard.
//!
//! Mutations are atomic per partition, as in Cassandra; a call touching several shards is
//! not a transaction across them (an unlogged batch). The mutations of one call that land on
//! one shard travel as one message and share one commitlog batch (one fsync in group commit).

use super::Db;
use crate::error::{Error, Result};
use crate::shard::{wait, wait_async, Pending, Request};
use crate::storage::engine::{ScanPage, ScanQuery};
use crate::storage::model::{Mutation, ReadQuery, ReadResult};

impl Db {
    /// Applies mutations, each to the shard owning its partition; returns when every shard
    /// has made its part durable (per the commitlog sync mode). Plain threads only.
    pub fn apply(&self, mutations: Vec<Mutation>) -> Result<()> {
        let mut pending = Vec::new();
        for (shard, group) in self.group_by_shard(mutations)? {
            pending.push(self.shards()[shard].submit(
                |reply| Request::Apply {
                    mutations: group,
                    reply,
                },
                self.backpressure(),
            )?);
        }
        wait_all(pending)
    }

    /// [`Db::apply`] for async code.
    pub async fn apply_async(&self, mutations: Vec<Mutation>) -> Result<()> {
        let mut pending = Vec::new();
        for (shard, group) in self.group_by_shard(mutations)? {
            pending.push(
                self.shards()[shard]
                    .submit_async(
                        |reply| Request::Apply {
                            mutations: group,
                            reply,
                        },
                        self.backpressure(),
                    )
                    .await?,
            );
        }
        let mut first_error = None;
        for p in pending {
            if let Err(e) = wait_async(p).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Reads one partition on its shard. Plain threads only.
    pub fn read(&self, query: ReadQuery) -> Result<ReadResult> {
        self.check_open()?;
        let shard = self.shard_of(&query.partition_key);
        self.shards()[shard].call(|reply| Request::Read { query, reply }, self.backpressure())
    }

    pub async fn read_async(&self, query: ReadQuery) -> Result<ReadResult> {
        self.check_open()?;
        let shard = self.shard_of(&query.partition_key);
        self.shards()[shard]
            .call_async(|reply| Request::Read { query, reply }, self.backpressure())
            .await
    }

    /// One page of a token-range scan across every shard, partitions in ring order; pass
    /// the page's `resume` back in `query.resume` for the next page. See `db/scan.rs`.
    pub fn scan(&self, query: ScanQuery) -> Result<ScanPage> {
        self.check_open()?;
        let mut pending = Vec::with_capacity(self.shard_count());
        for shard in self.shards() {
            let q = query.clone();
            pending.push(shard.submit(
                |reply| Request::Scan { query: q, reply },
                self.backpressure(),
            )?);
        }
        let pages = pending.into_iter().map(wait).collect::<Result<Vec<_>>>()?;
        Ok(super::scan::merge_pages(&query, pages))
    }

    pub async fn scan_async(&self, query: ScanQuery) -> Result<ScanPage> {
        self.check_open()?;
        let mut pending = Vec::with_capacity(self.shard_count());
        for shard in self.shards() {
            let q = query.clone();
            pending.push(
                shard
                    .submit_async(
                        |reply| Request::Scan { query: q, reply },
                        self.backpressure(),
                    )
                    .await?,
            );
        }
        let mut pages = Vec::with_capacity(pending.len());
        for p in pending {
            pages.push(wait_async(p).await?);
        }
        Ok(super::scan::merge_pages(&query, pages))
    }

    /// Flushes every shard's memtables to SSTables.
    pub fn flush(&self) -> Result<()> {
        self.on_every_shard(|_| Request::Flush)
    }

    /// Major compaction of one table (`Some((keyspace, table))`) or of every table.
    pub fn compact(&self, table: Option<(&str, &str)>) -> Result<()> {
        let id = match table {
            Some((ks, name)) => Some(
                self.catalog()
                    .table(ks, name)
                    .ok_or_else(|| Error::NotFound(format!("table {ks}.{name}")))?
                    .id,
            ),
            None => None,
        };
        self.on_every_shard(move |_| move |reply| Request::Compact { table: id, reply })
    }

    /// Sends the request `make(shard)` builds to every shard and waits for all of them.
    pub(crate) fn on_every_shard<F, M>(&self, make: F) -> Result<()>
    where
        F: Fn(usize) -> M,
        M: FnOnce(crate::shard::Reply<()>) -> Request,
    {
        self.check_open()?;
        let mut pending = Vec::with_capacity(self.shard_count());
        for shard in self.shards() {
            // Maintenance always waits for queue room: it must not be dropped as overload.
            pending.push(shard.submit(make(shard.index()), super::Backpressure::Wait)?);
        }
        wait_all(pending)
    }

    fn group_by_shard(&self, mutations: Vec<Mutation>) -> Result<Vec<(usize, Vec<Mutation>)>> {
        self.check_open()?;
        // One mutation (a typed insert, update or delete) needs no grouping.
        if let [only] = &mutations[..] {
            if only.partition_key.is_empty() {
                return Err(Error::invalid("empty partition key"));
            }
            return Ok(vec![(self.shard_of(&only.partition_key), mutations)]);
        }
        let mut groups: Vec<Vec<Mutation>> = vec![Vec::new(); self.shard_count()];
        for m in mutations {
            // Checked here so one caller's bad mutation cannot fail the commitlog batch
            // it would share with other callers' writes.
            if m.partition_key.is_empty() {
                return Err(Error::invalid("empty partition key"));
            }
            let shard = self.shard_of(&m.partition_key);
            groups[shard].push(m);
        }
        Ok(groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .collect())
    }
}

/// Waits for every reply, returning the first error after all have arrived.
fn wait_all(pending: Vec<Pending<()>>) -> Result<()> {
    let mut first_error = None;
    for p in pending {
        if let Err(e) = wait(p) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
