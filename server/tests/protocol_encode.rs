//! Response encoding byte by byte against the spec (section 4.2): error bodies with each
//! code's extra fields, rows metadata flags, prepared metadata, schema changes.

use bytes::{Bytes, BytesMut};
use scrolldb::cql::result::{
    ColumnSpec, CqlError, ErrorKind, PreparedResult, QueryResult, RowsResult, SchemaChange,
    SchemaChangeKind, SchemaChangeTarget,
};
use scrolldb::storage::types::CqlType;
use scrolldb_server::protocol::Response;

fn body(r: &Response) -> Vec<u8> {
    let mut out = BytesMut::new();
    r.encode_body(&mut out);
    out.to_vec()
}

fn s(x: &str) -> Vec<u8> {
    let mut b = (x.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(x.as_bytes());
    b
}

fn spec(ks: &str, table: &str, name: &str, ty: CqlType) -> ColumnSpec {
    ColumnSpec {
        keyspace: ks.into(),
        table: table.into(),
        name: name.into(),
        ty,
    }
}

#[test]
fn error_bodies_carry_their_extra_fields() {
    let err = |kind, consistency| {
        body(&Response::Error {
            error: CqlError::new(kind, "m"),
            consistency,
        })
    };
    let mut want = 0x2400i32.to_be_bytes().to_vec();
    want.extend(s("m"));
    want.extend(s("ks"));
    want.extend(s("t"));
    let kind = ErrorKind::AlreadyExists {
        keyspace: "ks".into(),
        table: "t".into(),
    };
    assert_eq!(err(kind, 1), want);

    let mut want = 0x2500i32.to_be_bytes().to_vec();
    want.extend(s("m"));
    want.extend([0, 2, 0xAB, 0xCD]);
    let kind = ErrorKind::Unprepared {
        id: Bytes::from_static(&[0xAB, 0xCD]),
    };
    assert_eq!(err(kind, 1), want);

    let mut want = 0x1300i32.to_be_bytes().to_vec();
    want.extend(s("m"));
    want.extend(6u16.to_be_bytes()); // the request's consistency (QUORUM)
    want.extend(0i32.to_be_bytes());
    want.extend(1i32.to_be_bytes());
    want.extend(1i32.to_be_bytes());
    want.push(0);
    let kind = ErrorKind::ReadFailure {
        received: 0,
        block_for: 1,
        num_failures: 1,
        data_present: false,
    };
    assert_eq!(err(kind, 6), want);

    for (kind, code) in [
        (ErrorKind::Server, 0x0000),
        (ErrorKind::Protocol, 0x000A),
        (ErrorKind::BadCredentials, 0x0100),
        (ErrorKind::Overloaded, 0x1001),
        (ErrorKind::Syntax, 0x2000),
        (ErrorKind::Unauthorized, 0x2100),
        (ErrorKind::Invalid, 0x2200),
        (ErrorKind::Config, 0x2300),
    ] {
        let mut want = i32::to_be_bytes(code).to_vec();
        want.extend(s("m"));
        assert_eq!(err(kind, 1), want);
    }
}

#[test]
fn rows_with_a_global_table_spec_paging_state_and_skip_metadata() {
    let rows = RowsResult {
        columns: vec![
            spec("ks", "t", "a", CqlType::Int),
            spec(
                "ks",
                "t",
                "m",
                CqlType::Map {
                    key: Box::new(CqlType::Text),
                    value: Box::new(CqlType::List {
                        elem: Box::new(CqlType::BigInt),
                        frozen: true,
                    }),
                    frozen: false,
                },
            ),
        ],
        rows: vec![vec![Some(Bytes::from_static(&[0, 0, 0, 7])), None]],
        paging_state: Some(Bytes::from_static(b"p")),
    };
    let full = body(&Response::Result {
        result: QueryResult::Rows(rows.clone()),
        skip_metadata: false,
    });
    let mut want = 2i32.to_be_bytes().to_vec();
    want.extend(3i32.to_be_bytes()); // global_tables_spec | has_more_pages
    want.extend(2i32.to_be_bytes());
    want.extend([0, 0, 0, 1, b'p']);
    want.extend(s("ks"));
    want.extend(s("t"));
    want.extend(s("a"));
    want.extend([0, 0x09]);
    want.extend(s("m"));
    want.extend([0, 0x21, 0, 0x0D, 0, 0x20, 0, 0x02]);
    let rows_part = {
        let mut r = 1i32.to_be_bytes().to_vec();
        r.extend([0, 0, 0, 4, 0, 0, 0, 7]);
        r.extend((-1i32).to_be_bytes());
        r
    };
    want.extend(&rows_part);
    assert_eq!(full, want);

    let skipped = body(&Response::Result {
        result: QueryResult::Rows(rows),
        skip_metadata: true,
    });
    let mut want = 2i32.to_be_bytes().to_vec();
    want.extend(6i32.to_be_bytes()); // has_more_pages | no_metadata
    want.extend(2i32.to_be_bytes());
    want.extend([0, 0, 0, 1, b'p']);
    want.extend(&rows_part);
    assert_eq!(skipped, want);
}

#[test]
fn rows_from_several_tables_spell_out_each_column() {
    let rows = RowsResult {
        columns: vec![
            spec("a", "t", "x", CqlType::Int),
            spec("b", "t", "y", CqlType::Int),
        ],
        rows: vec![],
        paging_state: None,
    };
    let got = body(&Response::Result {
        result: QueryResult::Rows(rows),
        skip_metadata: false,
    });
    let mut want = 2i32.to_be_bytes().to_vec();
    want.extend(0i32.to_be_bytes());
    want.extend(2i32.to_be_bytes());
    for (ks, col) in [("a", "x"), ("b", "y")] {
        want.extend(s(ks));
        want.extend(s("t"));
        want.extend(s(col));
        want.extend([0, 0x09]);
    }
    want.extend(0i32.to_be_bytes());
    assert_eq!(got, want);
}

#[test]
fn prepared_metadata_has_partition_key_indexes_and_result_metadata() {
    let p = PreparedResult {
        id: Bytes::from_static(&[1, 2]),
        bind: vec![
            spec("ks", "t", "b", CqlType::Int),
            spec("ks", "t", "a", CqlType::Text),
        ],
        pk_indexes: vec![1, 0],
        result: vec![],
    };
    let got = body(&Response::Result {
        result: QueryResult::Prepared(p),
        skip_metadata: false,
    });
    let mut want = 4i32.to_be_bytes().to_vec();
    want.extend([0, 2, 1, 2]);
    want.extend(1i32.to_be_bytes()); // global_tables_spec
    want.extend(2i32.to_be_bytes());
    want.extend(2i32.to_be_bytes()); // pk_count
    want.extend([0, 1, 0, 0]);
    want.extend(s("ks"));
    want.extend(s("t"));
    want.extend(s("b"));
    want.extend([0, 0x09]);
    want.extend(s("a"));
    want.extend([0, 0x0D]);
    want.extend(4i32.to_be_bytes()); // result metadata: no_metadata, no columns
    want.extend(0i32.to_be_bytes());
    assert_eq!(got, want);
}

#[test]
fn schema_change_result_and_event() {
    let change = SchemaChange {
        kind: SchemaChangeKind::Dropped,
        target: SchemaChangeTarget::Table {
            keyspace: "ks".into(),
            table: "t".into(),
        },
    };
    let mut want = 5i32.to_be_bytes().to_vec();
    want.extend(s("DROPPED"));
    want.extend(s("TABLE"));
    want.extend(s("ks"));
    want.extend(s("t"));
    let got = body(&Response::Result {
        result: QueryResult::SchemaChange(change.clone()),
        skip_metadata: false,
    });
    assert_eq!(got, want);
    let mut want_event = s("SCHEMA_CHANGE");
    want_event.extend(&want[4..]);
    assert_eq!(body(&Response::Event(change)), want_event);

    let frame = Response::Ready.encode_frame(-1, None);
    assert_eq!(frame.as_ref(), [0x84, 0, 0xFF, 0xFF, 0x02, 0, 0, 0, 0]);
}
