use super::*;
use crate::cql::ast::*;
use crate::cql::result::ErrorKind;
use proptest::prelude::*;

fn stmt(s: &str) -> Statement {
    match parse(s) {
        Ok(p) => p.statement,
        Err(e) => panic!("{s}: {e}"),
    }
}

#[test]
fn create_keyspace_and_table() {
    let Statement::CreateKeyspace(k) = stmt(
        "create KEYSPACE IF NOT EXISTS Chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false;",
    ) else {
        panic!()
    };
    assert_eq!(k.name, "chat");
    assert!(k.if_not_exists);
    assert_eq!(k.replication["replication_factor"], "1");
    assert_eq!(k.durable_writes, Some(false));

    let Statement::CreateTable(t) = stmt(
        "CREATE TABLE chat.\"Messages\" (channel_id bigint, bucket int, message_id bigint, \
         content text, tags frozen<set<text>>, PRIMARY KEY ((channel_id, bucket), message_id)) \
         WITH CLUSTERING ORDER BY (message_id DESC) AND default_time_to_live = 60 \
         AND compaction = {'class': 'LeveledCompactionStrategy'} AND comment = 'hi'",
    ) else {
        panic!()
    };
    assert_eq!(t.name.keyspace.as_deref(), Some("chat"));
    assert_eq!(t.name.name, "Messages");
    assert_eq!(t.partition_key, vec!["channel_id", "bucket"]);
    assert_eq!(t.clustering, vec!["message_id"]);
    assert_eq!(t.clustering_order, vec![("message_id".to_string(), true)]);
    assert_eq!(t.columns[4].ty, "frozen<set<text>>");
    assert_eq!(t.options.len(), 3);

    let Statement::CreateTable(t) = stmt("create table t (k int primary key, v text)") else {
        panic!()
    };
    assert_eq!(t.partition_key, vec!["k"]);
}

#[test]
fn dml() {
    let p = parse("INSERT INTO t (a, b, c) VALUES (?, :x, -1.5) USING TTL 10 AND TIMESTAMP 123")
        .unwrap();
    let Statement::Insert(i) = p.statement else {
        panic!()
    };
    assert_eq!(i.values[2], Term::Float("-1.5".into()));
    assert_eq!(p.markers.len(), 2);
    assert_eq!(p.markers[1].name.as_deref(), Some("x"));
    assert_eq!(i.using.ttl, Some(Term::Int("10".into())));

    let Statement::Update(u) =
        stmt("UPDATE t USING TIMESTAMP 5 SET a = 'it''s', b = {1: [1, 2]} WHERE k = 0x00ff AND c IN (1, 2)")
    else {
        panic!()
    };
    assert_eq!(u.assignments[0].1, Term::Str("it's".into()));
    assert_eq!(
        u.assignments[1].1,
        Term::Map(vec![(
            Term::Int("1".into()),
            Term::List(vec![Term::Int("1".into()), Term::Int("2".into())])
        )])
    );
    assert_eq!(u.relations[0].rhs, Rhs::Term(Term::Blob(vec![0, 255])));
    assert_eq!(u.relations[1].op, Op::In);

    let Statement::Delete(d) =
        stmt("DELETE a, b FROM ks.t USING TIMESTAMP 9 WHERE k = 1 AND c >= 2")
    else {
        panic!()
    };
    assert_eq!(d.columns, vec!["a", "b"]);
    assert_eq!(d.relations[1].op, Op::Ge);

    let Statement::Batch(b) = stmt(
        "BEGIN UNLOGGED BATCH INSERT INTO t (k) VALUES (1); DELETE FROM t WHERE k = 2; APPLY BATCH;",
    ) else {
        panic!()
    };
    assert_eq!(b.kind, BatchType::Unlogged);
    assert_eq!(b.statements.len(), 2);
}

#[test]
fn select() {
    let Statement::Select(s) = stmt(
        "SELECT a AS x, writetime(b), TTL(c) FROM t WHERE token(k) > -5 AND c <= 3 \
         ORDER BY c DESC PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING",
    ) else {
        panic!()
    };
    assert_eq!(
        s.selection,
        Selection::Columns(vec![
            Selector {
                kind: SelectorKind::Column("a".into()),
                alias: Some("x".into())
            },
            Selector {
                kind: SelectorKind::WriteTime("b".into()),
                alias: None
            },
            Selector {
                kind: SelectorKind::Ttl("c".into()),
                alias: None
            },
        ])
    );
    assert_eq!(s.relations[0].lhs, Lhs::Token(vec!["k".into()]));
    assert_eq!(s.order_by, vec![("c".to_string(), true)]);
    assert!(s.allow_filtering && s.limit.is_some() && s.per_partition_limit.is_some());
    let Statement::Select(s) = stmt("select count(*) as n from t") else {
        panic!()
    };
    assert_eq!(s.selection, Selection::Count(Some("n".into())));
    assert_eq!(stmt("USE \"MyKs\""), Statement::Use("MyKs".into()));
    assert_eq!(
        stmt("truncate table x"),
        Statement::Truncate(QualifiedName {
            keyspace: None,
            name: "x".into()
        })
    );
}

#[test]
fn syntax_errors_say_where() {
    let e = parse("SELECT * FORM t").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.message, "line 1:9 mismatched input 'FORM' expecting FROM");
    let e = parse("SELEC * FROM t").unwrap_err();
    assert_eq!(e.message, "line 1:0 no viable alternative at input 'SELEC'");
    let e = parse("SELECT * FROM t WHERE").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(parse("SELECT * FROM select").is_err());
    assert!(parse("INSERT INTO t (a) VALUES (1) IF NOT EXISTS").is_err());
}

fn token_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("SELECT".to_string()),
        Just("FROM".to_string()),
        Just("WHERE".to_string()),
        Just("INSERT".to_string()),
        Just("INTO".to_string()),
        Just("VALUES".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(",".to_string()),
        Just("=".to_string()),
        Just("?".to_string()),
        Just(":".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("'s'".to_string()),
        Just("1".to_string()),
        Just("-".to_string()),
        Just("AND".to_string()),
        Just("t".to_string()),
        Just("k".to_string()),
        Just("CREATE".to_string()),
        Just("TABLE".to_string()),
        Just("PRIMARY".to_string()),
        Just("KEY".to_string()),
        Just("WITH".to_string()),
        Just("BEGIN".to_string()),
        Just("BATCH".to_string()),
        Just("APPLY".to_string()),
        Just("token".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("IN".to_string()),
        Just("0x1".to_string()),
        Just("/*".to_string()),
        Just("$$".to_string()),
        "[a-z]{1,3}".prop_map(|s| s),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_random_text(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_random_tokens(toks in proptest::collection::vec(token_strategy(), 0..30)) {
        let _ = parse(&toks.join(" "));
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowing() {
    let s = format!(
        "INSERT INTO t (a) VALUES ({}1{})",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse(&s).is_err());
}
