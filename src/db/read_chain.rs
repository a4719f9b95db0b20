//! Reads of several partitions as one page: the newest bucket of a channel first, then
//! older buckets until the page is full (WORKLOAD.md's open-channel and scroll-back).
//!
//! Read one partition at a time, such a page costs one round trip per bucket, and on two
//! CPUs each round trip's caller-side cost (queue push, reply wake-up) takes CPU from the
//! shards. [`Db::read_chain`] reads in rounds of at most one message per shard:
//! 1. the run of leading queries the first query's shard owns, read there in order until
//!    the page is full (all the queries with one shard: one message, nothing wasted);
//! 2. while the page is short, the next queries, as many as the rows per query seen so far
//!    say the page still needs (all the rest when none had rows yet), grouped by shard and
//!    sent at once; each shard reads its queries in order until *its own* rows fill what
//!    the page still lacks.
//!
//! A round is exact: a query the page needs follows fewer than the missing rows in the
//! round, hence fewer than that on its own shard, so its shard reaches it. A shard may read
//! past the page's end (at most what the page lacked); the caller drops it. Sizing rounds by
//! the density seen keeps that waste small: a round that fans out to every shard at once
//! makes the other shards read rows the page never uses.

use super::Db;
use crate::error::Result;
use crate::shard::{wait_async, Pending, Request};
use crate::storage::model::{ReadQuery, ReadResult};

impl Db {
    /// Reads `queries` (partitions of any shards) as one page of at most `limit` rows: the
    /// rows of the first query (up to its own limit), then of the second, and so on until
    /// `limit` rows. Returns one result per query the page reached, in order; the last is
    /// cut to the page's limit. `queries` is consumed lazily: queries past the page's end
    /// are mostly never built (pass an iterator to profit). Plain threads and tokio alike
    /// (blocks the thread; see [`crate::shard::wait`]).
    pub fn read_chain(
        &self,
        queries: impl IntoIterator<Item = ReadQuery>,
        limit: usize,
    ) -> Result<Vec<ReadResult>> {
        crate::shard::block_on(self.read_chain_async(queries, limit))
    }

    /// [`Db::read_chain`] for async code.
    pub async fn read_chain_async(
        &self,
        queries: impl IntoIterator<Item = ReadQuery>,
        limit: usize,
    ) -> Result<Vec<ReadResult>> {
        self.check_open()?;
        let mut queries = queries
            .into_iter()
            .map(|q| (self.shard_of(&q.partition_key), q))
            .peekable();
        let mut page = Vec::new();
        let mut rows = 0;
        let mut first_round = true;
        while rows < limit {
            let mut round = Vec::new();
            if first_round {
                // The leading run of the first query's shard.
                let Some(&(home, _)) = queries.peek() else {
                    break;
                };
                while let Some(q) = queries.next_if(|(s, _)| *s == home) {
                    round.push(q);
                }
                first_round = false;
            } else {
                let wanted = match rows {
                    0 => usize::MAX,
                    _ => (limit - rows).div_ceil(rows.div_ceil(page.len().max(1))),
                };
                round.extend(queries.by_ref().take(wanted.max(1)));
            }
            if round.is_empty() {
                break;
            }
            let read = round.len();
            let results = self.round(round, limit - rows).await?;
            let got = results.len();
            for result in results {
                rows += result.rows.len();
                page.push(result);
                if rows >= limit {
                    break;
                }
            }
            // A round reads all its queries unless its page filled.
            if got < read {
                break;
            }
        }
        cut_to(&mut page, limit);
        Ok(page)
    }

    /// One round: `queries` (with their shards) grouped into one message per shard, all in
    /// flight together, merged back in query order. Stops at the first query whose shard
    /// stopped before it (its own rows had filled `limit`).
    async fn round(
        &self,
        queries: Vec<(usize, ReadQuery)>,
        limit: usize,
    ) -> Result<Vec<ReadResult>> {
        let order: Vec<usize> = queries.iter().map(|(s, _)| *s).collect();
        let mut groups: Vec<Vec<ReadQuery>> = vec![Vec::new(); self.shard_count()];
        for (s, q) in queries {
            if let Some(g) = groups.get_mut(s) {
                g.push(q);
            }
        }
        let mut pending: Vec<(usize, Pending<Vec<ReadResult>>)> = Vec::new();
        for (s, group) in groups.into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let p = self.shards()[s]
                .submit_async(
                    |reply| Request::ReadChain {
                        queries: group,
                        limit,
                        reply,
                    },
                    self.backpressure(),
                )
                .await?;
            pending.push((s, p));
        }
        let mut answers: Vec<std::vec::IntoIter<ReadResult>> = (0..self.shard_count())
            .map(|_| Vec::new().into_iter())
            .collect();
        for (s, p) in pending {
            if let Some(a) = answers.get_mut(s) {
                *a = wait_async(p).await?.into_iter();
            }
        }
        let mut merged = Vec::with_capacity(order.len());
        for s in order {
            match answers.get_mut(s).and_then(|a| a.next()) {
                Some(result) => merged.push(result),
                None => break,
            }
        }
        Ok(merged)
    }
}

/// Drops the rows past `limit` (a shard's last read may go past the page's end).
fn cut_to(page: &mut [ReadResult], limit: usize) {
    let mut left = limit;
    for result in page {
        result.rows.truncate(left);
        left -= result.rows.len();
    }
}
