//! Splits CQL text into tokens, each with the line and column it starts at (for error
//! messages in Cassandra's `line L:C` form). Comments (`--`, `//`, `/* */`) and whitespace are
//! dropped. Words are kept as written: the parser decides which are keywords.

use crate::cql::result::CqlError;

/// One lexical token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A `"quoted"` identifier, with `""` unescaped; keeps its case.
    Quoted(String),
    /// A `'string'` or `$$string$$` literal, with `''` unescaped.
    Str(String),
    /// An integer literal's digits (no sign).
    Int(String),
    /// A floating point literal (no sign).
    Float(String),
    /// `0x...` blob literal, the hex digits after `0x`.
    Hex(String),
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    Uuid(String),
    /// A duration literal such as `1h30m`, as written.
    Duration(String),
    /// Punctuation and operators: `( ) , ; . = < <= > >= != [ ] { } : ? + - *`.
    Sym(&'static str),
    Eof,
}

impl Tok {
    /// How the token is shown in an error message.
    pub fn text(&self) -> String {
        match self {
            Tok::Word(s) | Tok::Int(s) | Tok::Float(s) | Tok::Uuid(s) | Tok::Duration(s) => {
                s.clone()
            }
            Tok::Quoted(s) => format!("\"{s}\""),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Hex(s) => format!("0x{s}"),
            Tok::Sym(s) => (*s).to_string(),
            Tok::Eof => "<EOF>".to_string(),
        }
    }
}

/// A token and where it starts (1-based line, 0-based column, as Cassandra counts).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

/// Bounds the tokens of one statement so hostile input cannot make us allocate without end.
pub const MAX_TOKENS: usize = 1_000_000;

const SYMBOLS: [&str; 21] = [
    "<=", ">=", "!=", "(", ")", ",", ";", ".", "=", "<", ">", "[", "]", "{", "}", ":", "?", "+",
    "-", "*", "/",
];

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    line_start: usize,
}

