//! The syntax tree of the CQL subset scrolldb runs (see `docs/CQL.md`). Names are already
//! normalized: unquoted identifiers lower-cased, quoted ones as written.

use std::collections::BTreeMap;

/// `[keyspace.]name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QualifiedName {
    pub keyspace: Option<String>,
    pub name: String,
}

/// A bind marker; `index` numbers the markers of a statement in order of appearance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub index: usize,
    /// `Some` for `:name`.
    pub name: Option<String>,
}

/// A value in a statement: a literal, a bind marker or a function call.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Null,
    Bool(bool),
    /// Integer digits with an optional leading '-'.
    Int(String),
    /// Float text, including `NaN` and `Infinity` (with an optional '-').
    Float(String),
    Str(String),
    Blob(Vec<u8>),
    Uuid([u8; 16]),
    /// A duration literal as written, e.g. `1h30m` or `-2d`.
    Duration(String),
    List(Vec<Term>),
    Set(Vec<Term>),
    Map(Vec<(Term, Term)>),
    /// `{}`: an empty set or map, decided by the column's type.
    EmptyBraces,
    Marker(Marker),
    /// A function call such as `now()`; the name is lower-cased.
    Call(String, Vec<Term>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateKeyspace {
    pub name: String,
    pub if_not_exists: bool,
    pub replication: BTreeMap<String, String>,
    pub durable_writes: Option<bool>,
}

/// A `WITH` option's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// A string, number or boolean, as text.
    Constant(String),
    Map(BTreeMap<String, String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDecl {
    pub name: String,
    /// The type as `CqlType::parse` reads it.
    pub ty: String,
    pub is_static: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTable {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDecl>,
    pub partition_key: Vec<String>,
    pub clustering: Vec<String>,
    /// `CLUSTERING ORDER BY (c DESC, ...)`: (column, descending).
    pub clustering_order: Vec<(String, bool)>,
    pub options: Vec<(String, OptionValue)>,
    pub compact_storage: bool,
}

/// `USING TTL t AND TIMESTAMP ts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Using {
    pub ttl: Option<Term>,
    pub timestamp: Option<Term>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

/// The left side of a WHERE relation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lhs {
    Column(String),
    /// `token(a, b)`.
    Token(Vec<String>),
}

/// The right side: one term, or the list of `IN (...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Rhs {
    Term(Term),
    /// `IN (a, b)`.
    List(Vec<Term>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    pub lhs: Lhs,
    pub op: Op,
    pub rhs: Rhs,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Insert {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub values: Vec<Term>,
    pub using: Using,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub table: QualifiedName,
    pub using: Using,
    pub assignments: Vec<(String, Term)>,
    pub relations: Vec<Relation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delete {
    pub columns: Vec<String>,
    pub table: QualifiedName,
    pub using: Using,
    pub relations: Vec<Relation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchType {
    Logged,
    Unlogged,
    Counter,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BatchStmt {
    pub kind: BatchType,
    pub using: Using,
    pub statements: Vec<Statement>,
}

/// One item of a select clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectorKind {
    Column(String),
    WriteTime(String),
    /// `token(pk1, pk2)`: the partition's Murmur3 token, a bigint.
    Token(Vec<String>),
    Ttl(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub kind: SelectorKind,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    Star,
    /// `COUNT(*)` or `COUNT(1)`, with its alias.
    Count(Option<String>),
    Columns(Vec<Selector>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub table: QualifiedName,
    pub selection: Selection,
    pub relations: Vec<Relation>,
    /// (column, descending).
    pub order_by: Vec<(String, bool)>,
    pub limit: Option<Term>,
    pub per_partition_limit: Option<Term>,
    pub allow_filtering: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    CreateKeyspace(CreateKeyspace),
    DropKeyspace {
        name: String,
        if_exists: bool,
    },
    Use(String),
    CreateTable(CreateTable),
    DropTable {
        name: QualifiedName,
        if_exists: bool,
    },
    Truncate(QualifiedName),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Batch(BatchStmt),
    Select(Select),
}

/// A parsed statement and its bind markers, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub statement: Statement,
    pub markers: Vec<Marker>,
}
