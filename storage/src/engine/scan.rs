//! Token-range scans across partitions, in pages that resume from a position.
//!
//! Used for full-table export and `token()` range queries: partitions come in ring order
//! (token, then key), rows in clustering order. A page stops after `page_rows` live rows or
//! after visiting `max_partitions` partitions, whichever comes first, so a range full of
//! deleted partitions still returns (possibly empty) pages with a position to resume from.

use bytes::Bytes;

use crate::engine::Engine;
use crate::error::Result;
use crate::model::{Bound, ColumnFilter, DecoratedKey, Direction, ReadQuery, Row, Slice, TableId};

/// Where a scan resumes: at partition `key` (partitions before it are done), after the row
/// `after_clustering` in it, or from its first row when that is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanPosition {
    pub key: DecoratedKey,
    pub after_clustering: Option<Bytes>,
}

/// A page of a token-range scan over `(start_token, end_token]` as CQL's `token()` ranges.
#[derive(Clone, Debug)]
pub struct ScanQuery {
    pub table: TableId,
    /// Exclusive start token; `None` from the start of the ring.
    pub start_token: Option<i64>,
    /// Inclusive end token; `None` to the end of the ring.
    pub end_token: Option<i64>,
    /// Continue a previous page.
    pub resume: Option<ScanPosition>,
    pub page_rows: usize,
    pub max_partitions: usize,
    pub columns: ColumnFilter,
    pub now: i64,
}

impl ScanQuery {
    pub fn all(table: TableId) -> Self {
        ScanQuery {
            table,
            start_token: None,
            end_token: None,
            resume: None,
            page_rows: 1000,
            max_partitions: 10_000,
            columns: ColumnFilter::All,
            now: crate::clock::now_secs(),
        }
    }
}

/// One page of partitions with their live rows, and where to resume (`None`: the range is done).
#[derive(Clone, Debug, Default)]
pub struct ScanPage {
    pub partitions: Vec<(Bytes, Vec<Row>)>,
    pub resume: Option<ScanPosition>,
}

impl Engine {
    /// Reads one page of a token-range scan.
    pub fn scan(&mut self, q: &ScanQuery) -> Result<ScanPage> {
        let keys = self.keys_from(q)?;
        let mut page = ScanPage::default();
        let mut rows_left = q.page_rows.max(1);
        for (visited, key) in keys.into_iter().enumerate() {
            if visited >= q.max_partitions.max(1) {
                page.resume = Some(ScanPosition {
                    key,
                    after_clustering: None,
                });
                return Ok(page);
            }
            let start = match &q.resume {
                Some(ScanPosition {
                    key: k,
                    after_clustering: Some(c),
                }) if *k == key => Bound::Excluded(c.clone()),
                _ => Bound::Unbounded,
            };
            let read = ReadQuery {
                table: q.table,
                partition_key: key.key.clone(),
                slice: Slice::new(start, Bound::Unbounded),
                direction: Direction::Forward,
                limit: Some(rows_left),
                columns: q.columns.clone(),
                now: q.now,
            };
            let rows = self.read(&read)?.rows;
            rows_left -= rows.len();
            let last = rows.last().map(|r| r.clustering.clone());
            if !rows.is_empty() {
                page.partitions.push((key.key.clone(), rows));
            }
            if rows_left == 0 {
                page.resume = Some(ScanPosition {
                    key,
                    after_clustering: last,
                });
                return Ok(page);
            }
        }
        Ok(page)
    }

    /// The partition keys of the range, in ring order, from the resume position on.
    fn keys_from(&self, q: &ScanQuery) -> Result<Vec<DecoratedKey>> {
        let Some(table) = self.tables.get(&q.table) else {
            return Ok(Vec::new());
        };
        let after_start = |k: &DecoratedKey| {
            q.start_token.is_none_or(|s| k.token > s)
                && q.resume.as_ref().is_none_or(|p| *k >= p.key)
        };
        let before_end = |k: &DecoratedKey| q.end_token.is_none_or(|e| k.token <= e);
        // Seek to the start token (keys with exactly that token are filtered out above).
        let token_start = q.start_token.map(|token| DecoratedKey {
            token,
            key: Bytes::new(),
        });
        let start = q
            .resume
            .as_ref()
            .map(|p| (&p.key, true))
            .or(token_start.as_ref().map(|k| (k, true)));
        // Bounded: at most `max_partitions + 1` keys from each source.
        let limit = q.max_partitions.max(1) + 1;
        let mut keys: Vec<DecoratedKey> = table
            .memtable
            .partitions_from(start)
            .map(|(k, _)| k)
            .filter(|k| after_start(k))
            .take_while(|k| before_end(k))
            .take(limit)
            .cloned()
            .collect();
        for (_, sst) in &table.sstables {
            let mut taken = 0;
            for p in sst.partitions_from(start) {
                let k = p?.key().clone();
                if !after_start(&k) {
                    continue;
                }
                if !before_end(&k) || taken >= limit {
                    break;
                }
                taken += 1;
                keys.push(k);
            }
        }
        keys.sort();
        keys.dedup();
        keys.truncate(limit);
        Ok(keys)
    }
}
