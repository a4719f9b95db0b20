//! The virtual tables of the `system` and `system_schema` keyspaces that drivers and cqlsh
//! read on connect: node identity (`system.local`, `system.peers`, `system.peers_v2`) and the
//! schema (`system_schema.*`), built from the [`Catalog`] on every read.
//!
//! Each function returns every row of its table with the column layout Cassandra 3.0 uses;
//! the CQL engine applies WHERE, the selection, LIMIT and paging.

mod local;
mod schema;
mod unused;

use crate::catalog::Catalog;
use crate::cql::node::NodeInfo;
use crate::cql::result::{ColumnSpec, CqlError};
use crate::storage::types::{CqlType, Value};
use bytes::Bytes;

/// The columns of a virtual table and all of its rows, one serialized value per column.
pub type SystemRows = (Vec<ColumnSpec>, Vec<Vec<Option<Bytes>>>);

/// All rows of the virtual table `keyspace.table`, or `None` when that is not one (the caller
/// then looks for a user table or reports an unknown table).
pub fn system_table(
    catalog: &Catalog,
    node: &NodeInfo,
    keyspace: &str,
    table: &str,
) -> Option<Result<SystemRows, CqlError>> {
    let rows = match (keyspace, table) {
        ("system", "local") => local::local(catalog, node),
        ("system", "peers") => local::peers(),
        ("system", "peers_v2") => local::peers_v2(),
        ("system_schema", "keyspaces") => schema::keyspaces(catalog),
        ("system_schema", "tables") => schema::tables(catalog),
        ("system_schema", "columns") => schema::columns(catalog),
        ("system_schema", "types") => unused::types(),
        ("system_schema", "functions") => unused::functions(),
        ("system_schema", "aggregates") => unused::aggregates(),
        ("system_schema", "triggers") => unused::triggers(),
        ("system_schema", "indexes") => unused::indexes(),
        ("system_schema", "views") => unused::views(),
        ("system_schema", "dropped_columns") => unused::dropped_columns(),
        _ => return None,
    };
    Some(Ok(rows))
}

/// A virtual table as `system_schema` describes it (so that drivers and cqlsh have metadata
/// for it): its leading `partition_key` columns form the partition key, the next
/// `clustering` columns the clustering key, as in Cassandra.
pub struct VirtualTable {
    pub keyspace: &'static str,
    pub table: &'static str,
    pub partition_key: usize,
    pub clustering: usize,
}

const fn vt(
    keyspace: &'static str,
    table: &'static str,
    partition_key: usize,
    clustering: usize,
) -> VirtualTable {
    VirtualTable {
        keyspace,
        table,
        partition_key,
        clustering,
    }
}

pub const VIRTUAL_TABLES: &[VirtualTable] = &[
    vt("system", "local", 1, 0),
    vt("system", "peers", 1, 0),
    vt("system", "peers_v2", 2, 0),
    vt("system_schema", "keyspaces", 1, 0),
    vt("system_schema", "tables", 1, 1),
    vt("system_schema", "columns", 1, 2),
    vt("system_schema", "types", 1, 1),
    vt("system_schema", "functions", 1, 2),
    vt("system_schema", "aggregates", 1, 2),
    vt("system_schema", "triggers", 1, 2),
    vt("system_schema", "indexes", 1, 2),
    vt("system_schema", "views", 1, 1),
    vt("system_schema", "dropped_columns", 1, 2),
];

/// The columns of a virtual table, without building its rows from a real catalog.
fn layout(keyspace: &str, table: &str) -> Option<Vec<ColumnSpec>> {
    match (keyspace, table) {
        ("system_schema", "tables") => Some(schema::tables_layout()),
        ("system_schema", "columns") => Some(schema::columns_layout()),
        _ => system_table(&Catalog::default(), &NodeInfo::default(), keyspace, table)
            .and_then(Result::ok)
            .map(|(columns, _)| columns),
    }
}

/// Column specs of one table from `(name, type)` pairs.
fn specs(keyspace: &str, table: &str, columns: &[(&str, CqlType)]) -> Vec<ColumnSpec> {
    columns
        .iter()
        .map(|(name, ty)| ColumnSpec {
            keyspace: keyspace.to_string(),
            table: table.to_string(),
            name: (*name).to_string(),
            ty: ty.clone(),
        })
        .collect()
}

fn cell(v: Value) -> Option<Bytes> {
    Some(v.serialize())
}

fn text(s: &str) -> Option<Bytes> {
    cell(Value::Text(s.to_string()))
}

fn int(v: i32) -> Option<Bytes> {
    cell(Value::Int(v))
}

fn double(v: f64) -> Option<Bytes> {
    cell(Value::Double(v))
}

fn boolean(v: bool) -> Option<Bytes> {
    cell(Value::Boolean(v))
}

fn uuid(v: [u8; 16]) -> Option<Bytes> {
    cell(Value::Uuid(v))
}

fn text_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Bytes> {
    cell(Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::Text(k.to_string()), Value::Text(v.to_string())))
            .collect(),
    ))
}

fn text_set<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Bytes> {
    cell(Value::Set(
        items
            .into_iter()
            .map(|s| Value::Text(s.to_string()))
            .collect(),
    ))
}

fn frozen_map(key: CqlType, value: CqlType) -> CqlType {
    CqlType::Map {
        key: Box::new(key),
        value: Box::new(value),
        frozen: true,
    }
}

fn frozen_set(elem: CqlType) -> CqlType {
    CqlType::Set {
        elem: Box::new(elem),
        frozen: true,
    }
}

fn frozen_list(elem: CqlType) -> CqlType {
    CqlType::List {
        elem: Box::new(elem),
        frozen: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
