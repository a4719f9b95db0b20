//! Finding what a statement names: its keyspace and table (or virtual system table), and
//! the column each bind marker stands for (PREPARE's bind metadata, pk_indexes).

use super::bind::SpecCollector;
use super::ddl;
use super::system_query;
use super::VIRTUAL_KEYSPACES;
use crate::catalog::{Catalog, TableSchema};
use crate::cql::ast::{Parsed, QualifiedName, Statement};
use crate::cql::node::NodeInfo;
use crate::cql::result::{ColumnSpec, CqlError};
use bytes::Bytes;
use std::sync::Arc;

/// (keyspace, table) of a name, using the session keyspace when it has none.
pub(super) fn names(ks: Option<&str>, name: &QualifiedName) -> Result<(String, String), CqlError> {
    let keyspace = name.keyspace.as_deref().or(ks).ok_or_else(|| {
        CqlError::invalid(
            "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
        )
    })?;
    Ok((keyspace.to_string(), name.name.clone()))
}

pub(super) fn resolve(
    catalog: &Catalog,
    ks: Option<&str>,
    name: &QualifiedName,
) -> Result<Arc<TableSchema>, CqlError> {
    let (keyspace, table) = names(ks, name)?;
    if catalog.keyspace(&keyspace).is_none() && !VIRTUAL_KEYSPACES.contains(&keyspace.as_str()) {
        return Err(CqlError::invalid(format!(
            "Keyspace '{keyspace}' does not exist"
        )));
    }
    catalog
        .table(&keyspace, &table)
        .cloned()
        .ok_or_else(|| CqlError::invalid(format!("unconfigured table {table}")))
}

/// A table writes may go to: not a system one.
pub(super) fn resolve_user(
    catalog: &Catalog,
    ks: Option<&str>,
    name: &QualifiedName,
) -> Result<Arc<TableSchema>, CqlError> {
    let (keyspace, _) = names(ks, name)?;
    ddl::check_user_keyspace(&keyspace)?;
    resolve(catalog, ks, name)
}

/// The spec of every bind marker of a statement.
pub(super) fn marker_specs(
    catalog: &Catalog,
    node: &NodeInfo,
    ks: Option<&str>,
    parsed: &Parsed,
) -> Result<Vec<ColumnSpec>, CqlError> {
    let n = parsed.markers.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut c = SpecCollector::new(n);
    match &parsed.statement {
        Statement::Select(sel) => {
            let (keyspace, table) = names(ks, &sel.table)?;
            if VIRTUAL_KEYSPACES.contains(&keyspace.as_str()) {
                let (specs, _) = system_rows(catalog, node, &keyspace, &table)?;
                return system_query::marker_specs(&specs, sel, n);
            }
            c.statement(
                resolve(catalog, ks, &sel.table)?.as_ref(),
                &parsed.statement,
            )?;
        }
        Statement::Insert(i) => {
            c.statement(resolve(catalog, ks, &i.table)?.as_ref(), &parsed.statement)?
        }
        Statement::Update(u) => {
            c.statement(resolve(catalog, ks, &u.table)?.as_ref(), &parsed.statement)?
        }
        Statement::Delete(d) => {
            c.statement(resolve(catalog, ks, &d.table)?.as_ref(), &parsed.statement)?
        }
        Statement::Batch(b) => {
            let mut first = None;
            for st in &b.statements {
                let name = match st {
                    Statement::Insert(i) => &i.table,
                    Statement::Update(u) => &u.table,
                    Statement::Delete(d) => &d.table,
                    _ => continue,
                };
                let t = resolve(catalog, ks, name)?;
                c.statement(&t, st)?;
                first.get_or_insert(t);
            }
            if let Some(t) = first {
                c.batch_using(&t, &b.using);
            }
        }
        _ => {}
    }
    c.finish()
}

/// Indexes of the bind markers holding the partition key columns, in key order (what
/// token-aware drivers route by); empty unless every partition key column is bound.
pub(super) fn pk_indexes(t: &TableSchema, specs: &[ColumnSpec]) -> Vec<u16> {
    let mut out = Vec::new();
    for c in t.partition_key() {
        match specs.iter().position(|s| s.name == c.name && s.ty == c.ty) {
            Some(i) => out.push(i as u16),
            None => return Vec::new(),
        }
    }
    out
}

pub(super) type SystemRows = (Vec<ColumnSpec>, Vec<Vec<Option<Bytes>>>);

/// All rows of a virtual system table, or Cassandra's error for an unknown one.
pub(super) fn system_rows(
    catalog: &Catalog,
    node: &NodeInfo,
    keyspace: &str,
    table: &str,
) -> Result<SystemRows, CqlError> {
    match crate::cql::system::system_table(catalog, node, keyspace, table) {
        Some(r) => r,
        None => Err(CqlError::invalid(format!("unconfigured table {table}"))),
    }
}
