//! The one error type of the storage engine.

use std::path::PathBuf;

/// Result of every fallible storage operation.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, with enough detail for a caller to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error, with the file it concerned.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bytes on disk do not match what was written: a failed checksum, a bad magic number,
    /// a length that points outside its file, or a record that does not decode.
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A file of a format version this build cannot read.
    #[error("{file}: unsupported format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        file: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A value that cannot be decoded (from an encoded buffer without a file, e.g. a record in
    /// memory or a fuzzer input).
    #[error("malformed data: {0}")]
    Malformed(String),
    /// A request the engine refuses: a bad argument, not a failure of the disk.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A read stepped over more tombstones than the configured failure threshold allows.
    #[error("read aborted: {scanned} tombstones scanned in one partition (failure threshold {threshold})")]
    TombstoneOverwhelm { scanned: u64, threshold: u64 },
}

impl Error {
    /// Wraps an `io::Error` with the path it concerned.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corruption error naming the file and offset.
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// Turns a decode error without a location into a corruption error at `file`/`offset`.
    pub fn at(self, file: impl Into<PathBuf>, offset: u64) -> Self {
        match self {
            Error::Malformed(reason) => Error::corruption(file, offset, reason),
            other => other,
        }
    }
}
