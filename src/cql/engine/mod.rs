//! Runs CQL statements against a [`Db`]: the entry points the native protocol server calls
//! (`query`, `prepare`, `execute`, `batch`) and `execute_blocking` for embedders.
//!
//! Each statement kind has its own file: [`ddl`], [`write`] (INSERT / UPDATE / DELETE),
//! [`select`], [`system_query`] (the virtual `system*` tables); [`restrict`] checks WHERE
//! clauses, [`bind`] resolves literals and bound values, [`lookup`] finds tables and marker
//! types, [`paging`] owns the paging state format, [`store`] is the async-or-blocking access
//! to the database, and [`write_combiner`] lets concurrent writes share trips to the shards.

mod bind;
mod ddl;
mod hot_store;
mod lookup;
mod paging;
mod restrict;
mod select;
mod store;
mod system_query;
mod write;
mod write_combiner;

use crate::catalog::Catalog;
use crate::coalesce::{CoalesceOptions, Coalescer};
use crate::cql::ast::{Parsed, Statement};
use crate::cql::node::NodeInfo;
use crate::cql::parser::parse;
use crate::cql::result::{
    Answer, Batch, BatchKind, BatchStatement, BoundValue, ColumnSpec, CqlError, ErrorKind,
    PreparedResult, QueryParams, QueryResult, SchemaChange, SchemaChangeKind, SchemaChangeTarget,
};
use crate::storage::model::Mutation;
use crate::storage::types::Value;
use crate::Db;
use bind::Binder;
use bytes::Bytes;
use hot_store::HotStore;
use lookup::{marker_specs, names, pk_indexes, resolve, resolve_user, system_rows};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use store::{block_on, AsyncStore, BlockingStore, Store};
use write::WriteClock;

pub use ddl::SYSTEM_KEYSPACES;
pub use system_query::VIRTUAL_KEYSPACES;

/// Bounds the prepared statement cache; an evicted statement is re-prepared by the driver
/// on `Unprepared`.
const MAX_PREPARED: usize = 10_000;

/// One connection's state: its current keyspace (set by USE).
#[derive(Clone, Debug, Default)]
pub struct Session {
    keyspace: Option<String>,
}

impl Session {
    pub fn keyspace(&self) -> Option<&str> {
        self.keyspace.as_deref()
    }

    /// A session already in `keyspace` (no check that it exists).
    pub fn with_keyspace(keyspace: impl Into<String>) -> Session {
        Session {
            keyspace: Some(keyspace.into()),
        }
    }
}

struct Prepared {
    parsed: Parsed,
    /// The session keyspace at PREPARE time: unqualified names resolve against it.
    keyspace: Option<String>,
    specs: Vec<ColumnSpec>,
}

struct Inner {
    db: Db,
    node: NodeInfo,
    prepared: RwLock<HashMap<[u8; 16], Arc<Prepared>>>,
    last_timestamp_us: AtomicI64,
    writes: Arc<write_combiner::WriteCombiner>,
    /// Single-partition reads of every connection meet here (see `crate::coalesce`).
    coalescer: Coalescer,
}

/// The CQL engine of one database; cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct CqlEngine {
    inner: Arc<Inner>,
}

/// The values and options one statement runs with.
struct Run<'a> {
    values: &'a [BoundValue],
    names: Option<&'a [String]>,
    page_size: Option<i32>,
    paging_state: Option<&'a Bytes>,
    timestamp: Option<i64>,
}

impl CqlEngine {
    pub fn new(db: Db, node: NodeInfo) -> CqlEngine {
        CqlEngine::with_coalescing(db, node, CoalesceOptions::default())
    }

    /// An engine whose reads are coalesced and bounded per `coalesce`.
    pub fn with_coalescing(db: Db, node: NodeInfo, coalesce: CoalesceOptions) -> CqlEngine {
        CqlEngine {
            inner: Arc::new(Inner {
                db,
                node,
                prepared: RwLock::new(HashMap::new()),
                last_timestamp_us: AtomicI64::new(0),
                writes: Arc::default(),
                coalescer: Coalescer::new(coalesce),
            }),
        }
    }

    /// The read coalescer: its counters feed the metrics endpoint.
    pub fn coalescer(&self) -> &Coalescer {
        &self.inner.coalescer
    }

    /// The store statements run on from async code: coalesced reads.
    fn hot_store(&self) -> HotStore<'_, AsyncStore<'_>> {
        HotStore {
            inner: AsyncStore(&self.inner.db, &self.inner.writes),
            coalescer: &self.inner.coalescer,
            coalesce_reads: true,
        }
    }

