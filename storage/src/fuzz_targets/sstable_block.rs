//! Fuzz target for SSTable decoding: the bytes are tried as an uncompressed data block, as
//! an on-disk (framed) block, and as a whole SSTable file that is opened and read entirely.
//! Every outcome must be a value or an error, never a panic or a hang.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{Direction, Slice};
use crate::sstable::{decode_block_for_fuzzing, unframe_block_for_fuzzing, Sstable};

/// Bounds the work on one input (rows read from a file that decodes).
const MAX_ROWS: usize = 10_000;

pub fn run(data: &[u8]) {
    let _ = decode_block_for_fuzzing(data);
    if let Ok(raw) = unframe_block_for_fuzzing(data, 1 << 20) {
        let _ = decode_block_for_fuzzing(&raw);
    }
    read_as_file(data);
}

fn read_as_file(data: &[u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "scrolldb-fuzz-sstable-{}-{}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(table) = Sstable::open(&path) {
        let mut rows = 0usize;
        for p in table.partitions_from(None).take(MAX_ROWS) {
            let Ok(p) = p else { break };
            let _ = table.may_contain(p.key());
            let _ = table.partition(p.key());
            for direction in [Direction::Forward, Direction::Reverse] {
                for r in p.rows(&Slice::all(), direction) {
                    rows += 1;
                    if r.is_err() || rows > MAX_ROWS {
                        break;
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}
