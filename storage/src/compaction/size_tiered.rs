//! Size-tiered selection: group SSTables of similar size into buckets and compact a bucket
//! once it holds `min_threshold` of them. Each compaction roughly multiplies the size of its
//! output by the fan-in, so a byte is rewritten about log_fanin(data / flush size) times and
//! the SSTable count stays near `min_threshold` per size tier.

use crate::compaction::config::SizeTieredOptions;
use crate::compaction::picker::Candidate;

/// Groups `candidates` into buckets as Cassandra does: sorted by size, an SSTable joins the
/// first bucket whose average size it is close to, or the bucket of small SSTables.
pub fn buckets<'a>(
    opts: &SizeTieredOptions,
    candidates: &[&'a Candidate],
) -> Vec<Vec<&'a Candidate>> {
    let mut sorted: Vec<&Candidate> = candidates.to_vec();
    sorted.sort_by_key(|c| (c.size_bytes, c.generation));
    let mut buckets: Vec<(f64, Vec<&Candidate>)> = Vec::new();
    for c in sorted {
        let size = c.size_bytes as f64;
        let small = opts.min_sstable_size_bytes as f64;
        let home = buckets.iter_mut().find(|(avg, _)| {
            (size > avg * opts.bucket_low && size < avg * opts.bucket_high)
                || (size < small && *avg < small)
        });
        match home {
            Some((avg, members)) => {
                let total = *avg * members.len() as f64 + size;
                members.push(c);
                *avg = total / members.len() as f64;
            }
            None => buckets.push((size, vec![c])),
        }
    }
    buckets.into_iter().map(|(_, b)| b).collect()
}

/// The SSTables to compact next: the bucket of the smallest SSTables among those holding at
/// least `min_threshold`, trimmed to its `max_threshold` smallest members. Small first keeps
/// the count down for the least work.
pub fn pick(
    opts: &SizeTieredOptions,
    min_threshold: usize,
    max_threshold: usize,
    candidates: &[&Candidate],
) -> Option<Vec<u64>> {
    let mut best: Option<Vec<&Candidate>> = None;
    for bucket in buckets(opts, candidates) {
        if bucket.len() < min_threshold.max(2) {
            continue;
        }
        let avg = |b: &[&Candidate]| b.iter().map(|c| c.size_bytes).sum::<u64>() / b.len() as u64;
        if best.as_ref().is_none_or(|b| avg(&bucket) < avg(b)) {
            best = Some(bucket);
        }
    }
    let mut bucket = best?;
    bucket.truncate(max_threshold.max(2));
    Some(bucket.iter().map(|c| c.generation).collect())
}
