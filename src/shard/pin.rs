//! Pinning a shard thread to one CPU with `sched_setaffinity`.
//!
//! Pinning keeps a shard's data hot in one core's caches and stops shards from migrating
//! onto each other's cores. It is an optimisation only: where the kernel refuses it (a
//! container's cpuset, seccomp, a non-Linux system), shards run unpinned and the refusal is
//! logged once per process.

use std::sync::Once;

static REFUSAL_LOGGED: Once = Once::new();

/// The CPUs this process may run on, in increasing order (empty when unknown).
#[cfg(target_os = "linux")]
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `set` is a plain bitmask that sched_getaffinity fills; 0 means this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Pins the calling thread to `cpu`; logs (once per process) and carries on if refused.
pub fn pin_current_thread(cpu: usize) -> bool {
    match set_affinity(cpu) {
        Ok(()) => true,
        Err(e) => {
            REFUSAL_LOGGED.call_once(|| {
                tracing::warn!(cpu, error = %e, "cannot pin shard threads to CPUs; running them unpinned");
            });
            false
        }
    }
}

#[cfg(target_os = "linux")]
fn set_affinity(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::other(format!("cpu {cpu} is out of range")));
    }
    // SAFETY: `set` is a plain bitmask with one bit set; 0 means the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_affinity(_cpu: usize) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "CPU pinning is only implemented on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_to_an_allowed_cpu_and_refuses_an_absurd_one() {
        let cpus = allowed_cpus();
        assert!(!cpus.is_empty());
        let first = cpus[0];
        let handle = std::thread::spawn(move || {
            let pinned = pin_current_thread(first);
            (pinned, allowed_cpus())
        });
        let (pinned, now) = handle.join().unwrap();
        assert!(pinned);
        assert_eq!(now, vec![first]);
        assert!(set_affinity(1 << 20).is_err());
    }
}
