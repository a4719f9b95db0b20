//! A page that exactly one storage read answers (one partition, one slice: "the newest 50
//! messages of a channel"), built once per coalesced flight and shared by every copy.
//!
//! The flight's rows are the same for all its subscribers; what a copy makes of them also
//! depends on its projection, page size, LIMIT and PER PARTITION LIMIT left, and `now`.
//! [`PageKey`] holds all of those, so copies share a page only when they would have built
//! byte-identical ones. Anything else (IN, several slices, ORDER BY merges, COUNT) takes
//! the general path in `select.rs`, and so does a page that would read nothing.

use super::{resume_slices, Output, SelectPlan};
use crate::catalog::TableSchema;
use crate::cql::engine::paging::PagingState;
use crate::cql::engine::store::Store;
use crate::cql::result::{Answer, ColumnSpec, CqlError, SharedRows};
use crate::storage::model::{ColumnFilter, ReadQuery, ReadResult, Row};
use bytes::Bytes;
use std::sync::Arc;

/// Everything besides the flight's rows that decides a single-read page.
struct PageKey {
    table: Arc<TableSchema>,
    outputs: Vec<Output>,
    specs: Vec<ColumnSpec>,
    want: usize,
    limit_left: Option<u64>,
    partition_limit_left: Option<u64>,
    now: i64,
}

/// What one copy asks of the read's rows.
#[derive(Clone, Copy)]
struct Ask {
    /// Rows this page may return (page size and LIMIT left).
    want: usize,
    /// Rows the storage read was asked for (`want` and PER PARTITION LIMIT left).
    read_rows: usize,
    limit_left: Option<u64>,
    partition_limit_left: Option<u64>,
    now: i64,
}

impl PageKey {
    fn matches(&self, plan: &SelectPlan, ask: &Ask) -> bool {
        Arc::ptr_eq(&self.table, &plan.table)
            && self.want == ask.want
            && self.limit_left == ask.limit_left
            && self.partition_limit_left == ask.partition_limit_left
            && self.now == ask.now
            && self.outputs == plan.outputs
            && self.specs == plan.specs
    }
}

impl SelectPlan {
    /// The page when one storage read answers it, shared with the read's other copies;
    /// `None` when the general path must run.
    pub(super) async fn run_single_read<S: Store>(
        &self,
        store: &S,
        state: Option<&PagingState>,
        page: Option<usize>,
        now: i64,
    ) -> Result<Option<Answer>, CqlError> {
        let Some([key]) = self.restrictions.partitions.as_deref() else {
            return Ok(None);
        };
        if self.merge_partitions || self.count.is_some() {
            return Ok(None);
        }
        if state.is_some_and(|s| s.partition_key != *key) {
            // Not this query's paging state: the general path reports it.
            return Ok(None);
        }
        let limit_left = state.map_or(self.limit, |s| s.limit_left);
        let max_rows = page.unwrap_or(usize::MAX);
        let want = limit_left.map_or(max_rows, |l| l.min(max_rows as u64) as usize);
        let partition_limit_left =
            state.map_or(self.per_partition_limit, |s| s.partition_limit_left);
        let slices = match state.and_then(|s| s.clustering.as_ref()) {
            Some(after) => resume_slices(&self.slices, after, self.reversed),
            None => self.slices.clone(),
        };
        let [slice] = slices.as_slice() else {
            return Ok(None);
        };
        let read_rows = want.min(partition_limit_left.map_or(usize::MAX, |p| p as usize));
        if read_rows == 0 {
            return Ok(None);
        }
        let q = ReadQuery {
            table: self.table.id,
            partition_key: key.clone(),
            slice: slice.clone(),
            direction: self.direction(),
            limit: Some(read_rows),
            columns: ColumnFilter::All,
            now,
        };
        let landed = store.read_shared(q).await?;
        let ask = Ask {
            want,
            read_rows,
            limit_left,
            partition_limit_left,
            now,
        };
        let rows = landed.memo.get_or_build(
            |k: &PageKey| k.matches(self, &ask),
            || PageKey {
                table: Arc::clone(&self.table),
                outputs: self.outputs.clone(),
                specs: self.specs.clone(),
                want,
                limit_left,
                partition_limit_left,
                now,
            },
            || {
                self.single_read_page(&landed.result, key, &ask)
                    .map(SharedRows::new)
            },
        )?;
        Ok(Some(Answer::SharedRows(rows)))
    }

    /// What `fetch` and `fetch_partitions` make of one read of one slice.
    fn single_read_page(
        &self,
        read: &ReadResult,
        key: &Bytes,
        ask: &Ask,
    ) -> Result<crate::cql::result::RowsResult, CqlError> {
        let mut pp_left = ask.partition_limit_left;
        let mut rows: Vec<(Bytes, Row)> = Vec::new();
        for row in read
            .rows
            .iter()
            .filter(|r| r.is_live(ask.now))
            .take(ask.read_rows)
        {
            rows.push((key.clone(), row.clone()));
            pp_left = pp_left.map(|p| p.saturating_sub(1));
        }
        let next = rows
            .last()
            .filter(|_| rows.len() >= ask.want)
            .map(|(k, r)| PagingState {
                partition_key: k.clone(),
                clustering: Some(r.clustering.clone()),
                limit_left: ask.limit_left.map(|l| l.saturating_sub(rows.len() as u64)),
                partition_limit_left: pp_left,
            })
            .filter(|n| n.limit_left != Some(0));
        self.result(rows, next.map(|n| n.encode()), ask.now)
    }
}
