//! CQL column types: parsing and formatting of CQL type names, and their native protocol
//! v4 option ids.

use crate::{Error, Result};
use std::fmt;

/// A CQL type scrolldb stores. `varchar` parses as [`CqlType::Text`] (it is an alias).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CqlType {
    Ascii,
    BigInt,
    Blob,
    Boolean,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    SmallInt,
    Text,
    Time,
    Timestamp,
    TimeUuid,
    TinyInt,
    Uuid,
    Varint,
    /// `list<e>`; `frozen` when written `frozen<list<e>>` (a single cell).
    List {
        elem: Box<CqlType>,
        frozen: bool,
    },
    Set {
        elem: Box<CqlType>,
        frozen: bool,
    },
    Map {
        key: Box<CqlType>,
        value: Box<CqlType>,
        frozen: bool,
    },
}

/// Bounds the nesting of `frozen<list<frozen<list<...>>>>` so a hostile type string cannot
/// overflow the parser's stack.
const MAX_TYPE_DEPTH: usize = 16;

impl CqlType {
    /// The `[option]` id of this type in the native protocol v4 (`doc/native_protocol_v4.spec`
    /// section 4.2.5.2); the id does not tell frozen from non-frozen collections.
    pub fn option_id(&self) -> u16 {
        match self {
            CqlType::Ascii => 0x0001,
            CqlType::BigInt => 0x0002,
            CqlType::Blob => 0x0003,
            CqlType::Boolean => 0x0004,
            CqlType::Decimal => 0x0006,
            CqlType::Double => 0x0007,
            CqlType::Float => 0x0008,
            CqlType::Int => 0x0009,
            CqlType::Timestamp => 0x000B,
            CqlType::Uuid => 0x000C,
            CqlType::Text => 0x000D,
            CqlType::Varint => 0x000E,
            CqlType::TimeUuid => 0x000F,
            CqlType::Inet => 0x0010,
            CqlType::Date => 0x0011,
            CqlType::Time => 0x0012,
            CqlType::SmallInt => 0x0013,
            CqlType::TinyInt => 0x0014,
            CqlType::Duration => 0x0015,
            CqlType::List { .. } => 0x0020,
            CqlType::Map { .. } => 0x0021,
            CqlType::Set { .. } => 0x0022,
        }
    }

    /// Whether this is a list, set or map type.
    pub fn is_collection(&self) -> bool {
        matches!(
            self,
            CqlType::List { .. } | CqlType::Set { .. } | CqlType::Map { .. }
        )
    }

    /// Whether values of this type are a single cell: every non-collection type, and
    /// frozen collections.
    pub fn is_frozen(&self) -> bool {
        match self {
            CqlType::List { frozen, .. }
            | CqlType::Set { frozen, .. }
            | CqlType::Map { frozen, .. } => *frozen,
            _ => true,
        }
    }

    /// Parses a CQL type name such as `bigint`, `frozen<list<int>>` or `map<text, int>`.
    /// Names are case-insensitive; `varchar` is `text`.
    pub fn parse(name: &str) -> Result<CqlType> {
        let mut p = Parser { s: name, pos: 0 };
        let t = p.parse_type(0, false)?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(p.error("unexpected text after the type"));
        }
        Ok(t)
    }

    fn simple_from_name(name: &str) -> Option<CqlType> {
        Some(match name {
            "ascii" => CqlType::Ascii,
            "bigint" => CqlType::BigInt,
            "blob" => CqlType::Blob,
            "boolean" => CqlType::Boolean,
            "date" => CqlType::Date,
            "decimal" => CqlType::Decimal,
            "double" => CqlType::Double,
            "duration" => CqlType::Duration,
            "float" => CqlType::Float,
            "inet" => CqlType::Inet,
            "int" => CqlType::Int,
            "smallint" => CqlType::SmallInt,
            "text" | "varchar" => CqlType::Text,
            "time" => CqlType::Time,
            "timestamp" => CqlType::Timestamp,
            "timeuuid" => CqlType::TimeUuid,
            "tinyint" => CqlType::TinyInt,
            "uuid" => CqlType::Uuid,
            "varint" => CqlType::Varint,
            _ => return None,
        })
    }

    fn simple_name(&self) -> &'static str {
        match self {
            CqlType::Ascii => "ascii",
            CqlType::BigInt => "bigint",
            CqlType::Blob => "blob",
            CqlType::Boolean => "boolean",
            CqlType::Date => "date",
            CqlType::Decimal => "decimal",
            CqlType::Double => "double",
            CqlType::Duration => "duration",
            CqlType::Float => "float",
            CqlType::Inet => "inet",
            CqlType::Int => "int",
            CqlType::SmallInt => "smallint",
            CqlType::Text => "text",
            CqlType::Time => "time",
            CqlType::Timestamp => "timestamp",
            CqlType::TimeUuid => "timeuuid",
            CqlType::TinyInt => "tinyint",
            CqlType::Uuid => "uuid",
            CqlType::Varint => "varint",
            CqlType::List { .. } => "list",
            CqlType::Set { .. } => "set",
            CqlType::Map { .. } => "map",
        }
    }
}

