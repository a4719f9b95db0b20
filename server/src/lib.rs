//! `scrolldb-server`: the CQL native protocol v4 frontend and the `scrolldb` program.
//!
//! - [`protocol`]: frames, body notations, requests and responses (no I/O);
//! - [`connection`]: one client's socket, a reader and a writer task; `dispatch` runs a request;
//! - [`server`]: the listener, shutdown and the SCHEMA_CHANGE event bus;
//! - [`handler`]: what a connection asks of the CQL layer;
//! - [`auth`]: the optional `PasswordAuthenticator`;
//! - [`fair_queue`]: fair queuing between connections, `Overloaded` past a connection's line;
//! - [`identical`]: a bound on copies of one request running at once (a hot channel's crowd);
//! - [`metrics`]: request counters, the Prometheus endpoint and `scrolldb stats`;
//! - [`bench`]: `scrolldb bench`, the CQL load generator;
//! - [`program`]: the `scrolldb` command line; [`TestServer`]: an in-process server for tests;
//! - [`fuzz_targets`]: the decoder fuzz target bodies.
//!
//! The CQL language itself (parsing, planning, executing) is `scrolldb::cql`; this crate only
//! moves its requests and results over the wire.

pub mod auth;
pub mod bench;
pub mod connection;
mod dispatch;
mod engine;
pub mod fair_queue;
pub mod fuzz_targets;
pub mod handler;
pub mod identical;
pub mod metrics;
pub mod mirror_cli;
pub mod program;
pub mod protocol;
pub mod server;
mod test_server;

pub use server::{Server, ServerOptions};
pub use test_server::TestServer;
