//! SELECT.

use super::lexer::Tok;
use super::Parser;
use crate::cql::ast::{Select, Selection, Selector, SelectorKind};
use crate::cql::result::CqlError;

impl Parser {
    pub(super) fn select(&mut self) -> Result<Select, CqlError> {
        self.expect_kw("select")?;
        if self.is_kw("json") || self.is_kw("distinct") {
            return Err(CqlError::invalid(format!(
                "SELECT {} is not supported by scrolldb",
                self.cur().tok.text().to_ascii_uppercase()
            )));
        }
        let selection = self.selection()?;
        self.expect_kw("from")?;
        let table = self.qualified_name()?;
        let mut s = Select {
            table,
            selection,
            relations: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            per_partition_limit: None,
            allow_filtering: false,
        };
        if self.eat_kw("where") {
            s.relations = self.relations()?;
        }
        if self.is_kw("group") {
            return Err(CqlError::invalid("GROUP BY is not supported by scrolldb"));
        }
        if self.eat_kw("order") {
            self.expect_kw("by")?;
            loop {
                let c = self.ident()?;
                let desc = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                s.order_by.push((c, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.is_kw("per") {
            self.advance();
            self.expect_kw("partition")?;
            self.expect_kw("limit")?;
            s.per_partition_limit = Some(self.term()?);
        }
        if self.eat_kw("limit") {
            s.limit = Some(self.term()?);
        }
        if self.eat_kw("allow") {
            self.expect_kw("filtering")?;
            s.allow_filtering = true;
        }
        Ok(s)
    }

    fn selection(&mut self) -> Result<Selection, CqlError> {
        if self.eat_sym("*") {
            return Ok(Selection::Star);
        }
        if self.is_kw("count") && matches!(self.peek_tok(1), Tok::Sym("(")) {
            let star_or_one = matches!(self.peek_tok(2), Tok::Sym("*"))
                || matches!(self.peek_tok(2), Tok::Int(s) if s == "1");
            if star_or_one && matches!(self.peek_tok(3), Tok::Sym(")")) {
                self.pos += 4;
                let alias = self.alias()?;
                if self.is_sym(",") {
                    return Err(CqlError::invalid(
                        "COUNT(*) cannot be combined with other selectors in scrolldb",
                    ));
                }
                return Ok(Selection::Count(alias));
            }
        }
        let mut items = Vec::new();
        loop {
            let kind = if self.is_kw("token") && matches!(self.peek_tok(1), Tok::Sym("(")) {
                self.pos += 2;
                let mut cols = vec![self.ident()?];
                while self.eat_sym(",") {
                    cols.push(self.ident()?);
                }
                self.expect_sym(")")?;
                SelectorKind::Token(cols)
            } else if (self.is_kw("writetime") || self.is_kw("ttl"))
                && matches!(self.peek_tok(1), Tok::Sym("("))
            {
                let ttl = self.is_kw("ttl");
                self.pos += 2;
                let c = self.ident()?;
                self.expect_sym(")")?;
                if ttl {
                    SelectorKind::Ttl(c)
                } else {
                    SelectorKind::WriteTime(c)
                }
            } else {
                let c = self.ident()?;
                if self.is_sym("(") {
                    return Err(CqlError::invalid(format!(
                        "Unknown function '{c}' (scrolldb supports writetime, ttl and COUNT(*) in selections)"
                    )));
                }
                SelectorKind::Column(c)
            };
            let alias = self.alias()?;
            items.push(Selector { kind, alias });
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Selection::Columns(items))
    }

    fn alias(&mut self) -> Result<Option<String>, CqlError> {
        if self.eat_kw("as") {
            Ok(Some(self.ident()?))
        } else {
            Ok(None)
        }
    }
}
