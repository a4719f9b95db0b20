//! DDL, every write and delete kind, literal round trips and errors, through `CqlEngine` on
//! a real temporary database.
#![allow(clippy::unwrap_used)]

mod cql_common;

use cql_common::*;
use scrolldb::cql::result::{
    ErrorKind, QueryResult, SchemaChange, SchemaChangeKind, SchemaChangeTarget,
};
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::Db;

#[test]
fn ddl_results_and_errors() {
    let db = Db::temporary().unwrap();
    let e = CqlEngine::new(db, NodeInfo::default());
    let mut s = Session::default();
    let mut run = |cql: &str| e.execute_blocking(&mut s, cql, &[]);
    let ks = "CREATE KEYSPACE Chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    assert_eq!(
        run(ks).unwrap(),
        QueryResult::SchemaChange(SchemaChange {
            kind: SchemaChangeKind::Created,
            target: SchemaChangeTarget::Keyspace {
                keyspace: "chat".into()
            }
        })
    );
    let err = run(ks).unwrap_err();
    assert_eq!(err.kind.code(), 0x2400);
    assert!(
        matches!(err.kind, ErrorKind::AlreadyExists { ref keyspace, ref table } if keyspace == "chat" && table.is_empty())
    );
    assert_eq!(
        run("CREATE KEYSPACE IF NOT EXISTS chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").unwrap(),
        QueryResult::Void
    );
    let err = run("CREATE TABLE t (k int PRIMARY KEY)").unwrap_err();
    assert_eq!(err.kind.code(), 0x2200);
    assert!(
        err.message.contains("No keyspace has been specified"),
        "{}",
        err.message
    );
    let err = run("USE nope").unwrap_err();
    assert_eq!(err.message, "Keyspace 'nope' does not exist");
    assert_eq!(
        run("USE chat").unwrap(),
        QueryResult::SetKeyspace("chat".into())
    );
    assert!(matches!(
        run("CREATE TABLE messages (channel_id bigint, bucket int, message_id bigint, content text, PRIMARY KEY ((channel_id, bucket), message_id)) WITH CLUSTERING ORDER BY (message_id DESC) AND gc_grace_seconds = 3600 AND compaction = {'class': 'SizeTieredCompactionStrategy'}").unwrap(),
        QueryResult::SchemaChange(SchemaChange { kind: SchemaChangeKind::Created, target: SchemaChangeTarget::Table { .. } })
    ));
    let err = run("CREATE TABLE messages (k int PRIMARY KEY)").unwrap_err();
    assert_eq!(err.kind.code(), 0x2400);
    assert_eq!(
        run("CREATE TABLE IF NOT EXISTS messages (k int PRIMARY KEY)").unwrap(),
        QueryResult::Void
    );
    let cat = e.db().catalog();
    let t = cat.table("chat", "messages").unwrap();
    assert_eq!(t.params.gc_grace_seconds, 3600);
    let err = e
        .execute_blocking(&mut Session::default(), "SELECT * FROM chat.nope", &[])
        .unwrap_err();
    assert_eq!(
        (err.kind.code(), err.message.as_str()),
        (0x2200, "unconfigured table nope")
    );
    let err = e
        .execute_blocking(&mut Session::default(), "SELECT * FROM nope.t", &[])
        .unwrap_err();
    assert_eq!(err.message, "Keyspace 'nope' does not exist");
    let mut s2 = Session::with_keyspace("chat");
    assert!(e
        .execute_blocking(&mut s2, "CREATE TABLE bad (k int, v int)", &[])
        .is_err());
    assert!(
        e.execute_blocking(
            &mut s2,
            "CREATE TABLE bad (k int PRIMARY KEY) WITH bogus = 1",
            &[]
        )
        .unwrap_err()
        .kind
            == ErrorKind::Syntax
    );
    e.execute_blocking(&mut s2, "TRUNCATE messages", &[])
        .unwrap();
    assert!(matches!(
        e.execute_blocking(&mut s2, "DROP TABLE messages", &[])
            .unwrap(),
        QueryResult::SchemaChange(SchemaChange {
            kind: SchemaChangeKind::Dropped,
            ..
        })
    ));
    assert_eq!(
        e.execute_blocking(&mut s2, "DROP TABLE IF EXISTS messages", &[])
            .unwrap(),
        QueryResult::Void
    );
    assert!(e
        .execute_blocking(&mut s2, "DROP TABLE messages", &[])
        .is_err());
    e.execute_blocking(&mut s2, "DROP KEYSPACE chat", &[])
        .unwrap();
    assert_eq!(
        e.execute_blocking(&mut s2, "DROP KEYSPACE IF EXISTS chat", &[])
            .unwrap(),
        QueryResult::Void
    );
}

