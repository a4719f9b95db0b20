//! Terms: literals, collection literals, bind markers and function calls.

use super::lexer::Tok;
use super::{Parser, MAX_DEPTH};
use crate::cql::ast::{Marker, Term};
use crate::cql::result::CqlError;

impl Parser {
    fn marker(&mut self, name: Option<String>) -> Term {
        let m = Marker {
            index: self.markers.len(),
            name,
        };
        self.markers.push(m.clone());
        Term::Marker(m)
    }

    pub(super) fn term(&mut self) -> Result<Term, CqlError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err_at("collection literal nested too deeply"));
        }
        self.depth += 1;
        let t = self.term_inner();
        self.depth -= 1;
        t
    }

    fn term_inner(&mut self) -> Result<Term, CqlError> {
        let neg = self.eat_sym("-");
        let tok = self.cur().tok.clone();
        let sign = if neg { "-" } else { "" };
        let term = match tok {
            Tok::Int(s) => Term::Int(format!("{sign}{s}")),
            Tok::Float(s) => Term::Float(format!("{sign}{s}")),
            Tok::Duration(s) => Term::Duration(format!("{sign}{s}")),
            Tok::Word(w) if w.eq_ignore_ascii_case("nan") => Term::Float(format!("{sign}NaN")),
            Tok::Word(w) if w.eq_ignore_ascii_case("infinity") => {
                Term::Float(format!("{sign}Infinity"))
            }
            _ if neg => return Err(self.unexpected()),
            Tok::Str(s) => Term::Str(s),
            Tok::Hex(h) => Term::Blob(decode_hex(&h).ok_or_else(|| self.unexpected())?),
            Tok::Uuid(u) => Term::Uuid(parse_uuid(&u).ok_or_else(|| self.unexpected())?),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Term::Null,
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Term::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Term::Bool(false),
            Tok::Sym("?") => {
                self.advance();
                return Ok(self.marker(None));
            }
            Tok::Sym(":") => {
                self.advance();
                let name = self.ident()?;
                return Ok(self.marker(Some(name)));
            }
            Tok::Sym("[") => {
                self.advance();
                let items = self.term_list("]")?;
                return Ok(Term::List(items));
            }
            Tok::Sym("{") => {
                self.advance();
                return self.braces();
            }
            Tok::Word(w) if matches!(self.peek_tok(1), Tok::Sym("(")) => {
                self.advance();
                self.advance();
                let args = self.term_list(")")?;
                return Ok(Term::Call(w.to_ascii_lowercase(), args));
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(term)
    }

    /// Terms separated by commas up to `close` (consumed); may be empty.
    pub(super) fn term_list(&mut self, close: &str) -> Result<Vec<Term>, CqlError> {
        let mut items = Vec::new();
        if self.eat_sym(close) {
            return Ok(items);
        }
        loop {
            items.push(self.term()?);
            if self.eat_sym(close) {
                return Ok(items);
            }
            self.expect_sym(",")?;
        }
    }

    /// After `{`: a set, a map, or `{}`.
    fn braces(&mut self) -> Result<Term, CqlError> {
        if self.eat_sym("}") {
            return Ok(Term::EmptyBraces);
        }
        let first = self.term()?;
        if self.eat_sym(":") {
            let mut entries = vec![(first, self.term()?)];
            while self.eat_sym(",") {
                let k = self.term()?;
                self.expect_sym(":")?;
                entries.push((k, self.term()?));
            }
            self.expect_sym("}")?;
            return Ok(Term::Map(entries));
        }
        let mut items = vec![first];
        while self.eat_sym(",") {
            items.push(self.term()?);
        }
        self.expect_sym("}")?;
        Ok(Term::Set(items))
    }
}

pub(crate) fn decode_hex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.len() != 36 {
        return None;
    }
    decode_hex(&hex)?.try_into().ok()
}
