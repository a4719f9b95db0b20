//! Typed reads of one partition: a clustering slice, either direction, a limit, paging.

use super::keys::{bound, partition_key};
use super::{KeyBound, Page, TypedRow};
use crate::catalog::{ColumnKind, TableSchema};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::storage::clock::now_secs;
use crate::storage::model::{Bound, ColumnFilter, Direction, ReadQuery, Row, Slice};
use crate::storage::types::{decode_clustering, Value};
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::Arc;

/// The first byte of a paging state: its format version.
const PAGING_STATE_V1: u8 = 1;

/// A read of one partition. Build with [`Select::new`] and the builder methods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Select {
    pub keyspace: String,
    pub table: String,
    /// The partition key values, in key order.
    pub partition: Vec<Value>,
    /// Clustering range, in the table's clustering order.
    pub start: KeyBound,
    pub end: KeyBound,
    /// Walk against the clustering order (oldest first on a `DESC` table).
    pub reversed: bool,
    /// Rows per page; `None` for all rows.
    pub limit: Option<usize>,
    /// Columns to return, in this order; `None` for all, in table order.
    pub columns: Option<Vec<String>>,
    /// The `paging_state` of the previous page of the same select.
    pub paging_state: Option<Bytes>,
}

impl Select {
    pub fn new(keyspace: &str, table: &str, partition: Vec<Value>) -> Self {
        Select {
            keyspace: keyspace.to_string(),
            table: table.to_string(),
            partition,
            ..Select::default()
        }
    }

    pub fn range(mut self, start: KeyBound, end: KeyBound) -> Self {
        self.start = start;
        self.end = end;
        self
    }

    pub fn reversed(mut self) -> Self {
        self.reversed = true;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn columns(mut self, names: &[&str]) -> Self {
        self.columns = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    pub fn page(mut self, paging_state: Option<Bytes>) -> Self {
        self.paging_state = paging_state;
        self
    }
}

impl Db {
    /// Reads one page of a partition. Plain threads only (see [`Db::select_async`]).
    pub fn select(&self, select: &Select) -> Result<Page> {
        let (schema, query, columns) = self.plan_select(select)?;
        let result = self.read(query)?;
        to_page(&schema, select, columns, result.rows)
    }

    pub async fn select_async(&self, select: &Select) -> Result<Page> {
        let (schema, query, columns) = self.plan_select(select)?;
        let result = self.read_async(query).await?;
        to_page(&schema, select, columns, result.rows)
    }

    fn plan_select(&self, s: &Select) -> Result<(Arc<TableSchema>, ReadQuery, Arc<Vec<String>>)> {
        let schema = self.table(&s.keyspace, &s.table)?;
        let key = partition_key(&schema, &s.partition)?;
        let mut slice = Slice::new(bound(&schema, &s.start)?, bound(&schema, &s.end)?);
        if let Some(state) = &s.paging_state {
            let last = decode_paging_state(state)?;
            if s.reversed {
                slice.end = Bound::Excluded(last);
            } else {
                slice.start = Bound::Excluded(last);
            }
        }
        let names: Vec<String> = match &s.columns {
            Some(names) => names.clone(),
            None => schema.columns.iter().map(|c| c.name.clone()).collect(),
        };
        let mut ids = Vec::new();
        for name in &names {
            let column = schema
                .column(name)
                .ok_or_else(|| Error::invalid(format!("unknown column {name}")))?;
            if column.kind == ColumnKind::Regular {
                ids.push(column.id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let query = ReadQuery {
            table: schema.id,
            partition_key: key,
            slice,
            direction: if s.reversed {
                Direction::Reverse
            } else {
                Direction::Forward
            },
            limit: s.limit,
            columns: if s.columns.is_some() {
                ColumnFilter::Only(ids)
            } else {
                ColumnFilter::All
            },
            now: now_secs(),
        };
        Ok((schema, query, Arc::new(names)))
    }
}

fn to_page(
    schema: &TableSchema,
    select: &Select,
    columns: Arc<Vec<String>>,
    rows: Vec<Row>,
) -> Result<Page> {
    let types = schema.clustering_types();
    let paging_state = match (select.limit, rows.last()) {
        (Some(limit), Some(last)) if rows.len() >= limit => {
            Some(encode_paging_state(&last.clustering))
        }
        _ => None,
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let ck = decode_clustering(&types, &row.clustering)?;
        let mut values = Vec::with_capacity(columns.len());
        for name in columns.iter() {
            let column = schema
                .column(name)
                .ok_or_else(|| Error::invalid(format!("unknown column {name}")))?;
            let value = match column.kind {
                ColumnKind::PartitionKey { position } => {
                    select.partition.get(usize::from(position)).cloned()
                }
                ColumnKind::Clustering { position, .. } => ck.get(usize::from(position)).cloned(),
                ColumnKind::Regular => {
                    match row.cells.binary_search_by_key(&column.id, |(c, _)| *c) {
                        Ok(i) => match row.cells[i].1.bytes() {
                            Some(b) => Some(column.ty.deserialize(b)?),
                            None => None,
                        },
                        Err(_) => None,
                    }
                }
            };
            values.push(value);
        }
        out.push(TypedRow {
            columns: Arc::clone(&columns),
            values,
        });
    }
    Ok(Page {
        columns,
        rows: out,
        paging_state,
    })
}

fn encode_paging_state(last_clustering: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + last_clustering.len());
    b.put_u8(PAGING_STATE_V1);
    b.put_slice(last_clustering);
    b.freeze()
}

fn decode_paging_state(state: &Bytes) -> Result<Bytes> {
    match state.first() {
        Some(&PAGING_STATE_V1) => Ok(state.slice(1..)),
        _ => Err(Error::invalid("malformed paging state")),
    }
}
