//! The three database calls statements make, in two flavours: awaiting the shards (for the
//! server, inside tokio) or blocking the calling thread (for embedders). Statements are
//! written once, generic over [`Store`].

use super::write_combiner::WriteCombiner;
use crate::coalesce::Landed;
use crate::cql::result::{CqlError, ErrorKind};
use crate::storage::engine::{ScanPage, ScanQuery};
use crate::storage::model::{Mutation, ReadQuery, ReadResult};
use crate::Db;
use std::sync::Arc;

pub(crate) trait Store {
    fn db(&self) -> &Db;
    async fn apply(&self, mutations: Vec<Mutation>) -> Result<(), CqlError>;
    async fn read(&self, q: ReadQuery) -> Result<ReadResult, CqlError>;
    /// The read as a flight's shared result, which copies of one request share along with
    /// what they build from it. A store that does not coalesce gives each read its own.
    async fn read_shared(&self, q: ReadQuery) -> Result<Arc<Landed>, CqlError> {
        Ok(Arc::new(Landed::new(self.read(q).await?)))
    }
    async fn scan(&self, q: ScanQuery) -> Result<ScanPage, CqlError>;
    /// Runs a schema change (a blocking `Db` call that waits on every shard).
    async fn ddl<T, F>(&self, f: F) -> Result<T, CqlError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> crate::Result<T> + Send + 'static;
}

/// Awaits the shard threads: what the server uses. Writes go through the engine's
/// [`WriteCombiner`], so concurrent statements share trips to the shards.
pub(crate) struct AsyncStore<'a>(pub &'a Db, pub &'a Arc<WriteCombiner>);

/// Blocks the calling thread: what `execute_blocking` uses outside any async runtime.
pub(crate) struct BlockingStore<'a>(pub &'a Db);

impl Store for AsyncStore<'_> {
    fn db(&self) -> &Db {
        self.0
    }
    async fn apply(&self, mutations: Vec<Mutation>) -> Result<(), CqlError> {
        self.1.apply(self.0, mutations).await
    }
    async fn read(&self, q: ReadQuery) -> Result<ReadResult, CqlError> {
        self.0.read_async(q).await.map_err(db_error)
    }
    async fn scan(&self, q: ScanQuery) -> Result<ScanPage, CqlError> {
        self.0.scan_async(q).await.map_err(db_error)
    }
    /// The `Db`'s DDL blocks until every shard has applied it, which a runtime thread must
    /// not do: it runs on a thread of its own (DDL is rare) and we await its answer.
    async fn ddl<T, F>(&self, f: F) -> Result<T, CqlError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> crate::Result<T> + Send + 'static,
    {
        let db = self.0.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("scrolldb-ddl".into())
            .spawn(move || {
                let _ = tx.send(f(&db));
            })
            .map_err(|e| CqlError::server(format!("cannot start the DDL thread: {e}")))?;
        rx.await
            .map_err(|_| CqlError::server("the DDL thread stopped without an answer"))?
            .map_err(db_error)
    }
}

impl Store for BlockingStore<'_> {
    fn db(&self) -> &Db {
        self.0
    }
    async fn apply(&self, mutations: Vec<Mutation>) -> Result<(), CqlError> {
        self.0.apply(mutations).map_err(db_error)
    }
    async fn read(&self, q: ReadQuery) -> Result<ReadResult, CqlError> {
        self.0.read(q).map_err(db_error)
    }
    async fn scan(&self, q: ScanQuery) -> Result<ScanPage, CqlError> {
        self.0.scan(q).map_err(db_error)
    }
    async fn ddl<T, F>(&self, f: F) -> Result<T, CqlError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> crate::Result<T> + Send + 'static,
    {
        f(self.0).map_err(db_error)
    }
}

/// A database error as the native protocol reports it.
pub(crate) fn db_error(e: crate::Error) -> CqlError {
    use crate::storage::Error as S;
    match e {
        crate::Error::Invalid(m) => CqlError::invalid(m),
        crate::Error::AlreadyExists { keyspace, table } => {
            let message = if table.is_empty() {
                format!("Cannot add existing keyspace \"{keyspace}\"")
            } else {
                format!("Cannot add already existing table \"{table}\" to keyspace \"{keyspace}\"")
            };
            CqlError::new(ErrorKind::AlreadyExists { keyspace, table }, message)
        }
        crate::Error::NotFound(m) => CqlError::invalid(m),
        crate::Error::Overloaded => CqlError::new(
            ErrorKind::Overloaded,
            "Overloaded: a shard's request queue is full",
        ),
        crate::Error::Storage(S::TombstoneOverwhelm { scanned, threshold }) => CqlError::new(
            ErrorKind::ReadFailure {
                received: 0,
                block_for: 1,
                num_failures: 1,
                data_present: false,
            },
            format!("Operation failed - received 0 responses and 1 failures: {scanned} tombstones scanned (failure threshold {threshold})"),
        ),
        crate::Error::Storage(S::InvalidRequest(m)) => CqlError::invalid(m),
        other => CqlError::server(other.to_string()),
    }
}

/// Runs a future that never waits on anything (a [`BlockingStore`] statement) to completion
/// on this thread. If it ever did return `Pending`, we yield and poll again.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
