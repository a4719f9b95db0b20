//! Replay of one segment's records, and the rule that tells a torn tail from corruption.
//!
//! A bad frame at offset X is a **torn tail** when the segment is the last one and no valid
//! frame starts anywhere after X (checked by trying every later offset, see
//! [`record::find_next_valid`]): that is what a crash during the last write leaves. Anything
//! else (a valid record after the bad bytes, or a bad frame in a non-last segment, which is
//! complete and fsynced before the next segment is created) cannot come from a crash, and is
//! corruption: an error, or skipped under `RecoveryMode::SkipCorruptRecords`.

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
