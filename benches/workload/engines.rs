//! Opens an engine's store by name: the one place that knows every engine.

use std::path::Path;

use crate::fjall_store::FjallStore;
use crate::store::{Durability, Result, Store};

pub const ENGINES: &[&str] = &["scrolldb", "fjall"];

/// Opens a store in `dir`; `Ok(None)` for an engine not built into this harness yet.
pub fn open(engine: &str, dir: &Path, durability: Durability) -> Result<Option<Box<dyn Store>>> {
    std::fs::create_dir_all(dir)?;
    Ok(match engine {
        "fjall" => Some(Box::new(FjallStore::open(dir, durability)?)),
        // Hook-up point for the integrator (see scrolldb_store.rs):
        "scrolldb" => Some(Box::new(crate::scrolldb_store::ScrolldbStore::open(
            dir, durability,
        )?)),
        other => return Err(format!("unknown engine {other:?}; known: {ENGINES:?}").into()),
    })
}
