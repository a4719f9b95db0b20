//! The [`Commitlog`]: open (replay, repair the tail, start a fresh segment), append, sync,
//! discard.
//!
//! Invariants that make recovery sound:
//! - a segment's header and directory entry are durable before any record is written to it;
//! - a segment is fsynced before the next one is created, so only the last segment can end
//!   in a torn write (replay relies on this to call anything else corruption);
//! - a batch is one positional write at the end of the active segment; a failed write is cut
//!   back off, and a failed fsync poisons the log (the page cache state is then unknown);
//! - in `SyncMode::PeriodicBuffered` the appends wait in `pending` (always the tail of the
//!   active segment, so the logical end is `active.len_bytes`) and go out as one write; a
//!   failed write of `pending` poisons the log, since those appends were acknowledged.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::background::BackgroundSync;
use super::options::{CommitlogOptions, SyncMode};
use super::record::{self, FRAME_HEADER_BYTES, MAX_RECORD_BYTES};
use super::replay;
use super::segment::{self, HEADER_BYTES};
use super::sync::SyncPolicy;
use super::{CommitlogStats, Position, ReplayReport};
use crate::error::{Error, Result};
use crate::io::{self, Io, SyncKind};

/// The segment records are appended to.
#[derive(Debug)]
struct ActiveSegment {
    id: u64,
    path: PathBuf,
    /// Shared with the background sync thread while it fsyncs it.
    file: Arc<File>,
    len_bytes: u64,
    /// The file's size: `len_bytes`, or more once preallocated (zeros after the records).
    file_bytes: u64,
}

/// A segment no longer appended to, durable on disk, kept until `discard_before` drops it.
#[derive(Debug)]
struct ClosedSegment {
    path: PathBuf,
    len_bytes: u64,
}

/// One engine directory's commitlog. See the module docs for the invariants.
#[derive(Debug)]
pub struct Commitlog {
    dir: PathBuf,
    /// Every append, fsync and segment creation goes through it.
    io: Io,
    opts: CommitlogOptions,
    active: ActiveSegment,
    closed: BTreeMap<u64, ClosedSegment>,
    sync: SyncPolicy,
    stats: CommitlogStats,
    /// Set after a failed fsync or an unrepairable failed write: every later call fails,
    /// because what is on disk is no longer known.
    poisoned: bool,
    /// Framed appends not yet written to the OS: the last `pending.len()` bytes of the active
    /// segment. Empty between calls except in `SyncMode::PeriodicBuffered`; reused, so the
    /// write path allocates nothing per record.
    pending: Vec<u8>,
    /// Where each frame of the batch being appended starts in `pending`.
    frame_starts: Vec<usize>,
    /// Runs the periodic modes' fsyncs when [`Commitlog::sync_in_background`] was called.
    background: Option<BackgroundSync>,
    /// Bytes the active segment's file is grown by ahead of the appends (0: not at all), see
    /// [`Commitlog::preallocate`].
    preallocate_bytes: u64,
}

/// A pending buffer grown past this by one huge batch is freed once written, not kept.
const KEPT_BATCH_BUF_BYTES: usize = 1 << 20;

impl Commitlog {
    /// Opens `dir` (creating it), replays every record of every segment in order through
    /// `on_record(end position, payload)`, repairs a torn tail, then starts a fresh segment.
    /// Writes with plain file I/O; see [`Commitlog::open_with_io`].
    pub fn open(
        dir: &Path,
        opts: CommitlogOptions,
        on_record: impl FnMut(Position, &[u8]) -> Result<()>,
    ) -> Result<(Commitlog, ReplayReport)> {
        Self::open_with_io(dir, opts, io::plain(), on_record)
    }

