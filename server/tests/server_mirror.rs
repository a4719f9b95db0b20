//! The super-disk end to end with the real binary: `scrolldb serve --mirror`, SIGKILL during
//! ingest, the whole local data directory deleted (a new host), restart: every acknowledged
//! write is there, rebuilt from the mirror.

mod support;

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::process::Served;

async fn connect(addr: std::net::SocketAddr) -> Session {
    SessionBuilder::new()
        .known_node(addr.to_string())
        .build()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_then_lost_local_dir_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (local, mirror) = (dir.path().join("local"), dir.path().join("mirror"));
    let mirror_arg = ["--mirror", mirror.to_str().unwrap()];

    let served = Served::start_with(&local, &mirror_arg);
    let session = Arc::new(connect(served.addr).await);
    session
        .query_unpaged(
            "CREATE KEYSPACE chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            &[],
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            "CREATE TABLE chat.messages (channel_id bigint, message_id bigint, content text, \
             PRIMARY KEY (channel_id, message_id))",
            &[],
        )
        .await
        .unwrap();
    let insert = session
        .prepare("INSERT INTO chat.messages (channel_id, message_id, content) VALUES (?, ?, ?)")
        .await
        .unwrap();

    // Writers insert until the server dies under them; each counts what was acknowledged.
    let acked: Vec<Arc<AtomicI64>> = (0..4).map(|_| Arc::new(AtomicI64::new(0))).collect();
    let mut writers = Vec::new();
    for (channel, counter) in acked.iter().enumerate() {
        let (session, insert, counter) = (session.clone(), insert.clone(), counter.clone());
        writers.push(tokio::spawn(async move {
            for id in 0i64.. {
                let values = (channel as i64, id, format!("message {id}"));
                if session.execute_unpaged(&insert, values).await.is_err() {
                    return;
                }
                counter.store(id + 1, Ordering::SeqCst);
            }
        }));
    }
    while acked.iter().map(|a| a.load(Ordering::SeqCst)).sum::<i64>() < 2_000 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut served = served;
    served.child.kill().unwrap(); // SIGKILL
    served.child.wait().unwrap();
    for w in writers {
        let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
    }
    let acked: Vec<i64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    drop(session);

    std::fs::remove_dir_all(&local).unwrap();
    let served = Served::start_with(&local, &mirror_arg);
    assert!(local.exists(), "the local directory is rebuilt");
    let session = connect(served.addr).await;
    for (channel, &n) in acked.iter().enumerate() {
        let rows = session
            .query_unpaged(
                "SELECT COUNT(*) FROM chat.messages WHERE channel_id = ?",
                (channel as i64,),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let (count,): (i64,) = rows.single_row().unwrap();
        assert!(
            count >= n,
            "channel {channel}: {n} writes acknowledged, {count} after the rebuild"
        );
    }
    let (status, _) = served.stop();
    assert!(status.success());
}
