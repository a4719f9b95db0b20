//! The `scrolldb` program: command-line options and `scrolldb serve`.

use crate::auth::PasswordAuthenticator;
use crate::Server;
use clap::{Parser, Subcommand};
use scrolldb::cql::{CqlEngine, NodeInfo};
use scrolldb::Db;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "scrolldb",
    version,
    about = "scrolldb: an embedded, shard-per-core database for chat messages, served over CQL",
    long_about = "scrolldb stores chat messages in an LSM tree per CPU core and speaks the \
                  Cassandra native protocol v4, so CQL drivers and cqlsh work unchanged."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a database over the CQL native protocol until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Print a running server's metrics (from its `--metrics` endpoint) as a table.
    Stats(crate::metrics::cli::StatsArgs),
    /// Load a CQL server with the message workload and report throughput and latency.
    Bench(crate::bench::BenchArgs),
    /// Check or rebuild a mirrored data directory (`serve --mirror`).
    #[command(subcommand)]
    Mirror(crate::mirror_cli::MirrorCommand),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The database directory (created if missing). Default: $SCROLLDB_DATA, else
    /// $XDG_DATA_HOME/scrolldb, else ~/.local/share/scrolldb.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The address to accept CQL connections on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9042")]
    pub listen: SocketAddr,
    /// Shards (one LSM engine and thread each); 0 means one per CPU.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub shards: usize,
    /// Require PasswordAuthenticator logins for the users in FILE (`username:password` lines).
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// The cluster name shown in system.local.
    #[arg(long, value_name = "NAME", default_value = "scrolldb")]
    pub cluster_name: String,
    #[command(flatten)]
    pub mirror: crate::mirror_cli::MirrorArgs,
    /// Serve Prometheus metrics over HTTP on ADDR (`--metrics` alone: 127.0.0.1:9180).
    #[arg(long, value_name = "ADDR", num_args = 0..=1,
          default_missing_value = crate::metrics::endpoint::DEFAULT_ADDR)]
    pub metrics: Option<SocketAddr>,
    /// Copies of one request (same statement and bound values: a hot channel's crowd) that
    /// run at once; the others wait parked in their own line, so reads of other channels are
    /// not queued behind them. 0: no bound.
    #[arg(long, value_name = "N",
          default_value_t = crate::identical::IdenticalOptions::default().max_running)]
    pub identical_max_running: usize,
    /// Copies of one request waiting for their turn; past this they are refused with
    /// Overloaded (0x1001).
    #[arg(long, value_name = "N",
          default_value_t = crate::identical::IdenticalOptions::default().max_waiting)]
    pub identical_max_waiting: usize,
}

impl ServeArgs {
    /// The server's bounds as given on the command line.
    pub fn server_options(&self) -> crate::ServerOptions {
        crate::ServerOptions {
            identical: crate::identical::IdenticalOptions {
                max_running: self.identical_max_running,
                max_waiting: self.identical_max_waiting,
            },
        }
    }
}

/// Where the data lives when `--data` is not given.
pub fn default_data_dir(
    scrolldb_data: Option<&str>,
    xdg_data_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    let set = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(PathBuf::from);
    set(scrolldb_data)
        .or_else(|| set(xdg_data_home).map(|d| d.join("scrolldb")))
        .or_else(|| set(home).map(|h| h.join(".local/share/scrolldb")))
}

/// What to tell the user when the listening socket cannot be opened.
pub fn bind_error_message(listen: SocketAddr, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "scrolldb: cannot listen on {listen}: the port is already in use (another scrolldb, \
             Cassandra or ScyllaDB?). Stop it or pick another address with --listen."
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "scrolldb: cannot listen on {listen}: permission denied (ports below 1024 need \
             privileges). Pick another address with --listen."
        ),
        _ => format!("scrolldb: cannot listen on {listen}: {e}"),
    }
}

