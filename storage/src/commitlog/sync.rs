//! When to fsync: the bookkeeping behind `SyncMode`, kept apart from the file handling.

use std::time::{Duration, Instant};

use super::options::SyncMode;

/// Tracks whether appended bytes are not yet durable and when they were last made so.
#[derive(Debug)]
pub struct SyncPolicy {
    mode: SyncMode,
    dirty: bool,
    last_sync: Instant,
}

impl SyncPolicy {
    pub fn new(mode: SyncMode) -> Self {
        SyncPolicy {
            mode,
            dirty: false,
            last_sync: Instant::now(),
        }
    }

    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn appended(&mut self) {
        self.dirty = true;
    }

    pub fn synced(&mut self) {
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    /// Whether unsynced bytes should be synced now under the mode's rule.
    pub fn is_due(&self) -> bool {
        if !self.dirty {
            return false;
        }
        match self.mode {
            SyncMode::GroupCommit => true,
            SyncMode::Periodic { period_ms } | SyncMode::PeriodicBuffered { period_ms, .. } => {
                self.last_sync.elapsed() >= Duration::from_millis(period_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commit_is_due_whenever_dirty() {
        let mut p = SyncPolicy::new(SyncMode::GroupCommit);
        assert!(!p.is_due());
        p.appended();
        assert!(p.is_due());
        p.synced();
        assert!(!p.is_due());
    }

    #[test]
    fn periodic_waits_for_the_period() {
        let mut p = SyncPolicy::new(SyncMode::Periodic { period_ms: 60_000 });
        p.appended();
        assert!(!p.is_due());
        let mut p = SyncPolicy::new(SyncMode::Periodic { period_ms: 0 });
        p.appended();
        assert!(p.is_due());
    }
}
