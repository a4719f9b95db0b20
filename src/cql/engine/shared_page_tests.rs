//! Copies of one hot read share the page their flight built: the very same rows (one
//! `Arc`), never across a write, and never between requests that would build different
//! pages (projection, LIMIT, page size). On a current-thread runtime every task spawned
//! before the first await joins the first task's flight, so the sharing is forced.

use super::*;
use crate::cql::result::{RowsResult, SharedRows};

fn engine() -> CqlEngine {
    let Ok(db) = Db::temporary() else {
        panic!("temporary db")
    };
    CqlEngine::new(db, NodeInfo::default())
}

async fn run(e: &CqlEngine, cql: &str) -> QueryResult {
    let mut s = Session::default();
    match e.query(&mut s, cql, QueryParams::default()).await {
        Ok(r) => r,
        Err(err) => panic!("{cql}: {err}"),
    }
}

/// A channel of `n` messages, ids 1..=n, newest first.
async fn channel(e: &CqlEngine, n: i64) {
    run(e, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    run(e, "CREATE TABLE ks.m (c bigint, id bigint, body text, PRIMARY KEY (c, id)) WITH CLUSTERING ORDER BY (id DESC)").await;
    for id in 1..=n {
        run(
            e,
            &format!("INSERT INTO ks.m (c, id, body) VALUES (7, {id}, 'msg {id}')"),
        )
        .await;
    }
}

fn params(page_size: Option<i32>) -> QueryParams {
    QueryParams {
        page_size,
        ..QueryParams::default()
    }
}

/// Starts every request before any of them runs, then collects the answers.
async fn copies(e: &CqlEngine, reqs: &[(&str, Option<i32>)]) -> Vec<Answer> {
    let tasks: Vec<_> = reqs
        .iter()
        .map(|(cql, page)| {
            let (e, cql, p) = (e.clone(), cql.to_string(), params(*page));
            tokio::spawn(async move {
                let mut s = Session::default();
                e.query_answer(&mut s, &cql, p).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(a)) => out.push(a),
            other => panic!("request failed: {other:?}"),
        }
    }
    out
}

fn shared(a: &Answer) -> &Arc<SharedRows> {
    match a {
        Answer::SharedRows(s) => s,
        other => panic!("expected shared rows, got {other:?}"),
    }
}

fn first_body(r: &RowsResult) -> Option<&[u8]> {
    r.rows.first()?.get(2)?.as_deref()
}

const NEWEST_50: &str = "SELECT * FROM ks.m WHERE c = 7 LIMIT 50";

#[tokio::test(flavor = "current_thread")]
async fn copies_in_one_flight_share_one_page_and_its_body() {
    let e = engine();
    channel(&e, 60).await;
    let before = e.coalescer().stats().storage_reads;
    let answers = copies(&e, &[(NEWEST_50, None); 8]).await;
    assert_eq!(e.coalescer().stats().storage_reads - before, 1);
    let first = shared(&answers[0]);
    for a in &answers {
        assert!(
            Arc::ptr_eq(first, shared(a)),
            "every copy gets the same page"
        );
    }
    let rows = first.rows();
    assert_eq!(rows.rows.len(), 50);
    assert_eq!(first_body(rows), Some(&b"msg 60"[..]));
    assert_eq!(rows.paging_state, None);
    let mut encodes = 0;
    let mut body = |skip| {
        first.body(skip, |_| {
            encodes += 1;
            Bytes::from_static(b"encoded")
        })
    };
    assert_eq!(body(false), body(false));
    assert_eq!(body(true), body(true));
    assert_eq!(encodes, 2, "one encoding per flavour, then reused");
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_after_a_write_gets_a_new_page_with_the_write() {
    let e = engine();
    channel(&e, 60).await;
    let old = copies(&e, &[(NEWEST_50, None); 4]).await;
    run(
        &e,
        "INSERT INTO ks.m (c, id, body) VALUES (7, 61, 'msg 61')",
    )
    .await;
    let new = copies(&e, &[(NEWEST_50, None); 4]).await;
    assert!(!Arc::ptr_eq(shared(&old[0]), shared(&new[0])));
    assert_eq!(first_body(shared(&old[0]).rows()), Some(&b"msg 60"[..]));
    for a in &new {
        assert_eq!(first_body(shared(a).rows()), Some(&b"msg 61"[..]));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn other_projections_limits_and_pages_in_the_same_flight_do_not_share() {
    let e = engine();
    channel(&e, 120).await;
    let before = e.coalescer().stats().storage_reads;
    // All four read the newest 50 rows of the partition (one flight), but build different
    // pages: other columns, a LIMIT with rows left (a paging state), a page of 50 without
    // LIMIT.
    let answers = copies(
        &e,
        &[
            (NEWEST_50, None),
            ("SELECT body FROM ks.m WHERE c = 7 LIMIT 50", None),
            ("SELECT * FROM ks.m WHERE c = 7 LIMIT 100", Some(50)),
            ("SELECT * FROM ks.m WHERE c = 7", Some(50)),
        ],
    )
    .await;
    assert_eq!(e.coalescer().stats().storage_reads - before, 1);
    let pages: Vec<_> = answers.iter().map(|a| shared(a).rows().clone()).collect();
    for (i, a) in answers.iter().enumerate() {
        for b in &answers[i + 1..] {
            assert!(!Arc::ptr_eq(shared(a), shared(b)));
        }
    }
    assert_eq!(pages[0].columns.len(), 3);
    assert_eq!(pages[1].columns.len(), 1);
    assert_eq!(pages[0].paging_state, None);
    assert!(pages[2].paging_state.is_some());
    assert!(pages[3].paging_state.is_some());
    assert_ne!(
        pages[2].paging_state, pages[3].paging_state,
        "limit left differs"
    );
    for p in &pages {
        assert_eq!(p.rows.len(), 50);
    }
    // The shared pages equal what the general path builds (two partitions, one empty).
    let general = run(&e, "SELECT * FROM ks.m WHERE c IN (7, 8) LIMIT 50").await;
    assert_eq!(general, QueryResult::Rows(pages[0].clone()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_second_page_resumes_after_the_shared_first() {
    let e = engine();
    channel(&e, 120).await;
    let first = copies(&e, &[("SELECT * FROM ks.m WHERE c = 7", Some(50)); 3]).await;
    let state = shared(&first[0]).rows().paging_state.clone();
    let mut s = Session::default();
    let p = QueryParams {
        page_size: Some(50),
        paging_state: state,
        ..QueryParams::default()
    };
    let second = e
        .query(&mut s, "SELECT * FROM ks.m WHERE c = 7", p)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let QueryResult::Rows(second) = second else {
        panic!("rows expected")
    };
    assert_eq!(first_body(&second), Some(&b"msg 70"[..]));
}
