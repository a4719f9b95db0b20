//! The [`Store`] the engine runs statements on: another store's calls, with single-partition
//! reads going through the engine's [`Coalescer`] and every write and schema change telling
//! it, before the statement is acknowledged, so no later read joins an older one.

use super::store::{db_error, Store};
use crate::coalesce::{Coalescer, Landed};
use crate::cql::result::CqlError;
use crate::storage::engine::{ScanPage, ScanQuery};
use crate::storage::model::{Mutation, ReadQuery, ReadResult};
use crate::Db;
use std::sync::Arc;

pub(crate) struct HotStore<'a, S> {
    pub inner: S,
    pub coalescer: &'a Coalescer,
    /// Coalesce reads (async stores); a blocking store reads directly and only reports its
    /// writes.
    pub coalesce_reads: bool,
}

impl<S: Store> Store for HotStore<'_, S> {
    fn db(&self) -> &Db {
        self.inner.db()
    }

    async fn apply(&self, mutations: Vec<Mutation>) -> Result<(), CqlError> {
        let touched: Vec<_> = mutations
            .iter()
            .map(|m| (m.table, m.partition_key.clone()))
            .collect();
        let result = self.inner.apply(mutations).await;
        // Even a failed write may have reached some shards: treat it as written.
        for (table, key) in touched {
            self.coalescer.written(table, &key);
        }
        result
    }

    async fn read(&self, q: ReadQuery) -> Result<ReadResult, CqlError> {
        if !self.coalesce_reads {
            return self.inner.read(q).await;
        }
        let landed = self.read_shared(q).await?;
        Ok(Arc::try_unwrap(landed).map_or_else(|l| l.result.clone(), |l| l.result))
    }

    async fn read_shared(&self, q: ReadQuery) -> Result<Arc<Landed>, CqlError> {
        if !self.coalesce_reads {
            return self.inner.read_shared(q).await;
        }
        let db = self.inner.db().clone();
        let shard = db.shard_of(&q.partition_key);
        self.coalescer
            .read_shared(q, shard, move |q| async move {
                db.read_async(q).await.map_err(db_error)
            })
            .await
    }

    async fn scan(&self, q: ScanQuery) -> Result<ScanPage, CqlError> {
        self.inner.scan(q).await
    }

    async fn ddl<T, F>(&self, f: F) -> Result<T, CqlError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> crate::Result<T> + Send + 'static,
    {
        let result = self.inner.ddl(f).await;
        self.coalescer.everything_changed();
        result
    }
}