impl std::str::FromStr for CqlType {
    type Err = Error;
    fn from_str(s: &str) -> Result<CqlType> {
        CqlType::parse(s)
    }
}

impl fmt::Display for CqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (frozen, inner) = match self {
            CqlType::List { elem, frozen } => (*frozen, format!("list<{elem}>")),
            CqlType::Set { elem, frozen } => (*frozen, format!("set<{elem}>")),
            CqlType::Map { key, value, frozen } => (*frozen, format!("map<{key}, {value}>")),
            simple => return f.write_str(simple.simple_name()),
        };
        if frozen {
            write!(f, "frozen<{inner}>")
        } else {
            f.write_str(&inner)
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Error {
        Error::InvalidRequest(format!(
            "bad CQL type '{}' at offset {}: {what}",
            self.s, self.pos
        ))
    }

    fn skip_ws(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn ident(&mut self) -> String {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += n;
        rest[..n].to_ascii_lowercase()
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.skip_ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    /// `inside` is true within a collection, where only frozen collections are allowed (as
    /// in Cassandra: "non-frozen collections are not allowed inside collections").
    fn parse_type(&mut self, depth: usize, inside: bool) -> Result<CqlType> {
        if depth > MAX_TYPE_DEPTH {
            return Err(self.error("type nested too deeply"));
        }
        let name = self.ident();
        if name.is_empty() {
            return Err(self.error("expected a type name"));
        }
        if name == "frozen" {
            self.expect('<')?;
            let t = self.parse_type(depth + 1, false)?;
            self.expect('>')?;
            return Ok(match t {
                CqlType::List { elem, .. } => CqlType::List { elem, frozen: true },
                CqlType::Set { elem, .. } => CqlType::Set { elem, frozen: true },
                CqlType::Map { key, value, .. } => CqlType::Map {
                    key,
                    value,
                    frozen: true,
                },
                // `frozen<int>` is accepted by Cassandra as `int`.
                simple => simple,
            });
        }
        if let Some(t) = CqlType::simple_from_name(&name) {
            return Ok(t);
        }
        let t = match name.as_str() {
            "list" | "set" => {
                self.expect('<')?;
                let elem = Box::new(self.parse_type(depth + 1, true)?);
                self.expect('>')?;
                if name == "list" {
                    CqlType::List {
                        elem,
                        frozen: false,
                    }
                } else {
                    CqlType::Set {
                        elem,
                        frozen: false,
                    }
                }
            }
            "map" => {
                self.expect('<')?;
                let key = Box::new(self.parse_type(depth + 1, true)?);
                self.expect(',')?;
                let value = Box::new(self.parse_type(depth + 1, true)?);
                self.expect('>')?;
                CqlType::Map {
                    key,
                    value,
                    frozen: false,
                }
            }
            _ => return Err(self.error(&format!("unknown type '{name}'"))),
        };
        if inside {
            return Err(self.error("non-frozen collections are not allowed inside collections"));
        }
        Ok(t)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        for (input, shown) in [
            ("bigint", "bigint"),
            ("VARCHAR", "text"),
            ("frozen<list<int>>", "frozen<list<int>>"),
            ("map<text, int>", "map<text, int>"),
            ("map < text ,int >", "map<text, int>"),
            (
                "set<frozen<map<uuid,timeuuid>>>",
                "set<frozen<map<uuid, timeuuid>>>",
            ),
            ("frozen<int>", "int"),
        ] {
            let t = CqlType::parse(input).unwrap();
            assert_eq!(t.to_string(), shown, "{input}");
            assert_eq!(CqlType::parse(shown).unwrap(), t);
        }
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "bigint2",
            "list<int",
            "list<list<int>>",
            "map<int>",
            "int int",
            "frozen<",
            "list<é>",
        ] {
            assert!(
                matches!(CqlType::parse(bad), Err(Error::InvalidRequest(_))),
                "{bad}"
            );
        }
        let deep = "frozen<list<".repeat(100) + "int" + &">>".repeat(100);
        assert!(CqlType::parse(&deep).is_err());
    }

    #[test]
    fn option_ids_follow_the_v4_spec() {
        assert_eq!(CqlType::Ascii.option_id(), 0x0001);
        assert_eq!(CqlType::Text.option_id(), 0x000D);
        assert_eq!(CqlType::Duration.option_id(), 0x0015);
        assert_eq!(
            CqlType::parse("frozen<set<int>>").unwrap().option_id(),
            0x0022
        );
        assert_eq!(CqlType::parse("map<int, int>").unwrap().option_id(), 0x0021);
    }
}
