//! The reference the compaction fuzz target checks the engine against: every version ever
//! written, reconciled per cell, deletions kept as lists, nothing ever purged.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::model::{
    Cell, CellValue, DeletionTime, Direction, Mutation, RangeTombstone, ReadQuery, Row,
};

#[derive(Default)]
struct Partition {
    deletion: Option<DeletionTime>,
    ranges: Vec<RangeTombstone>,
    rows: BTreeMap<Bytes, Row>,
}

#[derive(Default)]
pub struct Model {
    partitions: BTreeMap<Bytes, Partition>,
}

impl Model {
    pub fn apply(&mut self, m: &Mutation) {
        let p = self.partitions.entry(m.partition_key.clone()).or_default();
        p.deletion = DeletionTime::max(p.deletion, m.partition_deletion);
        p.ranges.extend(m.range_tombstones.iter().cloned());
        for row in &m.rows {
            match p.rows.get_mut(&row.clustering) {
                Some(r) => r.merge(row.clone()),
                None => {
                    p.rows.insert(row.clustering.clone(), row.clone());
                }
            }
        }
    }

    /// What a read must return: live rows of the slice, in order, up to the limit.
    pub fn read(&self, q: &ReadQuery) -> Vec<Row> {
        let Some(p) = self.partitions.get(&q.partition_key) else {
            return vec![];
        };
        let mut keys: Vec<&Bytes> = p.rows.keys().filter(|k| q.slice.contains(k)).collect();
        if q.direction == Direction::Reverse {
            keys.reverse();
        }
        let mut out = Vec::new();
        for k in keys {
            let Some(mut row) = p.rows.get(k).cloned() else {
                continue;
            };
            let covering = p
                .ranges
                .iter()
                .filter(|rt| rt.slice.contains(k))
                .fold(p.deletion, |acc, rt| {
                    DeletionTime::max(acc, Some(rt.deletion))
                });
            let effective = DeletionTime::max(covering, row.deletion);
            let alive =
                |c: &Cell| effective.is_none_or(|d| c.timestamp > d.marked_at) && c.is_live(q.now);
            let marker_alive = row.marker.as_ref().is_some_and(alive);
            let any_cell = row.cells.iter().any(|(_, c)| alive(c));
            if !marker_alive && !any_cell {
                continue;
            }
            row.deletion = None;
            if !marker_alive {
                row.marker = None;
            }
            row.cells
                .retain(|(col, c)| alive(c) && q.columns.includes(*col));
            out.push(row);
            if q.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        out
    }

    /// The greatest timestamp, in partition `key`, of anything a compaction at `now` with
    /// `gc_before` could purge: tombstones deleted before `gc_before`, and TTL cells expired
    /// by `now` and written before `gc_before`. A write at or below it could legitimately
    /// reappear once that is purged (Cassandra's contract: gc grace bounds how late an older
    /// write may arrive), so the target writes above it.
    pub fn purgeable_floor(&self, key: &Bytes, now: i64, gc_before: i64) -> i64 {
        let Some(p) = self.partitions.get(key) else {
            return i64::MIN;
        };
        let deletions = p
            .deletion
            .iter()
            .chain(p.ranges.iter().map(|rt| &rt.deletion))
            .chain(p.rows.values().filter_map(|r| r.deletion.as_ref()))
            .filter(|d| d.deleted_at < gc_before)
            .map(|d| d.marked_at);
        let cells = p
            .rows
            .values()
            .flat_map(|r| r.marker.iter().chain(r.cells.iter().map(|(_, c)| c)))
            .filter(|c| match c.value {
                CellValue::Live(_) => false,
                CellValue::Tombstone { deleted_at } => deleted_at < gc_before,
                CellValue::Expiring {
                    ttl_secs,
                    expires_at,
                    ..
                } => expires_at <= now && expires_at - i64::from(ttl_secs) < gc_before,
            })
            .map(|c| c.timestamp);
        deletions.chain(cells).max().unwrap_or(i64::MIN)
    }

    pub fn keys(&self) -> Vec<Bytes> {
        self.partitions.keys().cloned().collect()
    }
}