#[test]
fn every_literal_type_round_trips() {
    let mut t = T::new();
    t.ok("CREATE TABLE all_types (k int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, \
          de decimal, do double, du duration, f float, i inet, s smallint, te text, ti time, ts timestamp, \
          tu timeuuid, tn tinyint, u uuid, vc varchar, vi varint, l frozen<list<int>>, st set<text>, \
          m map<text, bigint>)");
    t.ok("INSERT INTO all_types (k, a, b, bl, bo, d, de, do, du, f, i, s, te, ti, ts, tu, tn, u, vc, vi, l, st, m) VALUES \
          (1, 'abc', -9223372036854775808, 0xCAFE, true, '2015-01-01', -12.345, 1.5e10, 1h30m, -0.5, '192.168.0.1', \
          -32768, 'it''s ünïcode', '13:30:00.000000001', '2015-01-01 00:00:01.5Z', 50554d6e-29bb-11e5-b345-feff819cdc9f, \
          127, 123e4567-e89b-42d3-a456-426614174000, 'v', 123456789012345678901234567890, [3, 1, 2], {'b', 'a', 'b'}, \
          {'x': 1, 'a': -2})");
    let r = t.rows("SELECT * FROM all_types WHERE k = 1");
    assert_eq!(r.len(), 1);
    let row = &r[0];
    let cols: Vec<String> = rows_of(t.ok("SELECT * FROM all_types WHERE k = 1"))
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let get = |name: &str| row[cols.iter().position(|c| c == name).unwrap()].clone();
    assert_eq!(get("k"), "1");
    assert_eq!(get("a"), "'abc'");
    assert_eq!(get("b"), "-9223372036854775808");
    assert_eq!(get("bl"), "0xcafe");
    assert_eq!(get("bo"), "true");
    assert_eq!(get("d"), "'2015-01-01'");
    assert_eq!(get("de"), "-12.345");
    assert_eq!(get("do"), "15000000000.0");
    assert_eq!(get("du"), "0mo0d5400000000000ns");
    assert_eq!(get("f"), "-0.5");
    assert_eq!(get("i"), "'192.168.0.1'");
    assert_eq!(get("s"), "-32768");
    assert_eq!(get("te"), "'it''s ünïcode'");
    assert_eq!(get("ti"), "'13:30:00.000000001'");
    assert_eq!(get("ts"), "1420070401500");
    assert_eq!(get("tu"), "50554d6e-29bb-11e5-b345-feff819cdc9f");
    assert_eq!(get("tn"), "127");
    assert_eq!(get("u"), "123e4567-e89b-42d3-a456-426614174000");
    assert_eq!(get("vc"), "'v'");
    assert_eq!(get("vi"), "123456789012345678901234567890");
    assert_eq!(get("l"), "[3, 1, 2]");
    assert_eq!(get("st"), "{'a', 'b'}");
    assert_eq!(get("m"), "{'a': -2, 'x': 1}");
    // Type errors are invalid requests.
    assert_eq!(
        t.err("INSERT INTO all_types (k, tn) VALUES (2, 128)")
            .kind
            .code(),
        0x2200
    );
    assert_eq!(
        t.err("INSERT INTO all_types (k, b) VALUES (2, 'x')")
            .kind
            .code(),
        0x2200
    );
    assert_eq!(
        t.err("INSERT INTO all_types (k, tu) VALUES (2, 123e4567-e89b-42d3-a456-426614174000)")
            .kind
            .code(),
        0x2200
    );
}

