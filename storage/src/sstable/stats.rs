//! Statistics an SSTable carries about its content: timestamp and clustering ranges, counts,
//! and a compact histogram of tombstone local deletion times, so compaction can decide what
//! to compact (droppable tombstones) without reading the data.

use bytes::Bytes;
use std::collections::BTreeMap;

use crate::codec::varint::{put_bytes, put_i64, put_u64, Reader};
use crate::error::{Error, Result};
use crate::model::{CellValue, DeletionTime, RangeTombstone, Row};

/// The histogram keeps at most this many buckets; past it, bucket width doubles.
const MAX_HISTOGRAM_BUCKETS: usize = 128;
/// Starting bucket width: one hour is fine enough for gc grace decisions (days).
const INITIAL_BUCKET_WIDTH_SECS: i64 = 3600;

/// What an SSTable holds, summarised; stored in the file's stats section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SstableStats {
    /// Smallest write timestamp (cells, markers, every kind of deletion); `i64::MAX` if none.
    pub min_timestamp: i64,
    /// Greatest write timestamp; `i64::MIN` if none.
    pub max_timestamp: i64,
    /// Smallest clustering key of any row.
    pub min_clustering: Option<Bytes>,
    /// Greatest clustering key of any row.
    pub max_clustering: Option<Bytes>,
    pub partition_count: u64,
    pub row_count: u64,
    /// Row, cell, range and partition tombstones plus expiring cells.
    pub tombstone_count: u64,
    /// Greatest local deletion time (`deleted_at`, `expires_at`); as in Cassandra, a live
    /// non-expiring cell or marker counts as `i64::MAX` (it never becomes purgeable), and an
    /// empty table has `i64::MIN`.
    pub max_local_deletion_time: i64,
    /// Tombstone local deletion times, in buckets of `histogram_bucket_width_secs`.
    pub deletion_histogram: DeletionHistogram,
}

/// Counts of tombstones (and expiring cells) by local deletion time, bucketed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionHistogram {
    pub bucket_width_secs: i64,
    /// Bucket start (a multiple of the width, in seconds) to count.
    pub buckets: BTreeMap<i64, u64>,
}

impl Default for DeletionHistogram {
    fn default() -> Self {
        DeletionHistogram {
            bucket_width_secs: INITIAL_BUCKET_WIDTH_SECS,
            buckets: BTreeMap::new(),
        }
    }
}

impl DeletionHistogram {
    fn add(&mut self, local_secs: i64) {
        let start = local_secs.div_euclid(self.bucket_width_secs) * self.bucket_width_secs;
        *self.buckets.entry(start).or_insert(0) += 1;
        // Bounded size: merge neighbours by doubling the width, as often as needed.
        while self.buckets.len() > MAX_HISTOGRAM_BUCKETS {
            self.bucket_width_secs = self.bucket_width_secs.saturating_mul(2);
            let width = self.bucket_width_secs;
            let old = std::mem::take(&mut self.buckets);
            for (s, n) in old {
                *self.buckets.entry(s.div_euclid(width) * width).or_insert(0) += n;
            }
        }
    }

    /// Tombstones whose local deletion time is before `gc_before_secs`, interpolating linearly
    /// inside the one bucket that straddles it.
    fn count_before(&self, gc_before_secs: i64) -> u64 {
        let mut total = 0u64;
        for (&start, &n) in &self.buckets {
            let end = start.saturating_add(self.bucket_width_secs);
            if end <= gc_before_secs {
                total = total.saturating_add(n);
            } else if start < gc_before_secs {
                let part = (gc_before_secs - start) as f64 / self.bucket_width_secs as f64;
                total = total.saturating_add((n as f64 * part) as u64);
            }
        }
        total
    }
}

impl Default for SstableStats {
    fn default() -> Self {
        SstableStats {
            min_timestamp: i64::MAX,
            max_timestamp: i64::MIN,
            min_clustering: None,
            max_clustering: None,
            partition_count: 0,
            row_count: 0,
            tombstone_count: 0,
            max_local_deletion_time: i64::MIN,
            deletion_histogram: DeletionHistogram::default(),
        }
    }
}

impl SstableStats {
    /// Estimated number of tombstones that gc could drop: those (and expiring cells) whose
    /// local deletion time is before `gc_before_secs` (now minus gc grace).
    pub fn estimated_droppable_tombstones(&self, gc_before_secs: i64) -> u64 {
        self.deletion_histogram.count_before(gc_before_secs)
    }

