//! The CQL engine as the connections' [`Handler`]: each request runs on its own session,
//! opened on the connection's current keyspace.

use crate::handler::Handler;
use scrolldb::cql::result::{Answer, Batch, CqlError, PreparedResult, QueryParams, QueryResult};
use scrolldb::cql::{CqlEngine, Session};

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
        CqlEngine::query(self, session, cql, params).await
    }

    fn prepare(&self, session: &Session, cql: &str) -> Result<PreparedResult, CqlError> {
        CqlEngine::prepare(self, session, cql)
    }

    async fn execute(
        &self,
        session: &mut Session,
        id: &[u8],
        params: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        CqlEngine::execute(self, session, id, params).await
    }

    async fn batch(&self, session: &mut Session, batch: Batch) -> Result<QueryResult, CqlError> {
        CqlEngine::batch(self, session, batch).await
    }

    async fn query_answer(
        &self,
        session: &mut Session,
        cql: &str,
        params: QueryParams,
    ) -> Result<Answer, CqlError> {
        CqlEngine::query_answer(self, session, cql, params).await
    }

    async fn execute_answer(
        &self,
        session: &mut Session,
        id: &[u8],
        params: QueryParams,
    ) -> Result<Answer, CqlError> {
        CqlEngine::execute_answer(self, session, id, params).await
    }
}
