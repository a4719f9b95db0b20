//! The super-disk on the command line: `serve --mirror DIR` and `scrolldb mirror
//! verify|rebuild`. See `scrolldb::storage::mirror` for what mirroring does.

use clap::{Subcommand, ValueEnum};
use scrolldb::storage::io::PlainIo;
use scrolldb::storage::mirror::{self, tree, DegradedPolicy, MirrorOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mirroring options of `scrolldb serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct MirrorArgs {
    /// Keep a copy of every file of the data directory in DIR (a persistent volume):
    /// writes are acknowledged once both copies have them, reads come from --data, and an
    /// empty --data is rebuilt from DIR on start.
    #[arg(long, value_name = "DIR")]
    pub mirror: Option<PathBuf>,
    /// What to do when the mirror fails at runtime.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = OnMirrorFailure::KeepServing)]
    pub mirror_on_failure: OnMirrorFailure,
}

/// `--mirror-on-failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMirrorFailure {
    /// Serve from the local copy alone, warn, resync the mirror when it is writable again.
    KeepServing,
    /// Fail writes until the mirror is resynced.
    RefuseWrites,
}

impl MirrorArgs {
    /// The database's mirror options.
    pub fn options(&self) -> Option<MirrorOptions> {
        let dir = self.mirror.clone()?;
        Some(MirrorOptions {
            on_failure: match self.mirror_on_failure {
                OnMirrorFailure::KeepServing => DegradedPolicy::KeepServing,
                OnMirrorFailure::RefuseWrites => DegradedPolicy::RefuseWrites,
            },
            ..MirrorOptions::new(dir)
        })
    }
}

/// Before the database opens: an empty data directory (a new host) is rebuilt from the
/// mirror here, with progress on stderr. (The database would rebuild it too, but reports
/// only through `tracing`, which the program does not print.)
pub fn rebuild_if_empty(data: &Path, args: &MirrorArgs) -> Result<(), String> {
    let Some(m) = &args.mirror else {
        return Ok(());
    };
    let empty = |p: &Path| tree::is_empty_tree(p).map_err(|e| format!("scrolldb: {e}"));
    if !empty(data)? || empty(m)? {
        return Ok(());
    }
    eprintln!(
        "scrolldb: {} is empty: rebuilding it from the mirror {} before serving",
        data.display(),
        m.display()
    );
    let start = Instant::now();
    let p = tree::copy_tree(m, data, &PlainIo, false, &mut progress_printer())
        .map_err(|e| format!("scrolldb: rebuilding from the mirror failed: {e}"))?;
    eprintln!(
        "scrolldb: rebuilt {} file(s), {} MiB in {:.1} s",
        p.files_copied,
        p.bytes_copied >> 20,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints the mirror's state changes to stderr while the server runs: the loud warning
/// when it goes degraded, and the end of degraded mode.
pub fn watch(db: &scrolldb::Db) {
    if db.mirror_status().is_none() {
        return;
    }
    let db = db.clone();
    let spawned = std::thread::Builder::new()
        .name("mirror-watch".into())
        .spawn(move || {
            let mut was_degraded = false;
            let mut fallbacks_seen = 0;
            while !db.is_closed() {
                std::thread::sleep(Duration::from_millis(500));
                let Some(s) = db.mirror_status() else { return };
                if s.read_fallbacks > fallbacks_seen {
                    eprintln!(
                        "scrolldb: WARNING: LOCAL DISK READS FAILING: {} read(s) served from the \
                         mirror so far ({} local range(s) repaired). Check the local disk; the \
                         server log names the files.",
                        s.read_fallbacks, s.read_repairs
                    );
                    fallbacks_seen = s.read_fallbacks;
                }
                if s.degraded && !was_degraded {
                    eprintln!(
                        "scrolldb: WARNING: MIRROR DEGRADED ({} error(s); last: {}). The mirror \
                         does not have every write until it is writable again and resynced.",
                        s.errors,
                        s.last_error.as_deref().unwrap_or("unknown")
                    );
                } else if !s.degraded && was_degraded {
                    eprintln!("scrolldb: mirror resynced: both copies identical again");
                }
                was_degraded = s.degraded;
            }
        });
    if let Err(e) = spawned {
        eprintln!("scrolldb: cannot watch the mirror: {e}");
    }
}

fn progress_printer() -> impl FnMut(&tree::CopyProgress) {
    let mut last = Instant::now();
    move |p: &tree::CopyProgress| {
        if last.elapsed().as_millis() >= 500 || p.files_done == p.files_total {
            last = Instant::now();
            eprintln!(
                "scrolldb: copied {}/{} files, {}/{} MiB",
                p.files_done,
                p.files_total,
                p.bytes_done >> 20,
                p.bytes_total >> 20
            );
        }
    }
}

/// `scrolldb mirror ...`: run with the server stopped.
#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Compare the data directory and its mirror file by file (crc32 of each, and the
    /// format's checksums of a file whose copies differ). Exit code 1 when they differ.
    Verify {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, value_name = "DIR")]
        mirror: PathBuf,
    },
    /// Make one side identical to the other, copying only files that differ.
    Rebuild {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, value_name = "DIR")]
        mirror: PathBuf,
        /// The side that is copied.
        #[arg(long, value_enum)]
        from: Side,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Side {
    Local,
    Mirror,
}

