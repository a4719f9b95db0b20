//! CQL value types and their key encodings.
//!
//! - [`CqlType`]: the column types, parsed from and shown as CQL type names;
//! - [`Value`]: one value, with its native protocol v4 bytes ([`Value::serialize`],
//!   [`CqlType::deserialize`]) and its CQL literal (`Display`);
//! - [`comparable`]: byte-comparable clustering keys, ASC and DESC;
//! - [`compare`]: Cassandra's order of two values, the reference for the encoding;
//! - [`partition_key`]: partition keys as Cassandra serializes them for the token.
//!
//! It does not own the schema (which column has which type) or CQL literal parsing.

pub mod comparable;
pub mod compare;
pub mod cql_type;
pub mod partition_key;
pub mod serialize;
pub mod value;

pub use comparable::{check_clustering_type, decode_clustering, encode_clustering, Order};
pub use compare::cql_compare;
pub use cql_type::CqlType;
pub use partition_key::{serialize_partition_key, split_partition_key};
pub use value::Value;
