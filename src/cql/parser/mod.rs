//! A recursive-descent parser for scrolldb's CQL subset: text in, [`Parsed`] out, or a
//! `Syntax` error (0x2000) worded as Cassandra words them (`line 1:14 no viable alternative
//! at input 'FORM'`). It never panics, whatever the input: see the proptest in `tests`.

mod ddl;
mod dml;
pub mod lexer;
mod select;
mod term;

use crate::cql::ast::{Marker, Parsed, QualifiedName, Statement};
use crate::cql::result::CqlError;
use lexer::{tokenize, Spanned, Tok};

/// Bounds the nesting of collection literals so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 32;

/// Keywords that cannot be used as unquoted identifiers (Cassandra's reserved keywords).
const RESERVED: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "keyspace",
    "limit",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "update",
    "use",
    "using",
    "where",
    "with",
];

/// Parses one statement (a trailing `;` is allowed).
pub fn parse(cql: &str) -> Result<Parsed, CqlError> {
    let mut p = Parser {
        toks: tokenize(cql)?,
        pos: 0,
        markers: Vec::new(),
        depth: 0,
    };
    let statement = p.statement()?;
    p.eat_sym(";");
    if !p.at_eof() {
        return Err(p.unexpected());
    }
    Ok(Parsed {
        statement,
        markers: p.markers,
    })
}

pub(crate) struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    markers: Vec<Marker>,
    depth: usize,
}

impl Parser {
    fn cur(&self) -> &Spanned {
        // `tokenize` always ends with Eof and `advance` never moves past it.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.pos.min(last)]
    }

    fn peek_tok(&self, ahead: usize) -> &Tok {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.pos + ahead).min(last)].tok
    }

    fn at_eof(&self) -> bool {
        self.cur().tok == Tok::Eof
    }

    fn advance(&mut self) -> Tok {
        let t = self.cur().tok.clone();
        if t != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn err_at(&self, msg: &str) -> CqlError {
        let s = self.cur();
        CqlError::syntax(format!("line {}:{} {msg}", s.line, s.col))
    }

    /// `no viable alternative at input 'X'`, Cassandra's message for an unexpected token.
    fn unexpected(&self) -> CqlError {
        self.err_at(&format!(
            "no viable alternative at input '{}'",
            self.cur().tok.text()
        ))
    }

    fn expected(&self, what: &str) -> CqlError {
        self.err_at(&format!(
            "mismatched input '{}' expecting {what}",
            self.cur().tok.text()
        ))
    }

    /// Whether the current token is the keyword `kw` (case-insensitive).
    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn is_kw_at(&self, ahead: usize, kw: &str) -> bool {
        matches!(self.peek_tok(ahead), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), CqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(&kw.to_ascii_uppercase()))
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.cur().tok, Tok::Sym(x) if x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), CqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{s}'")))
        }
    }

    /// An identifier: unquoted ones are lower-cased and may not be reserved keywords.
    fn ident(&mut self) -> Result<String, CqlError> {
        match &self.cur().tok {
            Tok::Word(w) if !RESERVED.contains(&w.to_ascii_lowercase().as_str()) => {
                let w = w.to_ascii_lowercase();
                self.pos += 1;
                Ok(w)
            }
            Tok::Quoted(q) => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `[keyspace.]name`.
    fn qualified_name(&mut self) -> Result<QualifiedName, CqlError> {
        let first = self.ident()?;
        if self.eat_sym(".") {
            let name = self.ident()?;
            Ok(QualifiedName {
                keyspace: Some(first),
                name,
            })
        } else {
            Ok(QualifiedName {
                keyspace: None,
                name: first,
            })
        }
    }

    fn if_not_exists(&mut self) -> Result<bool, CqlError> {
        if self.eat_kw("if") {
            self.expect_kw("not")?;
            self.expect_kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn if_exists(&mut self) -> Result<bool, CqlError> {
        if self.eat_kw("if") {
            self.expect_kw("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn statement(&mut self) -> Result<Statement, CqlError> {
        if self.is_kw("select") {
            return self.select().map(Statement::Select);
        }
        if self.is_kw("insert") {
            return self.insert().map(Statement::Insert);
        }
        if self.is_kw("update") {
            return self.update().map(Statement::Update);
        }
        if self.is_kw("delete") {
            return self.delete().map(Statement::Delete);
        }
        if self.is_kw("begin") {
            return self.batch().map(Statement::Batch);
        }
        if self.eat_kw("use") {
            return self.ident().map(Statement::Use);
        }
        if self.eat_kw("truncate") {
            let _ = self.eat_kw("table") || self.eat_kw("columnfamily");
            return self.qualified_name().map(Statement::Truncate);
        }
        if self.eat_kw("create") {
            if self.eat_kw("keyspace") || self.eat_kw("schema") {
                return self.create_keyspace().map(Statement::CreateKeyspace);
            }
            if self.eat_kw("table") || self.eat_kw("columnfamily") {
                return self.create_table().map(Statement::CreateTable);
            }
            return Err(self.unexpected());
        }
        if self.eat_kw("drop") {
            if self.eat_kw("keyspace") || self.eat_kw("schema") {
                let if_exists = self.if_exists()?;
                let name = self.ident()?;
                return Ok(Statement::DropKeyspace { name, if_exists });
            }
            if self.eat_kw("table") || self.eat_kw("columnfamily") {
                let if_exists = self.if_exists()?;
                let name = self.qualified_name()?;
                return Ok(Statement::DropTable { name, if_exists });
            }
            return Err(self.unexpected());
        }
        Err(self.unexpected())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
