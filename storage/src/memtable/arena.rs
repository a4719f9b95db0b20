//! Copies of a memtable's row bytes in large shared chunks.
//!
//! A row comes in with its clustering key and each cell value in allocations of their own,
//! made by whoever built the mutation. Kept as they are, a memtable of 64 MiB is millions of
//! small allocations, all freed at once when the flushed memtable is dropped, on another
//! thread: glibc then serialises those frees and the writer's own mallocs on one arena lock
//! (the workload bench's writer spent much of its time waiting on it). Copied here, the
//! memtable holds a few hundred 1 MiB chunks instead; the mutation's own allocations are
//! freed by the writer right away and reused by its next mutation.
//!
//! A copy is a `Bytes` slice of the chunk (a reference count, no allocation), so rows read
//! out of the memtable share the chunk like any other `Bytes`.

use bytes::{Bytes, BytesMut};

use crate::model::{CellValue, Row};

/// Size of one chunk.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Values larger than this get an allocation of their own rather than waste chunk space.
const LARGE_VALUE_BYTES: usize = CHUNK_BYTES / 8;

#[derive(Debug, Default)]
pub struct ByteArena {
    current: BytesMut,
}

impl ByteArena {
    /// A copy of `value` in the arena.
    pub fn copy(&mut self, value: &[u8]) -> Bytes {
        if value.is_empty() {
            return Bytes::new();
        }
        if value.len() > LARGE_VALUE_BYTES {
            return Bytes::copy_from_slice(value);
        }
        if self.current.capacity() - self.current.len() < value.len() {
            self.current = BytesMut::with_capacity(CHUNK_BYTES);
        }
        self.current.extend_from_slice(value);
        self.current.split().freeze()
    }

    /// Moves the bytes `row` refers to (clustering key, cell values) into the arena.
    pub fn intern_row(&mut self, row: &mut Row) {
        row.clustering = self.copy(&row.clustering);
        let cells = row
            .marker
            .iter_mut()
            .chain(row.cells.iter_mut().map(|(_, c)| c));
        for cell in cells {
            match &mut cell.value {
                CellValue::Live(v) | CellValue::Expiring { value: v, .. } => *v = self.copy(v),
                CellValue::Tombstone { .. } => {}
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Cell;

    #[test]
    fn copies_are_equal_and_share_chunks() {
        let mut arena = ByteArena::default();
        let a = arena.copy(b"hello");
        let b = arena.copy(b"world");
        assert_eq!((&a[..], &b[..]), (&b"hello"[..], &b"world"[..]));
        assert_eq!(b.as_ptr(), a.as_ptr().wrapping_add(5), "one chunk for both");
        let big = arena.copy(&vec![1u8; LARGE_VALUE_BYTES + 1]);
        assert_eq!(big.len(), LARGE_VALUE_BYTES + 1);
        // Filling the chunk starts another; earlier copies stay intact.
        let fill = vec![9u8; LARGE_VALUE_BYTES];
        let copies: Vec<Bytes> = (0..10).map(|_| arena.copy(&fill)).collect();
        assert!(copies.iter().all(|c| c[..] == fill[..]));
        assert_eq!(&a[..], b"hello");
        assert!(arena.copy(b"").is_empty());
    }

    #[test]
    fn interned_rows_are_equal_rows() {
        let mut arena = ByteArena::default();
        let mut row = Row::new(Bytes::from_static(b"ck"));
        row.marker = Some(Cell::live(1, Bytes::new()));
        row.set(1, Cell::live(2, b"v".to_vec()));
        row.set(2, Cell::expiring(3, b"ttl".to_vec(), 60, 100));
        row.set(3, Cell::tombstone(4, 5));
        let mut interned = row.clone();
        arena.intern_row(&mut interned);
        assert_eq!(interned, row);
    }
}
