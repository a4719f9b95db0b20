//! The io_uring backend: one ring per engine; every operation is submitted and waited for.
//!
//! The engine's thread is the only user, so submission is synchronous: push the entries,
//! `submit_and_wait`, read their completions. What io_uring buys here is the linked
//! write + fsync of a group commit in one system call, and a ring the engine owns (later
//! work can keep several writes in flight). Buffers stay borrowed until their completion is
//! read, so the kernel never sees a freed buffer.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use io_uring::{opcode, squeue, types, IoUring};

use super::{FileIo, SyncKind};

/// Entries of the ring: a write and its fsync are the most ever in flight.
const RING_ENTRIES: u32 = 8;
/// The kernel's limit for one read/write is just under 2 GiB; stay well below.
const MAX_CHUNK_BYTES: usize = 1 << 30;

/// A ring and the user_data counter that tells its completions apart.
struct Ring {
    ring: IoUring,
    next_id: u64,
}

/// File I/O through an io_uring owned by one engine.
pub struct UringIo {
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for UringIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UringIo")
    }
}

impl UringIo {
    /// Sets up a ring; fails where the kernel or a seccomp filter refuses io_uring.
    pub fn new() -> std::io::Result<UringIo> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let io = UringIo {
            ring: Mutex::new(Ring { ring, next_id: 1 }),
        };
        // Some sandboxes allow io_uring_setup but fail every operation: probe with a no-op.
        io.run(&mut [opcode::Nop::new().build()])?;
        Ok(io)
    }

    /// Submits `entries` (linked or not, as built), waits for all their completions and
    /// returns their results in order: byte counts, or the error each one failed with.
    fn run(&self, entries: &mut [squeue::Entry]) -> std::io::Result<Vec<std::io::Result<u32>>> {
        let mut guard = self
            .ring
            .lock()
            .map_err(|_| std::io::Error::other("io_uring ring poisoned by a panic"))?;
        let state = &mut *guard;
        let first_id = state.next_id;
        state.next_id = state.next_id.wrapping_add(entries.len() as u64);
        {
            let mut sq = state.ring.submission();
            for (i, e) in entries.iter_mut().enumerate() {
                let entry = e.clone().user_data(first_id.wrapping_add(i as u64));
                // SAFETY: every buffer an entry points to is borrowed by the caller until
                // this function has read the entry's completion below.
                unsafe { sq.push(&entry) }
                    .map_err(|_| std::io::Error::other("io_uring submission queue full"))?;
            }
        }
        let mut results: Vec<Option<std::io::Result<u32>>> =
            (0..entries.len()).map(|_| None).collect();
        let mut pending = entries.len();
        while pending > 0 {
            match state.ring.submit_and_wait(pending) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for cqe in state.ring.completion() {
                let slot = cqe.user_data().wrapping_sub(first_id);
                // Completions of an earlier, abandoned request are dropped.
                let Some(r) = usize::try_from(slot).ok().and_then(|s| results.get_mut(s)) else {
                    continue;
                };
                if r.is_none() {
                    pending -= 1;
                }
                let res = cqe.result();
                *r = Some(if res < 0 {
                    Err(std::io::Error::from_raw_os_error(-res))
                } else {
                    Ok(res as u32)
                });
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(std::io::Error::other("io_uring lost a completion"))))
            .collect())
    }

    fn write_entry(file: &File, buf: &[u8], offset: u64) -> squeue::Entry {
        let len = buf.len().min(MAX_CHUNK_BYTES) as u32;
        opcode::Write::new(types::Fd(file.as_raw_fd()), buf.as_ptr(), len)
            .offset(offset)
            .build()
    }

    fn fsync_entry(file: &File, kind: SyncKind) -> squeue::Entry {
        let flags = match kind {
            SyncKind::Data => types::FsyncFlags::DATASYNC,
            SyncKind::All => types::FsyncFlags::empty(),
        };
        opcode::Fsync::new(types::Fd(file.as_raw_fd()))
            .flags(flags)
            .build()
    }

    /// One write submission; returns the bytes written.
    fn write_once(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<usize> {
        let mut results = self.run(&mut [Self::write_entry(file, buf, offset)])?;
        let n = results
            .pop()
            .unwrap_or_else(|| Err(std::io::Error::other("no result")))?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        Ok(n as usize)
    }
}

impl FileIo for UringIo {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn write_all_at(&self, file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
        while !buf.is_empty() {
            match self.write_once(file, buf, offset) {
                Ok(n) => {
                    buf = buf.get(n..).unwrap_or_default();
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        let mut results = self.run(&mut [Self::fsync_entry(file, kind)])?;
        results
            .pop()
            .unwrap_or_else(|| Err(std::io::Error::other("no result")))
            .map(|_| ())
    }

    fn write_all_at_and_sync(
        &self,
        file: &File,
        buf: &[u8],
        offset: u64,
        kind: SyncKind,
    ) -> std::io::Result<()> {
        if buf.is_empty() || buf.len() > MAX_CHUNK_BYTES {
            self.write_all_at(file, buf, offset)?;
            return self.sync(file, kind);
        }
        // The fsync runs only once the write completed in full; a short write cancels it.
        let write = Self::write_entry(file, buf, offset).flags(squeue::Flags::IO_LINK);
        let mut results = self.run(&mut [write, Self::fsync_entry(file, kind)])?;
        let synced = results.pop();
        let written = results
            .pop()
            .unwrap_or_else(|| Err(std::io::Error::other("no result")))?;
        let written = written as usize;
        if written == buf.len() {
            if let Some(Ok(_)) = synced {
                return Ok(());
            }
            if let Some(Err(e)) = synced {
                if e.raw_os_error() != Some(libc_ecanceled()) {
                    return Err(e);
                }
            }
        }
        // Short write (the fsync was cancelled): finish the slow way.
        self.write_all_at(
            file,
            buf.get(written..).unwrap_or_default(),
            offset + written as u64,
        )?;
        self.sync(file, kind)
    }
}

/// ECANCELED on Linux: what a linked entry completes with when its predecessor fell short.
const fn libc_ecanceled() -> i32 {
    125
}
