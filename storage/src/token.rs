//! Partition tokens: Murmur3 exactly as Cassandra's `Murmur3Partitioner` computes it.
//!
//! Cassandra's `MurmurHash.hash3_x64_128` reads the tail bytes as signed Java bytes (sign
//! extended), which differs from the reference MurmurHash3 for bytes >= 0x80; tokens must
//! match Cassandra's and ScyllaDB's, so this follows Cassandra. The token is the first
//! 64-bit half, with `i64::MIN` mapped to `i64::MAX` (the minimum token is reserved).

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// Cassandra's `hash3_x64_128` with seed 0: both 64-bit halves.
pub fn murmur3_x64_128(data: &[u8]) -> (i64, i64) {
    let mut h1: u64 = 0;
    let mut h2: u64 = 0;
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let mut a = [0u8; 8];
        a.copy_from_slice(&block[..8]);
        let k1 = u64::from_le_bytes(a);
        a.copy_from_slice(&block[8..]);
        let k2 = u64::from_le_bytes(a);
        h1 ^= mix_k1(k1);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(k2);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    // Java sign-extends each byte before shifting: `((long) key.get(i)) << n`.
    let signed = |i: usize| i64::from(tail[i] as i8) as u64;
    let mut k1: u64 = 0;
    let mut k2: u64 = 0;
    for i in (8..tail.len()).rev() {
        k2 ^= signed(i) << ((i - 8) * 8);
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    for i in (0..tail.len().min(8)).rev() {
        k1 ^= signed(i) << (i * 8);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1 as i64, h2 as i64)
}

/// The Murmur3Partitioner token of a serialized partition key.
///
/// An empty key hashes to 0, as in ScyllaDB, which dropped Cassandra's special case of the
/// minimum token for it (Cassandra refuses empty partition keys anyway).
pub fn token_of(partition_key: &[u8]) -> i64 {
    match murmur3_x64_128(partition_key).0 {
        i64::MIN => i64::MAX,
        t => t,
    }
}

/// The shard (0-based) of `token` on a ScyllaDB node with `shard_count` shards, by the
/// `biased-token-round-robin` algorithm, so that scrolldb places a partition on the same
/// shard index a ScyllaDB node (and a shard-aware driver) would.
///
/// From scylladb `docs/dev/protocol-extensions.md` ("Intranode sharding"): bias the token by
/// 2^63 so the ring starts at 0, shift left by `ignore_msb_bits` discarding the high bits,
/// then take `(biased * shard_count) >> 64`, a multiply in place of a slow division.
pub fn shard_of(token: i64, shard_count: u32, ignore_msb_bits: u32) -> u32 {
    let biased = (token as u64).wrapping_add(1 << 63);
    // A shift of 64 or more would discard every bit; ScyllaDB never configures that.
    let shifted = biased.checked_shl(ignore_msb_bits).unwrap_or(0);
    ((u128::from(shifted) * u128::from(shard_count)) >> 64) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `(key, token)` pairs from the Python cassandra-driver `tests/unit/test_metadata.py`
    /// (`_verify_hash`) and the DataStax Ruby driver `spec/cassandra/murmur3_spec.rb`,
    /// whose values come from Cassandra's `Murmur3Partitioner`. They cover tails of every
    /// length, keys over 16 bytes, and bytes >= 0x80 (sign-extended by Cassandra).
    const DRIVER_VECTORS: &[(&[u8], i64)] = &[
        (b"123", -7468325962851647638),
        (b"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe", -8927430733708461935),
        (b"\x10\x10\x10\x10\x10\x10\x10\x10", 1446172840243228796),
        (b"9223372036854775807", 7162290910810015547),
        (
            b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
            -5563837382979743776,
        ),
        (
            b"\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11",
            -1513403162740402161,
        ),
        (
            b"\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12",
            -495360443712684655,
        ),
        (
            b"\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13",
            1734091135765407943,
        ),
        (
            b"\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14",
            -3199412112042527988,
        ),
        (
            b"\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15",
            -6316563938475080831,
        ),
        (
            b"\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16",
            8228893370679682632,
        ),
        (&[0x00; 16], 5457549051747178710),
        (&[0xff; 16], -2824192546314762522),
        (&[0xfe; 16], -833317529301936754),
        (
            b"\x00\x01\x02\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            6463632673159404390,
        ),
        (&[0xfe; 17], -1672437813826982685),
        (b"\xfe\xfe\xfe\xfe", 4566408979886474012),
        (b"\x00\x00\x00\x00", -3485513579396041028),
        (b"\x00\x01\x7f\x7f", 6573459401642635627),
        (b"\x00\xff\xff\xff", 123573637386978882),
        (b"\xff\x01\x02\x03", -2839127690952877842),
        (b"\xe2\xe7", -8582699461035929883),
        (b"\xe2\xe7\xe2\xe7\xe2\xe7\x01", 2222373981930033306),
    ];

    #[test]
    fn driver_vectors() {
        for (key, token) in DRIVER_VECTORS {
            assert_eq!(token_of(key), *token, "key {key:02x?}");
        }
        let repeated: Vec<u8> = b"\x00\xff\x10\xfa\x99".repeat(10);
        assert_eq!(token_of(&repeated), 5837342703291459765);
    }

    /// From gocql `internal/murmur/murmur_test.go` (`TestMurmur3H1ForCassandra`): a growing
    /// key crosses every tail length twice, the second time with bytes 0xc8.. in the tail.
    #[test]
    fn gocql_vectors() {
        let expected_first: [i64; 17] = [
            -5156414768376541762,
            3700033067394128583,
            -3973852022020331202,
            3038655072509758878,
            -5681686890369564299,
            8960422816272944721,
            -1104872167714568090,
            -9199676315897541990,
            4847624695450664884,
            -2737291859101550625,
            -1154133289533387924,
            5781349077088505981,
            -681021187788781932,
            -3787130296809111096,
            -3115393326357146996,
            -2684252762052835206,
            -278181328349571586,
        ];
        let mut key = b"prefix".to_vec();
        for (i, token) in expected_first.iter().enumerate() {
            // "prefix" then 0x00, 0x01, ... 0x0f, then 0xc8.
            key.push(if i < 16 { i as u8 } else { 0xc8 });
            assert_eq!(token_of(&key), *token, "len {}", key.len());
        }
        let expected_second: [i64; 15] = [
            -5319761130493488577,
            -4593148434938707926,
            -575713103357290760,
            4290743753678124926,
            9164754117279683406,
            -107668053986278786,
            64887291506465003,
            6241282934480161521,
            5150183507841894143,
            5645797256444299552,
            -908235285856554578,
            -1785405279637408062,
            5343233714768265848,
            4936964276934412722,
            2294903531026336836,
        ];
        for (i, token) in expected_second.iter().enumerate() {
            key.push(0xc9 + i as u8);
            assert_eq!(token_of(&key), *token, "len {}", key.len());
        }
        // A composite partition key from the same test.
        let composite =
            b"\x00\x10C'R\x9f\xb6E\xdd\x00\xb8\x83\xec9\xaeD\x8b\xb8\x00\x00\x04\x00\x06jk\x00";
        assert_eq!(token_of(composite), -9223371632693506265);
    }

    #[test]
    fn empty_key_hashes_to_zero() {
        // gocql's TestMurmur3H1 series starts with "" -> 0.
        assert_eq!(token_of(b""), 0);
    }

    /// Vectors computed by hand from the formula in scylladb `docs/dev/protocol-extensions.md`
    /// (`shard = ((token + 2^63) << ignore_msb) * nr_shards >> 64`).
    #[test]
    fn shard_of_vectors() {
        // The minimum token biases to 0: shard 0 for any count and shift.
        assert_eq!(shard_of(i64::MIN, 8, 12), 0);
        // Token 0 biases to 2^63, the middle of the ring.
        assert_eq!(shard_of(0, 2, 0), 1);
        assert_eq!(shard_of(0, 3, 0), 1); // 3 * 2^63 >> 64 = 1
        assert_eq!(shard_of(-1, 2, 0), 0); // 2^63 - 1: just below the middle
        assert_eq!(shard_of(i64::MAX, 7, 0), 6);
        // With ignore_msb = 12, 2^63 << 12 wraps to 0.
        assert_eq!(shard_of(0, 8, 12), 0);
        // Token -2^63 + 2^51: biased 2^51, << 12 = 2^63 -> middle shard.
        assert_eq!(shard_of(i64::MIN + (1 << 51), 8, 12), 4);
        // Biased 2^50 << 12 = 2^62: a quarter of the way: 8 / 4 = 2; 3 / 4 -> 0.
        assert_eq!(shard_of(i64::MIN + (1 << 50), 8, 12), 2);
        assert_eq!(shard_of(i64::MIN + (1 << 50), 3, 12), 0);
        // Biased 3 * 2^62 (token 2^62), no shift: 3/4 of the ring: 12 * 3/4 = 9.
        assert_eq!(shard_of(1 << 62, 12, 0), 9);
        assert_eq!(shard_of(12345, 1, 12), 0);
    }

    #[test]
    fn shard_of_matches_java_reference() {
        // The Java form from the same document, with 32-bit halves, must agree.
        fn java(token: i64, nr_shards: i64, ignore_msb: u32) -> u32 {
            let mut t = token.wrapping_add(i64::MIN);
            t = t.wrapping_shl(ignore_msb);
            let lo = t & 0xffff_ffff;
            let hi = ((t as u64) >> 32) as i64 & 0xffff_ffff;
            let mul1 = lo * nr_shards;
            let mul2 = hi * nr_shards;
            let sum = ((mul1 as u64) >> 32) as i64 + mul2;
            ((sum as u64) >> 32) as u32
        }
        let mut token: i64 = 0x1234_5678_9abc_def1;
        for i in 0..10_000u32 {
            token = token
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let shards = 1 + i % 64;
            let msb = i % 16;
            assert_eq!(
                shard_of(token, shards, msb),
                java(token, i64::from(shards), msb)
            );
        }
    }
}
