//! Reads of several partitions as one page: the newest bucket of a channel first, then
//! older buckets until the page is full (WORKLOAD.md's open-channel and scroll-back).
//!
//! Read one partition at a time, such a page costs one round trip per bucket, and on two
//! CPUs each round trip's caller-side cost (queue push, reply wake-up) takes CPU from the
//! shards. [`Db::read_chain`] needs at most two rounds, at most one message per shard each:
//! 1. the run of leading queries the first query's shard owns, read there in order until
//!    the page is full (all the queries with one shard: one message, nothing wasted);
//! 2. if the page is still short, every other shard's share of the rest at once, each shard
//!    reading its queries in order until *its own* rows fill what the page still lacks.
//!
//! Step 2 is exact: a query the page needs follows fewer than `limit` rows in all, hence
//! fewer than that on its own shard, so its shard reaches it. A shard may read a little the
//! page does not need (at most one page's worth); the caller drops it.

use super::Db;
use crate::error::Result;
use crate::shard::{wait_async, Request};
use crate::storage::model::{ReadQuery, ReadResult};

impl Db {
    /// Reads `queries` (partitions of any shards) as one page of at most `limit` rows: the
    /// rows of the first query (up to its own limit), then of the second, and so on until
    /// `limit` rows. Returns one result per query the page reached, in order; the last is
    /// cut to the page's limit. `queries` is consumed lazily: queries past a page filled in
    /// the first round are never built (pass an iterator to profit). Plain threads and tokio
    /// alike (blocks the thread; see [`crate::shard::wait`]).
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
        let mut queries = queries.into_iter();
        let Some(first) = queries.next() else {
            return Ok(Vec::new());
        };
        // Round 1: the leading run of queries the first one's shard owns.
        let home = self.shard_of(&first.partition_key);
        let mut run = vec![first];
        let mut next = None;
        for q in queries.by_ref() {
            let shard = self.shard_of(&q.partition_key);
            if shard != home {
                next = Some((shard, q));
                break;
            }
            run.push(q);
        }
        let run_len = run.len();
        let mut page = self.chain_on(home, run, limit).await?;
        let mut rows: usize = page.iter().map(|r| r.rows.len()).sum();
        let next = match next {
            // The page is still short and the home shard read every query of its run.
            Some(next) if rows < limit && page.len() == run_len => next,
            _ => {
                cut_to(&mut page, limit);
                return Ok(page);
            }
        };
        // Round 2: the rest, one message per shard, all in flight together.
        let mut rest_shards = Vec::new();
        let mut groups: Vec<Vec<ReadQuery>> = vec![Vec::new(); self.shard_count()];
        let rest =
            std::iter::once(next).chain(queries.map(|q| (self.shard_of(&q.partition_key), q)));
        for (s, q) in rest {
            if let Some(g) = groups.get_mut(s) {
                g.push(q);
                rest_shards.push(s);
            }
        }
        let mut pending = Vec::new();
        for (s, group) in groups.into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let query_limit = limit - rows;
            pending.push((
                s,
                self.shards()[s]
                    .submit_async(
                        |reply| Request::ReadChain {
                            queries: group,
                            limit: query_limit,
                            reply,
                        },
                        self.backpressure(),
                    )
                    .await?,
            ));
        }
        let mut answers: Vec<std::vec::IntoIter<ReadResult>> = (0..self.shard_count())
            .map(|_| Vec::new().into_iter())
            .collect();
        for (s, p) in pending {
            if let Some(a) = answers.get_mut(s) {
                *a = wait_async(p).await?.into_iter();
            }
        }
        // Merge back in query order; a shard's answer ends where its own rows filled the page.
        for &s in &rest_shards {
            if rows >= limit {
                break;
            }
            let Some(result) = answers.get_mut(s).and_then(|a| a.next()) else {
                break;
            };
            rows += result.rows.len();
            page.push(result);
        }
        cut_to(&mut page, limit);
        Ok(page)
    }

    /// One message to shard `shard`: `queries` read in order until `limit` rows.
    async fn chain_on(
        &self,
        shard: usize,
        queries: Vec<ReadQuery>,
        limit: usize,
    ) -> Result<Vec<ReadResult>> {
        self.shards()[shard]
            .call_async(
                |reply| Request::ReadChain {
                    queries,
                    limit,
                    reply,
                },
                self.backpressure(),
            )
            .await
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
