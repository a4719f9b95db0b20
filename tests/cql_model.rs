//! Model test: random writes and deletes through CQL, mirrored in a `BTreeMap`, then every
//! read shape (slices, forward and reverse, LIMIT, paging, IN, token scans) compared with
//! the model.
#![allow(clippy::unwrap_used)]

mod cql_common;

use bytes::Bytes;
use cql_common::*;
use proptest::prelude::*;
use scrolldb::cql::result::QueryParams;
use std::collections::BTreeMap;

/// A row of the model: whether INSERT wrote its marker, and its value.
#[derive(Clone, Copy, Debug)]
struct ModelRow {
    marker: bool,
    v: Option<i32>,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(i32, i32, i32),
    Update(i32, i32, i32),
    DeleteRow(i32, i32),
    DeleteRange(i32, i32, i32),
    DeletePartition(i32),
    DeleteCell(i32, i32),
    InsertNull(i32, i32),
    /// Flush every memtable so reads merge SSTables and memtables.
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..3i32;
    let c = 0..12i32;
    prop_oneof![
        4 => (k.clone(), c.clone(), any::<i32>()).prop_map(|(k, c, v)| Op::Insert(k, c, v)),
        2 => (k.clone(), c.clone(), any::<i32>()).prop_map(|(k, c, v)| Op::Update(k, c, v)),
        1 => (k.clone(), c.clone()).prop_map(|(k, c)| Op::DeleteRow(k, c)),
        1 => (k.clone(), c.clone(), c.clone()).prop_map(|(k, a, b)| Op::DeleteRange(k, a, b)),
        1 => k.clone().prop_map(Op::DeletePartition),
        1 => (k.clone(), c.clone()).prop_map(|(k, c)| Op::DeleteCell(k, c)),
        1 => (k, c).prop_map(|(k, c)| Op::InsertNull(k, c)),
        1 => Just(Op::Flush),
    ]
}

fn apply(t: &mut T, model: &mut BTreeMap<(i32, i32), ModelRow>, op: &Op) {
    match *op {
        Op::Insert(k, c, v) => {
            t.ok(&format!("INSERT INTO m (k, c, v) VALUES ({k}, {c}, {v})"));
            model.insert(
                (k, c),
                ModelRow {
                    marker: true,
                    v: Some(v),
                },
            );
        }
        Op::InsertNull(k, c) => {
            t.ok(&format!("INSERT INTO m (k, c, v) VALUES ({k}, {c}, null)"));
            model.insert(
                (k, c),
                ModelRow {
                    marker: true,
                    v: None,
                },
            );
        }
        Op::Update(k, c, v) => {
            t.ok(&format!("UPDATE m SET v = {v} WHERE k = {k} AND c = {c}"));
            let r = model.entry((k, c)).or_insert(ModelRow {
                marker: false,
                v: None,
            });
            r.v = Some(v);
        }
        Op::DeleteRow(k, c) => {
            t.ok(&format!("DELETE FROM m WHERE k = {k} AND c = {c}"));
            model.remove(&(k, c));
        }
        Op::DeleteRange(k, a, b) => {
            t.ok(&format!(
                "DELETE FROM m WHERE k = {k} AND c >= {a} AND c < {b}"
            ));
            model.retain(|(mk, mc), _| !(*mk == k && *mc >= a && *mc < b));
        }
        Op::DeletePartition(k) => {
            t.ok(&format!("DELETE FROM m WHERE k = {k}"));
            model.retain(|(mk, _), _| *mk != k);
        }
        Op::Flush => t.engine.db().flush().unwrap(),
        Op::DeleteCell(k, c) => {
            t.ok(&format!("DELETE v FROM m WHERE k = {k} AND c = {c}"));
            if let Some(r) = model.get_mut(&(k, c)) {
                r.v = None;
                if !r.marker {
                    model.remove(&(k, c));
                }
            }
        }
    }
}

fn show_row(c: i32, r: &ModelRow) -> Vec<String> {
    vec![c.to_string(), r.v.map_or("null".into(), |v| v.to_string())]
}

/// Every page of `cql` with `page_size`, concatenated.
fn paged(t: &mut T, cql: &str, page_size: i32) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut state: Option<Bytes> = None;
    for _ in 0..1000 {
        let p = QueryParams {
            page_size: Some(page_size),
            paging_state: state.clone(),
            ..QueryParams::default()
        };
        let r = rows_of(t.with(cql, p).unwrap());
        all.extend(show(&r));
        match r.paging_state {
            Some(s) => state = Some(s),
            None => return all,
        }
    }
    panic!("paging did not end: {cql}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn reads_match_the_model(
        ops in prop::collection::vec(op(), 1..40),
        k in 0..3i32,
        lo in 0..12i32,
        hi in 0..12i32,
        desc in any::<bool>(),
        limit in 1..15usize,
        page in 1..6i32,
    ) {
        let mut t = T::new();
        t.ok("CREATE TABLE m (k int, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)");
        let mut model = BTreeMap::new();
        for o in &ops {
            apply(&mut t, &mut model, o);
        }
        // The table's order is DESC: ORDER BY c ASC is the reverse read.
        let expect = |from: i32, to: i32, asc: bool| -> Vec<Vec<String>> {
            let mut rows: Vec<Vec<String>> = model
                .range((k, from)..(k, to))
                .map(|((_, c), r)| show_row(*c, r))
                .collect();
            if !asc {
                rows.reverse();
            }
            rows
        };
        let order = if desc { "DESC" } else { "ASC" };
        let slice = format!("SELECT c, v FROM m WHERE k = {k} AND c >= {lo} AND c < {hi} ORDER BY c {order}");
        let want = expect(lo, hi.max(lo), !desc);
        prop_assert_eq!(t.rows(&slice), want.clone());
        let mut limited = want.clone();
        limited.truncate(limit);
        prop_assert_eq!(paged(&mut t, &format!("{slice} LIMIT {limit}"), page), limited);
        let whole = format!("SELECT c, v FROM m WHERE k = {k} ORDER BY c {order}");
        prop_assert_eq!(paged(&mut t, &whole, page), expect(i32::MIN, i32::MAX, !desc));
        // IN over every partition, paged, in IN order.
        let mut ins = Vec::new();
        for kk in [2, 0, 1] {
            let mut rows: Vec<Vec<String>> = model.range((kk, i32::MIN)..(kk, i32::MAX)).map(|((_, c), r)| show_row(*c, r)).collect();
            rows.reverse();
            ins.extend(rows);
        }
        prop_assert_eq!(paged(&mut t, "SELECT c, v FROM m WHERE k IN (2, 0, 1)", page), ins);
        // The whole table by token scan, and COUNT(*).
        let mut scanned = paged(&mut t, "SELECT k, c, v FROM m", page);
        scanned.sort();
        let mut all: Vec<Vec<String>> = model.iter().map(|((kk, c), r)| {
            let mut row = vec![kk.to_string()];
            row.extend(show_row(*c, r));
            row
        }).collect();
        all.sort();
        prop_assert_eq!(scanned, all);
        prop_assert_eq!(t.rows("SELECT COUNT(*) FROM m"), vec![vec![model.len().to_string()]]);
        prop_assert_eq!(
            t.rows(&format!("SELECT COUNT(*) FROM m WHERE k = {k} PER PARTITION LIMIT 2")),
            vec![vec![model.range((k, i32::MIN)..(k, i32::MAX)).count().min(2).to_string()]]
        );
    }
}
