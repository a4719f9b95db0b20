//! `scrolldb-server`: the CQL native protocol v4 frontend and the `scrolldb` program.
//!
//! - [`protocol`]: frames, body notations, requests and responses (no I/O);
//! - `connection`: one client's socket, a reader and a writer task;
//! - `server`: the listener, shutdown and the SCHEMA_CHANGE event bus;
//! - [`fuzz_targets`]: the decoder fuzz target bodies.
//!
//! The CQL language itself (parsing, planning, executing) is `scrolldb::cql`; this crate only
//! moves its requests and results over the wire.

pub mod fuzz_targets;
pub mod protocol;
