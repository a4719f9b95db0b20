//! Running the real `scrolldb` binary in tests: start it on an ephemeral port, learn the port
//! from what it prints, stop it with SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the server printed on stdout after the listening line, once stopped.
    stdout_rest: mpsc::Receiver<String>,
}

pub fn scrolldb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scrolldb"))
}

impl Served {
    pub fn start(data: &Path) -> Served {
        Served::start_with(data, &[])
    }

    /// Starts with more `serve` options.
    pub fn start_with(data: &Path, extra: &[&str]) -> Served {
        let mut child = scrolldb()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--shards",
                "2",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scrolldb");
        let stdout = child.stdout.take().unwrap();
        let (addr_tx, addr_rx) = mpsc::channel();
        let (rest_tx, rest_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(a) = line.trim().strip_prefix("scrolldb: listening for CQL on ") {
                    let _ = addr_tx.send(a.parse::<SocketAddr>().unwrap());
                    break;
                }
                line.clear();
            }
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            let _ = rest_tx.send(rest);
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("scrolldb printed its listening address");
        Served {
            child,
            addr,
            stdout_rest: rest_rx,
        }
    }

    /// SIGTERM, then waits for the exit; returns the status and the rest of stdout.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status =
            wait_timeout(&mut self.child, Duration::from_secs(20)).expect("exits after SIGTERM");
        let rest = self
            .stdout_rest
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, rest)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a child up to `limit`; kills it and returns `None` past that.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to completion with a time limit; returns (status, stdout, stderr).
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_timeout(&mut child, limit);
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    let status = status.unwrap_or_else(|| {
        panic!("timed out after {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}")
    });
    (status, stdout, stderr)
}
