//! The command-line side of metrics and hot-channel protection: `scrolldb serve --metrics
//! [ADDR]` starts the endpoint and coalesces with a leader timeout,
//! `scrolldb stats [--metrics ADDR]` prints a running server's numbers as a table. Kept out of
//! `program.rs` so the program only wires these in.

use super::endpoint::{self, Source, DEFAULT_ADDR};
use super::table;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The metrics endpoint of the running server (its `serve --metrics` address).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub metrics: SocketAddr,
    /// Print the raw Prometheus text instead of a table.
    #[arg(long)]
    pub raw: bool,
}

/// How `scrolldb serve` coalesces reads: the defaults, plus what needs a runtime with a
/// time driver (the server's has one): a leader timeout, so a stuck storage read fails every
/// subscriber instead of holding them forever, and the hot-partition hold.
pub fn serve_coalescing() -> scrolldb::coalesce::CoalesceOptions {
    scrolldb::coalesce::CoalesceOptions {
        leader_timeout: Some(LEADER_TIMEOUT),
        hot: scrolldb::coalesce::HotOptions {
            hold: Some(HOT_HOLD),
            ..scrolldb::coalesce::HotOptions::default()
        },
        ..scrolldb::coalesce::CoalesceOptions::default()
    }
}

/// How long a hot partition's next leader waits for more requests to join it (tokio's timer
/// granularity; see `scrolldb::coalesce::hot`).
const HOT_HOLD: Duration = Duration::from_millis(1);

/// Cassandra's default read timeout.
const LEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// `scrolldb stats`: the exit code.
pub fn run_stats(args: &StatsArgs) -> i32 {
    let text = match table::fetch(args.metrics, Duration::from_secs(10)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("scrolldb: {e}");
            return 1;
        }
    };
    if args.raw {
        print!("{text}");
        return 0;
    }
    match table::parse(&text) {
        Ok(samples) => {
            print!("{}", table::render(&samples));
            0
        }
        Err(e) => {
            eprintln!("scrolldb: the metrics endpoint answered malformed text: {e}");
            1
        }
    }
}

/// Binds the endpoint (so a taken port fails `serve` at once) and serves it in the background
/// until `shutdown` flips to true. Returns the bound address.
pub async fn start_endpoint(
    addr: SocketAddr,
    source: Source,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<SocketAddr, String> {
    if !addr.ip().is_loopback() {
        tracing::warn!("the metrics endpoint listens on {addr}, which is not a loopback address");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("scrolldb: cannot serve metrics on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("scrolldb: {e}"))?;
    tokio::spawn(endpoint::serve(listener, source, async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    }));
    Ok(bound)
}
