use super::*;

fn assert_send<T: Send>(_: &T) {}

/// The server spawns these futures on a multi-threaded runtime.
#[test]
fn futures_are_send_and_engine_is_shareable() {
    fn assert_sync<T: Send + Sync + Clone>() {}
    assert_sync::<CqlEngine>();
    let Ok(db) = Db::temporary() else {
        panic!("temporary db")
    };
    let engine = CqlEngine::new(db, NodeInfo::default());
    let mut s = Session::default();
    let q = engine.query(&mut s, "SELECT * FROM t", QueryParams::default());
    assert_send(&q);
    drop(q);
    let e = engine.execute(&mut s, b"x", QueryParams::default());
    assert_send(&e);
    drop(e);
    let b = engine.batch(
        &mut s,
        Batch {
            kind: BatchKind::Logged,
            statements: vec![],
            consistency: 1,
            serial_consistency: None,
            timestamp: None,
        },
    );
    assert_send(&b);
}

#[test]
fn timestamps_strictly_increase() {
    let Ok(db) = Db::temporary() else {
        panic!("temporary db")
    };
    let engine = CqlEngine::new(db, NodeInfo::default());
    let mut last = 0;
    for _ in 0..1000 {
        let t = engine.next_timestamp();
        assert!(t > last);
        last = t;
    }
}

#[test]
fn statement_ids_depend_on_keyspace_and_text() {
    assert_eq!(statement_id(Some("a"), "x"), statement_id(Some("a"), "x"));
    assert_ne!(statement_id(Some("a"), "x"), statement_id(Some("b"), "x"));
    assert_ne!(statement_id(None, "x"), statement_id(None, "y"));
}
