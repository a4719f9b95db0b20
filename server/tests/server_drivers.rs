//! Real clients against a real server: the Rust `scylla` driver (schema metadata on) against
//! `TestServer`, and the Python `cassandra-driver` and `cqlsh` from PyPI against the
//! `scrolldb serve` binary. The Python tools come from `target/driver-venv` (made by `.ci/run`)
//! or `$SCROLLDB_DRIVER_VENV`; without python3 at all those two tests are skipped loudly.

mod support;

use futures_util::TryStreamExt;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::cluster::metadata::ColumnKind;
use scylla::frame::Compression;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::Statement;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::process::{run_with_timeout, Served};

const ROWS: i64 = 10_000;

async fn scylla_session(addr: std::net::SocketAddr) -> Session {
    SessionBuilder::new()
        .known_node(addr.to_string())
        .build()
        .await
        .expect("the scylla driver connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scylla_driver() {
    let server = scrolldb_server::TestServer::start();
    let session = scylla_session(server.addr()).await;

    session
        .query_unpaged(
            "CREATE KEYSPACE rs WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            &[],
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            "CREATE TABLE rs.messages (channel_id bigint, bucket int, message_id bigint, \
             content text, PRIMARY KEY ((channel_id, bucket), message_id)) \
             WITH CLUSTERING ORDER BY (message_id DESC)",
            &[],
        )
        .await
        .unwrap();
    session.await_schema_agreement().await.unwrap();

    // Schema metadata, as the driver fetched it from system_schema.
    session.refresh_metadata().await.unwrap();
    let state = session.get_cluster_state();
    let ks = state
        .get_keyspace("rs")
        .expect("keyspace rs in the metadata");
    let table = ks.tables.get("messages").expect("table in the metadata");
    assert_eq!(table.partition_key, ["channel_id", "bucket"]);
    assert_eq!(table.clustering_key, ["message_id"]);
    assert_eq!(table.columns["message_id"].kind, ColumnKind::Clustering);
    assert_eq!(table.columns["content"].kind, ColumnKind::Regular);

    // Prepared inserts, many in flight on one connection.
    let insert = session
        .prepare(
            "INSERT INTO rs.messages (channel_id, bucket, message_id, content) VALUES (?, ?, ?, ?)",
        )
        .await
        .unwrap();
    let mut pending = futures_util::stream::FuturesUnordered::new();
    for i in 0..ROWS {
        let (session, insert) = (&session, &insert);
        pending.push(async move {
            session
                .execute_unpaged(insert, (7i64, 0i32, i, format!("message {i}")))
                .await
        });
        if pending.len() >= 256 {
            pending.try_next().await.unwrap();
        }
    }
    while pending.try_next().await.unwrap().is_some() {}

    // Prepared select: newest first, as the table is clustered DESC.
    let newest = session
        .prepare("SELECT message_id, content FROM rs.messages WHERE channel_id = ? AND bucket = ? LIMIT 50")
        .await
        .unwrap();
    let rows = session
        .execute_unpaged(&newest, (7i64, 0i32))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let got: Vec<(i64, String)> = rows
        .rows::<(i64, String)>()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 50);
    assert_eq!(got[0], (ROWS - 1, format!("message {}", ROWS - 1)));
    assert!(got.windows(2).all(|w| w[0].0 > w[1].0));

    // Paging through all 10,000 rows, 1,000 a page.
    let mut stmt =
        Statement::new("SELECT message_id FROM rs.messages WHERE channel_id = 7 AND bucket = 0");
    stmt.set_page_size(1000);
    let ids: Vec<(i64,)> = session
        .query_iter(stmt, &[])
        .await
        .unwrap()
        .rows_stream::<(i64,)>()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), ROWS as usize);
    assert!(ids.iter().map(|r| r.0).eq((0..ROWS).rev()));

    // The reverse of the clustering order.
    let rows = session
        .query_unpaged(
            "SELECT message_id FROM rs.messages WHERE channel_id = 7 AND bucket = 0 ORDER BY message_id ASC LIMIT 3",
            &[],
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let oldest: Vec<i64> = rows
        .rows::<(i64,)>()
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(oldest, [0, 1, 2]);

    // A batch of prepared statements.
    let mut batch = Batch::new(BatchType::Unlogged);
    batch.append_statement(insert.clone());
    batch.append_statement(insert.clone());
    session
        .batch(&batch, ((8i64, 0i32, 1i64, "a"), (8i64, 0i32, 2i64, "b")))
        .await
        .unwrap();
    let rows = session
        .query_unpaged(
            "SELECT COUNT(*) FROM rs.messages WHERE channel_id = 8 AND bucket = 0",
            &[],
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let (count,): (i64,) = rows.single_row().unwrap();
    assert_eq!(count, 2);

    // Errors come back as the driver's database errors.
    let err = session
        .query_unpaged("SELECT * FROM rs.no_such_table", &[])
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("Invalid"), "{err:?}");
    let err = session
        .query_unpaged("SELEKT nonsense", &[])
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("SyntaxError"), "{err:?}");
}