/// Runs a `scrolldb mirror` command; returns the exit code.
pub fn run(cmd: MirrorCommand) -> i32 {
    match cmd {
        MirrorCommand::Verify { data, mirror } => match mirror::verify(&data, &mirror) {
            Ok(diffs) if diffs.is_empty() => {
                println!(
                    "scrolldb: {} and {} are identical",
                    data.display(),
                    mirror.display()
                );
                0
            }
            Ok(diffs) => {
                for d in &diffs {
                    println!("{d}");
                }
                println!("scrolldb: {} difference(s)", diffs.len());
                1
            }
            Err(e) => {
                eprintln!("scrolldb: mirror verify failed: {e}");
                2
            }
        },
        MirrorCommand::Rebuild { data, mirror, from } => {
            let (src, dst) = match from {
                Side::Local => (data, mirror),
                Side::Mirror => (mirror, data),
            };
            let start = Instant::now();
            match tree::copy_tree(&src, &dst, &PlainIo, true, &mut progress_printer()) {
                Ok(p) => {
                    println!(
                        "scrolldb: rebuilt {} from {}: {} file(s) / {} MiB copied, {} removed, in {:.1} s",
                        dst.display(),
                        src.display(),
                        p.files_copied,
                        p.bytes_copied >> 20,
                        p.files_removed,
                        start.elapsed().as_secs_f64()
                    );
                    0
                }
                Err(e) => {
                    eprintln!("scrolldb: mirror rebuild failed: {e}");
                    2
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::program::{Cli, Command};
    use clap::Parser;

    #[test]
    fn serve_takes_a_mirror_and_a_policy() {
        let cli = Cli::try_parse_from([
            "scrolldb",
            "serve",
            "--mirror",
            "/m",
            "--mirror-on-failure",
            "refuse-writes",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve");
        };
        let o = a.mirror.options().unwrap();
        assert_eq!(o.dir, PathBuf::from("/m"));
        assert_eq!(o.on_failure, DegradedPolicy::RefuseWrites);
        let plain = Cli::try_parse_from(["scrolldb", "serve"]).unwrap();
        let Command::Serve(a) = plain.command else {
            panic!("not serve");
        };
        assert!(a.mirror.options().is_none());
    }

    #[test]
    fn verify_reports_differences_and_rebuild_removes_them() {
        let data = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("shard-0")).unwrap();
        std::fs::write(data.path().join("shard-0/a"), b"same").unwrap();
        std::fs::write(data.path().join("catalog.json"), b"{}").unwrap();
        let verify = || {
            let cli = Cli::try_parse_from([
                "scrolldb",
                "mirror",
                "verify",
                "--data",
                data.path().to_str().unwrap(),
                "--mirror",
                mirror.path().to_str().unwrap(),
            ])
            .unwrap();
            crate::program::main_with(cli)
        };
        assert_eq!(verify(), 1, "the mirror is empty");
        let cli = Cli::try_parse_from([
            "scrolldb",
            "mirror",
            "rebuild",
            "--data",
            data.path().to_str().unwrap(),
            "--mirror",
            mirror.path().to_str().unwrap(),
            "--from",
            "local",
        ])
        .unwrap();
        assert_eq!(crate::program::main_with(cli), 0);
        assert_eq!(verify(), 0);
        std::fs::write(mirror.path().join("shard-0/a"), b"diff").unwrap();
        assert_eq!(verify(), 1);
    }
}
