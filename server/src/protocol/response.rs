//! Response bodies (section 4.2) encoded from the contract types, and whole response frames.

use super::compression::Compression;
use super::frame::{flags, put_response_header, Opcode, HEADER_LEN};
use super::option::put_option;
use super::primitives::BodyWriter;
use bytes::{BufMut, Bytes, BytesMut};
use scrolldb::cql::result::{
    ColumnSpec, CqlError, ErrorKind, PreparedResult, QueryResult, RowsResult, SchemaChange,
    SchemaChangeKind, SchemaChangeTarget, SharedRows,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rows metadata flags (section 4.2.5.2).
mod mflags {
    pub const GLOBAL_TABLES_SPEC: i32 = 0x0001;
    pub const HAS_MORE_PAGES: i32 = 0x0002;
    pub const NO_METADATA: i32 = 0x0004;
}

/// RESULT kinds (section 4.2.5).
mod kind {
    pub const VOID: i32 = 0x0001;
    pub const ROWS: i32 = 0x0002;
    pub const SET_KEYSPACE: i32 = 0x0003;
    pub const PREPARED: i32 = 0x0004;
    pub const SCHEMA_CHANGE: i32 = 0x0005;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `consistency` fills the fields of errors that report one (read failure).
    Error {
        error: CqlError,
        consistency: u16,
    },
    Ready,
    /// The authenticator's class name.
    Authenticate(String),
    Supported(BTreeMap<String, Vec<String>>),
    /// `skip_metadata`: the client asked not to be sent the rows' column metadata again.
    Result {
        result: QueryResult,
        skip_metadata: bool,
    },
    /// Rows that coalesced copies of one request share: their RESULT body is encoded by
    /// the first copy and reused by the others, so a copy costs a frame header.
    SharedRows {
        rows: Arc<SharedRows>,
        skip_metadata: bool,
    },
    AuthChallenge(Option<Bytes>),
    AuthSuccess(Option<Bytes>),
    Event(SchemaChange),
}

impl Response {
    pub fn error(error: CqlError) -> Response {
        Response::Error {
            error,
            consistency: 0x0001,
        }
    }

    pub fn opcode(&self) -> Opcode {
        match self {
            Response::Error { .. } => Opcode::Error,
            Response::Ready => Opcode::Ready,
            Response::Authenticate(_) => Opcode::Authenticate,
            Response::Supported(_) => Opcode::Supported,
            Response::Result { .. } | Response::SharedRows { .. } => Opcode::Result,
            Response::AuthChallenge(_) => Opcode::AuthChallenge,
            Response::AuthSuccess(_) => Opcode::AuthSuccess,
            Response::Event(_) => Opcode::Event,
        }
    }

    pub fn encode_body(&self, out: &mut BytesMut) {
        match self {
            Response::Error { error, consistency } => put_error(out, error, *consistency),
            Response::Ready => {}
            Response::Authenticate(class) => out.put_string(class),
            Response::Supported(options) => out.put_string_multimap(options),
            Response::Result {
                result,
                skip_metadata,
            } => put_result(out, result, *skip_metadata),
            Response::SharedRows {
                rows,
                skip_metadata,
            } => out.put_slice(&shared_rows_body(rows, *skip_metadata)),
            Response::AuthChallenge(token) | Response::AuthSuccess(token) => {
                out.put_cql_bytes(token.as_deref())
            }
            Response::Event(change) => {
                out.put_string("SCHEMA_CHANGE");
                put_schema_change(out, change);
            }
        }
    }

    /// The whole frame: header then body, the body compressed when `compression` is on.
    /// Compression that fails (it cannot, for in-memory buffers) falls back to a plain body.
    pub fn encode_frame(&self, stream: i16, compression: Option<Compression>) -> Bytes {
        let body = match self {
            Response::SharedRows {
                rows,
                skip_metadata,
            } => shared_rows_body(rows, *skip_metadata),
            _ => {
                let mut body = BytesMut::new();
                self.encode_body(&mut body);
                body.freeze()
            }
        };
        let (frame_flags, body) = match compression.map(|c| c.compress(&body)) {
            Some(Ok(compressed)) => (flags::COMPRESSION, compressed),
            _ => (0, body),
        };
        let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
        put_response_header(&mut out, frame_flags, stream, self.opcode(), body.len());
        out.put_slice(&body);
        out.freeze()
    }
}

/// The RESULT body of shared rows, encoded once per flavour and then reused.
fn shared_rows_body(rows: &SharedRows, skip_metadata: bool) -> Bytes {
    rows.body(skip_metadata, |r| {
        let mut body = BytesMut::new();
        body.put_i32(kind::ROWS);
        put_rows(&mut body, r, skip_metadata);
        body.freeze()
    })
}

fn put_error(out: &mut BytesMut, e: &CqlError, consistency: u16) {
    out.put_i32(e.kind.code());
    out.put_string(&e.message);
    match &e.kind {
        ErrorKind::ReadFailure {
            received,
            block_for,
            num_failures,
            data_present,
        } => {
            out.put_u16(consistency);
            out.put_i32(*received);
            out.put_i32(*block_for);
            out.put_i32(*num_failures);
            out.put_u8(u8::from(*data_present));
        }
        ErrorKind::AlreadyExists { keyspace, table } => {
            out.put_string(keyspace);
            out.put_string(table);
        }
        ErrorKind::Unprepared { id } => out.put_short_bytes(id),
        ErrorKind::Server
        | ErrorKind::Protocol
        | ErrorKind::BadCredentials
        | ErrorKind::Overloaded
        | ErrorKind::Syntax
        | ErrorKind::Unauthorized
        | ErrorKind::Invalid
        | ErrorKind::Config => {}
    }
}

fn put_result(out: &mut BytesMut, result: &QueryResult, skip_metadata: bool) {
    match result {
        QueryResult::Void => out.put_i32(kind::VOID),
        QueryResult::Rows(rows) => {
            out.put_i32(kind::ROWS);
            put_rows(out, rows, skip_metadata);
        }
        QueryResult::SetKeyspace(ks) => {
            out.put_i32(kind::SET_KEYSPACE);
            out.put_string(ks);
        }
        QueryResult::Prepared(p) => {
            out.put_i32(kind::PREPARED);
            put_prepared(out, p);
        }
        QueryResult::SchemaChange(change) => {
            out.put_i32(kind::SCHEMA_CHANGE);
            put_schema_change(out, change);
        }
    }
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One keyspace and table for all columns when they share it, as Cassandra sends it.
fn global_spec(columns: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = columns.first()?;
    columns
        .iter()
        .all(|c| c.keyspace == first.keyspace && c.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

fn put_column_specs(out: &mut BytesMut, columns: &[ColumnSpec], global: bool) {
    for c in columns {
        if !global {
            out.put_string(&c.keyspace);
            out.put_string(&c.table);
        }
        out.put_string(&c.name);
        put_option(out, &c.ty);
    }
}

/// `<metadata>` of rows (and a prepared statement's result metadata).
fn put_rows_metadata(
    out: &mut BytesMut,
    columns: &[ColumnSpec],
    paging_state: Option<&Bytes>,
    no_metadata: bool,
) {
    let global = global_spec(columns);
    let mut f = 0;
    if paging_state.is_some() {
        f |= mflags::HAS_MORE_PAGES;
    }
    if no_metadata {
        f |= mflags::NO_METADATA;
    } else if global.is_some() {
        f |= mflags::GLOBAL_TABLES_SPEC;
    }
    out.put_i32(f);
    out.put_i32(len_i32(columns.len()));
    if let Some(state) = paging_state {
        out.put_cql_bytes(Some(state));
    }
    if no_metadata {
        return;
    }
    if let Some((ks, table)) = global {
        out.put_string(ks);
        out.put_string(table);
    }
    put_column_specs(out, columns, global.is_some());
}

fn put_rows(out: &mut BytesMut, rows: &RowsResult, skip_metadata: bool) {
    put_rows_metadata(
        out,
        &rows.columns,
        rows.paging_state.as_ref(),
        skip_metadata,
    );
    out.put_i32(len_i32(rows.rows.len()));
    for row in &rows.rows {
        for cell in row {
            out.put_cql_bytes(cell.as_deref());
        }
    }
}

fn put_prepared(out: &mut BytesMut, p: &PreparedResult) {
    out.put_short_bytes(&p.id);
    let global = global_spec(&p.bind);
    out.put_i32(if global.is_some() {
        mflags::GLOBAL_TABLES_SPEC
    } else {
        0
    });
    out.put_i32(len_i32(p.bind.len()));
    out.put_i32(len_i32(p.pk_indexes.len()));
    for i in &p.pk_indexes {
        out.put_u16(*i);
    }
    if let Some((ks, table)) = global {
        out.put_string(ks);
        out.put_string(table);
    }
    put_column_specs(out, &p.bind, global.is_some());
    // Statements without result rows get metadata with no columns (and the no_metadata flag,
    // as Cassandra sends them).
    put_rows_metadata(out, &p.result, None, p.result.is_empty());
}

fn put_schema_change(out: &mut BytesMut, change: &SchemaChange) {
    out.put_string(match change.kind {
        SchemaChangeKind::Created => "CREATED",
        SchemaChangeKind::Updated => "UPDATED",
        SchemaChangeKind::Dropped => "DROPPED",
    });
    match &change.target {
        SchemaChangeTarget::Keyspace { keyspace } => {
            out.put_string("KEYSPACE");
            out.put_string(keyspace);
        }
        SchemaChangeTarget::Table { keyspace, table } => {
            out.put_string("TABLE");
            out.put_string(keyspace);
            out.put_string(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scrolldb::storage::types::CqlType;

    fn rows() -> RowsResult {
        RowsResult {
            columns: vec![ColumnSpec {
                keyspace: "ks".into(),
                table: "m".into(),
                name: "body".into(),
                ty: CqlType::Text,
            }],
            rows: (0..50)
                .map(|i| vec![Some(Bytes::from(format!("msg {i}")))])
                .collect(),
            paging_state: Some(Bytes::from_static(b"state")),
        }
    }

    /// A copy answered from shared rows sends the bytes it would have built itself, with its
    /// own stream id, and every copy gets the same body.
    #[test]
    fn shared_rows_encode_like_owned_rows() {
        let shared = Arc::new(SharedRows::new(rows()));
        for skip_metadata in [false, true] {
            for (stream, compression) in [(3, None), (-7, Some(Compression::Lz4))] {
                let owned = Response::Result {
                    result: QueryResult::Rows(rows()),
                    skip_metadata,
                }
                .encode_frame(stream, compression);
                let copy = Response::SharedRows {
                    rows: Arc::clone(&shared),
                    skip_metadata,
                };
                assert_eq!(copy.encode_frame(stream, compression), owned);
                assert_eq!(copy.encode_frame(stream, compression), owned);
                let mut body = BytesMut::new();
                copy.encode_body(&mut body);
                let mut want = BytesMut::new();
                put_result(&mut want, &QueryResult::Rows(rows()), skip_metadata);
                assert_eq!(body, want);
            }
        }
        let a = shared.body(true, |_| Bytes::new());
        let b = shared.body(true, |_| Bytes::new());
        assert!(!a.is_empty(), "the first encoding is kept");
        assert_eq!(a.as_ptr(), b.as_ptr(), "copies share one buffer");
    }
}
