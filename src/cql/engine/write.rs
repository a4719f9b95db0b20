//! INSERT, UPDATE and DELETE to storage mutations. An omitted or UNSET column writes nothing;
//! NULL writes a cell tombstone, as in Cassandra.

use super::bind::{column, Binder, Bound};
use super::restrict::{analyze, KeyRestrictions};
use crate::catalog::{ColumnKind, TableSchema};
use crate::cql::ast::{Delete, Insert, Term, Update, Using};
use crate::cql::result::CqlError;
use crate::storage::model::{Cell, DeletionTime, Mutation, RangeTombstone, Row};
use crate::storage::types::{encode_clustering, CqlType};
use bytes::Bytes;

/// Cassandra's cap on a TTL: 20 years.
pub const MAX_TTL_SECS: i64 = 20 * 365 * 24 * 60 * 60;

/// The clock of one write.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteClock {
    /// Write timestamp in microseconds unless the statement says `USING TIMESTAMP`.
    pub timestamp: i64,
    /// Wall-clock seconds, for TTL expiry and tombstones.
    pub now_secs: i64,
}

struct Attrs {
    timestamp: i64,
    ttl: Option<u32>,
}

fn attrs(
    b: &Binder<'_>,
    u: &Using,
    t: &TableSchema,
    clock: WriteClock,
    with_ttl: bool,
) -> Result<Attrs, CqlError> {
    let timestamp = b
        .optional_i64(u.timestamp.as_ref(), &CqlType::BigInt, "[timestamp]")?
        .unwrap_or(clock.timestamp);
    let ttl = if with_ttl {
        match &u.ttl {
            None => Some(i64::from(t.params.default_time_to_live)),
            Some(term) => b.optional_i64(Some(term), &CqlType::Int, "[ttl]")?,
        }
    } else {
        None
    };
    let ttl = match ttl {
        None | Some(0) => None,
        Some(v) if v < 0 => {
            return Err(CqlError::invalid(format!(
                "A TTL must be greater or equal to 0, but was {v}"
            )))
        }
        Some(v) if v > MAX_TTL_SECS => {
            return Err(CqlError::invalid(format!(
                "ttl is too large. requested ({v}) maximum ({MAX_TTL_SECS})"
            )))
        }
        Some(v) => Some(v as u32),
    };
    Ok(Attrs { timestamp, ttl })
}

fn cell(a: &Attrs, clock: WriteClock, value: Bytes) -> Cell {
    match a.ttl {
        Some(ttl) => Cell::expiring(a.timestamp, value, ttl, clock.now_secs),
        None => Cell::live(a.timestamp, value),
    }
}

fn invalid(e: crate::storage::Error) -> CqlError {
    CqlError::invalid(e.to_string())
}

/// Sets the regular columns of `row` from (column, term) pairs.
fn set_cells(
    t: &TableSchema,
    b: &Binder<'_>,
    a: &Attrs,
    clock: WriteClock,
    row: &mut Row,
    assignments: &[(&String, &Term)],
) -> Result<(), CqlError> {
    for (name, term) in assignments {
        let col = column(t, name)?;
        if col.kind != ColumnKind::Regular {
            continue;
        }
        match b.bind(term, &col.ty, &format!("column {name}"))? {
            Bound::Unset => {}
            Bound::Null => row.set(col.id, Cell::tombstone(a.timestamp, clock.now_secs)),
            Bound::Val(v) => row.set(col.id, cell(a, clock, v.serialize())),
        }
    }
    Ok(())
}

