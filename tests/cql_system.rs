//! SELECTs on the virtual system tables (as drivers send them on connect), and storage
//! failures reported with their protocol codes.
#![allow(clippy::unwrap_used)]

mod cql_common;

use bytes::Bytes;
use cql_common::*;
use scrolldb::cql::result::{ErrorKind, QueryParams};
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::{Db, Options};

#[test]
fn driver_connect_queries() {
    let mut t = T::new();
    t.ok("CREATE TABLE a (k int, c int, v text, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)");
    t.ok("CREATE TABLE b (k int PRIMARY KEY)");
    let r = rows_of(t.ok("SELECT * FROM system.local WHERE key='local'"));
    assert_eq!(r.rows.len(), 1);
    assert!(r.columns.iter().any(|c| c.name == "cluster_name"));
    let r = t.rows("SELECT cluster_name AS name, release_version FROM system.local");
    assert_eq!(
        r,
        vec![vec!["'scrolldb'".to_string(), "'3.0.8'".to_string()]]
    );
    assert!(t.rows("SELECT * FROM system.peers").is_empty());
    let ks = t.rows("SELECT keyspace_name FROM system_schema.keyspaces");
    assert!(ks.contains(&vec!["'ks'".to_string()]), "{ks:?}");
    let tables = t.rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'ks'");
    assert_eq!(tables, vec![vec!["'a'"], vec!["'b'"]]);
    assert_eq!(
        t.rows("SELECT count(*) FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name IN ('a', 'b')"),
        vec![vec!["4"]]
    );
    // Prepared, with bind metadata from the virtual table, and paged.
    let p = t
        .engine
        .prepare(&t.session, "SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?")
        .unwrap();
    assert_eq!(p.bind.len(), 2);
    assert_eq!(p.bind[0].name, "keyspace_name");
    assert_eq!(p.result.len(), 2);
    let mut all = Vec::new();
    let mut state: Option<Bytes> = None;
    loop {
        let q = QueryParams {
            values: vec![val(Value::Text("ks".into())), val(Value::Text("a".into()))],
            page_size: Some(2),
            paging_state: state.clone(),
            ..QueryParams::default()
        };
        let r = rows_of(
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(t.engine.execute(&mut t.session, &p.id, q))
                .unwrap(),
        );
        assert!(r.rows.len() <= 2);
        all.extend(show(&r));
        match r.paging_state {
            Some(s) => state = Some(s),
            None => break,
        }
    }
    assert_eq!(all.len(), 3, "{all:?}");
    let e = t.err("SELECT * FROM system.nope");
    assert_eq!(
        (e.kind.code(), e.message.as_str()),
        (0x2200, "unconfigured table nope")
    );
    let e = t.err("SELECT * FROM system_schema.tables WHERE token(keyspace_name) > 0");
    assert_eq!(e.kind.code(), 0x2200);
    let e = t.err("DROP KEYSPACE system");
    assert_eq!(e.kind.code(), 0x2100);
}

#[test]
fn too_many_tombstones_is_a_read_failure() {
    let mut opts = Options::with_shards(1);
    opts.engine.tombstones.warn = 1;
    opts.engine.tombstones.fail = Some(10);
    let db = Db::temporary_with(opts).unwrap();
    let e = CqlEngine::new(db, NodeInfo::default());
    let mut s = Session::default();
    let mut run = |cql: &str| e.execute_blocking(&mut s, cql, &[]);
    run("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").unwrap();
    run("CREATE TABLE ks.t (k int, c int, PRIMARY KEY (k, c))").unwrap();
    for c in 0..20 {
        run(&format!("INSERT INTO ks.t (k, c) VALUES (1, {c})")).unwrap();
        run(&format!("DELETE FROM ks.t WHERE k = 1 AND c = {c}")).unwrap();
    }
    let err = run("SELECT * FROM ks.t WHERE k = 1").unwrap_err();
    assert_eq!(err.kind.code(), 0x1300, "{err}");
    assert!(matches!(
        err.kind,
        ErrorKind::ReadFailure {
            num_failures: 1,
            ..
        }
    ));
}

/// The server runs every statement on a runtime thread, where the `Db`'s blocking calls
/// are refused: DDL must not block it. (The engine is dropped off the runtime: dropping the
/// last `Db` handle waits for the shards.)
#[test]
fn ddl_and_data_inside_a_runtime() {
    let e = CqlEngine::new(Db::temporary().unwrap(), NodeInfo::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut s = Session::default();
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "USE ks",
            "CREATE TABLE t (k int PRIMARY KEY, v int)",
            "INSERT INTO t (k, v) VALUES (1, 1)",
            "TRUNCATE t",
            "INSERT INTO t (k, v) VALUES (2, 2)",
        ] {
            e.query(&mut s, cql, QueryParams::default()).await.unwrap();
        }
        let r = rows_of(e.query(&mut s, "SELECT k FROM t", QueryParams::default()).await.unwrap());
        assert_eq!(show(&r), vec![vec!["2"]]);
        e.query(&mut s, "DROP TABLE t", QueryParams::default()).await.unwrap();
        e.query(&mut s, "DROP KEYSPACE ks", QueryParams::default()).await.unwrap();
    });
}
