//! SELECT on user tables: planning (which columns, which partitions and slices, which
//! direction) and execution in pages. One partition is a `read` (reverse when ORDER BY is
//! against the clustering order), IN is several reads in order, and no partition key is a
//! token-ordered `scan`.

mod shared;

use super::bind::{column, Binder};
use super::paging::PagingState;
use super::restrict::{analyze, KeyRestrictions};
use super::store::Store;
use crate::catalog::{ColumnKind, TableSchema};
use crate::cql::ast::{Select, Selection, SelectorKind};
use crate::cql::result::{Answer, ColumnSpec, CqlError, QueryResult, RowsResult};
use crate::storage::engine::{ScanPosition, ScanQuery};
use crate::storage::model::{
    Bound as SBound, ColumnFilter, ColumnId, DecoratedKey, Direction, ReadQuery, Row, Slice,
};
use crate::storage::types::{decode_clustering, split_partition_key, CqlType, Value};
use bytes::Bytes;
use std::sync::Arc;

/// Rows per storage request of a scan, and per internal page of COUNT(*).
const SCAN_BATCH_ROWS: usize = 1000;
const SCAN_MAX_PARTITIONS: usize = 1000;
const COUNT_BATCH_ROWS: usize = 10_000;

/// Where a result column's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Output {
    PartitionKey(usize),
    Clustering(usize),
    Cell(ColumnId),
    WriteTime(ColumnId),
    Token,
    Ttl(ColumnId),
}

pub(crate) struct SelectPlan {
    table: Arc<TableSchema>,
    outputs: Vec<Output>,
    pub specs: Vec<ColumnSpec>,
    count: Option<ColumnSpec>,
    restrictions: KeyRestrictions,
    slices: Vec<Slice>,
    reversed: bool,
    /// ORDER BY across several partitions: rows must be merged by clustering key.
    merge_partitions: bool,
    limit: Option<u64>,
    per_partition_limit: Option<u64>,
}

fn spec(t: &TableSchema, name: &str, ty: CqlType) -> ColumnSpec {
    ColumnSpec {
        keyspace: t.keyspace.clone(),
        table: t.name.clone(),
        name: name.to_string(),
        ty,
    }
}

/// The result columns of a selection (also what PREPARE reports).
pub(crate) fn result_specs(t: &TableSchema, sel: &Selection) -> Result<Vec<ColumnSpec>, CqlError> {
    Ok(outputs(t, sel)?.1)
}

fn outputs(t: &TableSchema, sel: &Selection) -> Result<(Vec<Output>, Vec<ColumnSpec>), CqlError> {
    let mut outs = Vec::new();
    let mut specs = Vec::new();
    let source = |name: &str| -> Result<(Output, CqlType), CqlError> {
        let c = column(t, name)?;
        Ok(match c.kind {
            ColumnKind::PartitionKey { position } => {
                (Output::PartitionKey(usize::from(position)), c.ty.clone())
            }
            ColumnKind::Clustering { position, .. } => {
                (Output::Clustering(usize::from(position)), c.ty.clone())
            }
            ColumnKind::Regular => (Output::Cell(c.id), c.ty.clone()),
        })
    };
    match sel {
        Selection::Count(alias) => {
            specs.push(spec(
                t,
                alias.as_deref().unwrap_or("count"),
                CqlType::BigInt,
            ));
        }
        Selection::Star => {
            for c in &t.columns {
                let (o, ty) = source(&c.name)?;
                outs.push(o);
                specs.push(spec(t, &c.name, ty));
            }
        }
        Selection::Columns(items) => {
            for s in items {
                let (o, name, ty) = match &s.kind {
                    SelectorKind::Column(c) => {
                        let (o, ty) = source(c)?;
                        (o, c.clone(), ty)
                    }
                    SelectorKind::Token(cols) => {
                        let names: Vec<&str> = t.partition_key().map(|c| c.name.as_str()).collect();
                        if cols.iter().map(String::as_str).ne(names.iter().copied()) {
                            return Err(CqlError::invalid(format!(
                                "The token function arguments must be in the partition key order: {}",
                                names.join(", ")
                            )));
                        }
                        (
                            Output::Token,
                            format!("system.token({})", names.join(", ")),
                            CqlType::BigInt,
                        )
                    }
                    SelectorKind::WriteTime(c) | SelectorKind::Ttl(c) => {
                        let ttl = matches!(s.kind, SelectorKind::Ttl(_));
                        let func = if ttl { "ttl" } else { "writetime" };
                        let col = column(t, c)?;
                        if col.kind != ColumnKind::Regular {
                            return Err(CqlError::invalid(format!(
                                "Cannot use selection function {func} on PRIMARY KEY part {c}"
                            )));
                        }
                        if !col.ty.is_frozen() {
                            return Err(CqlError::invalid(format!(
                                "Cannot use selection function {func} on non-frozen collection {c}"
                            )));
                        }
                        if ttl {
                            (Output::Ttl(col.id), format!("ttl({c})"), CqlType::Int)
                        } else {
                            (
                                Output::WriteTime(col.id),
                                format!("writetime({c})"),
                                CqlType::BigInt,
                            )
                        }
                    }
                };
                outs.push(o);
                specs.push(spec(t, s.alias.as_deref().unwrap_or(&name), ty));
            }
        }
    }
    Ok((outs, specs))
}

