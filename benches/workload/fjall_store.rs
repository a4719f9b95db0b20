//! The messages table on fjall 3: one keyspace, keys and values from `keys`.
//!
//! fjall 3 has no fsync interval setting, so periodic durability is a helper thread that
//! calls `persist(SyncData)` every 10 ms; group commit persists after every batch.

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::generator::Message;
use crate::keys;
use crate::store::{Durability, ReadRow, Result, Store, SYNC_PERIOD_MS};

pub struct FjallStore {
    db: Database,
    messages: Keyspace,
    durability: Durability,
    syncer: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    /// Reused for each message's value.
    value_buf: Vec<u8>,
}

impl FjallStore {
    pub fn open(dir: &Path, durability: Durability) -> Result<Self> {
        let db = Database::builder(dir).open()?;
        let messages = db.keyspace("messages", KeyspaceCreateOptions::default)?;
        let syncer = (durability == Durability::Periodic).then(|| spawn_syncer(db.clone()));
        Ok(FjallStore {
            db,
            messages,
            durability,
            syncer,
            value_buf: Vec::new(),
        })
    }

    fn collect(&self, iter: fjall::Iter, limit: usize) -> Result<Vec<ReadRow>> {
        let mut rows = Vec::with_capacity(limit);
        for guard in iter.take(limit) {
            let (key, value) = guard.into_inner()?;
            let message_id = keys::fjall_message_id(&key).ok_or("fjall key too short")?;
            let (author_id, content_bytes) =
                keys::fjall_value_parts(&value).ok_or("fjall value too short")?;
            rows.push(ReadRow {
                message_id,
                author_id,
                content_bytes,
            });
        }
        Ok(rows)
    }
}

/// Persists the journal every `SYNC_PERIOD_MS` until the flag is cleared.
fn spawn_syncer(db: Database) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let running = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&running);
    let handle = std::thread::spawn(move || {
        let period = Duration::from_millis(SYNC_PERIOD_MS);
        // Deadlines, not fixed sleeps, so the time a persist takes does not stretch the period.
        let mut deadline = Instant::now() + period;
        while flag.load(Ordering::Relaxed) {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            deadline = (deadline + period).max(Instant::now());
            if let Err(e) = db.persist(PersistMode::SyncData) {
                eprintln!("fjall periodic persist failed: {e}");
                return;
            }
        }
    });
    (running, handle)
}

impl Store for FjallStore {
    fn ingest(&mut self, batch: &[Message]) -> Result<()> {
        let mut write = self.db.batch();
        if self.durability == Durability::GroupCommit {
            write = write.durability(Some(PersistMode::SyncData));
        }
        // Key and value are handed over as slices (fjall copies them into its own buffers),
        // without a `Vec` of our own per message: the scrolldb adapter builds its fields in
        // a shared buffer for the same reason.
        let mut value = std::mem::take(&mut self.value_buf);
        for m in batch {
            keys::fjall_value_into(&mut value, m.author_id, &m.content);
            let key = keys::fjall_key(m.channel_id, m.bucket, m.message_id);
            write.insert(&self.messages, &key[..], &value[..]);
        }
        self.value_buf = value;
        write.commit()?;
        Ok(())
    }

    fn newest(&mut self, channel_id: i64, bucket: i32, limit: usize) -> Result<Vec<ReadRow>> {
        let iter = self.messages.prefix(keys::fjall_prefix(channel_id, bucket));
        self.collect(iter, limit)
    }

    fn older_than(
        &mut self,
        channel_id: i64,
        bucket: i32,
        message_id: i64,
        limit: usize,
    ) -> Result<Vec<ReadRow>> {
        let start = keys::fjall_key(channel_id, bucket, message_id);
        let end = keys::fjall_prefix_end(channel_id, bucket);
        let iter = self
            .messages
            .range((Bound::Excluded(start), Bound::Included(end)));
        self.collect(iter, limit)
    }

    fn delete(&mut self, channel_id: i64, bucket: i32, message_id: i64) -> Result<()> {
        let key = keys::fjall_key(channel_id, bucket, message_id);
        self.messages.remove(key.to_vec())?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.messages.rotate_memtable_and_wait()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<()> {
        self.messages.major_compact()?;
        Ok(())
    }

    fn wait_idle(&mut self) -> Result<()> {
        // Bounded: a background job that never ends must not hang the run.
        for _ in 0..60_000 {
            if self.db.outstanding_flushes() == 0 && self.db.active_compactions() == 0 {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("fjall background work still running after 10 minutes".into())
    }

    fn set_gc_grace_secs(&mut self, _secs: i64) -> Result<()> {
        // fjall has no grace period: a major compaction drops tombstones that no snapshot
        // needs once they reach the last level.
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64> {
        Ok(self.db.disk_space()?)
    }
}

impl Drop for FjallStore {
    fn drop(&mut self) {
        if let Some((running, handle)) = self.syncer.take() {
            running.store(false, Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}