/// Runs the program; the result is the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(args) => match serve(args) {
            Ok(()) => 0,
            Err(message) => {
                eprintln!("{message}");
                1
            }
        },
        Command::Stats(args) => crate::metrics::cli::run_stats(&args),
        Command::Bench(args) => crate::bench::main(&args),
        Command::Mirror(cmd) => crate::mirror_cli::run(cmd),
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let data = match args.data.clone() {
        Some(d) => d,
        None => default_data_dir(
            std::env::var("SCROLLDB_DATA").ok().as_deref(),
            std::env::var("XDG_DATA_HOME").ok().as_deref(),
            std::env::var("HOME").ok().as_deref(),
        )
        .ok_or("scrolldb: no data directory: pass --data DIR or set SCROLLDB_DATA")?,
    };
    let auth = match &args.auth_file {
        Some(path) => {
            Some(PasswordAuthenticator::from_file(path).map_err(|e| format!("scrolldb: {e}"))?)
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("scrolldb: cannot start the runtime: {e}"))?;
    // The database is closed outside the runtime: closing waits for the shard threads.
    let db = rt.block_on(async move {
        // Bind before opening the database, so a taken port fails fast and touches nothing.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| bind_error_message(args.listen, &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("scrolldb: {e}"))?;
        crate::mirror_cli::rebuild_if_empty(&data, &args.mirror)?;
        let db = open_db(&data, args.shards, args.mirror.options())?;
        crate::mirror_cli::watch(&db);
        let engine = CqlEngine::with_coalescing(
            db.clone(),
            NodeInfo {
                listen: addr,
                cluster_name: args.cluster_name.clone(),
            },
            crate::metrics::cli::serve_coalescing(),
        );
        println!("scrolldb: data directory {}", data.display());
        println!("scrolldb: listening for CQL on {addr}");
        let server =
            Server::from_listener_with(listener, engine.clone(), auth, args.server_options());
        let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
        if let Some(metrics) = args.metrics {
            let source = crate::metrics::endpoint::Source {
                server: server.metrics(),
                engine: Some(engine),
            };
            let bound =
                crate::metrics::cli::start_endpoint(metrics, source, metrics_stopped).await?;
            println!("scrolldb: serving metrics on http://{bound}/metrics");
        }
        let _ = std::io::stdout().flush();
        server.run(shutdown_signal()).await;
        let _ = stop_metrics.send(true);
        println!("scrolldb: shutting down");
        Ok::<Db, String>(db)
    })?;
    drop(rt);
    db.close()
        .map_err(|e| format!("scrolldb: closing the database failed: {e}"))?;
    println!("scrolldb: stopped");
    Ok(())
}

fn open_db(
    data: &Path,
    shards: usize,
    mirror: Option<scrolldb::storage::mirror::MirrorOptions>,
) -> Result<Db, String> {
    std::fs::create_dir_all(data)
        .map_err(|e| format!("scrolldb: cannot create {}: {e}", data.display()))?;
    let opts = scrolldb::Options {
        shards,
        mirror,
        ..scrolldb::Options::default()
    };
    Db::open(data, opts).map_err(|e| format!("scrolldb: cannot open {}: {e}", data.display()))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_defaults() {
        assert_eq!(
            default_data_dir(Some("/d"), Some("/x"), Some("/h")),
            Some(PathBuf::from("/d"))
        );
        assert_eq!(
            default_data_dir(None, Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/scrolldb"))
        );
        assert_eq!(
            default_data_dir(Some(""), None, Some("/h")),
            Some(PathBuf::from("/h/.local/share/scrolldb"))
        );
        assert_eq!(default_data_dir(None, None, None), None);
    }

    #[test]
    fn cli_parses_serve() {
        let cli = Cli::try_parse_from([
            "scrolldb",
            "serve",
            "--data",
            "/tmp/x",
            "--listen",
            "127.0.0.1:9999",
            "--shards",
            "2",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(a.data, Some(PathBuf::from("/tmp/x")));
        assert_eq!(a.listen.port(), 9999);
        assert_eq!(a.shards, 2);
        assert_eq!(a.server_options(), crate::ServerOptions::default());
    }

    #[test]
    fn cli_parses_the_identical_request_bounds() {
        let cli = Cli::try_parse_from([
            "scrolldb",
            "serve",
            "--identical-max-running",
            "8",
            "--identical-max-waiting",
            "100",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve");
        };
        let o = a.server_options().identical;
        assert_eq!((o.max_running, o.max_waiting), (8, 100));
    }
}
