//! Partition positions: partitions are ordered by token, then by key bytes.

use bytes::Bytes;
use std::cmp::Ordering;

use crate::token::token_of;

/// A partition key with its token ("decorated key" in Cassandra), ordered as the ring is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecoratedKey {
    pub token: i64,
    pub key: Bytes,
}

impl DecoratedKey {
    pub fn new(key: Bytes) -> Self {
        DecoratedKey {
            token: token_of(&key),
            key,
        }
    }
}

impl Ord for DecoratedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.token
            .cmp(&other.token)
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for DecoratedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
