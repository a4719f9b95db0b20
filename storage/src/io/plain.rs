//! The std::fs backend: one syscall per operation.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::{FileIo, SyncKind};

/// Positional writes, fdatasync and fsync through std::fs.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainIo;

impl FileIo for PlainIo {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn write_all_at(&self, file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        file.write_all_at(buf, offset)
    }

    fn sync(&self, file: &File, kind: SyncKind) -> std::io::Result<()> {
        match kind {
            SyncKind::Data => file.sync_data(),
            SyncKind::All => file.sync_all(),
        }
    }
}
