//! Opening an engine: load the manifest, open its SSTables, remove leftovers of interrupted
//! flushes and compactions, and replay the commitlog past the manifest's position.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::codec::decode_mutation;
use crate::commitlog::Commitlog;
use crate::engine::manifest::Manifest;
use crate::engine::options::EngineOptions;
use crate::engine::table::{generation_of, sstable_path, table_dir, Table};
use crate::engine::{open_sstable, Engine, EngineStats};
use crate::error::{Error, Result};
use crate::io::{FileIo, Io};
use crate::memtable::Memtable;
use crate::model::TableId;
use crate::sstable::BlockCache;

pub fn open(dir: &Path, opts: EngineOptions, io: Option<Io>) -> Result<Engine> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Opened first: with a mirror, this reconciles the two copies before anything is read.
    let io = match io {
        Some(io) => io,
        None => crate::io::open_backend(opts.io, dir)?,
    };
    let io = crate::io::mirrored(io, opts.io, dir, opts.mirror.as_ref())?;
    let tables_dir = dir.join("tables");
    io.create_dir_all(&tables_dir)
        .map_err(|e| Error::io(&tables_dir, e))?;
    let manifest = Manifest::load(dir)?;
    let block_cache = (opts.block_cache_bytes > 0).then(|| BlockCache::new(opts.block_cache_bytes));
    let mut tables: BTreeMap<TableId, Table> = BTreeMap::new();
    for (&table, gens) in &manifest.tables {
        let t = tables.entry(table).or_default();
        for &generation in gens {
            let path = sstable_path(dir, table, generation);
            let sst = open_sstable(&io, block_cache.as_ref(), &path, generation)?;
            t.sstables.push((generation, sst));
        }
    }
    remove_unlisted_files(&*io, dir, &manifest)?;

    // Replay: records before the manifest's position are already in SSTables.
    let mut memtables: BTreeMap<TableId, Memtable> = BTreeMap::new();
    let mut memtable_bytes = 0usize;
    let mut writes = 0u64;
    let replay_from = manifest.replay_from;
    let log_dir = dir.join("commitlog");
    // Positions are record ends: a record ending at or before `replay_from` is flushed.
    let (commitlog, replay) =
        Commitlog::open_with_io(&log_dir, opts.commitlog, io.clone(), |pos, payload| {
            if pos <= replay_from {
                return Ok(());
            }
            let m = decode_mutation(payload)
                .map_err(|e| e.at(log_dir.join(format!("segment {}", pos.segment)), pos.offset))?;
            writes += 1;
            memtable_bytes += memtables.entry(m.table).or_default().apply(m);
            Ok(())
        })?;
    if writes > 0 {
        tracing::info!(dir = %dir.display(), mutations = writes, "replayed the commitlog");
    }
    for (table, memtable) in memtables {
        tables.entry(table).or_default().memtable = memtable;
    }
    // Segments a flush covered but a crash kept from being deleted.
    let mut commitlog = commitlog;
    commitlog.preallocate(opts.commitlog_preallocate_bytes);
    if opts.commitlog_sync_thread == crate::commitlog::PeriodicSyncThread::Background {
        commitlog.sync_in_background()?;
    }
    commitlog.discard_before(replay_from)?;
    let mut engine = Engine {
        dir: dir.to_path_buf(),
        opts,
        commitlog,
        manifest,
        tables,
        memtable_bytes,
        frozen: Default::default(),
        next_frozen_seq: 0,
        flush_taken: None,
        retired: Vec::new(),
        stats: EngineStats::default(),
        replay,
        compaction: Default::default(),
        block_cache,
        io,
    };
    if engine.memtable_bytes >= engine.opts.memtable_flush_bytes {
        engine.flush()?;
    }
    Ok(engine)
}

/// Deletes SSTable files (and temporary files) that the manifest does not list: leftovers of
/// a flush or compaction that crashed before its manifest was written, or of old SSTables a
/// compaction replaced. Directories of tables the manifest does not know are removed too.
fn remove_unlisted_files(io: &dyn FileIo, dir: &Path, manifest: &Manifest) -> Result<()> {
    let tables_dir = dir.join("tables");
    let entries = fs::read_dir(&tables_dir).map_err(|e| Error::io(&tables_dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&tables_dir, e))?;
        let path = entry.path();
        let Some(table) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<TableId>().ok())
        else {
            continue;
        };
        let Some(gens) = manifest.tables.get(&table) else {
            tracing::info!(path = %path.display(), "removing the files of a table the manifest does not list");
            io.remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            continue;
        };
        let dir = table_dir(dir, table);
        for file in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let file = file.map_err(|e| Error::io(&dir, e))?.path();
            let listed = generation_of(&file).is_some_and(|g| gens.contains(&g));
            if !listed {
                tracing::info!(path = %file.display(), "removing a file the manifest does not list");
                io.remove_file(&file).map_err(|e| Error::io(&file, e))?;
            }
        }
    }
    Ok(())
}