    /// [`Commitlog::open`] writing through the I/O backend `io`.
    pub fn open_with_io(
        dir: &Path,
        opts: CommitlogOptions,
        io: Io,
        mut on_record: impl FnMut(Position, &[u8]) -> Result<()>,
    ) -> Result<(Commitlog, ReplayReport)> {
        // Room for a header and at least one small record keeps rotation from looping.
        if opts.segment_size_bytes < HEADER_BYTES + FRAME_HEADER_BYTES + 1 {
            return Err(Error::InvalidRequest(format!(
                "commitlog segment_size_bytes {} is too small",
                opts.segment_size_bytes
            )));
        }
        io.create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut report = ReplayReport::default();
        let mut closed = BTreeMap::new();
        let segments = segment::list(dir)?;
        let next_id = segments.last().map_or(1, |(id, _)| id.saturating_add(1));
        let count = segments.len();
        for (i, (id, path)) in segments.into_iter().enumerate() {
            let is_last = i + 1 == count;
            if let Some(len_bytes) =
                replay_one(&*io, &path, id, is_last, &opts, &mut on_record, &mut report)?
            {
                closed.insert(id, ClosedSegment { path, len_bytes });
            }
        }
        let (file, path) = segment::create(&*io, dir, next_id)?;
        // Old segments without a record (an open with no write before the next close or
        // crash leaves one) hold nothing to replay: without this, every restart would add
        // one. Done after the new segment exists, so a crash midway loses nothing.
        let empty: Vec<u64> = closed
            .iter()
            .filter(|(_, s)| s.len_bytes <= HEADER_BYTES)
            .map(|(id, _)| *id)
            .collect();
        for id in empty {
            if let Some(s) = closed.remove(&id) {
                match io.remove_file(&s.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&s.path, e)),
                }
            }
        }
        let log = Commitlog {
            dir: dir.to_path_buf(),
            io,
            opts,
            active: ActiveSegment {
                id: next_id,
                path,
                file: Arc::new(file),
                len_bytes: HEADER_BYTES,
                file_bytes: HEADER_BYTES,
            },
            closed,
            sync: SyncPolicy::new(opts.sync),
            stats: CommitlogStats::default(),
            poisoned: false,
            pending: Vec::new(),
            frame_starts: Vec::new(),
            background: None,
            preallocate_bytes: 0,
        };
        Ok((log, report))
    }

    /// Appends `payloads` as one write to the OS, so that a process kill after this returns
    /// loses none of them; durability against power loss comes from the sync that follows
    /// (`sync_if_due` / `sync`), except in `GroupCommit` mode, where the write and its
    /// fdatasync go out together and the batch is durable when this returns. In
    /// `PeriodicBuffered` mode the write to the OS waits until the buffer is full or the next
    /// sync (see [`SyncMode::PeriodicBuffered`]). The batch goes whole into one segment: the
    /// active one, or a fresh one if it would not fit. Returns the position after the last
    /// record.
    ///
    /// Payloads must be non-empty and at most 64 MiB each (`InvalidRequest` otherwise).
    pub fn append(&mut self, payloads: &[&[u8]]) -> Result<Position> {
        self.append_encoded(payloads, |out, p| out.extend_from_slice(p))
    }

    /// [`Commitlog::append`] of one record per item, `encode` writing the item's payload
    /// straight into the log's buffer: no allocation per record on the write path (the
    /// buffer is kept between calls).
    pub fn append_encoded<T>(
        &mut self,
        items: &[T],
        mut encode: impl FnMut(&mut Vec<u8>, &T),
    ) -> Result<Position> {
        self.check_poisoned()?;
        if items.is_empty() {
            return Ok(self.position());
        }
        let base = self.pending.len();
        let mut starts = std::mem::take(&mut self.frame_starts);
        starts.clear();
        for item in items {
            let start = self.pending.len();
            self.pending
                .extend_from_slice(&[0u8; FRAME_HEADER_BYTES as usize]);
            encode(&mut self.pending, item);
            let len_bytes = (self.pending.len() - start) as u64 - FRAME_HEADER_BYTES;
            if len_bytes == 0 || len_bytes > MAX_RECORD_BYTES {
                self.pending.truncate(base);
                self.frame_starts = starts;
                return Err(Error::InvalidRequest(format!(
                    "commitlog record of {len_bytes} bytes (must be 1..={MAX_RECORD_BYTES})"
                )));
            }
            starts.push(start);
        }
        let result = self.write_batch(base, &mut starts);
        self.frame_starts = starts;
        let records = items.len() as u64;
        result.map(|()| {
            self.stats.records_appended += records;
            self.position()
        })
    }

    /// Takes the batch of frames at `pending[base..]` (headers still blank; `starts`: where
    /// each begins) into the active segment, rotating first if it does not fit, and writes
    /// it out as the sync mode says.
    fn write_batch(&mut self, base: usize, starts: &mut [usize]) -> Result<()> {
        let batch_bytes = (self.pending.len() - base) as u64;
        if self.active.len_bytes > HEADER_BYTES
            && self.active.len_bytes.saturating_add(batch_bytes) > self.opts.segment_size_bytes
        {
            // The earlier pending appends belong to the old segment: write them out with it.
            let batch = self.pending.split_off(base);
            self.rotate_now()?;
            self.pending = batch;
            for start in starts.iter_mut() {
                *start -= base;
            }
        }
        let base = self.pending.len() - batch_bytes as usize;
        // The CRC covers the segment id, so headers are filled once the segment is known.
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(self.pending.len());
            let frame = self.pending.get_mut(start..end).unwrap_or_default();
            record::fill_header(frame, self.active.id);
        }
        self.active.len_bytes += batch_bytes;
        self.stats.bytes_appended += batch_bytes;
        match self.sync.mode() {
            SyncMode::PeriodicBuffered { buffer_bytes, .. } => {
                self.sync.appended();
                if self.pending.len() as u64 >= buffer_bytes {
                    self.write_pending()?;
                }
                Ok(())
            }
            // Group commit syncs every batch: hand the write and its fsync over together
            // (one submission with io_uring).
            SyncMode::GroupCommit => {
                let at = self.pending_offset();
                if let Err(e) = self.preallocate_for(self.active.len_bytes) {
                    // Nothing of the batch was written: cut it off, it is not acknowledged.
                    self.pending.clear();
                    self.active.len_bytes = at;
                    self.stats.bytes_appended -= batch_bytes;
                    return Err(e);
                }
                let written = self.io.write_all_at_and_sync(
                    &self.active.file,
                    &self.pending,
                    at,
                    SyncKind::Data,
                );
                self.pending_written();
                if let Err(e) = written {
                    // The page cache state is unknown after a failed fsync: stop (see `sync`).
                    self.poisoned = true;
                    return Err(Error::io(&self.active.path, e));
                }
                self.sync.synced();
                self.stats.syncs += 1;
                Ok(())
            }
            // Periodic mode writes now and syncs when due.
            SyncMode::Periodic { .. } => {
                debug_assert_eq!(base, 0, "nothing stays pending in Periodic mode");
                let at = self.pending_offset();
                let written = self.preallocate_for(self.active.len_bytes).and_then(|()| {
                    self.io
                        .write_all_at(&self.active.file, &self.pending, at)
                        .map_err(|e| Error::io(&self.active.path, e))
                });
                if let Err(e) = written {
                    // Cut the partial batch back off so later batches do not land after
                    // garbage; the batch was not acknowledged.
                    self.pending.clear();
                    self.active.len_bytes = at;
                    self.stats.bytes_appended -= batch_bytes;
                    // (Preallocated space past it goes too: it would hold the torn bytes.)
                    if self.active.file.set_len(at).is_err() {
                        self.poisoned = true;
                    }
                    self.active.file_bytes = at;
                    return Err(e);
                }
                self.pending_written();
                self.sync.appended();
                Ok(())
            }
        }
    }

    /// The file offset of `pending[0]`.
    fn pending_offset(&self) -> u64 {
        self.active.len_bytes - self.pending.len() as u64
    }

    /// Forgets the pending bytes once they are written, keeping the buffer unless one huge
    /// batch made it huge.
    fn pending_written(&mut self) {
        self.pending.clear();
        if self.pending.capacity() > KEPT_BATCH_BUF_BYTES {
            self.pending = Vec::new();
        }
    }

    /// Writes the buffered appends (`PeriodicBuffered`) to the OS. They were acknowledged, so
    /// a failure poisons the log rather than cutting them off.
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.pending_offset();
        if let Err(e) = self.preallocate_for(self.active.len_bytes) {
            self.poisoned = true;
            return Err(e);
        }
        if let Err(e) = self.io.write_all_at(&self.active.file, &self.pending, at) {
            self.poisoned = true;
            return Err(Error::io(&self.active.path, e));
        }
        self.pending_written();
        Ok(())
    }

    /// Grows the active segment's file ahead of the appends from now on: whenever a write
    /// would end past the file's size, the file is first extended (`set_len`, so a sparse
    /// stretch of zeros) to `chunk_bytes` past that write's end, capped at the segment size.
    /// An fdatasync then has no file size to write, only data: with the size growing on every
    /// append, each group-commit fsync also wrote the inode (about 1.5x the time, measured
    /// on this machine's ext4). The zeros after the last record are cut off when the segment
    /// is rotated or the log is closed or dropped; after a crash, replay reads them as a
    /// torn tail and cuts them (`docs/FORMAT.md`, "Preallocated space"). 0 turns it off.
    pub fn preallocate(&mut self, chunk_bytes: u64) {
        self.preallocate_bytes = chunk_bytes;
    }

    /// Makes the active segment's file at least `end` bytes long, preallocating past it.
    fn preallocate_for(&mut self, end: u64) -> Result<()> {
        if self.preallocate_bytes == 0 || end <= self.active.file_bytes {
            return Ok(());
        }
        let target = end
            .saturating_add(self.preallocate_bytes)
            .min(self.opts.segment_size_bytes.max(end));
        self.io
            .set_len(&self.active.file, target)
            .map_err(|e| Error::io(&self.active.path, e))?;
        self.active.file_bytes = target;
        Ok(())
    }

    /// Cuts the preallocated zeros off the active segment (what it holds is written out
    /// first), so a closed segment ends at its last record. Not synced here: the caller's
    /// next fdatasync persists the new size with the data.
    fn trim_preallocation(&mut self) -> Result<()> {
        self.write_pending()?;
        if self.active.file_bytes <= self.active.len_bytes {
            return Ok(());
        }
        if let Err(e) = self.io.set_len(&self.active.file, self.active.len_bytes) {
            self.poisoned = true;
            return Err(Error::io(&self.active.path, e));
        }
        self.active.file_bytes = self.active.len_bytes;
        // The size changed: the next sync must run even with no append since the last one.
        self.sync.appended();
        Ok(())
    }

    /// Call after an append: in `GroupCommit` mode syncs now, in `Periodic` mode only if the
    /// period has passed since the last sync. Returns whether it synced. Never syncs when
    /// nothing is unsynced.
    ///
    /// With a background sync thread ([`Commitlog::sync_in_background`]) the periodic fsync
    /// only starts here (the previous one's failure is returned here, and stops the log); if
    /// the previous one is still running, this turn is skipped.
    pub fn sync_if_due(&mut self) -> Result<bool> {
        self.check_poisoned()?;
        self.collect_background()?;
        if !self.sync.is_due() {
            return Ok(false);
        }
        if self.sync.mode() == SyncMode::GroupCommit {
            self.sync()?;
            return Ok(true);
        }
        match &self.background {
            None => {
                self.sync()?;
                Ok(true)
            }
            Some(bg) if bg.busy() => {
                // No fsync yet, but buffered appends older than the period reach the OS, so
                // a kill loses none of them (the `PeriodicBuffered` contract).
                self.write_pending()?;
                Ok(false)
            }
            Some(_) => {
                self.write_pending()?;
                let file = Arc::clone(&self.active.file);
                let started = self.background.as_mut().map(|bg| bg.start(file));
                if let Some(Err(e)) = started {
                    self.poisoned = true;
                    return Err(Error::io(&self.active.path, e));
                }
                self.sync.synced();
                self.stats.syncs += 1;
                Ok(true)
            }
        }
    }

    /// Runs the fsyncs of the periodic modes on a thread of the log's own from now on (see
    /// [`super::PeriodicSyncThread::Background`]). A no-op in `GroupCommit` mode or when
    /// already running.
    pub fn sync_in_background(&mut self) -> Result<()> {
        if self.background.is_some() || self.sync.mode() == SyncMode::GroupCommit {
            return Ok(());
        }
        let bg = BackgroundSync::spawn(self.io.clone()).map_err(|e| Error::io(&self.dir, e))?;
        self.background = Some(bg);
        Ok(())
    }

    /// Takes the result of a finished background fsync; a failure stops the log.
    fn collect_background(&mut self) -> Result<()> {
        if let Some(Err(e)) = self.background.as_mut().and_then(|bg| bg.poll()) {
            self.poisoned = true;
            return Err(Error::io(&self.active.path, e));
        }
        Ok(())
    }

    /// Waits for the background fsync in flight; a failure stops the log.
    fn wait_background(&mut self) -> Result<()> {
        if let Some(Err(e)) = self.background.as_mut().and_then(|bg| bg.wait()) {
            self.poisoned = true;
            return Err(Error::io(&self.active.path, e));
        }
        Ok(())
    }

    /// Makes everything appended so far durable (fdatasync of the active segment; rotated
    /// segments were synced when rotated). A no-op when nothing is unsynced.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        // A background fsync in flight may cover appends this call must make durable.
        self.wait_background()?;
        if !self.sync.is_dirty() {
            return Ok(());
        }
        self.write_pending()?;
        if let Err(e) = self.io.sync(&self.active.file, SyncKind::Data) {
            // After a failed fsync the kernel may have dropped the dirty pages: nothing
            // appended since the last good sync can be trusted, so stop accepting writes.
            self.poisoned = true;
            return Err(Error::io(&self.active.path, e));
        }
        self.sync.synced();
        self.stats.syncs += 1;
        Ok(())
    }

    /// Call when idle: in `Periodic` mode syncs if the period has passed, so acknowledged
    /// data is not left at risk indefinitely when writes stop.
    pub fn tick(&mut self) -> Result<()> {
        self.sync_if_due().map(|_| ())
    }

    /// Syncs and closes the log (cutting off any preallocated space first).
    pub fn close(mut self) -> Result<()> {
        self.wait_background()?;
        self.trim_preallocation()?;
        self.sync()
    }

    /// The end of the log: the position after the last appended record.
    pub fn position(&self) -> Position {
        Position {
            segment: self.active.id,
            offset: self.active.len_bytes,
        }
    }

    /// Deletes every non-active segment all of whose records end at or before `pos` (their
    /// data is in flushed SSTables), oldest first so that a crash midway leaves no gap.
    /// The caller must have made `pos` durable as its replay start (the engine's manifest)
    /// first: the deletions themselves are not fsynced.
    pub fn discard_before(&mut self, pos: Position) -> Result<()> {
        let doomed: Vec<u64> = self
            .closed
            .iter()
            .filter(|(id, s)| {
                **id < pos.segment || (**id == pos.segment && s.len_bytes <= pos.offset)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &doomed {
            if let Some(s) = self.closed.get(id) {
                match self.io.remove_file(&s.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&s.path, e)),
                }
            }
            self.closed.remove(id);
        }
        // No directory fsync: a deletion a crash undoes brings back a segment whose records
        // all end before the manifest's replay position, which replay skips and the next
        // open deletes again.
        Ok(())
    }

    pub fn stats(&self) -> CommitlogStats {
        CommitlogStats {
            live_segments: self.closed.len() as u64 + 1,
            ..self.stats
        }
    }

    pub fn sync_mode(&self) -> SyncMode {
        self.sync.mode()
    }

    /// Closes the active segment (durably) and starts the next one, so that everything
    /// appended so far sits in closed segments that [`Commitlog::discard_before`] can drop.
    /// The engine calls it at flush: without it the active segment, which holds the records
    /// just flushed, would stay on disk until it filled up. A no-op when the active segment
    /// holds no record yet (repeated flushes do not make empty segments).
    pub fn rotate(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if self.active.len_bytes <= HEADER_BYTES {
            return Ok(());
        }
        self.rotate_now()
    }

    /// Closes the active segment (durably) and starts the next one, even if it is empty.
    fn rotate_now(&mut self) -> Result<()> {
        // The old segment must be complete on disk before the new one exists, or a power
        // loss could leave a torn non-last segment, which replay treats as corruption. It
        // ends at its last record: no preallocated zeros in a non-last segment.
        self.wait_background()?;
        self.trim_preallocation()?;
        self.sync()?;
        let next_id = self.active.id.saturating_add(1);
        let (file, path) = segment::create(&*self.io, &self.dir, next_id)?;
        let old = std::mem::replace(
            &mut self.active,
            ActiveSegment {
                id: next_id,
                path,
                file: Arc::new(file),
                len_bytes: HEADER_BYTES,
                file_bytes: HEADER_BYTES,
            },
        );
        self.closed.insert(
            old.id,
            ClosedSegment {
                path: old.path,
                len_bytes: old.len_bytes,
            },
        );
        Ok(())
    }

    /// Writes the buffered appends to the OS without syncing them, so that an owner that drops
    /// the log (or its engine) without `close` still leaves them to the page cache.
    pub fn write_buffered(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.write_pending()
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::io(
                &self.active.path,
                std::io::Error::other(
                    "commitlog stopped after an earlier write or sync failure; reopen it",
                ),
            ));
        }
        Ok(())
    }
}

