//! Byte encodings shared by the commitlog and SSTables.

pub mod row;
pub mod varint;

pub use row::{decode_mutation, encode_mutation, encode_mutation_into};
pub use varint::Reader;
