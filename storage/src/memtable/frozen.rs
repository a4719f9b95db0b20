//! A frozen memtable: the memtables of every table at one moment, no longer written to,
//! waiting for a flush job to turn them into SSTables.
//!
//! Freezing lets the owner thread keep accepting writes into a fresh memtable while another
//! thread writes the SSTables. Until the flush is installed, reads merge the frozen memtable
//! (between the active memtable and the SSTables) and the commitlog still holds its records.

use std::collections::BTreeMap;

use crate::commitlog::Position;
use crate::memtable::Memtable;
use crate::model::TableId;

#[derive(Debug)]
pub struct FrozenMemtable {
    /// Freeze order; flushes are installed in this order.
    pub seq: u64,
    /// The non-empty memtables, by table.
    pub tables: BTreeMap<TableId, Memtable>,
    /// The commitlog position of the last record these memtables hold: once they are in
    /// SSTables, replay may start after it.
    pub covered: Position,
    pub size_bytes: usize,
}
