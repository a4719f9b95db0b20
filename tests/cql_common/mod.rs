//! Helpers shared by the `cql_*` integration tests: an engine on a temporary database and
//! decoded results.
#![allow(dead_code, clippy::unwrap_used)]

use scrolldb::cql::result::{BoundValue, CqlError, QueryParams, QueryResult, RowsResult};
use scrolldb::cql::{CqlEngine, NodeInfo, Session};
use scrolldb::storage::types::Value;
use scrolldb::Db;

pub struct T {
    pub engine: CqlEngine,
    pub session: Session,
}

impl T {
    /// An engine on a fresh temporary database, in keyspace `ks`.
    pub fn new() -> T {
        let db = Db::temporary().unwrap();
        let mut t = T {
            engine: CqlEngine::new(db, NodeInfo::default()),
            session: Session::default(),
        };
        t.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        t.ok("USE ks");
        t
    }

    pub fn run(&mut self, cql: &str) -> Result<QueryResult, CqlError> {
        self.engine.execute_blocking(&mut self.session, cql, &[])
    }

    pub fn ok(&mut self, cql: &str) -> QueryResult {
        match self.run(cql) {
            Ok(r) => r,
            Err(e) => panic!("{cql}: {e}"),
        }
    }

    pub fn err(&mut self, cql: &str) -> CqlError {
        match self.run(cql) {
            Ok(r) => panic!("{cql}: expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    pub fn with(&mut self, cql: &str, p: QueryParams) -> Result<QueryResult, CqlError> {
        self.engine.query_blocking(&mut self.session, cql, p)
    }

    /// The rows of a SELECT, decoded and shown as CQL literals (`null` for null).
    pub fn rows(&mut self, cql: &str) -> Vec<Vec<String>> {
        show(&rows_of(self.ok(cql)))
    }
}

pub fn rows_of(r: QueryResult) -> RowsResult {
    match r {
        QueryResult::Rows(r) => r,
        other => panic!("expected rows, got {other:?}"),
    }
}

pub fn decode(r: &RowsResult) -> Vec<Vec<Option<Value>>> {
    r.rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&r.columns)
                .map(|(v, c)| v.as_ref().map(|b| c.ty.deserialize(b).unwrap()))
                .collect()
        })
        .collect()
}

pub fn show(r: &RowsResult) -> Vec<Vec<String>> {
    decode(r)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| v.map_or("null".to_string(), |v| v.to_string()))
                .collect()
        })
        .collect()
}

pub fn val(v: Value) -> BoundValue {
    BoundValue::Value(v.serialize())
}

pub fn params(values: Vec<BoundValue>) -> QueryParams {
    QueryParams {
        values,
        ..QueryParams::default()
    }
}
