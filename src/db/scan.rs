//! Merging the shards' pages of one token-range scan into one page in ring order.
//!
//! Every shard runs the same [`ScanQuery`] (same range, same resume position) over the
//! partitions it owns. Partitions never span shards, so the pages are disjoint. A shard
//! that stopped early (it returned a `resume`) has covered everything before its resume
//! position and nothing after; the merged page can therefore only be trusted up to the
//! smallest resume position of any shard (the frontier). Rows before the frontier are merged
//! in ring order and cut at `page_rows` (and `max_partitions`); the next page resumes at the
//! cut or at the frontier. Shards that went further re-read the excess on the next page:
//! wasted work bounded by one page per shard, in exchange for a resume position that is an
//! ordinary `ScanPosition` and works whatever the shard count.

use crate::storage::engine::{ScanPage, ScanPosition, ScanQuery};
use crate::storage::model::{DecoratedKey, Row};
use std::cmp::Ordering;

pub fn merge_pages(query: &ScanQuery, pages: Vec<ScanPage>) -> ScanPage {
    let frontier = pages
        .iter()
        .filter_map(|p| p.resume.as_ref())
        .min_by(|a, b| cmp_position(a, b))
        .cloned();
    let mut partitions: Vec<(DecoratedKey, Vec<Row>)> = pages
        .into_iter()
        .flat_map(|p| p.partitions)
        .map(|(key, rows)| (DecoratedKey::new(key), rows))
        .filter(|(key, _)| before_frontier(key, frontier.as_ref()))
        .collect();
    partitions.sort_by(|a, b| a.0.cmp(&b.0));

    let page_rows = query.page_rows.max(1);
    let max_partitions = query.max_partitions.max(1);
    let mut out = ScanPage::default();
    let mut rows_taken = 0usize;
    let mut rest = partitions.into_iter();
    while let Some((key, mut rows)) = rest.next() {
        if out.partitions.len() >= max_partitions {
            out.resume = Some(ScanPosition {
                key,
                after_clustering: None,
            });
            return out;
        }
        let room = page_rows - rows_taken;
        if rows.len() >= room {
            let nothing_after = rows.len() == room && rest.len() == 0 && frontier.is_none();
            rows.truncate(room);
            let last = rows.last().map(|r| r.clustering.clone());
            out.partitions.push((key.key.clone(), rows));
            if !nothing_after {
                out.resume = Some(ScanPosition {
                    key,
                    after_clustering: last,
                });
            }
            return out;
        }
        rows_taken += rows.len();
        out.partitions.push((key.key, rows));
    }
    out.resume = frontier;
    out
}

/// Positions in scan order: by partition, then "nothing read yet" before "read up to c".
fn cmp_position(a: &ScanPosition, b: &ScanPosition) -> Ordering {
    a.key
        .cmp(&b.key)
        .then_with(|| match (&a.after_clustering, &b.after_clustering) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        })
}

/// Whether a partition a shard returned lies before the frontier (the frontier's own
/// partition counts when its shard already returned some of its rows).
fn before_frontier(key: &DecoratedKey, frontier: Option<&ScanPosition>) -> bool {
    match frontier {
        None => true,
        Some(f) => match key.cmp(&f.key) {
            Ordering::Less => true,
            Ordering::Equal => f.after_clustering.is_some(),
            Ordering::Greater => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::model::Row;
    use bytes::Bytes;

    fn rows(n: u8) -> Vec<Row> {
        (0..n).map(|i| Row::new(Bytes::from(vec![i]))).collect()
    }

    fn key(k: &str) -> Bytes {
        Bytes::copy_from_slice(k.as_bytes())
    }

    #[test]
    fn cuts_at_the_smallest_frontier_and_page_rows() {
        let mut keys: Vec<DecoratedKey> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| DecoratedKey::new(key(k)))
            .collect();
        keys.sort();
        let k = |i: usize| keys[i].key.clone();
        // Shard 0 owns keys 0, 2, 4 and stopped after key 2 (resume at 4).
        let shard0 = ScanPage {
            partitions: vec![(k(0), rows(1)), (k(2), rows(1))],
            resume: Some(ScanPosition {
                key: keys[4].clone(),
                after_clustering: None,
            }),
        };
        // Shard 1 owns 1, 3, 5, done.
        let shard1 = ScanPage {
            partitions: vec![(k(1), rows(1)), (k(3), rows(1)), (k(5), rows(1))],
            resume: None,
        };
        let mut q = ScanQuery::all(1);
        let page = merge_pages(&q, vec![shard0.clone(), shard1.clone()]);
        let got: Vec<Bytes> = page.partitions.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(got, vec![k(0), k(1), k(2), k(3)]);
        assert_eq!(page.resume.unwrap().key, keys[4]);

        q.page_rows = 2;
        let page = merge_pages(&q, vec![shard0, shard1]);
        assert_eq!(page.partitions.len(), 2);
        let resume = page.resume.unwrap();
        assert_eq!(resume.key, keys[1]);
        assert_eq!(resume.after_clustering, Some(Bytes::from(vec![0u8])));
    }
}
