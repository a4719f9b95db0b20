//! SELECT: clustering order, reverse reads, slices, IN, token scans, paging across 10,000
//! rows with LIMIT, and prepared statements with null and unset values.
#![allow(clippy::unwrap_used)]

mod cql_common;

use bytes::Bytes;
use cql_common::*;
use scrolldb::cql::result::{
    Batch, BatchKind, BatchStatement, BoundValue, ErrorKind, QueryParams, QueryResult,
};
use scrolldb::storage::types::Value;

fn col0(rows: Vec<Vec<String>>) -> Vec<String> {
    rows.into_iter().map(|r| r[0].clone()).collect()
}

#[test]
fn clustering_order_reverse_and_slices() {
    let mut t = T::new();
    t.ok("CREATE TABLE msg (ch bigint, b int, id bigint, body text, PRIMARY KEY ((ch, b), id)) WITH CLUSTERING ORDER BY (id DESC)");
    for id in 1..=10 {
        t.ok(&format!(
            "INSERT INTO msg (ch, b, id, body) VALUES (7, 0, {id}, 'm{id}')"
        ));
    }
    let newest = col0(t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 LIMIT 3"));
    assert_eq!(newest, vec!["10", "9", "8"]);
    let oldest = col0(t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 ORDER BY id ASC LIMIT 3"));
    assert_eq!(oldest, vec!["1", "2", "3"]);
    let range = col0(t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 AND id > 3 AND id <= 6"));
    assert_eq!(range, vec!["6", "5", "4"]);
    let range =
        col0(t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 AND id < 3 ORDER BY id ASC"));
    assert_eq!(range, vec!["1", "2"]);
    let ins = col0(t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 AND id IN (2, 9, 5)"));
    assert_eq!(ins, vec!["9", "5", "2"]);
    let ins = col0(
        t.rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 AND id IN (2, 9, 5) ORDER BY id ASC"),
    );
    assert_eq!(ins, vec!["2", "5", "9"]);
    assert!(t
        .rows("SELECT id FROM msg WHERE ch = 7 AND b = 1")
        .is_empty());
    assert!(t
        .rows("SELECT id FROM msg WHERE ch = 7 AND b = 0 AND id > 5 AND id < 5")
        .is_empty());
}

#[test]
fn multi_column_clustering_prefixes_and_per_partition_limit() {
    let mut t = T::new();
    t.ok("CREATE TABLE g (k int, a int, b text, v int, PRIMARY KEY (k, a, b))");
    for k in 0..3 {
        for a in 0..3 {
            for b in ["x", "y", "z"] {
                t.ok(&format!(
                    "INSERT INTO g (k, a, b, v) VALUES ({k}, {a}, '{b}', 1)"
                ));
            }
        }
    }
    let r = t.rows("SELECT a, b FROM g WHERE k = 1 AND a = 1 AND b >= 'y'");
    assert_eq!(r, vec![vec!["1", "'y'"], vec!["1", "'z'"]]);
    let r = t.rows("SELECT a, b FROM g WHERE k = 1 AND a = 2 ORDER BY a DESC, b DESC LIMIT 2");
    assert_eq!(r, vec![vec!["2", "'z'"], vec!["2", "'y'"]]);
    let r = t.rows("SELECT k, a, b FROM g WHERE k IN (0, 2) PER PARTITION LIMIT 2");
    assert_eq!(r.len(), 4);
    assert_eq!(r[2], vec!["2", "0", "'x'"]);
    // IN with ORDER BY merges partitions by clustering key, LIMIT applying to the merge.
    let r = t.rows("SELECT k, a, b FROM g WHERE k IN (0, 1) ORDER BY a DESC, b DESC LIMIT 3");
    assert_eq!(
        r,
        vec![
            vec!["0", "2", "'z'"],
            vec!["1", "2", "'z'"],
            vec!["0", "2", "'y'"]
        ]
    );
    let paged = QueryParams {
        page_size: Some(100),
        ..QueryParams::default()
    };
    let e = t
        .with("SELECT k FROM g WHERE k IN (0, 1) ORDER BY a DESC", paged)
        .unwrap_err();
    assert!(
        e.message
            .starts_with("Cannot page queries with both ORDER BY and a IN"),
        "{}",
        e.message
    );
    let r = t.rows("SELECT k FROM g PER PARTITION LIMIT 1");
    let mut ks = col0(r);
    ks.sort();
    assert_eq!(ks, vec!["0", "1", "2"]);
    assert!(t
        .err("SELECT * FROM g WHERE k = 1 AND b = 'x'")
        .message
        .contains("cannot be restricted"));
    assert!(t
        .err("SELECT * FROM g WHERE k = 1 AND a > 1 AND b = 'x'")
        .message
        .contains("cannot be restricted"));
}

#[test]
fn token_scans_cover_the_table_once() {
    let mut t = T::new();
    t.ok("CREATE TABLE s (k int PRIMARY KEY, v int)");
    for k in 0..200 {
        t.ok(&format!("INSERT INTO s (k, v) VALUES ({k}, {k})"));
    }
    let all = col0(t.rows("SELECT k FROM s"));
    assert_eq!(all.len(), 200);
    let (paged, pages) = page_all(&mut t, "SELECT k FROM s", 7);
    assert_eq!((paged.len(), pages), (200, 29));
    assert_eq!(col0(paged), all, "pages continue in token order");
    let low = col0(t.rows("SELECT k FROM s WHERE token(k) <= 0"));
    let high = col0(t.rows("SELECT k FROM s WHERE token(k) > 0"));
    assert_eq!(low.len() + high.len(), 200);
    let (paged_high, _) = page_all(&mut t, "SELECT k FROM s WHERE token(k) > 0", 9);
    assert_eq!(col0(paged_high), high);
    let mut both: Vec<String> = low.into_iter().chain(high).collect();
    both.sort_by_key(|s| s.parse::<i32>().unwrap());
    assert_eq!(both, (0..200).map(|k| k.to_string()).collect::<Vec<_>>());
    // token() as a selector: what a migrator pages by.
    let r = rows_of(t.ok("SELECT token(k), k FROM s WHERE token(k) > 0 LIMIT 3"));
    assert_eq!(r.columns[0].name, "system.token(k)");
    let shown = show(&r);
    let toks: Vec<i64> = shown.iter().map(|row| row[0].parse().unwrap()).collect();
    assert!(
        toks.iter().all(|t| *t > 0) && toks.windows(2).all(|w| w[0] <= w[1]),
        "{toks:?}"
    );
    assert_eq!(
        toks[0],
        scrolldb::storage::token::token_of(&Value::Int(shown[0][1].parse().unwrap()).serialize())
    );
    let toks = t.rows(
        "SELECT k FROM s WHERE token(k) > -9223372036854775808 AND token(k) <= 9223372036854775807",
    );
    assert_eq!(toks.len(), 200);
    assert!(t
        .err("SELECT k FROM s WHERE token(v) > 0")
        .message
        .contains("partition key order"));
}

/// Pages through `cql` and returns every row and the number of pages.
fn page_all(t: &mut T, cql: &str, page_size: i32) -> (Vec<Vec<String>>, usize) {
    let mut all = Vec::new();
    let mut state: Option<Bytes> = None;
    let mut pages = 0;
    loop {
        let p = QueryParams {
            page_size: Some(page_size),
            paging_state: state.clone(),
            ..QueryParams::default()
        };
        let r = rows_of(t.with(cql, p).unwrap());
        assert!(r.rows.len() <= page_size as usize);
        pages += 1;
        all.extend(show(&r));
        match r.paging_state {
            Some(s) => state = Some(s),
            None => return (all, pages),
        }
        assert!(pages < 10_000, "paging does not end");
    }
}

#[test]
fn paging_across_ten_thousand_rows_with_limit() {
    let mut t = T::new();
    t.ok("CREATE TABLE p (k int, c int, v text, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)");
    let id = t
        .engine
        .prepare(&t.session, "INSERT INTO p (k, c, v) VALUES (?, ?, ?)")
        .unwrap()
        .id;
    // 10,000 rows: 8,000 in partition 0, 2,000 spread over 100 more partitions.
    let mut batch = Vec::new();
    for i in 0..10_000 {
        let (k, c) = if i < 8000 { (0, i) } else { (1 + i % 100, i) };
        batch.push(BatchStatement::Prepared {
            id: id.clone(),
            values: vec![
                val(Value::Int(k)),
                val(Value::Int(c)),
                val(Value::Text(format!("v{i}"))),
            ],
        });
        if batch.len() == 500 {
            let b = Batch {
                kind: BatchKind::Unlogged,
                statements: std::mem::take(&mut batch),
                consistency: 1,
                serial_consistency: None,
                timestamp: None,
            };
            futures_block_on(t.engine.batch(&mut t.session, b)).unwrap();
        }
    }
    assert_eq!(t.rows("SELECT count(*) FROM p"), vec![vec!["10000"]]);
    // One partition, LIMIT counted across pages, in clustering (descending) order.
    let (rows, pages) = page_all(&mut t, "SELECT c FROM p WHERE k = 0 LIMIT 2500", 1000);
    assert_eq!(rows.len(), 2500);
    assert_eq!(pages, 3);
    assert_eq!(rows[0][0], "7999");
    assert_eq!(rows[2499][0], "5500");
    // Reverse, unlimited.
    let (rows, _) = page_all(&mut t, "SELECT c FROM p WHERE k = 0 ORDER BY c ASC", 777);
    let got: Vec<i32> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(got, (0..8000).collect::<Vec<_>>());
    // The whole table by token, with a LIMIT.
    let (rows, _) = page_all(&mut t, "SELECT k, c FROM p", 1000);
    assert_eq!(rows.len(), 10_000);
    let mut cs: Vec<i32> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
    cs.sort();
    assert_eq!(cs, (0..10_000).collect::<Vec<_>>());
    let (rows, pages) = page_all(&mut t, "SELECT k FROM p LIMIT 4321", 1000);
    assert_eq!((rows.len(), pages), (4321, 5));
    // IN over partitions.
    let (rows, _) = page_all(
        &mut t,
        "SELECT c FROM p WHERE k IN (1, 0, 2) LIMIT 8030",
        999,
    );
    assert_eq!(rows.len(), 8030);
}

fn futures_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Blocking calls (`t.rows`) run on the test thread, async ones on a runtime: the database
/// refuses to block inside a runtime thread.
#[test]
fn prepared_statements_with_null_unset_and_names() {
    let mut t = T::new();
    t.ok("CREATE TABLE u (k int, c int, a text, b text, PRIMARY KEY (k, c))");
    let ins = t
        .engine
        .prepare(
            &t.session,
            "INSERT INTO u (k, c, a, b) VALUES (?, ?, ?, ?) USING TTL ?",
        )
        .unwrap();
    assert_eq!(
        ins.bind.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["k", "c", "a", "b", "[ttl]"]
    );
    assert_eq!(ins.pk_indexes, vec![0]);
    assert!(ins.result.is_empty());
    let exec = |vals: Vec<BoundValue>| QueryParams {
        values: vals,
        ..QueryParams::default()
    };
    futures_block_on(t.engine.execute(
        &mut t.session,
        &ins.id,
        exec(vec![
            val(Value::Int(1)),
            val(Value::Int(1)),
            val(Value::Text("a".into())),
            val(Value::Text("b".into())),
            BoundValue::Unset,
        ]),
    ))
    .unwrap();
    // Unset leaves b alone; null deletes a.
    futures_block_on(t.engine.execute(
        &mut t.session,
        &ins.id,
        exec(vec![
            val(Value::Int(1)),
            val(Value::Int(1)),
            BoundValue::Null,
            BoundValue::Unset,
            BoundValue::Unset,
        ]),
    ))
    .unwrap();
    assert_eq!(
        t.rows("SELECT a, b, ttl(b) FROM u WHERE k = 1"),
        vec![vec!["null", "'b'", "null"]]
    );
    let sel = t
        .engine
        .prepare(&t.session, "SELECT b FROM u WHERE k = :key AND c = ?")
        .unwrap();
    assert_eq!(sel.bind[0].name, "key");
    assert_eq!(sel.result.len(), 1);
    let r = futures_block_on(t.engine.execute(
        &mut t.session,
        &sel.id,
        exec(vec![val(Value::Int(1)), val(Value::Int(1))]),
    ))
    .unwrap();
    assert_eq!(show(&rows_of(r)), vec![vec!["'b'"]]);
    // Values by name.
    let by_name = QueryParams {
        values: vec![val(Value::Int(1)), val(Value::Int(1))],
        names: Some(vec!["c".into(), "key".into()]),
        ..QueryParams::default()
    };
    let r = futures_block_on(t.engine.execute(&mut t.session, &sel.id, by_name)).unwrap();
    assert_eq!(rows_of(r).rows.len(), 1);
    // Unset in WHERE is invalid.
    let e = futures_block_on(t.engine.execute(
        &mut t.session,
        &sel.id,
        exec(vec![BoundValue::Unset, val(Value::Int(1))]),
    ))
    .unwrap_err();
    assert_eq!(e.kind.code(), 0x2200);
    // Wrong count of values.
    let e = futures_block_on(t.engine.execute(
        &mut t.session,
        &sel.id,
        exec(vec![val(Value::Int(1))]),
    ))
    .unwrap_err();
    assert_eq!(e.kind.code(), 0x2200);
    // Unknown id: drivers re-prepare on 0x2500.
    let e = futures_block_on(
        t.engine
            .execute(&mut t.session, b"0123456789abcdef", exec(vec![])),
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Unprepared { ref id } if id.as_ref() == b"0123456789abcdef")
    );
    // Unset LIMIT means no limit.
    let lim = t
        .engine
        .prepare(&t.session, "SELECT * FROM u WHERE k = ? LIMIT ?")
        .unwrap();
    let r = futures_block_on(t.engine.execute(
        &mut t.session,
        &lim.id,
        exec(vec![val(Value::Int(1)), BoundValue::Unset]),
    ))
    .unwrap();
    assert_eq!(rows_of(r).rows.len(), 1);
    // QUERY with values, and IN ? with a list.
    let r = futures_block_on(t.engine.query(
        &mut t.session,
        "SELECT c FROM u WHERE k IN ?",
        exec(vec![val(Value::List(vec![Value::Int(1), Value::Int(2)]))]),
    ))
    .unwrap();
    assert_eq!(rows_of(r).rows.len(), 1);
    // A protocol batch mixing a query and a prepared statement.
    let b = Batch {
        kind: BatchKind::Logged,
        statements: vec![
            BatchStatement::Query {
                cql: "INSERT INTO u (k, c, a) VALUES (2, 1, ?)".into(),
                values: vec![val(Value::Text("q".into()))],
            },
            BatchStatement::Prepared {
                id: ins.id.clone(),
                values: vec![
                    val(Value::Int(2)),
                    val(Value::Int(2)),
                    BoundValue::Unset,
                    val(Value::Text("p".into())),
                    val(Value::Int(60)),
                ],
            },
        ],
        consistency: 1,
        serial_consistency: None,
        timestamp: Some(5),
    };
    assert_eq!(
        futures_block_on(t.engine.batch(&mut t.session, b)).unwrap(),
        QueryResult::Void
    );
    assert_eq!(
        t.rows("SELECT c, a, b, writetime(a) FROM u WHERE k = 2"),
        vec![
            vec!["1", "'q'", "null", "5"],
            vec!["2", "null", "'p'", "null"]
        ]
    );
}