impl Drop for Commitlog {
    /// Best effort: buffered appends reach the OS on an orderly drop, as with `close` minus
    /// the fsync. Errors cannot be reported here; `close` reports them.
    fn drop(&mut self) {
        if !self.poisoned {
            let _ = self.trim_preallocation();
        }
    }
}

/// Replays one segment file into `report`, repairing it if it is the last one. Returns the
/// file's length afterwards, or `None` if it was deleted as creation debris.
fn replay_one(
    io: &dyn io::FileIo,
    path: &Path,
    id: u64,
    is_last: bool,
    opts: &CommitlogOptions,
    on_record: &mut dyn FnMut(Position, &[u8]) -> Result<()>,
    report: &mut ReplayReport,
) -> Result<Option<u64>> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let header = segment::check_header(path, &data, id);
    if is_last && segment::is_creation_debris(&data, &header) {
        let reason = format!(
            "segment of {} bytes without a valid header or records (crash while creating it): deleted",
            data.len()
        );
        tracing::warn!(file = %path.display(), "commitlog: {reason}");
        io.remove_file(path).map_err(|e| Error::io(path, e))?;
        if let Some(dir) = path.parent() {
            io.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
        }
        report.truncated.push((path.to_path_buf(), 0, reason));
        return Ok(None);
    }
    header?;
    let seg = replay::replay_segment(path, id, &data, is_last, opts.recovery, on_record)?;
    report.records += seg.records;
    report.segments += 1;
    for (offset, reason) in seg.skipped {
        tracing::warn!(file = %path.display(), offset, "commitlog: skipped corrupt records: {reason}");
        report.skipped.push((path.to_path_buf(), offset, reason));
    }
    let mut len_bytes = data.len() as u64;
    if is_last {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        if let Some((offset, reason)) = seg.torn_tail {
            tracing::warn!(
                file = %path.display(),
                offset,
                dropped_bytes = len_bytes - offset,
                "commitlog: truncating torn tail: {reason}"
            );
            io.set_len(&file, offset).map_err(|e| Error::io(path, e))?;
            len_bytes = offset;
            report.truncated.push((path.to_path_buf(), offset, reason));
        }
        // The last segment may hold data a killed process wrote but never synced; it becomes
        // a non-last segment now, and those must be complete on disk (see the module docs).
        io.sync(&file, SyncKind::All)
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(Some(len_bytes))
}
