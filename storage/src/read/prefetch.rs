//! Software prefetch for the read path's scans.
//!
//! A read over a nearly empty channel walks hundreds of thousands of rows it will skip, from
//! blocks and memtable nodes that are rarely in the CPU cache. Walked one row at a time,
//! each row costs a cache miss the next step waits for; asking for the memory ahead of the
//! walk (a whole block when it is loaded, the memtable rows a few steps ahead) lets those
//! misses overlap instead.

/// Bytes per cache line on the machines we run on.
const LINE_BYTES: usize = 64;

/// Asks the CPU to bring `bytes` into its cache. Only a hint: nothing waits for it, and on
/// targets without a prefetch instruction it does nothing.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for line in bytes.chunks(LINE_BYTES) {
            // SAFETY: a prefetch never faults and never changes memory, whatever the address;
            // here the address is even inside a live slice.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// [`prefetch`] of the memory `value` itself occupies (every cache line of it).
#[inline]
pub fn prefetch_value<T>(value: &T) {
    let ptr: *const u8 = (value as *const T).cast();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for offset in (0..std::mem::size_of::<T>()).step_by(LINE_BYTES) {
            // SAFETY: as in `prefetch`; the address is inside the live `value`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(offset).cast()) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
