//! INSERT, UPDATE, DELETE, BATCH, and the WHERE relations they share with SELECT.

use super::lexer::Tok;
use super::Parser;
use crate::cql::ast::{
    BatchStmt, BatchType, Delete, Insert, Lhs, Op, Relation, Rhs, Statement, Update, Using,
};
use crate::cql::result::CqlError;

impl Parser {
    pub(super) fn insert(&mut self) -> Result<Insert, CqlError> {
        self.expect_kw("insert")?;
        self.expect_kw("into")?;
        let table = self.qualified_name()?;
        if self.is_kw("json") {
            return Err(CqlError::invalid("INSERT JSON is not supported"));
        }
        self.expect_sym("(")?;
        let mut columns = vec![self.ident()?];
        while self.eat_sym(",") {
            columns.push(self.ident()?);
        }
        self.expect_sym(")")?;
        self.expect_kw("values")?;
        self.expect_sym("(")?;
        let values = self.term_list(")")?;
        self.no_conditions()?;
        let using = self.using()?;
        Ok(Insert {
            table,
            columns,
            values,
            using,
        })
    }

    /// Lightweight transactions (`IF ...`) need Paxos; scrolldb refuses them clearly.
    fn no_conditions(&mut self) -> Result<(), CqlError> {
        if self.is_kw("if") {
            return Err(CqlError::invalid(
                "Conditional updates (IF ...) are not supported by scrolldb",
            ));
        }
        Ok(())
    }

    /// `[USING TTL t] [AND TIMESTAMP ts]` in either order.
    fn using(&mut self) -> Result<Using, CqlError> {
        let mut u = Using::default();
        if !self.eat_kw("using") {
            return Ok(u);
        }
        loop {
            if self.eat_kw("ttl") {
                u.ttl = Some(self.term()?);
            } else if self.eat_kw("timestamp") {
                u.timestamp = Some(self.term()?);
            } else {
                return Err(self.unexpected());
            }
            if !self.eat_kw("and") {
                return Ok(u);
            }
        }
    }

    pub(super) fn update(&mut self) -> Result<Update, CqlError> {
        self.expect_kw("update")?;
        let table = self.qualified_name()?;
        let using = self.using()?;
        self.expect_kw("set")?;
        let mut assignments = Vec::new();
        loop {
            let col = self.ident()?;
            if self.is_sym("[") || self.is_sym(".") {
                return Err(CqlError::invalid(
                    "Element and field updates are not supported by scrolldb",
                ));
            }
            self.expect_sym("=")?;
            let value = self.term()?;
            if self.is_sym("+") || self.is_sym("-") {
                return Err(CqlError::invalid(format!(
                    "Counter and collection updates ({col} = {col} +/- ...) are not supported by scrolldb"
                )));
            }
            assignments.push((col, value));
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_kw("where")?;
        let relations = self.relations()?;
        self.no_conditions()?;
        Ok(Update {
            table,
            using,
            assignments,
            relations,
        })
    }

    pub(super) fn delete(&mut self) -> Result<Delete, CqlError> {
        self.expect_kw("delete")?;
        let mut columns = Vec::new();
        if !self.is_kw("from") {
            loop {
                columns.push(self.ident()?);
                if self.is_sym("[") {
                    return Err(CqlError::invalid(
                        "Element deletions are not supported by scrolldb",
                    ));
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kw("from")?;
        let table = self.qualified_name()?;
        let using = self.using()?;
        if using.ttl.is_some() {
            return Err(CqlError::invalid("TTL is not supported on DELETE"));
        }
        self.expect_kw("where")?;
        let relations = self.relations()?;
        self.no_conditions()?;
        Ok(Delete {
            columns,
            table,
            using,
            relations,
        })
    }

    pub(super) fn batch(&mut self) -> Result<BatchStmt, CqlError> {
        self.expect_kw("begin")?;
        let kind = if self.eat_kw("unlogged") {
            BatchType::Unlogged
        } else if self.eat_kw("counter") {
            BatchType::Counter
        } else {
            BatchType::Logged
        };
        self.expect_kw("batch")?;
        let using = self.using()?;
        if using.ttl.is_some() {
            return Err(CqlError::invalid(
                "Global TTL on the BATCH statement is not supported.",
            ));
        }
        let mut statements = Vec::new();
        loop {
            while self.eat_sym(";") {}
            if self.eat_kw("apply") {
                self.expect_kw("batch")?;
                break;
            }
            let s = if self.is_kw("insert") {
                Statement::Insert(self.insert()?)
            } else if self.is_kw("update") {
                Statement::Update(self.update()?)
            } else if self.is_kw("delete") {
                Statement::Delete(self.delete()?)
            } else {
                return Err(self.unexpected());
            };
            statements.push(s);
        }
        Ok(BatchStmt {
            kind,
            using,
            statements,
        })
    }

    /// `rel AND rel ...`.
    pub(super) fn relations(&mut self) -> Result<Vec<Relation>, CqlError> {
        let mut rels = vec![self.relation()?];
        while self.eat_kw("and") {
            rels.push(self.relation()?);
        }
        Ok(rels)
    }

    fn relation(&mut self) -> Result<Relation, CqlError> {
        if self.is_sym("(") {
            return Err(CqlError::invalid(
                "Multi-column (tuple) relations are not supported by scrolldb",
            ));
        }
        let lhs = if self.is_kw("token") && matches!(self.peek_tok(1), Tok::Sym("(")) {
            self.pos += 2;
            let mut cols = vec![self.ident()?];
            while self.eat_sym(",") {
                cols.push(self.ident()?);
            }
            self.expect_sym(")")?;
            Lhs::Token(cols)
        } else {
            Lhs::Column(self.ident()?)
        };
        if self.eat_kw("in") {
            if self.eat_sym("(") {
                let items = self.term_list(")")?;
                return Ok(Relation {
                    lhs,
                    op: Op::In,
                    rhs: Rhs::List(items),
                });
            }
            let t = self.term()?;
            return Ok(Relation {
                lhs,
                op: Op::In,
                rhs: Rhs::Term(t),
            });
        }
        let op = match self.cur().tok {
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            Tok::Sym("!=") => {
                return Err(CqlError::invalid("Unsupported \"!=\" relation"));
            }
            Tok::Word(ref w)
                if w.eq_ignore_ascii_case("contains") || w.eq_ignore_ascii_case("like") =>
            {
                return Err(CqlError::invalid(format!(
                    "{} relations are not supported by scrolldb",
                    w.to_ascii_uppercase()
                )));
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        let t = self.term()?;
        Ok(Relation {
            lhs,
            op,
            rhs: Rhs::Term(t),
        })
    }
}
