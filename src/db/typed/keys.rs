//! Turning values into a table's storage keys and cells, with type checks.

use super::KeyBound;
use crate::catalog::{ColumnDef, ColumnKind, TableSchema};
use crate::error::{Error, Result};
use crate::storage::model::Bound;
use crate::storage::types::{encode_clustering, serialize_partition_key, Value};
use bytes::Bytes;

/// Maps a storage error about a request (bad value) to `Error::Invalid`.
pub fn invalid_from(e: crate::storage::Error) -> Error {
    match e {
        crate::storage::Error::InvalidRequest(m) => Error::Invalid(m),
        other => Error::Storage(other),
    }
}

pub fn check_type(column: &ColumnDef, value: &Value) -> Result<()> {
    if value.is_of_type(&column.ty) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "value {value} is not a valid {} for column {}",
            column.ty, column.name
        )))
    }
}

/// The serialized partition key of `values` (all partition key columns, in key order).
pub fn partition_key(table: &TableSchema, values: &[Value]) -> Result<Bytes> {
    let columns: Vec<&ColumnDef> = table.partition_key().collect();
    if values.len() != columns.len() {
        return Err(Error::invalid(format!(
            "{}.{} has {} partition key columns, {} values given",
            table.keyspace,
            table.name,
            columns.len(),
            values.len()
        )));
    }
    let mut parts = Vec::with_capacity(values.len());
    for (c, v) in columns.iter().zip(values) {
        check_type(c, v)?;
        parts.push(v.serialize());
    }
    serialize_partition_key(&parts).map_err(invalid_from)
}

/// The clustering key (or prefix, when `full` is false) of `values`.
pub fn clustering(table: &TableSchema, values: &[Value], full: bool) -> Result<Bytes> {
    let types = table.clustering_types();
    if full && values.len() != types.len() {
        return Err(Error::invalid(format!(
            "{}.{} has {} clustering columns, {} values given",
            table.keyspace,
            table.name,
            types.len(),
            values.len()
        )));
    }
    encode_clustering(&types, values).map_err(invalid_from)
}

pub fn bound(table: &TableSchema, b: &KeyBound) -> Result<Bound> {
    Ok(match b {
        KeyBound::Unbounded => Bound::Unbounded,
        KeyBound::Included(v) => Bound::Included(clustering(table, v, false)?),
        KeyBound::Excluded(v) => Bound::Excluded(clustering(table, v, false)?),
    })
}

/// Splits named values into partition key values, clustering values (both in key order)
/// and regular columns, checking names and types.
pub struct NamedRow<'a, V> {
    pub partition: Vec<Value>,
    pub clustering: Vec<Value>,
    pub regular: Vec<(&'a ColumnDef, V)>,
}

pub fn split_named<'a, V: Clone>(
    table: &'a TableSchema,
    values: &[(&str, V)],
    as_value: impl Fn(&V) -> Option<&Value>,
) -> Result<NamedRow<'a, V>> {
    let mut pk: Vec<Option<Value>> = vec![None; table.partition_key().count()];
    let mut ck: Vec<Option<Value>> = vec![None; table.clustering().count()];
    let mut regular = Vec::new();
    for (name, v) in values {
        let column = table.column(name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown column {name} in {}.{}",
                table.keyspace, table.name
            ))
        })?;
        let slot = match column.kind {
            ColumnKind::PartitionKey { position } => pk.get_mut(usize::from(position)),
            ColumnKind::Clustering { position, .. } => ck.get_mut(usize::from(position)),
            ColumnKind::Regular => {
                if let Some(value) = as_value(v) {
                    check_type(column, value)?;
                }
                regular.push((column, v.clone()));
                continue;
            }
        };
        let value = as_value(v)
            .ok_or_else(|| Error::invalid(format!("key column {name} cannot be null")))?;
        check_type(column, value)?;
        if let Some(slot) = slot {
            if slot.replace(value.clone()).is_some() {
                return Err(Error::invalid(format!("column {name} given twice")));
            }
        }
    }
    let missing = |kind: &str| Error::invalid(format!("a {kind} column is missing"));
    Ok(NamedRow {
        partition: pk
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| missing("partition key"))?,
        clustering: ck
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| missing("clustering"))?,
        regular,
    })
}
