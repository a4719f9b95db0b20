//! Background resync of a degraded mirror.
//!
//! Started by the first mirror failure; one thread per engine, gone once the mirror is whole
//! again or the engine is dropped. Every `resync_interval_ms` it probes the mirror (create,
//! write, fsync and remove a small file). Once that works it copies local to mirror in two
//! passes: the first while writes go on (it moves the bulk: immutable SSTables), the second
//! with writes paused behind the layer's gate, comparing every file again, deleting what
//! local no longer has, and only then leaving degraded mode. SSTables never change once in
//! place, and the first pass compared (or copied) every one of them in full, so the second
//! checks them by size and footer only (`tree::Compare::TrustImmutable`): writes pause for
//! a read of the files that change in place (commitlog, MANIFEST) plus the copy of what
//! changed during the first pass, not for a read of the whole data set. A local SSTable
//! that differs from the mirror's because it rotted (it fails its checksums, the mirror's
//! copy passes) is repaired from the mirror instead of being copied over the good copy.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::io::{Shared, Sides};
use super::tree;
use crate::io::FileIo;

const PROBE_FILE: &str = ".mirror-probe";

/// Starts the resync thread unless one is running.
pub(super) fn start(shared: &Arc<Shared>, sides: &Sides) {
    if shared.resync_running.swap(true, Ordering::SeqCst) {
        return;
    }
    let weak = Arc::downgrade(shared);
    let sides = sides.clone();
    let spawned = std::thread::Builder::new()
        .name("mirror-resync".into())
        .spawn(move || run(weak, sides));
    if let Err(e) = spawned {
        shared.resync_running.store(false, Ordering::SeqCst);
        tracing::error!(error = %e, "cannot start the mirror resync thread; the mirror stays degraded");
    }
}

fn run(weak: Weak<Shared>, sides: Sides) {
    let interval = Duration::from_millis(sides.resync_interval_ms);
    loop {
        std::thread::sleep(interval);
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if let Err(e) = probe(&*sides.mirror_io, &sides.mirror) {
            tracing::debug!(error = %e, mirror = %sides.mirror.display(), "mirror still unwritable");
            continue;
        }
        match resync_once(&shared, &sides) {
            Ok(()) => {
                shared.resyncs.fetch_add(1, Ordering::Relaxed);
                shared.resync_running.store(false, Ordering::SeqCst);
                tracing::warn!(mirror = %sides.mirror.display(), "mirror resynced: no longer degraded");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, mirror = %sides.mirror.display(), "mirror resync failed; retrying");
            }
        }
    }
}

fn resync_once(shared: &Shared, sides: &Sides) -> crate::error::Result<()> {
    let io = &*sides.mirror_io;
    let mut rules = tree::CopyRules {
        delete_extras: false,
        compare: tree::Compare::Full,
        damaged_source: tree::DamagedSource::RepairFromDestination,
    };
    tree::copy_tree_with(&sides.local, &sides.mirror, io, rules, &mut |_| {})?;
    let _paused = shared
        .gate
        .write()
        .map_err(|_| crate::error::Error::InvalidRequest("mirror lock poisoned".into()))?;
    rules.delete_extras = true;
    rules.compare = tree::Compare::TrustImmutable;
    tree::copy_tree_with(&sides.local, &sides.mirror, io, rules, &mut |_| {})?;
    if let Ok(mut files) = shared.files.lock() {
        files.clear();
    }
    shared.degraded.store(false, Ordering::SeqCst);
    Ok(())
}

/// Whether the mirror takes a durable write again.
fn probe(io: &dyn FileIo, mirror: &Path) -> std::io::Result<()> {
    io.create_dir_all(mirror)?;
    let path = mirror.join(PROBE_FILE);
    let f = io.create_file(&path, false)?;
    io.write_all_at_and_sync(&f, b"probe", 0, crate::io::SyncKind::All)?;
    drop(f);
    io.remove_file(&path)
}
