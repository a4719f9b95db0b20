//! The CQL engine as the connections' [`Handler`].

use crate::handler::Handler;
use scrolldb::cql::result::{Batch, CqlError, PreparedResult, QueryParams, QueryResult};
use scrolldb::cql::{CqlEngine, Session};
use std::future::Future;

/// Whether a statement changes the schema (its first keyword is CREATE, DROP, ALTER or
/// TRUNCATE), so it may block while every shard applies it.
fn is_schema_statement(cql: &str) -> bool {
    let first: String = cql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    ["create", "drop", "alter", "truncate"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

impl Handler for CqlEngine {
    type Session = Session;

    fn session(&self, keyspace: Option<&str>) -> Session {
        keyspace.map(Session::with_keyspace).unwrap_or_default()
    }

    async fn query(
        &self,
        session: &mut Session,
        cql: &str,
        params: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        if is_schema_statement(cql) {
            // DDL waits for every shard synchronously inside the engine, which tokio forbids
            // on a runtime thread: run it where blocking is allowed.
            tokio::task::block_in_place(|| {
                futures_executor::block_on(CqlEngine::query(self, session, cql, params))
            })
        } else {
            CqlEngine::query(self, session, cql, params).await
        }
    }

    fn prepare(&self, session: &Session, cql: &str) -> Result<PreparedResult, CqlError> {
        CqlEngine::prepare(self, session, cql)
    }

    fn execute(
        &self,
        session: &mut Session,
        id: &[u8],
        params: QueryParams,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send {
        CqlEngine::execute(self, session, id, params)
    }

    fn batch(
        &self,
        session: &mut Session,
        batch: Batch,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send {
        CqlEngine::batch(self, session, batch)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_statements() {
        assert!(super::is_schema_statement(
            "  CREATE TABLE t (a int PRIMARY KEY)"
        ));
        assert!(super::is_schema_statement("truncate t"));
        assert!(!super::is_schema_statement("SELECT * FROM created"));
        assert!(!super::is_schema_statement("INSERT INTO t (a) VALUES (1)"));
    }
}
