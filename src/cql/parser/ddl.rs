//! CREATE KEYSPACE and CREATE TABLE, and the `WITH` properties they share.

use super::lexer::Tok;
use super::{Parser, MAX_DEPTH};
use crate::cql::ast::{ColumnDecl, CreateKeyspace, CreateTable, OptionValue};
use crate::cql::result::CqlError;
use std::collections::BTreeMap;

impl Parser {
    pub(super) fn create_keyspace(&mut self) -> Result<CreateKeyspace, CqlError> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.ident()?;
        self.expect_kw("with")?;
        let mut ks = CreateKeyspace {
            name,
            if_not_exists,
            replication: BTreeMap::new(),
            durable_writes: None,
        };
        loop {
            let (key, value) = self.property()?;
            match (key.as_str(), value) {
                ("replication", OptionValue::Map(m)) => ks.replication = m,
                ("durable_writes", OptionValue::Constant(c)) => {
                    ks.durable_writes = Some(match c.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(CqlError::syntax(format!(
                                "Invalid boolean value for durable_writes: {c}"
                            )))
                        }
                    })
                }
                (other, _) => return Err(CqlError::syntax(format!("Unknown property '{other}'"))),
            }
            if !self.eat_kw("and") {
                break;
            }
        }
        Ok(ks)
    }

    /// `name = constant` or `name = {map}`.
    fn property(&mut self) -> Result<(String, OptionValue), CqlError> {
        let key = self.ident()?;
        self.expect_sym("=")?;
        if self.eat_sym("{") {
            let mut m = BTreeMap::new();
            if !self.eat_sym("}") {
                loop {
                    let k = self.constant()?;
                    self.expect_sym(":")?;
                    let v = self.constant()?;
                    m.insert(k, v);
                    if self.eat_sym("}") {
                        break;
                    }
                    self.expect_sym(",")?;
                }
            }
            return Ok((key, OptionValue::Map(m)));
        }
        Ok((key, OptionValue::Constant(self.constant()?)))
    }

    /// A property constant: a string, number or boolean, as text.
    fn constant(&mut self) -> Result<String, CqlError> {
        let neg = self.eat_sym("-");
        let sign = if neg { "-" } else { "" };
        let s = match self.cur().tok.clone() {
            Tok::Int(s) | Tok::Float(s) => format!("{sign}{s}"),
            _ if neg => return Err(self.unexpected()),
            Tok::Str(s) => s,
            Tok::Word(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                w.to_ascii_lowercase()
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(s)
    }

    pub(super) fn create_table(&mut self) -> Result<CreateTable, CqlError> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        let mut t = CreateTable {
            name,
            if_not_exists,
            columns: Vec::new(),
            partition_key: Vec::new(),
            clustering: Vec::new(),
            clustering_order: Vec::new(),
            options: Vec::new(),
            compact_storage: false,
        };
        self.expect_sym("(")?;
        let mut inline_pk: Option<String> = None;
        loop {
            if self.is_kw("primary") {
                self.advance();
                self.expect_kw("key")?;
                self.primary_key_clause(&mut t)?;
            } else {
                let name = self.ident()?;
                let ty = self.type_name(0)?;
                let is_static = self.eat_kw("static");
                if self.eat_kw("primary") {
                    self.expect_kw("key")?;
                    if inline_pk.is_some() {
                        return Err(CqlError::invalid(
                            "Multiple PRIMARY KEYs specified (exactly one required)",
                        ));
                    }
                    inline_pk = Some(name.clone());
                }
                t.columns.push(ColumnDecl {
                    name,
                    ty,
                    is_static,
                });
            }
            if self.eat_sym(")") {
                break;
            }
            self.expect_sym(",")?;
        }
        if let Some(pk) = inline_pk {
            if !t.partition_key.is_empty() {
                return Err(CqlError::invalid(
                    "Multiple PRIMARY KEYs specified (exactly one required)",
                ));
            }
            t.partition_key.push(pk);
        }
        if self.eat_kw("with") {
            loop {
                if self.eat_kw("clustering") {
                    self.expect_kw("order")?;
                    self.expect_kw("by")?;
                    self.expect_sym("(")?;
                    loop {
                        let c = self.ident()?;
                        let desc = if self.eat_kw("desc") {
                            true
                        } else {
                            self.eat_kw("asc");
                            false
                        };
                        t.clustering_order.push((c, desc));
                        if self.eat_sym(")") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                } else if self.is_kw("compact") && self.is_kw_at(1, "storage") {
                    self.pos += 2;
                    t.compact_storage = true;
                } else {
                    t.options.push(self.property()?);
                }
                if !self.eat_kw("and") {
                    break;
                }
            }
        }
        Ok(t)
    }

    /// After `PRIMARY KEY`: `(pk, c1, c2)` or `((pk1, pk2), c1)`.
    fn primary_key_clause(&mut self, t: &mut CreateTable) -> Result<(), CqlError> {
        if !t.partition_key.is_empty() {
            return Err(CqlError::invalid(
                "Multiple PRIMARY KEYs specified (exactly one required)",
            ));
        }
        self.expect_sym("(")?;
        if self.eat_sym("(") {
            loop {
                t.partition_key.push(self.ident()?);
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        } else {
            t.partition_key.push(self.ident()?);
        }
        while self.eat_sym(",") {
            t.clustering.push(self.ident()?);
        }
        self.expect_sym(")")
    }

    /// A type such as `frozen<map<text, int>>`, returned as text for `CqlType::parse`.
    fn type_name(&mut self, depth: usize) -> Result<String, CqlError> {
        if depth > MAX_DEPTH {
            return Err(self.err_at("type nested too deeply"));
        }
        let name = match self.cur().tok.clone() {
            Tok::Word(w) => w.to_ascii_lowercase(),
            Tok::Quoted(q) => q,
            _ => return Err(self.unexpected()),
        };
        self.advance();
        if !self.eat_sym("<") {
            return Ok(name);
        }
        let mut args = vec![self.type_name(depth + 1)?];
        while self.eat_sym(",") {
            args.push(self.type_name(depth + 1)?);
        }
        self.expect_sym(">")?;
        Ok(format!("{name}<{}>", args.join(", ")))
    }
}