/// Tokenizes a whole statement (or batch); the last token is [`Tok::Eof`].
pub fn tokenize(text: &str) -> Result<Vec<Spanned>, CqlError> {
    let mut lx = Lexer {
        src: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        line_start: 0,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_blanks()?;
        let (line, col) = (lx.line, lx.pos - lx.line_start);
        let tok = lx.next_tok()?;
        let eof = tok == Tok::Eof;
        out.push(Spanned { tok, line, col });
        if eof {
            return Ok(out);
        }
        if out.len() > MAX_TOKENS {
            return Err(CqlError::syntax("statement too long"));
        }
    }
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn err(&self, msg: &str) -> CqlError {
        CqlError::syntax(format!(
            "line {}:{} {msg}",
            self.line,
            self.pos - self.line_start
        ))
    }

    fn bump_newlines(&mut self, from: usize, to: usize) {
        for i in from..to {
            if self.src.get(i) == Some(&b'\n') {
                self.line += 1;
                self.line_start = i + 1;
            }
        }
    }

    fn skip_blanks(&mut self) -> Result<(), CqlError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => {
                    self.bump_newlines(self.pos, self.pos + 1);
                    self.pos += 1;
                }
                (Some(b'-'), Some(b'-')) | (Some(b'/'), Some(b'/')) => {
                    while let Some(c) = self.peek(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    let Some(end) = self.text[self.pos + 2..].find("*/") else {
                        return Err(self.err("unterminated comment"));
                    };
                    self.pos += 2 + end + 2;
                    self.bump_newlines(start, self.pos);
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_tok(&mut self) -> Result<Tok, CqlError> {
        let Some(c) = self.peek(0) else {
            return Ok(Tok::Eof);
        };
        if let Some(u) = self.uuid() {
            return Ok(u);
        }
        match c {
            b'\'' => self.string(),
            b'"' => self.quoted(),
            b'$' if self.peek(1) == Some(b'$') => self.dollar_string(),
            b'0' if matches!(self.peek(1), Some(b'x' | b'X')) => {
                self.pos += 2;
                let start = self.pos;
                while self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
                if self.peek(0).is_some_and(is_ident_char) {
                    return Err(self.err("invalid blob literal"));
                }
                Ok(Tok::Hex(self.text[start..self.pos].to_string()))
            }
            c if c.is_ascii_digit() => Ok(self.number()),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while self.peek(0).is_some_and(is_ident_char) {
                    self.pos += 1;
                }
                Ok(Tok::Word(self.text[start..self.pos].to_string()))
            }
            _ => {
                let rest = &self.text[self.pos..];
                for s in SYMBOLS {
                    if rest.starts_with(s) {
                        self.pos += s.len();
                        return Ok(Tok::Sym(s));
                    }
                }
                let ch = rest.chars().next().unwrap_or('?');
                Err(self.err(&format!("token recognition error at: '{ch}'")))
            }
        }
    }

    /// A UUID constant: 8-4-4-4-12 hex digits not followed by an identifier character.
    fn uuid(&mut self) -> Option<Tok> {
        let cand = self.src.get(self.pos..self.pos + 36)?;
        let ok = cand.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
        if !ok || self.peek(36).is_some_and(is_ident_char) {
            return None;
        }
        self.pos += 36;
        Some(Tok::Uuid(
            self.text[self.pos - 36..self.pos].to_ascii_lowercase(),
        ))
    }

    fn number(&mut self) -> Tok {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                self.pos += 1 + sign;
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        if !float && self.peek(0).is_some_and(|c| c.is_ascii_alphabetic()) {
            // A duration such as 1h30m or 12mo3d: digits and unit letters alternating.
            while self.peek(0).is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            return Tok::Duration(self.text[start..self.pos].to_string());
        }
        let s = self.text[start..self.pos].to_string();
        if float {
            Tok::Float(s)
        } else {
            Tok::Int(s)
        }
    }

    fn delimited(&mut self, quote: u8) -> Result<String, CqlError> {
        let start_pos = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(i) = rest.find(quote as char) else {
                self.pos = start_pos;
                return Err(self.err("unterminated literal"));
            };
            out.push_str(&rest[..i]);
            self.bump_newlines(self.pos, self.pos + i);
            self.pos += i + 1;
            if self.peek(0) == Some(quote) {
                out.push(quote as char);
                self.pos += 1;
            } else {
                return Ok(out);
            }
        }
    }

    fn string(&mut self) -> Result<Tok, CqlError> {
        self.delimited(b'\'').map(Tok::Str)
    }

    fn quoted(&mut self) -> Result<Tok, CqlError> {
        let s = self.delimited(b'"')?;
        if s.is_empty() {
            return Err(self.err("empty quoted identifier"));
        }
        Ok(Tok::Quoted(s))
    }

    fn dollar_string(&mut self) -> Result<Tok, CqlError> {
        let rest = &self.text[self.pos + 2..];
        let Some(end) = rest.find("$$") else {
            return Err(self.err("unterminated literal"));
        };
        let s = rest[..end].to_string();
        let from = self.pos;
        self.pos += 2 + end + 2;
        self.bump_newlines(from, self.pos);
        Ok(Tok::Str(s))
    }
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn literals_and_symbols() {
        assert_eq!(
            toks("SELECT \"Ab\"\"c\", 'it''s' FROM t WHERE a<=1.5e3 -- x\n AND b = 0xFF;"),
            vec![
                Tok::Word("SELECT".into()),
                Tok::Quoted("Ab\"c".into()),
                Tok::Sym(","),
                Tok::Str("it's".into()),
                Tok::Word("FROM".into()),
                Tok::Word("t".into()),
                Tok::Word("WHERE".into()),
                Tok::Word("a".into()),
                Tok::Sym("<="),
                Tok::Float("1.5e3".into()),
                Tok::Word("AND".into()),
                Tok::Word("b".into()),
                Tok::Sym("="),
                Tok::Hex("FF".into()),
                Tok::Sym(";"),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("123e4567-e89b-12d3-a456-426614174000 1h30m /* c\n */ $$a'b$$ 42"),
            vec![
                Tok::Uuid("123e4567-e89b-12d3-a456-426614174000".into()),
                Tok::Duration("1h30m".into()),
                Tok::Str("a'b".into()),
                Tok::Int("42".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_and_errors() {
        let t = tokenize("a\n  bc").unwrap();
        assert_eq!((t[1].line, t[1].col), (2, 2));
        assert!(tokenize("'open").is_err());
        assert!(tokenize("/* open").is_err());
        assert!(tokenize("a # b").is_err());
        assert!(tokenize("0xZZ").is_err());
    }
}
