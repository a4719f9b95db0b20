//! The CQL engine as the connections' [`Handler`].

use crate::handler::Handler;
use scrolldb::cql::result::{Batch, CqlError, PreparedResult, QueryParams, QueryResult};
use scrolldb::cql::{CqlEngine, Session};
use std::future::Future;

impl Handler for CqlEngine {
    type Session = Session;

    fn session(&self, keyspace: Option<&str>) -> Session {
        keyspace.map(Session::with_keyspace).unwrap_or_default()
    }

    fn query(
        &self,
        session: &mut Session,
        cql: &str,
        params: QueryParams,
    ) -> impl Future<Output = Result<QueryResult, CqlError>> + Send {
        CqlEngine::query(self, session, cql, params)
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
