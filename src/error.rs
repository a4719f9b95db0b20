//! The one error type of the `scrolldb` crate: what a caller of [`crate::Db`] can act on.

use crate::storage;

/// Result of every fallible database operation.
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad request: wrong column names or types, a malformed key, a bad option.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// CREATE of something that exists; `table` is empty for a keyspace.
    #[error("{}", already_exists_message(keyspace, table))]
    AlreadyExists { keyspace: String, table: String },
    /// An unknown keyspace or table.
    #[error("not found: {0}")]
    NotFound(String),
    /// A shard's queue is full and the database was opened with `Backpressure::Fail`.
    #[error("overloaded: a shard's request queue is full")]
    Overloaded,
    /// The storage engine failed: I/O, corruption, or a read over the tombstone threshold
    /// (`storage::Error::TombstoneOverwhelm`), kept whole so callers can tell them apart.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// The database was closed (or a shard thread stopped).
    #[error("the database is closed")]
    Closed,
}

fn already_exists_message(keyspace: &str, table: &str) -> String {
    if table.is_empty() {
        format!("keyspace {keyspace} already exists")
    } else {
        format!("table {keyspace}.{table} already exists")
    }
}

impl Error {
    /// Whether this is a read that stepped over too many tombstones.
    pub fn is_tombstone_overwhelm(&self) -> bool {
        matches!(
            self,
            Error::Storage(storage::Error::TombstoneOverwhelm { .. })
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Error::Storage(storage::Error::io(path, source))
    }
}

/// A copy of a storage error, for replying the same failure to every caller whose writes
/// shared one commitlog batch (`storage::Error` is not `Clone` because `io::Error` is not).
/// I/O and invalid-request errors keep their variant; anything else (a write does not fail
/// otherwise) becomes an I/O error carrying the original message.
pub(crate) fn duplicate_storage_error(e: &storage::Error) -> storage::Error {
    use storage::Error as E;
    match e {
        E::Io { path, source } => E::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        E::InvalidRequest(m) => E::InvalidRequest(m.clone()),
        other => E::Io {
            path: std::path::PathBuf::new(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
