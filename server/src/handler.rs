//! What a connection asks of the CQL layer. The server runs [`scrolldb::cql::CqlEngine`]
//! through this; tests of the connection layer alone can run a small in-memory handler.

use scrolldb::cql::result::{Answer, Batch, CqlError, PreparedResult, QueryParams, QueryResult};
use std::future::Future;

pub trait Handler: Clone + Send + Sync + 'static {
    /// Per-request session state. Requests on one connection run concurrently, so each gets
    /// its own session, opened on the connection's current keyspace (set by `USE`).
    type Session: Send;

    fn session(&self, keyspace: Option<&str>) -> Self::Session;

    fn query(
        &self,
        session: &mut Self::Session,
        cql: &str,
        params: QueryParams,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send;

    fn prepare(&self, session: &Self::Session, cql: &str) -> Result<PreparedResult, CqlError>;

    fn execute(
        &self,
        session: &mut Self::Session,
        id: &[u8],
        params: QueryParams,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send;

    fn batch(
        &self,
        session: &mut Self::Session,
        batch: Batch,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send;

    /// `query`, as the connections call it: a handler whose coalesced reads share their rows
    /// answers [`Answer::SharedRows`], which the server encodes once for all copies.
    fn query_answer(
        &self,
        session: &mut Self::Session,
        cql: &str,
        params: QueryParams,
    ) -> impl Future<Output = Result<Answer, CqlError>> + Send {
        async move { self.query(session, cql, params).await.map(Answer::Result) }
    }

    /// `execute`, as the connections call it (see [`Handler::query_answer`]).
    fn execute_answer(
        &self,
        session: &mut Self::Session,
        id: &[u8],
        params: QueryParams,
    ) -> impl Future<Output = Result<Answer, CqlError>> + Send {
        async move { self.execute(session, id, params).await.map(Answer::Result) }
    }
}
