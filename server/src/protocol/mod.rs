//! Native protocol v4 (`doc/native_protocol_v4.spec` in Apache Cassandra): frames, body
//! notations, requests decoded into the `scrolldb::cql::result` contract types, and responses
//! encoded from them. Nothing here does I/O; `crate::connection` moves the bytes.
//!
//! Everything that decodes input from the network returns a [`ProtocolError`] on bad input
//! and never panics (fuzzed by `fuzz/fuzz_targets/frame.rs`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod compression;
pub mod frame;
pub mod option;
pub mod primitives;
pub mod request;
pub mod response;

pub use compression::Compression;
pub use frame::{Header, Opcode, HEADER_LEN, MAX_BODY_BYTES, VERSION};
pub use request::Request;
pub use response::Response;

use scrolldb::cql::result::{CqlError, ErrorKind};

/// A request the protocol cannot make sense of: answered with ERROR 0x000A.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProtocolError {
    pub message: String,
}

impl ProtocolError {
    pub fn new(message: impl Into<String>) -> Self {
        ProtocolError {
            message: message.into(),
        }
    }
}

impl From<ProtocolError> for CqlError {
    fn from(e: ProtocolError) -> CqlError {
        CqlError::new(ErrorKind::Protocol, e.message)
    }
}
