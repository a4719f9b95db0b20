//! Ordering clustering keys fast: the merge compares keys once per source per row, so the
//! comparison is done eight bytes at a time, and each source's current key is summarized by
//! its first eight bytes as an integer ([`key_prefix`]), which orders most pairs of keys
//! without touching the keys themselves.

use std::cmp::Ordering;

/// `a.cmp(b)` for byte strings, eight bytes at a time: clustering keys are short (a chat
/// message id is eight bytes), and a call to `memcmp` per comparison cost more than the
/// comparison itself.
#[inline]
pub(crate) fn cmp_keys(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (x, y) = (be_word(x), be_word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    let n = a.len().min(b.len()) / 8 * 8;
    let (a_tail, b_tail) = (
        a.get(n..).unwrap_or_default(),
        b.get(n..).unwrap_or_default(),
    );
    for (x, y) in a_tail.iter().zip(b_tail) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The first eight bytes of `key`, big-endian, zero-padded.
#[inline(always)]
pub(crate) fn key_prefix(key: &[u8]) -> u64 {
    match key.first_chunk::<8>() {
        Some(word) => u64::from_be_bytes(*word),
        None => {
            let mut word = [0u8; 8];
            for (w, k) in word.iter_mut().zip(key) {
                *w = *k;
            }
            u64::from_be_bytes(word)
        }
    }
}

#[inline]
fn be_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_be_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_matches_byte_order() {
        let keys: Vec<&[u8]> = vec![
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"a\0\0",
            b"ab",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgha",
            b"abcdefgi",
            b"\xff",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for a in &keys {
            for b in &keys {
                assert_eq!(cmp_keys(a, b), a.cmp(b), "{a:?} {b:?}");
                if a.len() <= 8 && b.len() <= 8 && key_prefix(a) == key_prefix(b) {
                    assert_eq!(a.len().cmp(&b.len()), a.cmp(b), "{a:?} {b:?}");
                } else if key_prefix(a) != key_prefix(b) {
                    assert_eq!(key_prefix(a).cmp(&key_prefix(b)), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }
}
