//! SELECT on the virtual tables of `system` and `system_schema`: the rows come whole from
//! `crate::cql::system`; here we apply what drivers send (`WHERE keyspace_name = ? [AND
//! table_name = ?]`, a column list, COUNT(*), LIMIT) and page by row offset.

use super::bind::Binder;
use super::paging::PagingState;
use crate::cql::ast::{Lhs, Op, Rhs, Select, Selection, SelectorKind};
use crate::cql::result::{ColumnSpec, CqlError, RowsResult};
use crate::storage::types::{CqlType, Value};
use bytes::Bytes;

/// The keyspaces whose tables are virtual.
pub const VIRTUAL_KEYSPACES: &[&str] = &["system", "system_schema"];

type Rows = Vec<Vec<Option<Bytes>>>;

fn position(specs: &[ColumnSpec], name: &str) -> Result<usize, CqlError> {
    specs
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| CqlError::invalid(format!("Undefined column name {name}")))
}

/// The specs of a marker in a system table query, for PREPARE.
pub(crate) fn marker_specs(
    specs: &[ColumnSpec],
    s: &Select,
    markers: usize,
) -> Result<Vec<ColumnSpec>, CqlError> {
    let mut out: Vec<Option<ColumnSpec>> = vec![None; markers];
    let mut put = |t: &crate::cql::ast::Term, spec: ColumnSpec| {
        if let crate::cql::ast::Term::Marker(m) = t {
            if let Some(slot) = out.get_mut(m.index) {
                *slot = Some(spec);
            }
        }
    };
    for r in &s.relations {
        let Lhs::Column(c) = &r.lhs else {
            return Err(CqlError::invalid(
                "token() is not supported on system tables",
            ));
        };
        let spec = specs[position(specs, c)?].clone();
        match &r.rhs {
            Rhs::Term(t) => put(t, spec),
            Rhs::List(items) => items.iter().for_each(|t| put(t, spec.clone())),
        }
    }
    if let (Some(l), Some(first)) = (&s.limit, specs.first()) {
        put(
            l,
            ColumnSpec {
                name: "[limit]".into(),
                ty: CqlType::Int,
                ..first.clone()
            },
        );
    }
    out.into_iter()
        .map(|s| {
            s.ok_or_else(|| {
                CqlError::invalid("A bind marker is used where scrolldb cannot tell its type")
            })
        })
        .collect()
}

/// The result columns of a selection on a system table.
pub(crate) fn result_specs(
    specs: &[ColumnSpec],
    sel: &Selection,
) -> Result<Vec<ColumnSpec>, CqlError> {
    Ok(match sel {
        Selection::Star => specs.to_vec(),
        Selection::Count(alias) => {
            let base = specs
                .first()
                .cloned()
                .ok_or_else(|| CqlError::server("system table without columns"))?;
            vec![ColumnSpec {
                name: alias.clone().unwrap_or_else(|| "count".into()),
                ty: CqlType::BigInt,
                ..base
            }]
        }
        Selection::Columns(items) => items
            .iter()
            .map(|it| match &it.kind {
                SelectorKind::Column(c) => {
                    let mut s = specs[position(specs, c)?].clone();
                    if let Some(a) = &it.alias {
                        s.name = a.clone();
                    }
                    Ok(s)
                }
                _ => Err(CqlError::invalid(
                    "writetime() and ttl() are not supported on system tables",
                )),
            })
            .collect::<Result<_, _>>()?,
    })
}

pub(crate) fn select(
    specs: Vec<ColumnSpec>,
    rows: Rows,
    s: &Select,
    b: &Binder<'_>,
    page_size: Option<i32>,
    paging: Option<&Bytes>,
) -> Result<RowsResult, CqlError> {
    // WHERE: equality (or IN) on any column, compared on serialized values.
    let mut filters: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for r in &s.relations {
        let Lhs::Column(c) = &r.lhs else {
            return Err(CqlError::invalid(
                "token() is not supported on system tables",
            ));
        };
        let i = position(&specs, c)?;
        let ty = &specs[i].ty;
        let what = format!("column {c}");
        let values: Vec<Value> = match (r.op, &r.rhs) {
            (Op::Eq, Rhs::Term(t)) => vec![b.required(t, ty, &what)?],
            (Op::In, Rhs::List(items)) => items
                .iter()
                .map(|t| b.required(t, ty, &what))
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(CqlError::invalid(
                    "Only = and IN relations are supported on system tables",
                ))
            }
        };
        filters.push((i, values.iter().map(Value::serialize).collect()));
    }
    let matching: Vec<Vec<Option<Bytes>>> = rows
        .into_iter()
        .filter(|row| {
            filters.iter().all(|(i, vals)| {
                row.get(*i)
                    .and_then(|v| v.as_ref())
                    .is_some_and(|v| vals.contains(v))
            })
        })
        .collect();
    let limit = match b.optional_i64(s.limit.as_ref(), &CqlType::Int, "[limit]")? {
        Some(l) if l <= 0 => return Err(CqlError::invalid("LIMIT must be strictly positive")),
        l => l.map(|l| l as usize),
    };
    let out_specs = result_specs(&specs, &s.selection)?;
    if let Selection::Count(_) = s.selection {
        let n = limit.map_or(matching.len(), |l| l.min(matching.len()));
        return Ok(RowsResult {
            columns: out_specs,
            rows: vec![vec![Some(Value::BigInt(n as i64).serialize())]],
            paging_state: None,
        });
    }
    let cols: Vec<usize> = match &s.selection {
        Selection::Star => (0..specs.len()).collect(),
        Selection::Columns(items) => items
            .iter()
            .map(|it| match &it.kind {
                SelectorKind::Column(c) => position(&specs, c),
                _ => Err(CqlError::invalid(
                    "writetime() and ttl() are not supported on system tables",
                )),
            })
            .collect::<Result<_, _>>()?,
        Selection::Count(_) => Vec::new(),
    };
    let total = limit.map_or(matching.len(), |l| l.min(matching.len()));
    // The paging state's "partition key" is the offset of the next row.
    let offset = match paging {
        Some(p) => {
            let st = PagingState::decode(p)?;
            let b: [u8; 8] = st.partition_key.as_ref().try_into().map_err(|_| {
                CqlError::new(
                    crate::cql::result::ErrorKind::Protocol,
                    "Invalid paging state",
                )
            })?;
            u64::from_be_bytes(b) as usize
        }
        None => 0,
    };
    let end = match page_size.filter(|p| *p > 0) {
        Some(p) => total.min(offset.saturating_add(p as usize)),
        None => total,
    };
    let page: Rows = matching
        .get(offset.min(end)..end)
        .unwrap_or(&[])
        .iter()
        .map(|row| {
            cols.iter()
                .map(|i| row.get(*i).cloned().flatten())
                .collect()
        })
        .collect();
    let paging_state = (end < total).then(|| {
        PagingState {
            partition_key: Bytes::copy_from_slice(&(end as u64).to_be_bytes()),
            clustering: None,
            limit_left: None,
            partition_limit_left: None,
        }
        .encode()
    });
    Ok(RowsResult {
        columns: out_specs,
        rows: page,
        paging_state,
    })
}