    /// The store of the blocking entry points: direct reads, writes still reported.
    fn blocking_store(&self) -> HotStore<'_, BlockingStore<'_>> {
        HotStore {
            inner: BlockingStore(&self.inner.db),
            coalescer: &self.inner.coalescer,
            coalesce_reads: false,
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn node(&self) -> &NodeInfo {
        &self.inner.node
    }

    /// A write timestamp: now in microseconds, strictly increasing across this engine so two
    /// writes in a row never tie.
    fn next_timestamp(&self) -> i64 {
        let now = crate::storage::clock::now_micros();
        let mut prev = self.inner.last_timestamp_us.load(Ordering::Relaxed);
        loop {
            let next = now.max(prev.saturating_add(1));
            match self.inner.last_timestamp_us.compare_exchange_weak(
                prev,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }

    /// QUERY: parses and runs one statement.
    pub async fn query(
        &self,
        s: &mut Session,
        cql: &str,
        p: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        self.query_answer(s, cql, p).await.map(Answer::into_result)
    }

    /// QUERY, with rows that coalesced copies of the request share left shared (what the
    /// server encodes once per flight).
    pub async fn query_answer(
        &self,
        s: &mut Session,
        cql: &str,
        p: QueryParams,
    ) -> Result<Answer, CqlError> {
        let parsed = parse(cql)?;
        let ks = s.keyspace.clone();
        let run = Run {
            values: &p.values,
            names: p.names.as_deref(),
            page_size: p.page_size,
            paging_state: p.paging_state.as_ref(),
            timestamp: p.timestamp,
        };
        let store = self.hot_store();
        self.run_answer(&store, s, &parsed, ks.as_deref(), None, &run)
            .await
    }

    /// PREPARE: parses, checks the statement against the schema and caches it.
    pub fn prepare(&self, s: &Session, cql: &str) -> Result<PreparedResult, CqlError> {
        let parsed = parse(cql)?;
        let catalog = self.inner.db.catalog();
        let ks = s.keyspace.as_deref();
        let specs = marker_specs(&catalog, &self.inner.node, ks, &parsed)?;
        let (result, pk_indexes) = match &parsed.statement {
            Statement::Select(sel) => {
                let (keyspace, table) = names(ks, &sel.table)?;
                if VIRTUAL_KEYSPACES.contains(&keyspace.as_str()) {
                    let (sys_specs, _) =
                        system_rows(&catalog, &self.inner.node, &keyspace, &table)?;
                    (
                        system_query::result_specs(&sys_specs, &sel.selection)?,
                        Vec::new(),
                    )
                } else {
                    let t = resolve(&catalog, ks, &sel.table)?;
                    (
                        select::result_specs(&t, &sel.selection)?,
                        pk_indexes(&t, &specs),
                    )
                }
            }
            Statement::Insert(i) => (
                Vec::new(),
                pk_indexes(resolve(&catalog, ks, &i.table)?.as_ref(), &specs),
            ),
            Statement::Update(u) => (
                Vec::new(),
                pk_indexes(resolve(&catalog, ks, &u.table)?.as_ref(), &specs),
            ),
            Statement::Delete(d) => (
                Vec::new(),
                pk_indexes(resolve(&catalog, ks, &d.table)?.as_ref(), &specs),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let id = statement_id(ks, cql);
        let prepared = Arc::new(Prepared {
            parsed,
            keyspace: s.keyspace.clone(),
            specs: specs.clone(),
        });
        {
            let mut cache = self
                .inner
                .prepared
                .write()
                .unwrap_or_else(|e| e.into_inner());
            if cache.len() >= MAX_PREPARED && !cache.contains_key(&id) {
                if let Some(k) = cache.keys().next().copied() {
                    cache.remove(&k);
                }
            }
            cache.insert(id, prepared);
        }
        Ok(PreparedResult {
            id: Bytes::copy_from_slice(&id),
            bind: specs,
            pk_indexes,
            result,
        })
    }

    fn prepared(&self, id: &[u8]) -> Result<Arc<Prepared>, CqlError> {
        let key: Option<[u8; 16]> = id.try_into().ok();
        let cache = self
            .inner
            .prepared
            .read()
            .unwrap_or_else(|e| e.into_inner());
        key.and_then(|k| cache.get(&k).cloned()).ok_or_else(|| {
            CqlError::new(
                ErrorKind::Unprepared {
                    id: Bytes::copy_from_slice(id),
                },
                format!("Prepared query with ID {} not found", hex(id)),
            )
        })
    }

    /// EXECUTE of a prepared statement.
    pub async fn execute(
        &self,
        s: &mut Session,
        id: &[u8],
        p: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        self.execute_answer(s, id, p).await.map(Answer::into_result)
    }

    /// EXECUTE, with shared rows left shared (see [`CqlEngine::query_answer`]).
    pub async fn execute_answer(
        &self,
        s: &mut Session,
        id: &[u8],
        p: QueryParams,
    ) -> Result<Answer, CqlError> {
        let prepared = self.prepared(id)?;
        let run = Run {
            values: &p.values,
            names: p.names.as_deref(),
            page_size: p.page_size,
            paging_state: p.paging_state.as_ref(),
            timestamp: p.timestamp,
        };
        let ks = prepared.keyspace.clone().or_else(|| s.keyspace.clone());
        let store = self.hot_store();
        self.run_answer(
            &store,
            s,
            &prepared.parsed,
            ks.as_deref(),
            Some(&prepared.specs),
            &run,
        )
        .await
    }

    /// BATCH: every statement's mutations are applied together.
    pub async fn batch(&self, s: &mut Session, b: Batch) -> Result<QueryResult, CqlError> {
        let store = self.hot_store();
        self.run_batch(&store, s, &b).await
    }

    /// Runs one statement on the calling thread, for embedders outside an async runtime.
    /// Values bind to the markers in order. Like the `Db`'s blocking calls it also works on a
    /// tokio runtime thread, holding it for the wait (async code should prefer
    /// [`CqlEngine::query`]).
    pub fn execute_blocking(
        &self,
        s: &mut Session,
        cql: &str,
        values: &[Value],
    ) -> Result<QueryResult, CqlError> {
        let parsed = parse(cql)?;
        let values: Vec<BoundValue> = values
            .iter()
            .map(|v| BoundValue::Value(v.serialize()))
            .collect();
        let run = Run {
            values: &values,
            names: None,
            page_size: None,
            paging_state: None,
            timestamp: None,
        };
        let ks = s.keyspace.clone();
        let store = self.blocking_store();
        block_on(self.run(&store, s, &parsed, ks.as_deref(), None, &run))
    }

    /// Like [`CqlEngine::execute_blocking`] with full query parameters (nulls, unset,
    /// paging), for embedders and tests.
    pub fn query_blocking(
        &self,
        s: &mut Session,
        cql: &str,
        p: QueryParams,
    ) -> Result<QueryResult, CqlError> {
        let parsed = parse(cql)?;
        let run = Run {
            values: &p.values,
            names: p.names.as_deref(),
            page_size: p.page_size,
            paging_state: p.paging_state.as_ref(),
            timestamp: p.timestamp,
        };
        let ks = s.keyspace.clone();
        let store = self.blocking_store();
        block_on(self.run(&store, s, &parsed, ks.as_deref(), None, &run))
    }

    async fn run<S: Store>(
        &self,
        store: &S,
        session: &mut Session,
        parsed: &Parsed,
        ks: Option<&str>,
        specs: Option<&[ColumnSpec]>,
        run: &Run<'_>,
    ) -> Result<QueryResult, CqlError> {
        self.run_answer(store, session, parsed, ks, specs, run)
            .await
            .map(Answer::into_result)
    }

    /// Runs one statement; a SELECT's rows may come back shared with its coalesced copies.
    async fn run_answer<S: Store>(
        &self,
        store: &S,
        session: &mut Session,
        parsed: &Parsed,
        ks: Option<&str>,
        specs: Option<&[ColumnSpec]>,
        run: &Run<'_>,
    ) -> Result<Answer, CqlError> {
        let db = store.db();
        let catalog = db.catalog();
        let computed;
        let specs = match specs {
            Some(s) => s,
            None if parsed.markers.is_empty() => &[][..],
            None => {
                computed = marker_specs(&catalog, &self.inner.node, ks, parsed)?;
                &computed[..]
            }
        };
        let binder = Binder {
            values: run.values,
            names: run.names,
            specs,
        };
        binder.check_count()?;
        if let Statement::Select(sel) = &parsed.statement {
            return self.select(store, &catalog, ks, sel, &binder, run).await;
        }
        self.run_bound(store, session, parsed, ks, &catalog, &binder, run)
            .await
            .map(Answer::Result)
    }

    /// Runs a SELECT once its values are bound.
    async fn select<S: Store>(
        &self,
        store: &S,
        catalog: &Catalog,
        ks: Option<&str>,
        sel: &crate::cql::ast::Select,
        binder: &Binder<'_>,
        run: &Run<'_>,
    ) -> Result<Answer, CqlError> {
        let (keyspace, table) = names(ks, &sel.table)?;
        if VIRTUAL_KEYSPACES.contains(&keyspace.as_str()) {
            let (sys_specs, rows) = system_rows(catalog, &self.inner.node, &keyspace, &table)?;
            let r = system_query::select(
                sys_specs,
                rows,
                sel,
                binder,
                run.page_size,
                run.paging_state,
            )?;
            return Ok(Answer::Result(QueryResult::Rows(r)));
        }
        let t = resolve(catalog, ks, &sel.table)?;
        let plan = select::plan(t, sel, binder)?;
        let now = crate::storage::clock::now_secs();
        plan.run(store, run.page_size, run.paging_state, now).await
    }

    /// Runs any statement but SELECT once its values are bound.
    #[allow(clippy::too_many_arguments)]
    async fn run_bound<S: Store>(
        &self,
        store: &S,
        session: &mut Session,
        parsed: &Parsed,
        ks: Option<&str>,
        catalog: &Catalog,
        binder: &Binder<'_>,
        run: &Run<'_>,
    ) -> Result<QueryResult, CqlError> {
        let clock = || WriteClock {
            timestamp: run.timestamp.unwrap_or_else(|| self.next_timestamp()),
            now_secs: crate::storage::clock::now_secs(),
        };
        match &parsed.statement {
            Statement::Use(name) => {
                if catalog.keyspace(name).is_none() && !VIRTUAL_KEYSPACES.contains(&name.as_str()) {
                    return Err(CqlError::invalid(format!(
                        "Keyspace '{name}' does not exist"
                    )));
                }
                session.keyspace = Some(name.clone());
                Ok(QueryResult::SetKeyspace(name.clone()))
            }
            Statement::CreateKeyspace(k) => {
                let def = ddl::keyspace_def(k)?;
                let ine = k.if_not_exists;
                let created = store.ddl(move |db| db.create_keyspace(def, ine)).await?;
                Ok(schema_change(
                    created,
                    SchemaChangeKind::Created,
                    &k.name,
                    None,
                ))
            }
            Statement::DropKeyspace { name, if_exists } => {
                ddl::check_user_keyspace(name)?;
                if catalog.keyspace(name).is_none() {
                    if *if_exists {
                        return Ok(QueryResult::Void);
                    }
                    return Err(CqlError::new(
                        ErrorKind::Config,
                        format!("Cannot drop non existing keyspace '{name}'."),
                    ));
                }
                let (n, ie) = (name.clone(), *if_exists);
                store.ddl(move |db| db.drop_keyspace(&n, ie)).await?;
                Ok(schema_change(true, SchemaChangeKind::Dropped, name, None))
            }
            Statement::CreateTable(c) => {
                let (keyspace, _) = names(ks, &c.name)?;
                if catalog.keyspace(&keyspace).is_none() {
                    ddl::check_user_keyspace(&keyspace)?;
                    return Err(CqlError::invalid(format!(
                        "Keyspace '{keyspace}' does not exist"
                    )));
                }
                let schema = ddl::table_schema(&keyspace, c)?;
                let ine = c.if_not_exists;
                let created = store.ddl(move |db| db.create_table(schema, ine)).await?;
                Ok(schema_change(
                    created,
                    SchemaChangeKind::Created,
                    &keyspace,
                    Some(&c.name.name),
                ))
            }
            Statement::DropTable { name, if_exists } => {
                let (keyspace, table) = names(ks, name)?;
                ddl::check_user_keyspace(&keyspace)?;
                if catalog.table(&keyspace, &table).is_none() {
                    if *if_exists {
                        return Ok(QueryResult::Void);
                    }
                    return Err(resolve(catalog, ks, name).err().unwrap_or_else(|| {
                        CqlError::invalid(format!("unconfigured table {table}"))
                    }));
                }
                let (k, n, ie) = (keyspace.clone(), table.clone(), *if_exists);
                store.ddl(move |db| db.drop_table(&k, &n, ie)).await?;
                Ok(schema_change(
                    true,
                    SchemaChangeKind::Dropped,
                    &keyspace,
                    Some(&table),
                ))
            }
            Statement::Truncate(name) => {
                let t = resolve_user(catalog, ks, name)?;
                store
                    .ddl(move |db| db.truncate(&t.keyspace, &t.name))
                    .await?;
                Ok(QueryResult::Void)
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                let muts = mutations(catalog, ks, &parsed.statement, binder, clock())?;
                store.apply(muts).await?;
                Ok(QueryResult::Void)
            }
            Statement::Batch(b) => {
                if b.kind == crate::cql::ast::BatchType::Counter {
                    return Err(CqlError::invalid(
                        "Counter batches are not supported by scrolldb",
                    ));
                }
                let mut c = clock();
                if let Some(ts) = &b.using.timestamp {
                    if let Some(v) = binder.optional_i64(
                        Some(ts),
                        &crate::storage::types::CqlType::BigInt,
                        "[timestamp]",
                    )? {
                        c.timestamp = v;
                    }
                }
                let mut all = Vec::new();
                for st in &b.statements {
                    if b.using.timestamp.is_some() && statement_has_timestamp(st) {
                        return Err(CqlError::invalid(
                            "Timestamp must be set either on BATCH or individual statements",
                        ));
                    }
                    all.extend(mutations(catalog, ks, st, binder, c)?);
                }
                store.apply(all).await?;
                Ok(QueryResult::Void)
            }
            Statement::Select(_) => Err(CqlError::server(
                "a SELECT reached the path for other statements",
            )),
        }
    }

    async fn run_batch<S: Store>(
        &self,
        store: &S,
        s: &mut Session,
        b: &Batch,
    ) -> Result<QueryResult, CqlError> {
        if b.kind == BatchKind::Counter {
            return Err(CqlError::invalid(
                "Counter batches are not supported by scrolldb",
            ));
        }
        let catalog = store.db().catalog();
        let clock = WriteClock {
            timestamp: b.timestamp.unwrap_or_else(|| self.next_timestamp()),
            now_secs: crate::storage::clock::now_secs(),
        };
        let mut all = Vec::new();
        for st in &b.statements {
            let (prepared, values) = match st {
                BatchStatement::Query { cql, values } => {
                    let parsed = parse(cql)?;
                    let specs = marker_specs(&catalog, &self.inner.node, s.keyspace(), &parsed)?;
                    (
                        Arc::new(Prepared {
                            parsed,
                            keyspace: s.keyspace.clone(),
                            specs,
                        }),
                        values,
                    )
                }
                BatchStatement::Prepared { id, values } => (self.prepared(id)?, values),
            };
            if !matches!(
                prepared.parsed.statement,
                Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
            ) {
                return Err(CqlError::invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                ));
            }
            let binder = Binder {
                values,
                names: None,
                specs: &prepared.specs,
            };
            binder.check_count()?;
            let ks = prepared.keyspace.as_deref().or(s.keyspace());
            all.extend(mutations(
                &catalog,
                ks,
                &prepared.parsed.statement,
                &binder,
                clock,
            )?);
        }
        store.apply(all).await?;
        Ok(QueryResult::Void)
    }
}

fn schema_change(
    changed: bool,
    kind: SchemaChangeKind,
    keyspace: &str,
    table: Option<&str>,
) -> QueryResult {
    if !changed {
        return QueryResult::Void;
    }
    let target = match table {
        None => SchemaChangeTarget::Keyspace {
            keyspace: keyspace.to_string(),
        },
        Some(t) => SchemaChangeTarget::Table {
            keyspace: keyspace.to_string(),
            table: t.to_string(),
        },
    };
    QueryResult::SchemaChange(SchemaChange { kind, target })
}

/// The mutations of one INSERT, UPDATE or DELETE.
fn mutations(
    catalog: &Catalog,
    ks: Option<&str>,
    st: &Statement,
    b: &Binder<'_>,
    clock: WriteClock,
) -> Result<Vec<Mutation>, CqlError> {
    match st {
        Statement::Insert(i) => {
            write::insert(resolve_user(catalog, ks, &i.table)?.as_ref(), i, b, clock)
        }
        Statement::Update(u) => {
            write::update(resolve_user(catalog, ks, &u.table)?.as_ref(), u, b, clock)
        }
        Statement::Delete(d) => {
            write::delete(resolve_user(catalog, ks, &d.table)?.as_ref(), d, b, clock)
        }
        _ => Err(CqlError::invalid("Only INSERT, UPDATE and DELETE write")),
    }
}

fn statement_has_timestamp(st: &Statement) -> bool {
    match st {
        Statement::Insert(i) => i.using.timestamp.is_some(),
        Statement::Update(u) => u.using.timestamp.is_some(),
        Statement::Delete(d) => d.using.timestamp.is_some(),
        _ => false,
    }
}

/// A stable 16-byte id of a statement text in a keyspace.
fn statement_id(ks: Option<&str>, cql: &str) -> [u8; 16] {
    let mut data = Vec::with_capacity(cql.len() + 32);
    data.extend_from_slice(ks.unwrap_or("").as_bytes());
    data.push(0);
    data.extend_from_slice(cql.as_bytes());
    let (a, b) = crate::storage::token::murmur3_x64_128(&data);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&a.to_be_bytes());
    id[8..].copy_from_slice(&b.to_be_bytes());
    id
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod shared_page_tests;
