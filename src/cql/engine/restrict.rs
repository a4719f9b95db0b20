//! The WHERE clause of SELECT, UPDATE and DELETE, checked against the primary key the way
//! Cassandra checks it (no filtering: scrolldb only runs queries that read what they return)
//! and turned into partition keys, a token range and clustering slices.

use super::bind::{column, Binder};
use crate::catalog::{ColumnKind, TableSchema};
use crate::cql::ast::{Lhs, Op, Relation, Rhs, Term};
use crate::cql::result::CqlError;
use crate::storage::model::{Bound as SBound, Slice};
use crate::storage::types::{encode_clustering, serialize_partition_key, CqlType, Order, Value};
use bytes::Bytes;

/// Bounds the number of partitions or clustering prefixes an IN (or several) may expand to.
pub const MAX_IN_COMBINATIONS: usize = 1000;

const FILTERING: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

/// A bound on one clustering column: (value, inclusive).
type ValueBound = Option<(Value, bool)>;

/// What a WHERE clause selects.
#[derive(Debug, Default)]
pub(crate) struct KeyRestrictions {
    /// Serialized partition keys, when every partition key column is restricted.
    pub partitions: Option<Vec<Bytes>>,
    /// `token(...)` bounds: exclusive start, inclusive end; `empty` when nothing can match.
    pub token_start: Option<i64>,
    pub token_end: Option<i64>,
    pub token_empty: bool,
    pub has_token: bool,
    /// Clustering values fixed by EQ / IN, one list per leading clustering column.
    pub ck_eq: Vec<Vec<Value>>,
    /// A range on the clustering column after the EQ ones.
    pub ck_range: Option<(ValueBound, ValueBound)>,
    /// Whether any clustering column is restricted.
    pub has_clustering: bool,
}

#[derive(Default, Clone)]
struct ColumnRestriction {
    eq: Option<Vec<Value>>,
    lower: ValueBound,
    upper: ValueBound,
}

fn in_values(b: &Binder<'_>, rhs: &Rhs, ty: &CqlType, name: &str) -> Result<Vec<Value>, CqlError> {
    match rhs {
        Rhs::List(items) => items
            .iter()
            .map(|t| b.required(t, ty, &format!("column {name}")))
            .collect(),
        Rhs::Term(t) => {
            let lt = CqlType::List {
                elem: Box::new(ty.clone()),
                frozen: false,
            };
            match b.required(t, &lt, &format!("IN values of {name}"))? {
                Value::List(items) => Ok(items),
                _ => Err(CqlError::invalid(format!("Invalid IN value for {name}"))),
            }
        }
    }
}

fn single(rhs: &Rhs) -> Result<&Term, CqlError> {
    match rhs {
        Rhs::Term(t) => Ok(t),
        Rhs::List(_) => Err(CqlError::invalid("A list is only allowed after IN")),
    }
}

fn set_bound(
    slot: &mut ValueBound,
    v: Value,
    inclusive: bool,
    which: &str,
    name: &str,
) -> Result<(), CqlError> {
    if slot.is_some() {
        return Err(CqlError::invalid(format!(
            "More than one restriction was found for the {which} bound on {name}"
        )));
    }
    *slot = Some((v, inclusive));
    Ok(())
}

