//! CPU time and sleeps by thread group, so a run on a shared, noisy machine still shows
//! where each operation's CPU goes: the callers' threads, the shard threads, or the rest
//! (flusher, compactor, commitlog sync, io_uring workers). Throughput swings with the
//! machine's load; CPU per operation much less, and the callers' share of it bounds the
//! shard speed-up (2 shards on 2 CPUs reach at most 2 / (1 + client/shard)). Sleeps
//! (voluntary context switches) count the futex waits each side pays for a wake-up.

use std::path::Path;

/// CPU nanoseconds run and times slept, of one thread or a group.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub ns: u64,
    pub sleeps: u64,
}

impl Usage {
    pub fn minus(self, earlier: Usage) -> Usage {
        Usage {
            ns: self.ns.saturating_sub(earlier.ns),
            sleeps: self.sleeps.saturating_sub(earlier.sleeps),
        }
    }

    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            ns: self.ns + other.ns,
            sleeps: self.sleeps + other.sleeps,
        }
    }
}

/// A task's usage from its `/proc` directory: `schedstat`'s first field (ns on CPU) and
/// `status`'s `voluntary_ctxt_switches`.
fn task_usage(dir: &Path) -> Usage {
    let ns = std::fs::read_to_string(dir.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let sleeps = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Usage { ns, sleeps }
}

/// This thread's usage so far.
pub fn thread() -> Usage {
    task_usage(Path::new("/proc/thread-self"))
}

/// The usage of this process's threads named `scrolldb-shard-*`.
pub fn shard_threads() -> Usage {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Usage::default();
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("scrolldb-shard"))
        })
        .map(|t| task_usage(&t.path()))
        .fold(Usage::default(), Usage::plus)
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
    pub client_sleeps: f64,
    pub shard_sleeps: f64,
}

/// Snapshot at a phase's start; [`PhaseCpu::finish`] turns it into per-operation figures.
pub struct PhaseCpu {
    shards: Usage,
    process: u64,
}

impl PhaseCpu {
    pub fn start() -> PhaseCpu {
        PhaseCpu {
            shards: shard_threads(),
            process: process_ns(),
        }
    }

    /// `clients` is what the client threads used (each measured itself).
    pub fn finish(self, clients: Usage, ops: usize) -> CpuPerOp {
        let shards = shard_threads().minus(self.shards);
        let total = process_ns().saturating_sub(self.process);
        let per_op = |n: u64| n as f64 / ops.max(1) as f64;
        CpuPerOp {
            client_us: per_op(clients.ns) / 1000.0,
            shard_us: per_op(shards.ns) / 1000.0,
            other_us: per_op(total.saturating_sub(shards.ns).saturating_sub(clients.ns)) / 1000.0,
            client_sleeps: per_op(clients.sleeps),
            shard_sleeps: per_op(shards.sleeps),
        }
    }
}

/// Sets the calling client thread's scheduling as `--client-sched-batch` and
/// `--client-nice` ask.
pub fn client_thread(batch_sched: bool, nice_value: i32) {
    if batch_sched {
        sched_batch();
    }
    if nice_value != 0 {
        nice(nice_value);
    }
}

/// Makes the calling thread `SCHED_BATCH`: the scheduler then lets the task running on a
/// CPU finish its slice instead of preempting it whenever this thread wakes.
pub fn sched_batch() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; the parameter outlives the call.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0 {
        eprintln!("SCHED_BATCH refused: {}", std::io::Error::last_os_error());
    }
}

/// Sets the calling thread's nice value (Linux: a thread is a task of its own).
pub fn nice(value: i32) {
    // SAFETY: who = 0 is the calling thread; no memory is passed.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, value) } != 0 {
        eprintln!("nice {value} refused: {}", std::io::Error::last_os_error());
    }
}
