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
pub fn token_of(partition_key: &[u8]) -> i64 {
    match murmur3_x64_128(partition_key).0 {
        i64::MIN => i64::MAX,
        t => t,
    }
}
