//! The CQL language: what a statement means and how it runs against a [`crate::Db`].
//!
//! - [`parser`] turns text into the [`ast`], [`literal`] gives literals their values;
//! - [`engine`] runs statements: [`CqlEngine`] is what the native protocol server and
//!   embedders call;
//! - `result` is the contract with the native protocol frontend in `scrolldb-server`.

pub mod ast;
pub mod engine;
pub mod literal;
pub mod node;
pub mod parser;
pub mod result;
pub mod system;
pub mod timeuuid;

pub use engine::{CqlEngine, Session};
pub use node::NodeInfo;
