//! Bound values: turning a term (a literal or a bind marker) into a typed value, and the
//! bind metadata a PREPARE returns (which column each marker stands for).

use crate::catalog::TableSchema;
use crate::cql::ast::{Lhs, Op, Relation, Rhs, Select, Statement, Term, Using};
use crate::cql::literal::literal_value;
use crate::cql::result::{BoundValue, ColumnSpec, CqlError};
use crate::storage::types::{CqlType, Value};

/// A term's value: NULL, UNSET (leave alone) or a value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Bound {
    Null,
    Unset,
    Val(Value),
}

/// The values sent with a statement, and the specs of its markers.
pub(crate) struct Binder<'a> {
    pub values: &'a [BoundValue],
    pub names: Option<&'a [String]>,
    /// One per marker, in marker order.
    pub specs: &'a [ColumnSpec],
}

impl Binder<'_> {
    /// Checks that there are as many values as markers.
    pub fn check_count(&self) -> Result<(), CqlError> {
        if self.names.is_none() && self.values.len() != self.specs.len() {
            return Err(CqlError::invalid(format!(
                "There were {} markers(?) in CQL but {} bound variables",
                self.specs.len(),
                self.values.len()
            )));
        }
        Ok(())
    }

    fn raw(&self, index: usize) -> Result<&BoundValue, CqlError> {
        let pos = match self.names {
            None => Some(index),
            Some(names) => {
                let name = self.specs.get(index).map(|s| s.name.as_str()).unwrap_or("");
                names.iter().position(|n| n == name)
            }
        };
        pos.and_then(|p| self.values.get(p)).ok_or_else(|| {
            let name = self
                .specs
                .get(index)
                .map(|s| s.name.as_str())
                .unwrap_or("?");
            CqlError::invalid(format!("No value bound for variable {name}"))
        })
    }

    /// The value of `term` for something of type `ty` named `what` (for messages).
    pub fn bind(&self, term: &Term, ty: &CqlType, what: &str) -> Result<Bound, CqlError> {
        match (term, ty) {
            (Term::Marker(m), _) => match self.raw(m.index)? {
                BoundValue::Null => Ok(Bound::Null),
                BoundValue::Unset => Ok(Bound::Unset),
                BoundValue::Value(b) => ty
                    .deserialize(b)
                    .map(|v| Bound::Val(v.normalized()))
                    .map_err(|e| CqlError::invalid(format!("Invalid value for {what}: {e}"))),
            },
            (Term::List(items), CqlType::List { elem, .. }) => {
                Ok(Bound::Val(Value::List(self.elements(items, elem, what)?)))
            }
            (Term::Set(items), CqlType::Set { elem, .. }) => Ok(Bound::Val(
                Value::Set(self.elements(items, elem, what)?).normalized(),
            )),
            (Term::Map(entries), CqlType::Map { key, value, .. }) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push((self.element(k, key, what)?, self.element(v, value, what)?));
                }
                Ok(Bound::Val(Value::Map(out).normalized()))
            }
            _ => Ok(literal_value(term, ty, what)?.map_or(Bound::Null, Bound::Val)),
        }
    }

    fn element(&self, t: &Term, ty: &CqlType, what: &str) -> Result<Value, CqlError> {
        match self.bind(t, ty, what)? {
            Bound::Val(v) => Ok(v),
            _ => Err(CqlError::invalid(format!(
                "null or unset is not supported inside collections ({what})"
            ))),
        }
    }

    fn elements(&self, items: &[Term], ty: &CqlType, what: &str) -> Result<Vec<Value>, CqlError> {
        items.iter().map(|t| self.element(t, ty, what)).collect()
    }

    /// A value that must be set: NULL and UNSET are refused (keys, WHERE values).
    pub fn required(&self, term: &Term, ty: &CqlType, what: &str) -> Result<Value, CqlError> {
        match self.bind(term, ty, what)? {
            Bound::Val(v) => Ok(v),
            Bound::Null => Err(CqlError::invalid(format!("Invalid null value for {what}"))),
            Bound::Unset => Err(CqlError::invalid(format!("Invalid unset value for {what}"))),
        }
    }

    /// An optional int/bigint parameter (TTL, LIMIT, TIMESTAMP): UNSET and absent are `None`.
    pub fn optional_i64(
        &self,
        term: Option<&Term>,
        ty: &CqlType,
        what: &str,
    ) -> Result<Option<i64>, CqlError> {
        let Some(term) = term else { return Ok(None) };
        match self.bind(term, ty, what)? {
            Bound::Unset => Ok(None),
            Bound::Null => Err(CqlError::invalid(format!("Invalid null value of {what}"))),
            Bound::Val(Value::Int(v)) => Ok(Some(i64::from(v))),
            Bound::Val(Value::BigInt(v)) => Ok(Some(v)),
            Bound::Val(v) => Err(CqlError::invalid(format!("Invalid value {v} for {what}"))),
        }
    }
}