fn positive_limit(
    b: &Binder<'_>,
    term: Option<&crate::cql::ast::Term>,
    what: &str,
) -> Result<Option<u64>, CqlError> {
    match b.optional_i64(term, &CqlType::Int, what)? {
        None => Ok(None),
        Some(v) if v <= 0 => Err(CqlError::invalid(format!(
            "{} must be strictly positive",
            what.trim_matches(['[', ']'])
                .to_ascii_uppercase()
                .replace('_', " ")
        ))),
        Some(v) => Ok(Some(v as u64)),
    }
}

/// Whether ORDER BY asks for the reverse of the clustering order (and is valid).
fn reversed(
    t: &TableSchema,
    order_by: &[(String, bool)],
    r: &KeyRestrictions,
) -> Result<bool, CqlError> {
    if order_by.is_empty() {
        return Ok(false);
    }
    if r.partitions.is_none() {
        return Err(CqlError::invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let ck: Vec<_> = t.clustering().collect();
    let mut rev = None;
    for (i, (name, desc)) in order_by.iter().enumerate() {
        let col = column(t, name)?;
        let ColumnKind::Clustering { position, order } = col.kind else {
            return Err(CqlError::invalid(format!(
                "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {name}"
            )));
        };
        if usize::from(position) != i || ck.get(i).is_none() {
            return Err(CqlError::invalid(
                "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
            ));
        }
        let this = *desc != (order == crate::storage::types::Order::Desc);
        if rev.is_some_and(|r| r != this) {
            return Err(CqlError::invalid("Unsupported order by relation"));
        }
        rev = Some(this);
    }
    Ok(rev.unwrap_or(false))
}

pub(crate) fn plan(
    t: Arc<TableSchema>,
    s: &Select,
    b: &Binder<'_>,
) -> Result<SelectPlan, CqlError> {
    let (outputs, specs) = outputs(&t, &s.selection)?;
    let restrictions = analyze(&t, &s.relations, b, s.allow_filtering)?;
    if restrictions.partitions.is_none() && restrictions.has_clustering {
        return Err(CqlError::invalid(if s.allow_filtering {
            "scrolldb does not filter: restrict the partition key to restrict clustering columns"
                .to_string()
        } else {
            "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING".to_string()
        }));
    }
    let reversed = reversed(&t, &s.order_by, &restrictions)?;
    let merge_partitions = !s.order_by.is_empty()
        && restrictions
            .partitions
            .as_ref()
            .is_some_and(|p| p.len() > 1);
    let slices = restrictions.slices(&t)?;
    let count = match s.selection {
        Selection::Count(_) => specs.first().cloned(),
        _ => None,
    };
    Ok(SelectPlan {
        limit: positive_limit(b, s.limit.as_ref(), "[limit]")?,
        per_partition_limit: positive_limit(
            b,
            s.per_partition_limit.as_ref(),
            "[per_partition_limit]",
        )?,
        table: t,
        outputs,
        specs,
        count,
        restrictions,
        slices,
        reversed,
        merge_partitions,
    })
}

/// The slices left to read in a partition after the row `after` (already returned).
fn resume_slices(slices: &[Slice], after: &Bytes, reversed: bool) -> Vec<Slice> {
    let mut out = Vec::new();
    for s in slices {
        if !reversed {
            if !s.before_end(after) {
                continue;
            }
            if s.after_start(after) {
                out.push(Slice::new(SBound::Excluded(after.clone()), s.end.clone()));
            } else {
                out.push(s.clone());
            }
        } else {
            if !s.after_start(after) {
                continue;
            }
            if s.before_end(after) {
                out.push(Slice::new(s.start.clone(), SBound::Excluded(after.clone())));
            } else {
                out.push(s.clone());
            }
        }
    }
    out
}

/// Rows of one fetch, and where the next one resumes (`None`: done).
struct Fetched {
    rows: Vec<(Bytes, Row)>,
    next: Option<PagingState>,
}

impl SelectPlan {
    fn direction(&self) -> Direction {
        if self.reversed {
            Direction::Reverse
        } else {
            Direction::Forward
        }
    }

    /// Reads up to `max_rows` rows (further bounded by what is left of LIMIT).
    async fn fetch<S: Store>(
        &self,
        store: &S,
        state: Option<PagingState>,
        max_rows: usize,
        now: i64,
    ) -> Result<Fetched, CqlError> {
        let limit_left = match &state {
            Some(s) => s.limit_left,
            None => self.limit,
        };
        let want = limit_left.map_or(max_rows, |l| (l.min(max_rows as u64)) as usize);
        let mut f = match &self.restrictions.partitions {
            Some(keys) => self.fetch_partitions(store, keys, state, want, now).await?,
            None => self.fetch_scan(store, state, want, now).await?,
        };
        if let Some(next) = &mut f.next {
            next.limit_left = limit_left.map(|l| l.saturating_sub(f.rows.len() as u64));
            if next.limit_left == Some(0) {
                f.next = None;
            }
        }
        Ok(f)
    }

    async fn fetch_partitions<S: Store>(
        &self,
        store: &S,
        keys: &[Bytes],
        state: Option<PagingState>,
        want: usize,
        now: i64,
    ) -> Result<Fetched, CqlError> {
        let mut rows: Vec<(Bytes, Row)> = Vec::new();
        let start = match &state {
            Some(s) => keys
                .iter()
                .position(|k| *k == s.partition_key)
                .ok_or_else(|| {
                    CqlError::new(
                        crate::cql::result::ErrorKind::Protocol,
                        "Invalid paging state",
                    )
                })?,
            None => 0,
        };
        for (i, key) in keys.iter().enumerate().skip(start) {
            let resumed = state.as_ref().filter(|_| i == start);
            let mut pp_left = match resumed {
                Some(s) => s.partition_limit_left,
                None => self.per_partition_limit,
            };
            if self.merge_partitions {
                // Rows are merged across partitions afterwards: no partition can give more
                // than LIMIT rows to the result.
                pp_left = match (pp_left, self.limit) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            let slices = match resumed.and_then(|s| s.clustering.as_ref()) {
                Some(after) => resume_slices(&self.slices, after, self.reversed),
                None => self.slices.clone(),
            };
            let ordered: Vec<&Slice> = if self.reversed {
                slices.iter().rev().collect()
            } else {
                slices.iter().collect()
            };
            for slice in ordered {
                let n = (want - rows.len()).min(pp_left.map_or(usize::MAX, |p| p as usize));
                if n == 0 {
                    break;
                }
                let q = ReadQuery {
                    table: self.table.id,
                    partition_key: key.clone(),
                    slice: slice.clone(),
                    direction: self.direction(),
                    limit: Some(n),
                    columns: ColumnFilter::All,
                    now,
                };
                let result = store.read(q).await?;
                for row in result.rows.into_iter().filter(|r| r.is_live(now)).take(n) {
                    rows.push((key.clone(), row));
                    pp_left = pp_left.map(|p| p.saturating_sub(1));
                }
            }
            if rows.len() >= want && !self.merge_partitions {
                let next = rows.last().map(|(k, r)| PagingState {
                    partition_key: k.clone(),
                    clustering: Some(r.clustering.clone()),
                    limit_left: None,
                    partition_limit_left: pp_left,
                });
                return Ok(Fetched { rows, next });
            }
        }
        Ok(Fetched { rows, next: None })
    }

    async fn fetch_scan<S: Store>(
        &self,
        store: &S,
        state: Option<PagingState>,
        want: usize,
        now: i64,
    ) -> Result<Fetched, CqlError> {
        let mut rows: Vec<(Bytes, Row)> = Vec::new();
        let r = &self.restrictions;
        if r.token_empty || matches!((r.token_start, r.token_end), (Some(s), Some(e)) if s >= e) {
            return Ok(Fetched { rows, next: None });
        }
        let mut cur_key: Option<Bytes> = state.as_ref().map(|s| s.partition_key.clone());
        let mut pp_left = state.as_ref().and_then(|s| s.partition_limit_left);
        let mut resume = state.map(|s| ScanPosition {
            key: DecoratedKey::new(s.partition_key),
            after_clustering: s.clustering,
        });
        loop {
            let q = ScanQuery {
                table: self.table.id,
                start_token: r.token_start,
                end_token: r.token_end,
                resume: resume.take(),
                page_rows: (want - rows.len()).clamp(1, SCAN_BATCH_ROWS),
                max_partitions: SCAN_MAX_PARTITIONS,
                columns: ColumnFilter::All,
                now,
            };
            let page = store.scan(q).await?;
            for (key, prows) in page.partitions {
                if cur_key.as_ref() != Some(&key) {
                    cur_key = Some(key.clone());
                    pp_left = self.per_partition_limit;
                }
                for row in prows {
                    if pp_left == Some(0) {
                        break;
                    }
                    if !row.is_live(now) {
                        continue;
                    }
                    pp_left = pp_left.map(|p| p - 1);
                    rows.push((key.clone(), row));
                    if rows.len() >= want {
                        let next = rows.last().map(|(k, r)| PagingState {
                            partition_key: k.clone(),
                            clustering: Some(r.clustering.clone()),
                            limit_left: None,
                            partition_limit_left: pp_left,
                        });
                        return Ok(Fetched { rows, next });
                    }
                }
            }
            match page.resume {
                Some(p) => resume = Some(p),
                None => return Ok(Fetched { rows, next: None }),
            }
        }
    }

    /// Runs the query for one page of a client. A page that one storage read answers is
    /// shared with the copies of the same request that read with it ([`shared`]).
    pub(crate) async fn run<S: Store>(
        &self,
        store: &S,
        page_size: Option<i32>,
        paging: Option<&Bytes>,
        now: i64,
    ) -> Result<Answer, CqlError> {
        let owned = |r: RowsResult| Answer::Result(QueryResult::Rows(r));
        let state = paging.map(|p| PagingState::decode(p)).transpose()?;
        if let Some(count_spec) = &self.count {
            return self.count(store, count_spec.clone(), now).await.map(owned);
        }
        let page = page_size.filter(|p| *p > 0).map(|p| p as usize);
        if self.merge_partitions {
            if page.is_some() {
                // Cassandra refuses the same: it cannot page a merge of partitions.
                let total = self.limit.unwrap_or(u64::MAX);
                if total > page.unwrap_or(0) as u64 {
                    return Err(CqlError::invalid(
                        "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query",
                    ));
                }
            }
            let keys = self.restrictions.partitions.as_deref().unwrap_or(&[]);
            let mut rows = self
                .fetch_partitions(store, keys, None, usize::MAX, now)
                .await?
                .rows;
            rows.sort_by(|a, b| {
                let o = a.1.clustering.cmp(&b.1.clustering);
                if self.reversed {
                    o.reverse()
                } else {
                    o
                }
            });
            if let Some(l) = self.limit {
                rows.truncate(l as usize);
            }
            return self.result(rows, None, now).map(owned);
        }
        if let Some(answer) = self
            .run_single_read(store, state.as_ref(), page, now)
            .await?
        {
            return Ok(answer);
        }
        let f = self
            .fetch(store, state, page.unwrap_or(usize::MAX), now)
            .await?;
        self.result(f.rows, f.next.map(|n| n.encode()), now)
            .map(owned)
    }

    async fn count<S: Store>(
        &self,
        store: &S,
        spec: ColumnSpec,
        now: i64,
    ) -> Result<RowsResult, CqlError> {
        let mut total: i64 = 0;
        let mut state = None;
        loop {
            let f = self.fetch(store, state, COUNT_BATCH_ROWS, now).await?;
            total += f.rows.len() as i64;
            match f.next {
                Some(n) => state = Some(n),
                None => break,
            }
        }
        Ok(RowsResult {
            columns: vec![spec],
            rows: vec![vec![Some(Value::BigInt(total).serialize())]],
            paging_state: None,
        })
    }

    fn result(
        &self,
        rows: Vec<(Bytes, Row)>,
        paging_state: Option<Bytes>,
        now: i64,
    ) -> Result<RowsResult, CqlError> {
        let t = &self.table;
        let pk_n = t.partition_key().count();
        let types = t.clustering_types();
        let needs_ck = self
            .outputs
            .iter()
            .any(|o| matches!(o, Output::Clustering(_)));
        let mut out = Vec::with_capacity(rows.len());
        for (key, row) in rows {
            let pk =
                split_partition_key(&key, pk_n).map_err(|e| CqlError::server(e.to_string()))?;
            let ck: Vec<Bytes> = if needs_ck {
                decode_clustering(&types, &row.clustering)
                    .map_err(|e| CqlError::server(e.to_string()))?
                    .iter()
                    .map(Value::serialize)
                    .collect()
            } else {
                Vec::new()
            };
            let cell = |id: ColumnId| {
                row.cells
                    .binary_search_by_key(&id, |(c, _)| *c)
                    .ok()
                    .and_then(|i| row.cells.get(i))
                    .map(|(_, c)| c)
                    .filter(|c| c.is_live(now))
            };
            let values = self
                .outputs
                .iter()
                .map(|o| match o {
                    Output::PartitionKey(i) => pk.get(*i).cloned(),
                    Output::Clustering(i) => ck.get(*i).cloned(),
                    Output::Cell(id) => cell(*id).and_then(|c| c.bytes().cloned()),
                    Output::Token => {
                        Some(Value::BigInt(crate::storage::token::token_of(&key)).serialize())
                    }
                    Output::WriteTime(id) => {
                        cell(*id).map(|c| Value::BigInt(c.timestamp).serialize())
                    }
                    Output::Ttl(id) => cell(*id)
                        .and_then(|c| c.ttl_remaining(now))
                        .map(|s| Value::Int(s.clamp(0, i64::from(i32::MAX)) as i32).serialize()),
                })
                .collect();
            out.push(values);
        }
        Ok(RowsResult {
            columns: self.specs.clone(),
            rows: out,
            paging_state,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn resume_skips_finished_slices_and_clamps_the_current_one() {
        let slices = vec![
            Slice::new(SBound::Included(b(b"a")), SBound::Included(b(b"b"))),
            Slice::new(SBound::Included(b(b"d")), SBound::Included(b(b"f"))),
            Slice::new(SBound::Included(b(b"x")), SBound::Unbounded),
        ];
        let fwd = resume_slices(&slices, &b(b"e1"), false);
        assert_eq!(fwd.len(), 2);
        assert_eq!(fwd[0].start, SBound::Excluded(b(b"e1")));
        assert_eq!(fwd[1], slices[2]);
        let rev = resume_slices(&slices, &b(b"e1"), true);
        assert_eq!(rev.len(), 2);
        assert_eq!(rev[0], slices[0]);
        assert_eq!(rev[1].end, SBound::Excluded(b(b"e1")));
    }
}
