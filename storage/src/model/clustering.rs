//! Clustering keys, bounds and slices.
//!
//! A clustering key is stored in a byte-comparable encoding (see `crate::types::comparable`):
//! comparing the encoded bytes gives the table's clustering order, DESC columns included.
//! A key prefix of the first k columns is a byte prefix of the full key, so a bound on a
//! prefix (`WHERE a = 1 AND b > 5`) compares a key's first `prefix.len()` bytes.

use bytes::Bytes;
use std::cmp::Ordering;

/// A clustering key in byte-comparable form; empty for a table without clustering columns.
pub type ClusteringKey = Bytes;

/// Compares `key` with a clustering prefix: `Equal` when the key starts with the prefix.
pub fn cmp_prefix(key: &[u8], prefix: &[u8]) -> Ordering {
    let n = key.len().min(prefix.len());
    key[..n].cmp(prefix).then(if key.len() < prefix.len() {
        Ordering::Less
    } else {
        Ordering::Equal
    })
}

/// One end of a clustering range, over a clustering prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bound {
    Unbounded,
    Included(Bytes),
    Excluded(Bytes),
}

/// A clustering range, `start` to `end` in the table's clustering order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slice {
    pub start: Bound,
    pub end: Bound,
}

impl Slice {
    /// Every row of the partition.
    pub fn all() -> Self {
        Slice {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    pub fn new(start: Bound, end: Bound) -> Self {
        Slice { start, end }
    }

    /// Whether `key` is at or after the start bound.
    pub fn after_start(&self, key: &[u8]) -> bool {
        match &self.start {
            Bound::Unbounded => true,
            Bound::Included(p) => cmp_prefix(key, p) != Ordering::Less,
            Bound::Excluded(p) => cmp_prefix(key, p) == Ordering::Greater,
        }
    }

    /// Whether `key` is at or before the end bound.
    pub fn before_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Unbounded => true,
            Bound::Included(p) => cmp_prefix(key, p) != Ordering::Greater,
            Bound::Excluded(p) => cmp_prefix(key, p) == Ordering::Less,
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.after_start(key) && self.before_end(key)
    }

    /// Whether no key can be inside the slice (start after end).
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(s), Bound::Included(e)) => {
                let n = s.len().min(e.len());
                s[..n] > e[..n]
            }
            (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) => {
                let n = s.len().min(e.len());
                match s[..n].cmp(&e[..n]) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    // Same prefix: (a, a] / [a, a) / (a, a) are empty when the bounds are
                    // on the same prefix; a longer inclusive bound inside an exclusive shorter
                    // one is empty as well.
                    Ordering::Equal => match (&self.start, &self.end) {
                        (Bound::Excluded(_), _) if s.len() <= e.len() => true,
                        (_, Bound::Excluded(_)) if e.len() <= s.len() => true,
                        _ => false,
                    },
                }
            }
        }
    }

    /// Whether the slice ends before `key` in clustering order (nothing at or after `key` fits).
    pub fn ends_before(&self, key: &[u8]) -> bool {
        !self.before_end(key)
    }

    /// Whether the slice starts after `key` (nothing at or before `key` fits).
    pub fn starts_after(&self, key: &[u8]) -> bool {
        !self.after_start(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn prefix_bounds() {
        let s = Slice::new(Bound::Excluded(b(b"ab")), Bound::Included(b(b"b")));
        assert!(!s.contains(b"ab"));
        assert!(!s.contains(b"abz"));
        assert!(s.contains(b"ac"));
        assert!(s.contains(b"b"));
        assert!(s.contains(b"bzz"));
        assert!(!s.contains(b"c"));
        assert!(!s.contains(b"a"));
    }

    #[test]
    fn empty_slices() {
        assert!(Slice::new(Bound::Included(b(b"b")), Bound::Included(b(b"a"))).is_empty());
        assert!(Slice::new(Bound::Excluded(b(b"a")), Bound::Included(b(b"a"))).is_empty());
        assert!(!Slice::new(Bound::Included(b(b"a")), Bound::Included(b(b"a"))).is_empty());
        assert!(!Slice::all().is_empty());
    }
}

/// The smallest byte string greater than every string starting with `prefix`, if any.
pub fn prefix_successor(prefix: &[u8]) -> Option<Bytes> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(Bytes::from(v));
        }
    }
    None
}

impl Slice {
    /// The slice as a byte range over full clustering keys (for ordered maps).
    /// `None` when no key can match.
    pub fn byte_range(&self) -> Option<(std::ops::Bound<Bytes>, std::ops::Bound<Bytes>)> {
        use std::ops::Bound as B;
        let start = match &self.start {
            Bound::Unbounded => B::Unbounded,
            Bound::Included(p) => B::Included(p.clone()),
            Bound::Excluded(p) => B::Included(prefix_successor(p)?),
        };
        let end = match &self.end {
            Bound::Unbounded => B::Unbounded,
            Bound::Included(p) => prefix_successor(p).map_or(B::Unbounded, B::Excluded),
            Bound::Excluded(p) => B::Excluded(p.clone()),
        };
        if let (B::Included(s), B::Excluded(e)) = (&start, &end) {
            if s >= e {
                return None;
            }
        }
        Some((start, end))
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn byte_range_matches_contains() {
        let keys: Vec<Bytes> = [&b"a"[..], b"ab", b"ab\xff", b"ac", b"b", b"\xff\xff"]
            .iter()
            .map(|k| Bytes::copy_from_slice(k))
            .collect();
        let bounds = |p: &[u8]| {
            vec![
                Bound::Unbounded,
                Bound::Included(Bytes::copy_from_slice(p)),
                Bound::Excluded(Bytes::copy_from_slice(p)),
            ]
        };
        for p in [&b"a"[..], b"ab", b"\xff", b"b"] {
            for q in [&b"a"[..], b"ab", b"\xff", b"c"] {
                for s in bounds(p) {
                    for e in bounds(q) {
                        let slice = Slice::new(s.clone(), e.clone());
                        let set: std::collections::BTreeSet<Bytes> = keys.iter().cloned().collect();
                        let via_range: Vec<Bytes> = match slice.byte_range() {
                            Some(r) => set.range(r).cloned().collect(),
                            None => vec![],
                        };
                        let via_contains: Vec<Bytes> =
                            keys.iter().filter(|k| slice.contains(k)).cloned().collect();
                        assert_eq!(via_range, via_contains, "{slice:?}");
                    }
                }
            }
        }
    }
}
