//! CPU time by thread group, so a run on a shared, noisy machine still shows where each
//! operation's CPU goes: the callers' threads, the shard threads, or the rest (flusher,
//! compactor, commitlog sync, io_uring workers). Throughput swings with the machine's load;
//! CPU per operation hardly does, and the callers' share of it bounds the shard speed-up
//! (2 shards on 2 CPUs reach at most 2 / (1 + client/shard)).

/// CPU nanoseconds this thread has run (`/proc/thread-self/schedstat`, first field).
pub fn thread_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU nanoseconds of this process's threads named `scrolldb-shard-*`.
pub fn shard_threads_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("scrolldb-shard"))
        })
        .filter_map(|t| {
            let s = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            s.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// CPU nanoseconds of the whole process, exited threads included.
pub fn process_ns() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(usage.ru_utime) + us(usage.ru_stime)) * 1000
}

/// Where one phase's CPU went, per operation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuPerOp {
    pub client_us: f64,
    pub shard_us: f64,
    pub other_us: f64,
}

/// Snapshot at a phase's start; [`PhaseCpu::finish`] turns it into per-operation figures.
pub struct PhaseCpu {
    shards: u64,
    process: u64,
}

impl PhaseCpu {
    pub fn start() -> PhaseCpu {
        PhaseCpu {
            shards: shard_threads_ns(),
            process: process_ns(),
        }
    }

    /// `client_ns` is the CPU the client threads reported (each measured itself).
    pub fn finish(self, client_ns: u64, ops: usize) -> CpuPerOp {
        let shards = shard_threads_ns().saturating_sub(self.shards);
        let total = process_ns().saturating_sub(self.process);
        let per_op = |ns: u64| ns as f64 / 1000.0 / ops.max(1) as f64;
        CpuPerOp {
            client_us: per_op(client_ns),
            shard_us: per_op(shards),
            other_us: per_op(total.saturating_sub(shards).saturating_sub(client_ns)),
        }
    }
}