/// Finds a column or fails with Cassandra's message.
pub(crate) fn column<'a>(
    t: &'a TableSchema,
    name: &str,
) -> Result<&'a crate::catalog::ColumnDef, CqlError> {
    t.column(name)
        .ok_or_else(|| CqlError::invalid(format!("Undefined column name {name}")))
}

fn spec(t: &TableSchema, name: &str, ty: CqlType) -> ColumnSpec {
    ColumnSpec {
        keyspace: t.keyspace.clone(),
        table: t.name.clone(),
        name: name.to_string(),
        ty,
    }
}

/// Collects the spec of every marker of a statement. `table_of` resolves a statement's
/// table (batches name several).
pub(crate) struct SpecCollector {
    pub specs: Vec<Option<ColumnSpec>>,
}

impl SpecCollector {
    pub fn new(markers: usize) -> Self {
        SpecCollector {
            specs: vec![None; markers],
        }
    }

    pub fn finish(self) -> Result<Vec<ColumnSpec>, CqlError> {
        self.specs
            .into_iter()
            .map(|s| {
                s.ok_or_else(|| {
                    CqlError::invalid("A bind marker is used where scrolldb cannot tell its type")
                })
            })
            .collect()
    }

    fn term(&mut self, term: &Term, s: ColumnSpec) {
        match (term, &s.ty) {
            (Term::Marker(m), _) => {
                let mut s = s;
                if let Some(n) = &m.name {
                    s.name = n.clone();
                }
                if let Some(slot) = self.specs.get_mut(m.index) {
                    *slot = Some(s);
                }
            }
            (Term::List(items), CqlType::List { elem, .. })
            | (Term::Set(items), CqlType::Set { elem, .. }) => {
                for i in items {
                    self.term(
                        i,
                        ColumnSpec {
                            ty: (**elem).clone(),
                            ..s.clone()
                        },
                    );
                }
            }
            (Term::Map(entries), CqlType::Map { key, value, .. }) => {
                for (k, v) in entries {
                    self.term(
                        k,
                        ColumnSpec {
                            name: format!("key({})", s.name),
                            ty: (**key).clone(),
                            ..s.clone()
                        },
                    );
                    self.term(
                        v,
                        ColumnSpec {
                            name: format!("value({})", s.name),
                            ty: (**value).clone(),
                            ..s.clone()
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn using(&mut self, t: &TableSchema, u: &Using) {
        if let Some(ttl) = &u.ttl {
            self.term(ttl, spec(t, "[ttl]", CqlType::Int));
        }
        if let Some(ts) = &u.timestamp {
            self.term(ts, spec(t, "[timestamp]", CqlType::BigInt));
        }
    }

    fn relations(&mut self, t: &TableSchema, rels: &[Relation]) -> Result<(), CqlError> {
        for r in rels {
            match &r.lhs {
                Lhs::Token(_) => {
                    if let Rhs::Term(term) = &r.rhs {
                        self.term(term, spec(t, "partition key token", CqlType::BigInt));
                    }
                }
                Lhs::Column(c) => {
                    let col = column(t, c)?;
                    match (&r.rhs, r.op) {
                        (Rhs::Term(term), Op::In) => self.term(
                            term,
                            spec(
                                t,
                                &format!("in({c})"),
                                CqlType::List {
                                    elem: Box::new(col.ty.clone()),
                                    frozen: false,
                                },
                            ),
                        ),
                        (Rhs::Term(term), _) => self.term(term, spec(t, c, col.ty.clone())),
                        (Rhs::List(items), _) => {
                            for i in items {
                                self.term(i, spec(t, c, col.ty.clone()));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Collects the markers of one statement on table `t` (not for batches or DDL).
    pub fn statement(&mut self, t: &TableSchema, s: &Statement) -> Result<(), CqlError> {
        match s {
            Statement::Insert(i) => {
                for (c, v) in i.columns.iter().zip(&i.values) {
                    let col = column(t, c)?;
                    self.term(v, spec(t, c, col.ty.clone()));
                }
                self.using(t, &i.using);
            }
            Statement::Update(u) => {
                self.using(t, &u.using);
                for (c, v) in &u.assignments {
                    let col = column(t, c)?;
                    self.term(v, spec(t, c, col.ty.clone()));
                }
                self.relations(t, &u.relations)?;
            }
            Statement::Delete(d) => {
                self.using(t, &d.using);
                self.relations(t, &d.relations)?;
            }
            Statement::Select(sel) => self.select(t, sel)?,
            _ => {}
        }
        Ok(())
    }

    fn select(&mut self, t: &TableSchema, s: &Select) -> Result<(), CqlError> {
        self.relations(t, &s.relations)?;
        if let Some(l) = &s.per_partition_limit {
            self.term(l, spec(t, "[per_partition_limit]", CqlType::Int));
        }
        if let Some(l) = &s.limit {
            self.term(l, spec(t, "[limit]", CqlType::Int));
        }
        Ok(())
    }

    /// Batch-level `USING TIMESTAMP`.
    pub fn batch_using(&mut self, t: &TableSchema, u: &Using) {
        self.using(t, u);
    }
}