pub(crate) fn insert(
    t: &TableSchema,
    i: &Insert,
    b: &Binder<'_>,
    clock: WriteClock,
) -> Result<Vec<Mutation>, CqlError> {
    if i.columns.len() != i.values.len() {
        return Err(CqlError::invalid("Unmatched column names/values"));
    }
    for (n, c) in i.columns.iter().enumerate() {
        if i.columns[..n].contains(c) {
            return Err(CqlError::invalid(format!(
                "Multiple definitions found for column {c}"
            )));
        }
    }
    let a = attrs(b, &i.using, t, clock, true)?;
    let find = |name: &str| {
        i.columns
            .iter()
            .position(|c| c == name)
            .and_then(|p| i.values.get(p))
    };
    let mut pk_parts = Vec::new();
    let mut missing = Vec::new();
    for c in t.partition_key() {
        match find(&c.name) {
            Some(term) => pk_parts.push(
                b.required(term, &c.ty, &format!("partition key part {}", c.name))?
                    .serialize(),
            ),
            None => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(CqlError::invalid(format!(
            "Some partition key parts are missing: {}",
            missing.join(", ")
        )));
    }
    let mut ck_vals = Vec::new();
    for c in t.clustering() {
        match find(&c.name) {
            Some(term) => {
                ck_vals.push(b.required(term, &c.ty, &format!("clustering column {}", c.name))?)
            }
            None => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(CqlError::invalid(format!(
            "Some clustering keys are missing: {}",
            missing.join(", ")
        )));
    }
    for c in &i.columns {
        column(t, c)?;
    }
    let key = super::restrict::partition_key(&pk_parts)?;
    let ck = encode_clustering(&t.clustering_types(), &ck_vals).map_err(invalid)?;
    let mut row = Row::new(ck);
    row.marker = Some(cell(&a, clock, Bytes::new()));
    let pairs: Vec<(&String, &Term)> = i.columns.iter().zip(&i.values).collect();
    set_cells(t, b, &a, clock, &mut row, &pairs)?;
    Ok(vec![Mutation::new(t.id, key).with_row(row)])
}

fn partitions(r: &KeyRestrictions, what: &str) -> Result<Vec<Bytes>, CqlError> {
    r.partitions.clone().ok_or_else(|| {
        CqlError::invalid(format!(
            "Some partition key parts are missing: the {what} must restrict every partition key column with = or IN"
        ))
    })
}

pub(crate) fn update(
    t: &TableSchema,
    u: &Update,
    b: &Binder<'_>,
    clock: WriteClock,
) -> Result<Vec<Mutation>, CqlError> {
    let a = attrs(b, &u.using, t, clock, true)?;
    for (name, _) in &u.assignments {
        let col = column(t, name)?;
        if col.kind != ColumnKind::Regular {
            return Err(CqlError::invalid(format!(
                "PRIMARY KEY part {name} found in SET part"
            )));
        }
    }
    let r = analyze(t, &u.relations, b, false)?;
    if r.has_token {
        return Err(CqlError::invalid(
            "The token function cannot be used in WHERE clauses for UPDATE statements",
        ));
    }
    let keys = partitions(&r, "UPDATE")?;
    if !r.is_full_clustering(t) {
        let missing: Vec<&str> = t
            .clustering()
            .skip(r.ck_eq.len())
            .map(|c| c.name.as_str())
            .collect();
        return Err(CqlError::invalid(format!(
            "Some clustering keys are missing: {}",
            missing.join(", ")
        )));
    }
    let pairs: Vec<(&String, &Term)> = u.assignments.iter().map(|(c, v)| (c, v)).collect();
    let mut out = Vec::new();
    for key in keys {
        let mut m = Mutation::new(t.id, key);
        for (_, ck) in r.clustering_prefixes(t)? {
            let mut row = Row::new(ck);
            set_cells(t, b, &a, clock, &mut row, &pairs)?;
            m.rows.push(row);
        }
        if !m.is_empty() {
            out.push(m);
        }
    }
    Ok(out)
}

pub(crate) fn delete(
    t: &TableSchema,
    d: &Delete,
    b: &Binder<'_>,
    clock: WriteClock,
) -> Result<Vec<Mutation>, CqlError> {
    let a = attrs(b, &d.using, t, clock, false)?;
    for name in &d.columns {
        let col = column(t, name)?;
        if col.kind != ColumnKind::Regular {
            return Err(CqlError::invalid(format!(
                "Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)"
            )));
        }
    }
    let r = analyze(t, &d.relations, b, false)?;
    if r.has_token {
        return Err(CqlError::invalid(
            "The token function cannot be used in WHERE clauses for DELETE statements",
        ));
    }
    let keys = partitions(&r, "DELETE")?;
    let deletion = DeletionTime::new(a.timestamp, clock.now_secs);
    let full = r.is_full_clustering(t);
    if !d.columns.is_empty() && !full {
        return Err(CqlError::invalid(
            "Range deletions are not supported for specific columns",
        ));
    }
    let mut out = Vec::new();
    for key in keys {
        let mut m = Mutation::new(t.id, key);
        if !r.has_clustering {
            if d.columns.is_empty() {
                m.partition_deletion = Some(deletion);
            } else {
                // A table without clustering columns: its one row.
                let mut row = Row::new(Bytes::new());
                for name in &d.columns {
                    let col = column(t, name)?;
                    row.set(col.id, Cell::tombstone(a.timestamp, clock.now_secs));
                }
                m.rows.push(row);
            }
        } else if full {
            for (_, ck) in r.clustering_prefixes(t)? {
                let mut row = Row::new(ck);
                if d.columns.is_empty() {
                    row.deletion = Some(deletion);
                } else {
                    for name in &d.columns {
                        let col = column(t, name)?;
                        row.set(col.id, Cell::tombstone(a.timestamp, clock.now_secs));
                    }
                }
                m.rows.push(row);
            }
        } else {
            for slice in r.slices(t)? {
                m.range_tombstones.push(RangeTombstone { slice, deletion });
            }
        }
        if !m.is_empty() {
            out.push(m);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cql::ast::Statement;
    use crate::cql::engine::ddl::table_schema;
    use crate::cql::parser::parse;
    use crate::cql::result::{BoundValue, ColumnSpec};
    use crate::storage::model::CellValue;
    use crate::storage::types::Value;

    const CLOCK: WriteClock = WriteClock {
        timestamp: 100,
        now_secs: 1_000,
    };

    fn schema() -> TableSchema {
        let Statement::CreateTable(c) = parse("CREATE TABLE m (k int, c int, a text, b text, PRIMARY KEY (k, c)) WITH default_time_to_live = 60").unwrap().statement else {
            panic!()
        };
        let mut t = table_schema("ks", &c).unwrap();
        for (i, col) in t.columns.iter_mut().enumerate() {
            col.id = i as u32;
        }
        t
    }

    fn muts(t: &TableSchema, cql: &str, values: &[BoundValue]) -> Result<Vec<Mutation>, CqlError> {
        let parsed = parse(cql)?;
        let specs: Vec<ColumnSpec> = (0..parsed.markers.len())
            .map(|_| ColumnSpec {
                keyspace: "ks".into(),
                table: "m".into(),
                name: "a".into(),
                ty: CqlType::Text,
            })
            .collect();
        let b = Binder {
            values,
            names: None,
            specs: &specs,
        };
        match &parsed.statement {
            Statement::Insert(i) => insert(t, i, &b, CLOCK),
            Statement::Update(u) => update(t, u, &b, CLOCK),
            Statement::Delete(d) => delete(t, d, &b, CLOCK),
            _ => panic!(),
        }
    }

    #[test]
    fn insert_marker_null_unset_and_default_ttl() {
        let t = schema();
        let v = BoundValue::Value(Value::Text("x".into()).serialize());
        let m = muts(
            &t,
            "INSERT INTO m (k, c, a, b) VALUES (1, 2, ?, ?)",
            &[v, BoundValue::Unset],
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        let row = &m[0].rows[0];
        let marker = row.marker.as_ref().unwrap();
        assert!(matches!(
            marker.value,
            CellValue::Expiring {
                ttl_secs: 60,
                expires_at: 1_060,
                ..
            }
        ));
        assert_eq!(row.cells.len(), 1, "unset writes nothing");
        let m = muts(
            &t,
            "INSERT INTO m (k, c, a) VALUES (1, 2, null) USING TTL 0 AND TIMESTAMP 7",
            &[],
        )
        .unwrap();
        let row = &m[0].rows[0];
        assert_eq!(row.marker, Some(Cell::live(7, Bytes::new())));
        assert_eq!(row.cells[0].1, Cell::tombstone(7, 1_000));
    }

    #[test]
    fn deletes_map_to_their_tombstones() {
        let t = schema();
        let p = muts(&t, "DELETE FROM m WHERE k = 1", &[]).unwrap();
        assert_eq!(p[0].partition_deletion, Some(DeletionTime::new(100, 1_000)));
        let r = muts(&t, "DELETE FROM m WHERE k = 1 AND c IN (1, 2)", &[]).unwrap();
        assert_eq!(r[0].rows.len(), 2);
        assert!(r[0].rows.iter().all(|r| r.deletion.is_some()));
        let g = muts(&t, "DELETE FROM m WHERE k IN (1, 2) AND c > 5", &[]).unwrap();
        assert_eq!((g.len(), g[0].range_tombstones.len()), (2, 1));
        let c = muts(
            &t,
            "DELETE a FROM m USING TIMESTAMP 3 WHERE k = 1 AND c = 1",
            &[],
        )
        .unwrap();
        assert_eq!(c[0].rows[0].cells, vec![(2, Cell::tombstone(3, 1_000))]);
        assert!(muts(&t, "DELETE a FROM m WHERE k = 1", &[]).is_err());
        assert!(muts(&t, "UPDATE m SET a = 'x' WHERE k = 1", &[]).is_err());
        assert!(muts(&t, "UPDATE m SET a = 'x' WHERE k = 1 AND c > 1", &[]).is_err());
    }
}
