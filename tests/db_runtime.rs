//! The blocking `Db` and `CqlEngine` calls work from inside tokio runtimes (an embedder's
//! `#[tokio::test]`), on both runtime flavours, instead of panicking.

use scrolldb::cql::result::QueryResult;
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::{Db, Options};

fn roundtrip(cql: &CqlEngine) -> usize {
    let mut s = Session::default();
    for q in [
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "USE ks",
        "CREATE TABLE IF NOT EXISTS t (k int, c int, v text, PRIMARY KEY (k, c))",
    ] {
        cql.execute_blocking(&mut s, q, &[]).unwrap();
    }
    for c in 0..10 {
        cql.execute_blocking(
            &mut s,
            "INSERT INTO t (k, c, v) VALUES (1, ?, 'x')",
            &[Value::Int(c)],
        )
        .unwrap();
    }
    cql.db().flush().unwrap();
    match cql
        .execute_blocking(&mut s, "SELECT * FROM t WHERE k = 1", &[])
        .unwrap()
    {
        QueryResult::Rows(r) => r.rows.len(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_on_a_multi_thread_runtime() {
    let cql = CqlEngine::new(
        Db::temporary_with(Options::with_shards(2)).unwrap(),
        NodeInfo::default(),
    );
    assert_eq!(roundtrip(&cql), 10);
    cql.db().close().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_calls_on_a_current_thread_runtime() {
    let cql = CqlEngine::new(
        Db::temporary_with(Options::with_shards(2)).unwrap(),
        NodeInfo::default(),
    );
    assert_eq!(roundtrip(&cql), 10);
    // The async forms still work on the same runtime afterwards.
    let stats = cql.db().stats().unwrap();
    assert_eq!(stats.shards.len(), 2);
    drop(cql);
}
