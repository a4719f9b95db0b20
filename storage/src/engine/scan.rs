//! Token-range scans across partitions, in pages that resume from a position.
//!
//! Used for full-table export and `token()` range queries: partitions come in ring order
//! (token, then key), rows in clustering order. A page stops after `page_rows` live rows or
//! after visiting `max_partitions` partitions, or after stepping over the tombstone warning
//! threshold's worth of deleted rows and cells (`EngineOptions::tombstones.warn`), whichever
//! comes first. So a range full of deleted partitions, or one partition full of deleted rows,
//! still returns (possibly empty) pages with a position to resume from, and a scan never
//! fails on the tombstone failure threshold.

use bytes::Bytes;

use crate::engine::Engine;
use crate::error::Result;
use crate::model::{Bound, ColumnFilter, DecoratedKey, Direction, Row, Slice, TableId};
use crate::read::MergedRows;

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

/// What one partition contributed to a scan page.
#[derive(Default)]
struct PartitionPage {
    rows: Vec<Row>,
    tombstones: u64,
    stopped_after: Option<Bytes>,
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
        let mut tombstones = 0u64;
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
            let slice = Slice::new(start, Bound::Unbounded);
            let budget = self.opts.tombstones.warn.saturating_sub(tombstones).max(1);
            let part = self.scan_partition(q, &key, slice, rows_left, budget)?;
            tombstones += part.tombstones;
            rows_left -= part.rows.len();
            if !part.rows.is_empty() {
                page.partitions.push((key.key.clone(), part.rows));
            }
            if rows_left == 0 || part.stopped_after.is_some() {
                page.resume = Some(ScanPosition {
                    key,
                    after_clustering: part.stopped_after,
                });
                return Ok(page);
            }
        }
        Ok(page)
    }

    /// Reads live rows of one partition from `slice` on, up to `limit` rows, stepping over
    /// at most about `tombstone_budget` row and cell tombstones. `stopped_after` is the last
    /// clustering visited when the page must resume inside this partition (limit or budget
    /// reached with rows possibly left), `None` when the partition is done.
    fn scan_partition(
        &mut self,
        q: &ScanQuery,
        key: &DecoratedKey,
        slice: Slice,
        limit: usize,
        tombstone_budget: u64,
    ) -> Result<PartitionPage> {
        let mut out = PartitionPage::default();
        let Some((sources, _, _)) =
            self.partition_sources(q.table, key, &slice, Direction::Forward)?
        else {
            return Ok(out);
        };
        let mut merged = MergedRows::new(sources, Direction::Forward, |rt| !rt.slice.is_empty());
        for row in &mut merged {
            let mut row = row?;
            out.tombstones += row.tombstone_count(q.now);
            let clustering = row.clustering.clone();
            if row.is_live(q.now) {
                row.deletion = None;
                row.cells
                    .retain(|(c, cell)| q.columns.includes(*c) && cell.is_live(q.now));
                if row.marker.as_ref().is_some_and(|m| !m.is_live(q.now)) {
                    row.marker = None;
                }
                out.rows.push(row);
            }
            if out.rows.len() >= limit || out.tombstones >= tombstone_budget {
                out.stopped_after = Some(clustering);
                break;
            }
        }
        drop(merged);
        self.stats.reads += 1;
        self.stats.tombstones_scanned += out.tombstones;
        Ok(out)
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
        for frozen in &self.frozen {
            if let Some(m) = frozen.tables.get(&q.table) {
                keys.extend(
                    m.partitions_from(start)
                        .map(|(k, _)| k)
                        .filter(|k| after_start(k))
                        .take_while(|k| before_end(k))
                        .take(limit)
                        .cloned(),
                );
            }
        }
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