#[test]
fn writes_nulls_ttl_and_timestamps() {
    let mut t = T::new();
    t.ok("CREATE TABLE kv (k text, c int, v text, w int, PRIMARY KEY (k, c))");
    t.ok("INSERT INTO kv (k, c, v, w) VALUES ('a', 1, 'one', 1) USING TIMESTAMP 1000");
    // An older write loses, a newer one wins.
    t.ok("UPDATE kv USING TIMESTAMP 999 SET v = 'old' WHERE k = 'a' AND c = 1");
    assert_eq!(
        t.rows("SELECT v, writetime(v) FROM kv WHERE k = 'a' AND c = 1"),
        vec![vec!["'one'", "1000"]]
    );
    t.ok("UPDATE kv USING TIMESTAMP 2000 SET v = 'new' WHERE k = 'a' AND c = 1");
    assert_eq!(
        t.rows("SELECT v AS x FROM kv WHERE k = 'a'"),
        vec![vec!["'new'"]]
    );
    // NULL deletes the cell; the row stays through its marker.
    t.ok("INSERT INTO kv (k, c, v) VALUES ('a', 1, null)");
    assert_eq!(
        t.rows("SELECT * FROM kv WHERE k = 'a'"),
        vec![vec!["'a'", "1", "null", "1"]]
    );
    // TTL.
    t.ok("INSERT INTO kv (k, c, v) VALUES ('a', 2, 'ttl') USING TTL 100");
    let r = t.rows("SELECT ttl(v), ttl(w) FROM kv WHERE k = 'a' AND c = 2");
    let ttl: i64 = r[0][0].parse().unwrap();
    assert!((98..=100).contains(&ttl), "{ttl}");
    assert_eq!(r[0][1], "null");
    assert_eq!(
        t.err("INSERT INTO kv (k, c) VALUES ('a', 3) USING TTL -1")
            .kind
            .code(),
        0x2200
    );
    // UPDATE creates a row without a marker; deleting its last cell removes it.
    t.ok("UPDATE kv SET w = 5 WHERE k = 'b' AND c IN (1, 2)");
    assert_eq!(
        t.rows("SELECT c, w FROM kv WHERE k = 'b'"),
        vec![vec!["1", "5"], vec!["2", "5"]]
    );
    t.ok("DELETE w FROM kv WHERE k = 'b' AND c = 1");
    assert_eq!(t.rows("SELECT c FROM kv WHERE k = 'b'"), vec![vec!["2"]]);
}

#[test]
fn delete_rows_ranges_and_partitions() {
    let mut t = T::new();
    t.ok("CREATE TABLE m (k int, c int, v int, PRIMARY KEY (k, c))");
    for k in 0..3 {
        for c in 0..10 {
            t.ok(&format!(
                "INSERT INTO m (k, c, v) VALUES ({k}, {c}, {})",
                k * 100 + c
            ));
        }
    }
    t.ok("DELETE FROM m WHERE k = 0 AND c = 3");
    t.ok("DELETE FROM m WHERE k = 0 AND c >= 5 AND c < 8");
    let cs: Vec<String> = t
        .rows("SELECT c FROM m WHERE k = 0")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(cs, vec!["0", "1", "2", "4", "8", "9"]);
    t.ok("DELETE FROM m WHERE k = 1");
    assert!(t.rows("SELECT * FROM m WHERE k = 1").is_empty());
    t.ok("DELETE FROM m WHERE k IN (2) AND c > 1");
    assert_eq!(
        t.rows("SELECT count(*) FROM m WHERE k = 2"),
        vec![vec!["2"]]
    );
    assert_eq!(t.rows("SELECT COUNT(*) AS n FROM m"), vec![vec!["8"]]);
    // A write older than the partition tombstone stays deleted.
    t.ok("INSERT INTO m (k, c, v) VALUES (1, 1, 1) USING TIMESTAMP 1");
    assert!(t.rows("SELECT * FROM m WHERE k = 1").is_empty());
}

#[test]
fn batches_in_text() {
    let mut t = T::new();
    t.ok("CREATE TABLE b (k int, c int, v text, PRIMARY KEY (k, c))");
    t.ok("BEGIN BATCH INSERT INTO b (k, c, v) VALUES (1, 1, 'a'); INSERT INTO b (k, c, v) VALUES (1, 2, 'b'); \
          UPDATE b SET v = 'z' WHERE k = 2 AND c = 1; APPLY BATCH");
    assert_eq!(t.rows("SELECT count(*) FROM b"), vec![vec!["3"]]);
    t.ok("BEGIN UNLOGGED BATCH USING TIMESTAMP 1 DELETE FROM b WHERE k = 1; APPLY BATCH");
    assert_eq!(
        t.rows("SELECT count(*) FROM b"),
        vec![vec!["3"]],
        "an older batch tombstone deletes nothing"
    );
    let e = t.err("BEGIN BATCH USING TIMESTAMP 5 INSERT INTO b (k, c) VALUES (1, 1) USING TIMESTAMP 6; APPLY BATCH");
    assert_eq!(
        e.message,
        "Timestamp must be set either on BATCH or individual statements"
    );
    t.ok("UPDATE b SET v = 'q' WHERE k = 1 AND c IN ()");
    let e = t.err("BEGIN BATCH SELECT * FROM b; APPLY BATCH");
    assert_eq!(e.kind, ErrorKind::Syntax);
}

