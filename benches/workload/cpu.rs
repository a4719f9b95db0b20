//! CPU time of the calling thread: what the writer itself spent, which, unlike wall time,
//! does not grow when other processes of a shared machine take the cores away (it still
//! includes the cache misses they cause).

/// Seconds of CPU the calling thread has used, or `None` where the clock is missing.
pub fn thread_cpu_s() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}
