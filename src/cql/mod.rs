//! The CQL language: what a statement means and how it runs against a [`crate::Db`].
//!
//! `result` is the contract with the native protocol frontend in `scrolldb-server`.

pub mod node;
pub mod result;
pub mod system;

pub use node::NodeInfo;
