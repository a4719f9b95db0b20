//! One table inside an engine: its memtable, its SSTables (newest first) and its options.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::options::TableOptions;
use crate::memtable::Memtable;
use crate::model::TableId;
use crate::sstable::Sstable;

#[derive(Default)]
pub struct Table {
    pub memtable: Memtable,
    /// Live SSTables with their generation, newest first.
    pub sstables: Vec<(u64, Arc<Sstable>)>,
    pub options: TableOptions,
}

/// Directory of a table's SSTables.
pub fn table_dir(root: &Path, table: TableId) -> PathBuf {
    root.join("tables").join(table.to_string())
}

/// File name of an SSTable generation.
pub fn sstable_path(root: &Path, table: TableId, generation: u64) -> PathBuf {
    table_dir(root, table).join(format!("{generation:010}.sst"))
}

/// The generation of an SSTable file name, if it is one.
pub fn generation_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".sst")?.parse().ok()
}
