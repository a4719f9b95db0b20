//! The CQL language: what a statement means and how it runs against a [`crate::Db`].
//!
//! - [`parser`] turns text into the [`ast`];
//! - `result` is the contract with the native protocol frontend in `scrolldb-server`.

pub mod ast;
pub mod literal;
pub mod parser;
pub mod result;
pub mod timeuuid;