/// lz4 and snappy frames, and PasswordAuthenticator logins, as the scylla driver does them,
/// against the `scrolldb serve` binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scylla_driver_with_compression_and_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "# test users\nalice:s3cret\n").unwrap();
    let served = Served::start_with(
        &dir.path().join("data"),
        &["--auth-file", users.to_str().unwrap()],
    );
    let long_text = "a compressible message body ".repeat(200);
    for (i, compression) in [Compression::Lz4, Compression::Snappy]
        .into_iter()
        .enumerate()
    {
        let session = SessionBuilder::new()
            .known_node(served.addr.to_string())
            .compression(Some(compression))
            .user("alice", "s3cret")
            .build()
            .await
            .unwrap_or_else(|e| panic!("{compression:?}: {e}"));
        session
            .query_unpaged(
                "CREATE KEYSPACE IF NOT EXISTS z WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                &[],
            )
            .await
            .unwrap();
        session
            .query_unpaged(
                "CREATE TABLE IF NOT EXISTS z.t (k int PRIMARY KEY, v text)",
                &[],
            )
            .await
            .unwrap();
        session
            .query_unpaged(
                "INSERT INTO z.t (k, v) VALUES (?, ?)",
                (i as i32, long_text.as_str()),
            )
            .await
            .unwrap();
        let (v,): (String,) = session
            .query_unpaged("SELECT v FROM z.t WHERE k = ?", (i as i32,))
            .await
            .unwrap()
            .into_rows_result()
            .unwrap()
            .single_row()
            .unwrap();
        assert_eq!(v, long_text);
    }
    let refused = SessionBuilder::new()
        .known_node(served.addr.to_string())
        .user("alice", "wrong")
        .build()
        .await;
    let err = refused.expect_err("a wrong password is refused");
    assert!(format!("{err:?}").contains("incorrect"), "{err:?}");
    let (status, _) = served.stop();
    assert!(status.success());
}

/// The Python packages the driver tests use, pinned.
const DRIVER_PACKAGES: [&str; 2] = ["cassandra-driver==3.30.1", "cqlsh==6.2.2"];

/// The venv with cassandra-driver and cqlsh, or `None` (after a loud message) when python3
/// is missing altogether. `SCROLLDB_DRIVER_VENV` names one to use; otherwise the venv lives at
/// `target/driver-venv` and is created (from PyPI, once; the tests of this binary wait for
/// each other) when it is missing, so a plain `cargo test` needs no set-up step.
fn driver_venv() -> Option<PathBuf> {
    static VENV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        if let Some(venv) = std::env::var_os("SCROLLDB_DRIVER_VENV").map(PathBuf::from) {
            return Some(venv);
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/driver-venv");
        let ready = |venv: &PathBuf| {
            venv.join("bin/cqlsh").exists()
                && Command::new(venv.join("bin/python"))
                    .args(["-c", "import cassandra"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        };
        if ready(&venv) {
            return Some(venv);
        }
        if Command::new("python3").arg("--version").output().is_err() {
            eprintln!("\n!!!!! SKIPPED: python3 is not installed, so the cassandra-driver and cqlsh tests cannot run !!!!!\n");
            return None;
        }
        eprintln!("creating {} with {DRIVER_PACKAGES:?} (first run only)", venv.display());
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv {} failed", venv.display());
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(DRIVER_PACKAGES)
            .status()
            .expect("pip install");
        assert!(status.success(), "pip install {DRIVER_PACKAGES:?} failed");
        assert!(ready(&venv), "{} lacks cassandra-driver or cqlsh after pip install", venv.display());
        Some(venv)
    })
    .clone()
}

#[test]
fn python_cassandra_driver() {
    let Some(venv) = driver_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/drivers/python_driver.py");
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.arg(script)
        .arg(served.addr.ip().to_string())
        .arg(served.addr.port().to_string());
    let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(
        status.success(),
        "python driver failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("python driver: OK"), "{out}");
    let (status, _) = served.stop();
    assert!(status.success());
}

#[test]
fn cqlsh_session() {
    let Some(venv) = driver_venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let cqlsh = |args: &[&str]| {
        let mut cmd = Command::new(venv.join("bin/cqlsh"));
        cmd.arg(served.addr.ip().to_string())
            .arg(served.addr.port().to_string())
            .args(args)
            // cqlsh writes history and config under $HOME.
            .env("HOME", dir.path())
            .env("CQLSH_NO_BUNDLED", "1");
        let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
        assert!(
            status.success(),
            "cqlsh {args:?} failed\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    };
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/drivers/cqlsh_session.cql");
    let out = cqlsh(&["-f", script.to_str().unwrap()]);
    let second = out.find("second note").unwrap_or_else(|| panic!("{out}"));
    let first = out.find("first note").unwrap_or_else(|| panic!("{out}"));
    assert!(second < first, "newest first (clustering DESC):\n{out}");
    assert!(out.contains("(2 rows)"), "{out}");
    let out = cqlsh(&[
        "-e",
        "SELECT body FROM shell.notes WHERE author = 'ada' LIMIT 1",
    ]);
    assert!(
        out.contains("second note") && out.contains("(1 rows)"),
        "{out}"
    );
    // System tables are in the driver's metadata, so cqlsh can select from them too.
    let out = cqlsh(&[
        "-e",
        "SELECT cluster_name, release_version FROM system.local",
    ]);
    assert!(out.contains("scrolldb") && out.contains("3.0.8"), "{out}");
    let (status, _) = served.stop();
    assert!(status.success());
}
