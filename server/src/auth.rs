//! `PasswordAuthenticator`: SASL PLAIN against users listed in a file. Off unless the server
//! is given a users file.
//!
//! The file has one `username:password` per line; blank lines and lines starting with `#`
//! are ignored. Passwords are kept in memory as written, so the file should be readable only
//! by the server's user.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::Path;

/// The class name drivers expect in AUTHENTICATE (they pick their SASL mechanism by it).
pub const AUTHENTICATOR_CLASS: &str = "org.apache.cassandra.auth.PasswordAuthenticator";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswordAuthenticator {
    users: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error("cannot read the users file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `username:password`")]
    Syntax { path: String, line: usize },
}

impl PasswordAuthenticator {
    pub fn from_users(users: impl IntoIterator<Item = (String, String)>) -> Self {
        PasswordAuthenticator {
            users: users.into_iter().collect(),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, AuthFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuthFileError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut users = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, password) = line.split_once(':').ok_or(AuthFileError::Syntax {
                path: shown.clone(),
                line: i + 1,
            })?;
            users.insert(user.to_string(), password.to_string());
        }
        Ok(PasswordAuthenticator { users })
    }

    /// Checks a SASL PLAIN token (`authzid NUL user NUL password`); `Err` is the message for
    /// the client's ERROR 0x0100.
    pub fn check(&self, token: Option<&Bytes>) -> Result<String, String> {
        let token = token.map(|t| t.as_ref()).unwrap_or_default();
        let mut parts = token.split(|b| *b == 0);
        let (Some(_authzid), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("Authentication failed: malformed SASL PLAIN token".into());
        };
        let user = String::from_utf8_lossy(user).into_owned();
        match self.users.get(&user) {
            Some(p) if p.as_bytes() == password => Ok(user),
            _ => Err(format!(
                "Provided username {user} and/or password are incorrect"
            )),
        }
    }
}