#[test]
fn errors_have_their_codes_and_wording() {
    let mut t = T::new();
    t.ok("CREATE TABLE e (k int, c int, v int, PRIMARY KEY (k, c))");
    let e = t.err("SELECT * FORM e");
    assert_eq!(
        (e.kind.code(), e.message.as_str()),
        (0x2000, "line 1:9 mismatched input 'FORM' expecting FROM")
    );
    let e = t.err("INSERT INTO e (k, v) VALUES (1, 1)");
    assert_eq!(e.message, "Some clustering keys are missing: c");
    let e = t.err("INSERT INTO e (c, v) VALUES (1, 1)");
    assert_eq!(e.message, "Some partition key parts are missing: k");
    let e = t.err("SELECT * FROM e WHERE v = 1");
    assert!(e.message.contains("ALLOW FILTERING"), "{}", e.message);
    assert_eq!(e.kind.code(), 0x2200);
    let e = t.err("SELECT * FROM e WHERE c = 1");
    assert!(e.message.contains("ALLOW FILTERING"), "{}", e.message);
    let e = t.err("SELECT nope FROM e");
    assert_eq!(e.message, "Undefined column name nope");
    let e = t.err("UPDATE e SET k = 1 WHERE k = 1 AND c = 1");
    assert_eq!(e.message, "PRIMARY KEY part k found in SET part");
    let e = t.err("SELECT * FROM e WHERE k = 1 ORDER BY v");
    assert_eq!(e.kind.code(), 0x2200);
    let e = t.err("SELECT * FROM e ORDER BY c DESC");
    assert!(
        e.message.starts_with("ORDER BY is only supported"),
        "{}",
        e.message
    );
    let e = t.err("SELECT * FROM e WHERE k = 1 LIMIT 0");
    assert_eq!(e.message, "LIMIT must be strictly positive");
    let e = t.err("INSERT INTO e (k, c) VALUES (1, 1) IF NOT EXISTS");
    assert_eq!(e.kind.code(), 0x2200);
    t.ok("CREATE TABLE txt (k text PRIMARY KEY, v text)");
    assert_eq!(
        t.err("INSERT INTO txt (k, v) VALUES ('', 'x')").message,
        "Key may not be empty"
    );
    t.ok("INSERT INTO txt (k, v) VALUES ('a', '')");
    assert_eq!(t.rows("SELECT v FROM txt WHERE k = 'a'"), vec![vec!["''"]]);
    let e = t.err("INSERT INTO system.local (key) VALUES ('x')");
    assert_eq!(e.kind.code(), 0x2100);
}

mod never_panics {
    use super::cql_common::T;
    use proptest::prelude::*;

    fn word() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "SELECT",
            "*",
            "FROM",
            "r",
            "WHERE",
            "k",
            "=",
            "c",
            "v",
            "l",
            "IN",
            "(",
            ")",
            ",",
            "1",
            "-1",
            "'x'",
            "0xff",
            "[1]",
            "{}",
            "AND",
            ">",
            "<=",
            "token(k)",
            "ORDER",
            "BY",
            "DESC",
            "LIMIT",
            "0",
            "INSERT",
            "INTO",
            "VALUES",
            "UPDATE",
            "SET",
            "DELETE",
            "USING",
            "TTL",
            "TIMESTAMP",
            "null",
            "PER",
            "PARTITION",
            "COUNT(*)",
            "writetime(v)",
            "ttl(l)",
            "BEGIN",
            "BATCH",
            "APPLY",
            ";",
            "ks.r",
            "system.local",
            "9223372036854775807",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Random token soup over a real table: errors are fine, panics are not.
        #[test]
        fn random_statements_never_panic(words in prop::collection::vec(word(), 1..16)) {
            // Shared by every case and never dropped: a Db must not be dropped in a
            // thread-local destructor.
            static SHARED: std::sync::OnceLock<std::sync::Mutex<T>> = std::sync::OnceLock::new();
            let shared = SHARED.get_or_init(|| {
                let mut t = T::new();
                t.ok("CREATE TABLE r (k int, c text, v blob, l list<int>, PRIMARY KEY (k, c))");
                t.ok("INSERT INTO r (k, c, v, l) VALUES (1, 'x', 0xff, [1, 2])");
                std::sync::Mutex::new(t)
            });
            let mut t = shared.lock().unwrap_or_else(|e| e.into_inner());
            let _ = t.run(&words.join(" "));
        }
    }
}
