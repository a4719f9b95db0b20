//! Which shard owns a partition: ScyllaDB's `biased-token-round-robin` over the Murmur3
//! token with `ignore_msb` = 12, so a shard-aware client could route to the same shard.

use crate::storage::token::{shard_of, token_of};

/// ScyllaDB's default `murmur3_partitioner_ignore_msb_bits`.
pub const IGNORE_MSB_BITS: u32 = 12;

/// The shard of a token among `shard_count` shards.
pub fn shard_of_token(token: i64, shard_count: usize) -> usize {
    let count = u32::try_from(shard_count.max(1)).unwrap_or(u32::MAX);
    shard_of(token, count, IGNORE_MSB_BITS) as usize
}

/// The shard of a serialized partition key among `shard_count` shards.
pub fn shard_of_key(partition_key: &[u8], shard_count: usize) -> usize {
    shard_of_token(token_of(partition_key), shard_count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::types::Value;

    /// The vectors quoted in docs/ARCHITECTURE.md ("Shards").
    #[test]
    fn documented_vectors() {
        assert_eq!(shard_of_token(i64::MIN, 2), 0);
        assert_eq!(shard_of_token(i64::MIN + (1 << 51), 2), 1);
        assert_eq!(shard_of_token(i64::MIN + (1 << 50), 4), 1);
        assert_eq!(shard_of_token(0, 4), 0);
        assert_eq!(shard_of_token(12345, 1), 0);
        // bigint 1, the first channel id in the docs' table.
        let key = Value::BigInt(1).serialize();
        assert_eq!(token_of(&key), -4069959284402364209);
        assert_eq!(shard_of_key(&key, 2), 1);
        assert_eq!(shard_of_key(&key, 4), 2);
        assert_eq!(shard_of_key(&key, 8), 4);
    }

    #[test]
    fn spreads_keys_over_every_shard() {
        for shards in 1..=8 {
            let mut seen = vec![0usize; shards];
            for id in 0..2000i64 {
                seen[shard_of_key(&Value::BigInt(id).serialize(), shards)] += 1;
            }
            for count in seen {
                assert!(count > 2000 / shards / 2, "{shards} shards");
            }
        }
    }
}
