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
        let tokens: [(i64, [usize; 3]); 6] = [
            (i64::MIN, [0, 0, 0]),
            (i64::MIN + (1 << 51), [1, 2, 4]),
            (i64::MIN + (1 << 50), [0, 1, 2]),
            (0, [0, 0, 0]),
            (-1, [1, 3, 7]),
            (i64::MAX, [1, 3, 7]),
        ];
        for (token, shards) in tokens {
            for (count, expected) in [2, 4, 8].into_iter().zip(shards) {
                assert_eq!(shard_of_token(token, count), expected, "{token} / {count}");
            }
        }
        // Channel ids as `bigint` partition keys; the tokens are Cassandra's.
        let keys: [(i64, i64, [usize; 3]); 5] = [
            (1, 6292367497774912474, [0, 0, 1]),
            (2, -8218881827949364593, [0, 0, 0]),
            (3, -8048510690352527683, [1, 3, 6]),
            (42, 8623491988607824794, [1, 3, 6]),
            (1_000_000, -7750191165207352691, [0, 0, 0]),
        ];
        for (id, token, shards) in keys {
            let key = Value::BigInt(id).serialize();
            assert_eq!(token_of(&key), token);
            for (count, expected) in [2, 4, 8].into_iter().zip(shards) {
                assert_eq!(shard_of_key(&key, count), expected, "{id} / {count}");
            }
        }
        assert_eq!(shard_of_token(12345, 1), 0);
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
