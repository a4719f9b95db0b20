//! Opening the shard engines, resharding first when the shard count changed.
//!
//! Design: **resharding on open**. When `dir` was written by M shards and is opened with N
//! != M, every partition is moved to the shard that owns it under N before the database
//! serves anything, so after open each shard again owns exactly its partitions and no
//! read ever has to look at another shard's files.
//!
//! Steps, each safe to crash in:
//! 1. Rename `shard-0..M` into `reshard.tmp/`, fsync, then rename `reshard.tmp` to
//!    `reshard` (the commit point). A crash before it: on the next open, `reshard.tmp`'s
//!    directories are moved back and the database is as before.
//! 2. With `reshard/` present: remove any `shard-*` (a partial earlier attempt), open N new
//!    engines, and for each old engine and each table in the catalog, scan every partition
//!    and apply its live rows to the new owner. Rows keep their cells' write timestamps and
//!    TTL expiry, so the copy is exact; tombstones need not be copied because everything
//!    they shadowed is merged away in the same read. Then flush and sync the new engines.
//! 3. Record N in `shards.json` (the copy's commit point), rename `reshard/` to
//!    `reshard.done/`, then remove that. A crash before the rename redoes step 2, which is
//!    idempotent (same cells, same timestamps); a crash while removing leaves a
//!    `reshard.done/` that the next open just removes. (Removing `reshard/` in place would
//!    be wrong: a crash halfway would leave a partial `reshard/` that the next open would
//!    take for the whole old data and copy over the complete new shards.)

use super::layout::{shard_dir, shard_dirs, store_shard_count, stored_shard_count};
use crate::catalog::store::sync_dir;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::shard::routing::shard_of_key;
use crate::storage::engine::{Engine, EngineOptions, ScanQuery};
use crate::storage::model::{Mutation, TableId};
use std::fs;
use std::path::Path;

const RESHARD_DIR: &str = "reshard";
const RESHARD_TMP_DIR: &str = "reshard.tmp";
const RESHARD_DONE_DIR: &str = "reshard.done";
/// Rows per page read from an old engine while re-routing.
const COPY_PAGE_ROWS: usize = 4096;

/// Opens `shards` engines under `root`, re-routing data written with another shard count.
pub fn open_engines(
    root: &Path,
    shards: usize,
    catalog: &Catalog,
    opts: &EngineOptions,
) -> Result<Vec<Engine>> {
    remove_dir_if_present(root, &root.join(RESHARD_DONE_DIR))?;
    undo_interrupted_move(root)?;
    let existing = shard_dirs(root)?;
    let stored = stored_shard_count(root)?.or_else(|| existing.last().map(|(i, _)| i + 1));
    if matches!(stored, Some(m) if m != shards) && !root.join(RESHARD_DIR).exists() {
        tracing::info!(from = ?stored, to = shards, dir = %root.display(), "shard count changed: resharding");
        move_old_shards(root)?;
    }
    let engines = if root.join(RESHARD_DIR).exists() {
        copy_from_old_shards(root, shards, catalog, opts)?
    } else {
        (0..shards)
            .map(|i| Engine::open(shard_dir(root, i), opts.clone()).map_err(Error::Storage))
            .collect::<Result<Vec<_>>>()?
    };
    if stored != Some(shards) || stored_shard_count(root)?.is_none() {
        store_shard_count(root, shards)?;
    }
    let old = root.join(RESHARD_DIR);
    if old.exists() {
        let done = root.join(RESHARD_DONE_DIR);
        fs::rename(&old, &done).map_err(|e| Error::io(&done, e))?;
        sync_dir(root)?;
        remove_dir_if_present(root, &done)?;
    }
    Ok(engines)
}

fn remove_dir_if_present(root: &Path, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    sync_dir(root)
}

/// Step 1 crashed: put the shard directories back where they were.
fn undo_interrupted_move(root: &Path) -> Result<()> {
    let tmp = root.join(RESHARD_TMP_DIR);
    if !tmp.exists() {
        return Ok(());
    }
    for (i, path) in shard_dirs(&tmp)? {
        let back = shard_dir(root, i);
        fs::rename(&path, &back).map_err(|e| Error::io(&back, e))?;
    }
    fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    sync_dir(root)
}

fn move_old_shards(root: &Path) -> Result<()> {
    let tmp = root.join(RESHARD_TMP_DIR);
    fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    for (i, path) in shard_dirs(root)? {
        let to = shard_dir(&tmp, i);
        fs::rename(&path, &to).map_err(|e| Error::io(&to, e))?;
    }
    sync_dir(&tmp)?;
    sync_dir(root)?;
    let done = root.join(RESHARD_DIR);
    fs::rename(&tmp, &done).map_err(|e| Error::io(&done, e))?;
    sync_dir(root)
}

fn copy_from_old_shards(
    root: &Path,
    shards: usize,
    catalog: &Catalog,
    opts: &EngineOptions,
) -> Result<Vec<Engine>> {
    for (_, partial) in shard_dirs(root)? {
        fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
    }
    let mut engines = (0..shards)
        .map(|i| Engine::open(shard_dir(root, i), opts.clone()))
        .collect::<crate::storage::Result<Vec<_>>>()?;
    // Reading the old data must never stop at the tombstone failure threshold.
    let mut read_opts = opts.clone();
    read_opts.tombstones.fail = None;
    let tables: Vec<TableId> = catalog.tables.values().map(|t| t.id).collect();
    let mut moved = 0u64;
    for (old_index, old_dir) in shard_dirs(&root.join(RESHARD_DIR))? {
        let mut old = Engine::open(&old_dir, read_opts.clone())?;
        for &table in &tables {
            moved += copy_table(&mut old, table, &mut engines)?;
        }
        old.close()?;
        tracing::info!(old_shard = old_index, "re-routed an old shard's data");
    }
    for engine in &mut engines {
        engine.flush()?;
        engine.sync()?;
    }
    tracing::info!(rows = moved, shards, "resharding done");
    Ok(engines)
}

/// Moves every live row of `table` from `old` to its owner among `engines`.
fn copy_table(old: &mut Engine, table: TableId, engines: &mut [Engine]) -> Result<u64> {
    let mut query = ScanQuery::all(table);
    query.page_rows = COPY_PAGE_ROWS;
    let mut rows = 0u64;
    loop {
        let page = old.scan(&query)?;
        let mut per_shard: Vec<Vec<Mutation>> = vec![Vec::new(); engines.len()];
        for (key, partition_rows) in page.partitions {
            rows += partition_rows.len() as u64;
            let shard = shard_of_key(&key, engines.len());
            let mut m = Mutation::new(table, key);
            m.rows = partition_rows;
            if let Some(bucket) = per_shard.get_mut(shard) {
                bucket.push(m);
            }
        }
        for (engine, batch) in engines.iter_mut().zip(per_shard) {
            if !batch.is_empty() {
                engine.apply_batch(batch)?;
            }
        }
        match page.resume {
            Some(pos) => query.resume = Some(pos),
            None => return Ok(rows),
        }
    }
}
