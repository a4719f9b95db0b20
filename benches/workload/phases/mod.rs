//! The phases of WORKLOAD.md (1-4), each run per engine on the same data.

pub mod group_commit;
pub mod ingest;
pub mod reads;
pub mod tombstones;

use crate::store::{ReadRow, Result, Store};

/// Rows a chat client shows when it opens a channel or scrolls.
pub const PAGE_ROWS: usize = 50;

/// Reads newest first across `buckets` (newest bucket first) until `PAGE_ROWS` rows.
pub fn newest_across(
    store: &mut dyn Store,
    channel_id: i64,
    buckets_newest_first: impl Iterator<Item = i32>,
    mut rows: Vec<ReadRow>,
) -> Result<Vec<ReadRow>> {
    for bucket in buckets_newest_first {
        if rows.len() >= PAGE_ROWS {
            break;
        }
        let more = store.newest(channel_id, bucket, PAGE_ROWS - rows.len())?;
        rows.extend(more);
    }
    check_page(&rows)?;
    Ok(rows)
}

/// A page must be newest first and no longer than asked: a wrong adapter or engine is
/// caught here, not left to skew the figures.
pub fn check_page(rows: &[ReadRow]) -> Result<()> {
    if rows.len() > PAGE_ROWS {
        return Err(format!("read returned {} rows, limit {PAGE_ROWS}", rows.len()).into());
    }
    if let Some(pair) = rows.windows(2).find(|w| w[0].message_id <= w[1].message_id) {
        return Err(format!(
            "rows not newest first: {} before {}",
            pair[0].message_id, pair[1].message_id
        )
        .into());
    }
    Ok(())
}

/// An order-sensitive digest of every row id a phase read, to check that both engines
/// returned the same rows.
#[derive(Clone, Copy)]
pub struct Digest(u64);

impl Digest {
    pub fn new() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    pub fn add(&mut self, rows: &[ReadRow]) {
        for row in rows {
            self.0 = (self.0 ^ row.message_id as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = (self.0 ^ rows.len() as u64).wrapping_mul(0x0100_0000_01b3);
    }

    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}
