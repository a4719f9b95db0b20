//! Replay of one segment's records, and the rule that tells a torn tail from corruption.
//!
//! A bad frame at offset X is a **torn tail** when the segment is the last one and no valid
//! frame starts anywhere after X (checked by trying every later offset, see
//! [`record::find_next_valid`]): that is what a crash during the last write leaves. Anything
//! else (a valid record after the bad bytes, or a bad frame in a non-last segment, which is
//! complete and fsynced before the next segment is created) cannot come from a crash, and is
//! corruption: an error, or skipped under `RecoveryMode::SkipCorruptRecords`.
//!
//! One more case is a torn tail in the last segment: a bad frame at X whose bytes are zero
//! from X to the next 4 KiB boundary of the file (or its end), even if valid frames follow.
//! That is a page the disk never got: after a power loss, pages of unsynced appends may
//! reach the disk in any order, and a preallocated file ([`super::Commitlog::preallocate`])
//! reads as zeros where they did not. Every record after such a page was written after it,
//! so no fsync completed after any of them: none was durable (none acknowledged in group
//! commit), and dropping them is what a crash before the sync would have done. Damage that
//! is not zeros to a page boundary stays corruption.

// Decoders of bytes from disk: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use std::path::Path;

use super::options::RecoveryMode;
use super::record::{self, Frame};
use super::segment::HEADER_BYTES;
use super::Position;
use crate::error::{Error, Result};

/// What replaying one segment found.
#[derive(Debug, Default)]
pub struct SegmentReplay {
    pub records: u64,
    /// Where the torn tail starts (the end of the last good record), if there is one.
    pub torn_tail: Option<(u64, String)>,
    /// Corrupt stretches skipped in `SkipCorruptRecords` mode: (offset, reason).
    pub skipped: Vec<(u64, String)>,
}

/// Replays the records of segment `id` (whose header `data` has already passed
/// `segment::check_header`) through `on_record`. Errors from `on_record` stop replay.
pub fn replay_segment(
    path: &Path,
    id: u64,
    data: &[u8],
    is_last: bool,
    mode: RecoveryMode,
    on_record: &mut dyn FnMut(Position, &[u8]) -> Result<()>,
) -> Result<SegmentReplay> {
    let mut out = SegmentReplay::default();
    let mut at = HEADER_BYTES as usize;
    while at < data.len() {
        let reason = match record::decode_frame(data, at, id) {
            Frame::Valid { payload, end } => {
                on_record(
                    Position {
                        segment: id,
                        offset: end as u64,
                    },
                    payload,
                )?;
                out.records += 1;
                at = end;
                continue;
            }
            Frame::Invalid(reason) => reason,
        };
        let offset = at as u64;
        if !is_last && mode == RecoveryMode::TolerateCorruptTail {
            return Err(Error::corruption(
                path,
                offset,
                format!("{reason}; not the last segment, so not a torn tail"),
            ));
        }
        if is_last && mode == RecoveryMode::TolerateCorruptTail {
            if let Some(why) = unwritten_page_at(data, at) {
                out.torn_tail = Some((offset, format!("{reason}; {why}")));
                break;
            }
        }
        match (
            record::find_next_valid(data, at.saturating_add(1), id),
            mode,
        ) {
            (None, _) if is_last => {
                out.torn_tail = Some((offset, reason));
                break;
            }
            (None, _) => {
                let skipped_bytes = data.len().saturating_sub(at);
                out.skipped.push((
                    offset,
                    format!("{reason}; skipped the last {skipped_bytes} bytes of the segment"),
                ));
                break;
            }
            (Some(next), RecoveryMode::TolerateCorruptTail) => {
                return Err(Error::corruption(
                    path,
                    offset,
                    format!(
                        "{reason}; a valid record follows at offset {next}, so not a torn tail"
                    ),
                ));
            }
            (Some(next), RecoveryMode::SkipCorruptRecords) => {
                out.skipped.push((
                    offset,
                    format!(
                        "{reason}; skipped {} bytes to the next valid record",
                        next.saturating_sub(at)
                    ),
                ));
                at = next;
            }
        }
    }
    Ok(out)
}

/// Pages of the file the disk may not have received: the unit in which unsynced writes reach
/// it. 4 KiB is the smallest page size; a larger one only makes the zero run longer.
pub const PAGE_BYTES: usize = 4096;

/// Why the bytes at `at` are a page a crash left unwritten (zeros from `at` to the next
/// [`PAGE_BYTES`] boundary or the end of the file), or `None`.
fn unwritten_page_at(data: &[u8], at: usize) -> Option<String> {
    let page_end = (at / PAGE_BYTES + 1)
        .saturating_mul(PAGE_BYTES)
        .min(data.len());
    let rest = data.get(at..)?;
    let run = data.get(at..page_end)?;
    if run.is_empty() || run.iter().any(|&b| b != 0) {
        return None;
    }
    if rest.iter().all(|&b| b == 0) {
        return Some(format!(
            "the {} bytes to the end of the file are zeros (preallocated space or pages never written)",
            rest.len()
        ));
    }
    Some(format!(
        "zeros up to the page boundary at {page_end}: a page a crash left unwritten, so the {} bytes from here on were never synced",
        rest.len()
    ))
}