/// Checks a WHERE clause and works out what it selects.
pub(crate) fn analyze(
    t: &TableSchema,
    rels: &[Relation],
    b: &Binder<'_>,
    allow_filtering: bool,
) -> Result<KeyRestrictions, CqlError> {
    let pk: Vec<_> = t.partition_key().collect();
    let ck: Vec<_> = t.clustering().collect();
    let mut pk_vals: Vec<Option<Vec<Value>>> = vec![None; pk.len()];
    let mut ck_r: Vec<ColumnRestriction> = vec![ColumnRestriction::default(); ck.len()];
    let mut out = KeyRestrictions::default();
    for r in rels {
        match &r.lhs {
            Lhs::Token(cols) => {
                let names: Vec<&str> = pk.iter().map(|c| c.name.as_str()).collect();
                if cols.iter().map(String::as_str).ne(names.iter().copied()) {
                    return Err(CqlError::invalid(format!(
                        "The token function arguments must be in the partition key order: {}",
                        names.join(", ")
                    )));
                }
                out.has_token = true;
                let v =
                    match b.required(single(&r.rhs)?, &CqlType::BigInt, "partition key token")? {
                        Value::BigInt(v) => v,
                        _ => return Err(CqlError::invalid("Invalid token value")),
                    };
                let (start, end) = match r.op {
                    Op::Gt => (Some(Some(v)), None),
                    Op::Ge => (Some(v.checked_sub(1)), None),
                    Op::Lt => match v.checked_sub(1) {
                        Some(e) => (None, Some(e)),
                        None => {
                            out.token_empty = true;
                            (None, None)
                        }
                    },
                    Op::Le => (None, Some(v)),
                    Op::Eq => (Some(v.checked_sub(1)), Some(v)),
                    Op::In => return Err(CqlError::invalid("IN is not supported on token()")),
                };
                if let Some(s) = start {
                    // Two start bounds: keep the tighter one.
                    out.token_start = match (out.token_start, s) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                }
                if let Some(e) = end {
                    out.token_end = Some(out.token_end.map_or(e, |a| a.min(e)));
                }
            }
            Lhs::Column(name) => {
                let col = column(t, name)?;
                let what = format!("column {name}");
                match col.kind {
                    ColumnKind::PartitionKey { position } => {
                        let slot = pk_vals
                            .get_mut(usize::from(position))
                            .ok_or_else(|| CqlError::server("bad partition key position"))?;
                        if slot.is_some() {
                            return Err(CqlError::invalid(format!(
                                "{name} cannot be restricted by more than one relation if it includes an Equal"
                            )));
                        }
                        *slot = Some(match r.op {
                            Op::Eq => vec![b.required(single(&r.rhs)?, &col.ty, &what)?],
                            Op::In => in_values(b, &r.rhs, &col.ty, name)?,
                            _ => return Err(CqlError::invalid(
                                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
                            )),
                        });
                    }
                    ColumnKind::Clustering { position, .. } => {
                        out.has_clustering = true;
                        let slot = ck_r
                            .get_mut(usize::from(position))
                            .ok_or_else(|| CqlError::server("bad clustering position"))?;
                        let dup_eq = || {
                            CqlError::invalid(format!(
                            "{name} cannot be restricted by more than one relation if it includes an Equal"
                        ))
                        };
                        if slot.eq.is_some() {
                            return Err(dup_eq());
                        }
                        match r.op {
                            Op::Eq | Op::In => {
                                if slot.lower.is_some() || slot.upper.is_some() {
                                    return Err(dup_eq());
                                }
                                slot.eq = Some(if r.op == Op::Eq {
                                    vec![b.required(single(&r.rhs)?, &col.ty, &what)?]
                                } else {
                                    in_values(b, &r.rhs, &col.ty, name)?
                                });
                            }
                            op => {
                                let v = b.required(single(&r.rhs)?, &col.ty, &what)?;
                                match op {
                                    Op::Gt => set_bound(&mut slot.lower, v, false, "start", name)?,
                                    Op::Ge => set_bound(&mut slot.lower, v, true, "start", name)?,
                                    Op::Lt => set_bound(&mut slot.upper, v, false, "end", name)?,
                                    _ => set_bound(&mut slot.upper, v, true, "end", name)?,
                                }
                            }
                        }
                    }
                    ColumnKind::Regular => {
                        return Err(CqlError::invalid(if allow_filtering {
                            format!("scrolldb does not filter: column {name} is not part of the primary key and cannot be restricted")
                        } else {
                            FILTERING.to_string()
                        }));
                    }
                }
            }
        }
    }
    // Partition key: all or nothing.
    let restricted = pk_vals.iter().filter(|v| v.is_some()).count();
    if restricted > 0 && restricted < pk.len() {
        let missing: Vec<&str> = pk
            .iter()
            .zip(&pk_vals)
            .filter(|(_, v)| v.is_none())
            .map(|(c, _)| c.name.as_str())
            .collect();
        return Err(CqlError::invalid(format!(
            "Partition key parts: {} must be restricted as other parts are",
            missing.join(", ")
        )));
    }
    if restricted == pk.len() {
        if out.has_token {
            return Err(CqlError::invalid(
                "Columns of the partition key cannot be restricted by both a normal relation and a token relation",
            ));
        }
        let lists: Vec<Vec<Value>> = pk_vals.into_iter().flatten().collect();
        let mut keys = Vec::new();
        for combo in cartesian(&lists)? {
            let parts: Vec<Bytes> = combo.iter().map(Value::serialize).collect();
            let key = partition_key(&parts)?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        out.partitions = Some(keys);
    }
    // Clustering: EQ prefix, then at most one range, then nothing.
    let mut seen_range: Option<&str> = None;
    let mut seen_gap: Option<&str> = None;
    for (c, r) in ck.iter().zip(ck_r) {
        let restricted = r.eq.is_some() || r.lower.is_some() || r.upper.is_some();
        if !restricted {
            seen_gap.get_or_insert(c.name.as_str());
            continue;
        }
        if let Some(prev) = seen_gap {
            return Err(CqlError::invalid(format!(
                "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{prev}\" is not restricted",
                c.name
            )));
        }
        if let Some(prev) = seen_range {
            return Err(CqlError::invalid(format!(
                "Clustering column \"{}\" cannot be restricted (preceding column \"{prev}\" is restricted by a non-EQ relation)",
                c.name
            )));
        }
        match r.eq {
            Some(vals) => out.ck_eq.push(vals),
            None => {
                seen_range = Some(c.name.as_str());
                out.ck_range = Some((r.lower, r.upper));
            }
        }
    }
    Ok(out)
}

/// A serialized partition key; Cassandra refuses an empty one.
pub(crate) fn partition_key(parts: &[Bytes]) -> Result<Bytes, CqlError> {
    let key = serialize_partition_key(parts).map_err(|e| CqlError::invalid(e.to_string()))?;
    if key.is_empty() {
        return Err(CqlError::invalid("Key may not be empty"));
    }
    Ok(key)
}

/// Every combination of one value from each list, bounded by [`MAX_IN_COMBINATIONS`].
fn cartesian(lists: &[Vec<Value>]) -> Result<Vec<Vec<Value>>, CqlError> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for list in lists {
        if out.len().saturating_mul(list.len()) > MAX_IN_COMBINATIONS {
            return Err(CqlError::invalid(format!(
                "IN restrictions select more than {MAX_IN_COMBINATIONS} keys"
            )));
        }
        out = out
            .iter()
            .flat_map(|prefix| {
                list.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

fn encode(types: &[(CqlType, Order)], values: &[Value]) -> Result<Bytes, CqlError> {
    encode_clustering(types, values).map_err(|e| CqlError::invalid(e.to_string()))
}

impl KeyRestrictions {
    /// Whether the clustering restrictions name one full clustering key per combination.
    pub fn is_full_clustering(&self, t: &TableSchema) -> bool {
        self.ck_range.is_none() && self.ck_eq.len() == t.clustering().count()
    }

    /// The encoded clustering keys (or prefixes) the EQ / IN restrictions name, sorted and
    /// unique.
    pub fn clustering_prefixes(
        &self,
        t: &TableSchema,
    ) -> Result<Vec<(Vec<Value>, Bytes)>, CqlError> {
        let types = t.clustering_types();
        let mut out: Vec<(Vec<Value>, Bytes)> = Vec::new();
        for combo in cartesian(&self.ck_eq)? {
            let enc = encode(&types, &combo)?;
            out.push((combo, enc));
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out.dedup_by(|a, b| a.1 == b.1);
        Ok(out)
    }

    /// The clustering slices to read, in storage order, without empty ones.
    pub fn slices(&self, t: &TableSchema) -> Result<Vec<Slice>, CqlError> {
        let types = t.clustering_types();
        let mut out = Vec::new();
        for (prefix, enc) in self.clustering_prefixes(t)? {
            let whole = || {
                if prefix.is_empty() {
                    SBound::Unbounded
                } else {
                    SBound::Included(enc.clone())
                }
            };
            let slice = match &self.ck_range {
                None => Slice::new(whole(), whole()),
                Some((lower, upper)) => {
                    let order = types.get(prefix.len()).map_or(Order::Asc, |t| t.1);
                    let (lo, hi) = match order {
                        Order::Asc => (lower, upper),
                        Order::Desc => (upper, lower),
                    };
                    let bound = |b: &ValueBound| -> Result<SBound, CqlError> {
                        Ok(match b {
                            None => whole(),
                            Some((v, inclusive)) => {
                                let mut vals = prefix.clone();
                                vals.push(v.clone());
                                let k = encode(&types, &vals)?;
                                if *inclusive {
                                    SBound::Included(k)
                                } else {
                                    SBound::Excluded(k)
                                }
                            }
                        })
                    };
                    Slice::new(bound(lo)?, bound(hi)?)
                }
            };
            if !slice.is_empty() {
                out.push(slice);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cql::ast::Statement;
    use crate::cql::engine::ddl::table_schema;
    use crate::cql::parser::parse;

    fn table(ddl: &str) -> TableSchema {
        let Statement::CreateTable(c) = parse(ddl).unwrap().statement else {
            panic!()
        };
        table_schema("ks", &c).unwrap()
    }

    fn where_of(t: &TableSchema, cql: &str) -> Result<KeyRestrictions, CqlError> {
        let Statement::Select(s) = parse(cql).unwrap().statement else {
            panic!()
        };
        analyze(
            t,
            &s.relations,
            &Binder {
                values: &[],
                names: None,
                specs: &[],
            },
            false,
        )
    }

    #[test]
    fn desc_ranges_swap_byte_bounds() {
        let t = table(
            "CREATE TABLE m (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)",
        );
        let r = where_of(&t, "SELECT * FROM m WHERE k = 1 AND c > 3 AND c <= 9").unwrap();
        let slices = r.slices(&t).unwrap();
        assert_eq!(slices.len(), 1);
        let types = t.clustering_types();
        let enc = |v: i32| encode_clustering(&types, &[Value::Int(v)]).unwrap();
        assert_eq!(
            slices[0],
            Slice::new(SBound::Included(enc(9)), SBound::Excluded(enc(3)))
        );
        for (v, inside) in [(3, false), (4, true), (9, true), (10, false)] {
            assert_eq!(slices[0].contains(&enc(v)), inside, "{v}");
        }
    }

    #[test]
    fn in_lists_expand_and_sort() {
        let t = table("CREATE TABLE m (k int, a int, b int, PRIMARY KEY ((k), a, b))");
        let r = where_of(
            &t,
            "SELECT * FROM m WHERE k IN (2, 1, 2) AND a IN (5, 4) AND b = 0",
        )
        .unwrap();
        assert_eq!(r.partitions.as_ref().unwrap().len(), 2);
        assert!(r.is_full_clustering(&t));
        let p = r.clustering_prefixes(&t).unwrap();
        assert_eq!(
            p.iter().map(|(v, _)| v[0].clone()).collect::<Vec<_>>(),
            vec![Value::Int(4), Value::Int(5)]
        );
    }

    #[test]
    fn refusals() {
        let t =
            table("CREATE TABLE m (k int, j int, a int, b int, v int, PRIMARY KEY ((k, j), a, b))");
        for (cql, msg) in [
            (
                "SELECT * FROM m WHERE k = 1",
                "Partition key parts: j must be restricted",
            ),
            (
                "SELECT * FROM m WHERE k = 1 AND j = 1 AND b = 1",
                "cannot be restricted as preceding column",
            ),
            (
                "SELECT * FROM m WHERE k > 1 AND j = 1",
                "Only EQ and IN relation",
            ),
            (
                "SELECT * FROM m WHERE k = 1 AND k = 2 AND j = 1",
                "more than one relation",
            ),
            ("SELECT * FROM m WHERE v = 1", "ALLOW FILTERING"),
            (
                "SELECT * FROM m WHERE token(j, k) > 1",
                "partition key order: k, j",
            ),
            (
                "SELECT * FROM m WHERE k = 1 AND j = 1 AND a > 1 AND a > 2",
                "More than one restriction",
            ),
        ] {
            let e = where_of(&t, cql).err().unwrap_or_else(|| panic!("{cql}"));
            assert!(e.message.contains(msg), "{cql}: {}", e.message);
        }
        let r = where_of(
            &t,
            "SELECT * FROM m WHERE token(k, j) >= -9223372036854775808 AND token(k, j) < 5",
        )
        .unwrap();
        assert_eq!((r.token_start, r.token_end), (None, Some(4)));
    }
}