    fn timestamp(&mut self, ts: i64) {
        self.min_timestamp = self.min_timestamp.min(ts);
        self.max_timestamp = self.max_timestamp.max(ts);
    }

    fn tombstone(&mut self, local_secs: i64) {
        self.tombstone_count += 1;
        self.max_local_deletion_time = self.max_local_deletion_time.max(local_secs);
        self.deletion_histogram.add(local_secs);
    }

    fn deletion(&mut self, d: &DeletionTime) {
        self.timestamp(d.marked_at);
        self.tombstone(d.deleted_at);
    }

    pub(crate) fn add_partition(
        &mut self,
        deletion: Option<&DeletionTime>,
        range_tombstones: &[RangeTombstone],
    ) {
        self.partition_count += 1;
        if let Some(d) = deletion {
            self.deletion(d);
        }
        for rt in range_tombstones {
            self.deletion(&rt.deletion);
        }
    }

    pub(crate) fn add_row(&mut self, row: &Row) {
        self.row_count += 1;
        if self
            .min_clustering
            .as_ref()
            .is_none_or(|m| row.clustering < *m)
        {
            self.min_clustering = Some(row.clustering.clone());
        }
        if self
            .max_clustering
            .as_ref()
            .is_none_or(|m| row.clustering > *m)
        {
            self.max_clustering = Some(row.clustering.clone());
        }
        if let Some(d) = &row.deletion {
            self.deletion(d);
        }
        for cell in row.marker.iter().chain(row.cells.iter().map(|(_, c)| c)) {
            self.timestamp(cell.timestamp);
            match cell.value {
                CellValue::Live(_) => self.max_local_deletion_time = i64::MAX,
                CellValue::Expiring { expires_at, .. } => self.tombstone(expires_at),
                CellValue::Tombstone { deleted_at } => self.tombstone(deleted_at),
            }
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.deletion_histogram.buckets.len() * 8);
        put_i64(&mut out, self.min_timestamp);
        put_i64(&mut out, self.max_timestamp);
        for key in [&self.min_clustering, &self.max_clustering] {
            match key {
                Some(k) => {
                    out.push(1);
                    put_bytes(&mut out, k);
                }
                None => out.push(0),
            }
        }
        put_u64(&mut out, self.partition_count);
        put_u64(&mut out, self.row_count);
        put_u64(&mut out, self.tombstone_count);
        put_i64(&mut out, self.max_local_deletion_time);
        put_i64(&mut out, self.deletion_histogram.bucket_width_secs);
        put_u64(&mut out, self.deletion_histogram.buckets.len() as u64);
        for (&start, &n) in &self.deletion_histogram.buckets {
            put_i64(&mut out, start);
            put_u64(&mut out, n);
        }
        out
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let min_timestamp = r.i64()?;
        let max_timestamp = r.i64()?;
        let mut keys = [None, None];
        for k in &mut keys {
            *k = match r.u8()? {
                0 => None,
                1 => Some(r.bytes()?),
                other => return Err(Error::Malformed(format!("bad clustering flag {other}"))),
            };
        }
        let [min_clustering, max_clustering] = keys;
        let partition_count = r.u64()?;
        let row_count = r.u64()?;
        let tombstone_count = r.u64()?;
        let max_local_deletion_time = r.i64()?;
        let bucket_width_secs = r.i64()?;
        if bucket_width_secs <= 0 {
            return Err(Error::Malformed(format!(
                "histogram bucket width {bucket_width_secs}"
            )));
        }
        let n = r.count()?;
        let mut buckets = BTreeMap::new();
        for _ in 0..n {
            let start = r.i64()?;
            buckets.insert(start, r.u64()?);
        }
        if !r.is_empty() {
            return Err(Error::Malformed("trailing bytes after stats".into()));
        }
        Ok(SstableStats {
            min_timestamp,
            max_timestamp,
            min_clustering,
            max_clustering,
            partition_count,
            row_count,
            tombstone_count,
            max_local_deletion_time,
            deletion_histogram: DeletionHistogram {
                bucket_width_secs,
                buckets,
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on bad data
mod tests {
    use super::*;

    #[test]
    fn histogram_stays_bounded_and_counts_before() {
        let mut h = DeletionHistogram::default();
        for t in 0..10_000i64 {
            h.add(t * 600);
        }
        assert!(h.buckets.len() <= MAX_HISTOGRAM_BUCKETS);
        assert_eq!(h.count_before(i64::MAX), 10_000);
        assert_eq!(h.count_before(0), 0);
        let half = h.count_before(5_000 * 600);
        assert!((4_800..=5_200).contains(&half), "{half}");
    }
}
