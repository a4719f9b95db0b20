//! Byte encodings of the messages table for each engine, in one place so they can later
//! be swapped for `scrolldb_storage::types`.
//!
//! Both encodings make "newest first" the forward direction: the message id is stored
//! inverted, because the table clusters by `message_id DESC`.

/// fjall: `channel_id (8 BE) | bucket (4 BE)`, the prefix of one (channel, bucket).
pub fn fjall_prefix(channel_id: i64, bucket: i32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&channel_id.to_be_bytes());
    key[8..].copy_from_slice(&bucket.to_be_bytes());
    key
}

/// fjall: prefix | `!(message_id as u64)` BE, so a forward prefix scan is newest first.
/// Ids are positive, so the inverted unsigned value orders them descending.
pub fn fjall_key(channel_id: i64, bucket: i32, message_id: i64) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..12].copy_from_slice(&fjall_prefix(channel_id, bucket));
    key[12..].copy_from_slice(&(!(message_id as u64)).to_be_bytes());
    key
}

/// The greatest key of a (channel, bucket): the end of its range.
pub fn fjall_prefix_end(channel_id: i64, bucket: i32) -> [u8; 20] {
    let mut key = [0xffu8; 20];
    key[..12].copy_from_slice(&fjall_prefix(channel_id, bucket));
    key
}

/// The message id of a fjall key.
pub fn fjall_message_id(key: &[u8]) -> Option<i64> {
    let inverted: [u8; 8] = key.get(12..20)?.try_into().ok()?;
    Some(!u64::from_be_bytes(inverted) as i64)
}

/// fjall value: `author_id (8 BE) | content`, written into `value` (cleared first).
pub fn fjall_value_into(value: &mut Vec<u8>, author_id: i64, content: &str) {
    value.clear();
    value.extend_from_slice(&author_id.to_be_bytes());
    value.extend_from_slice(content.as_bytes());
}

/// Splits a fjall value into `(author_id, content length)`.
pub fn fjall_value_parts(value: &[u8]) -> Option<(i64, usize)> {
    let author: [u8; 8] = value.get(..8)?.try_into().ok()?;
    Some((i64::from_be_bytes(author), value.len() - 8))
}

/// scrolldb partition key: Cassandra's composite serialization of `(channel_id bigint,
/// bucket int)`: per component a u16 BE length, the value bytes (BE), then 0x00.
pub fn scrolldb_partition_key(channel_id: i64, bucket: i32) -> Vec<u8> {
    scrolldb_partition_key_bytes(channel_id, bucket).to_vec()
}

/// [`scrolldb_partition_key`] without an allocation.
#[allow(dead_code)] // used by the workload bench, not by every bench that includes this file
pub fn scrolldb_partition_key_bytes(channel_id: i64, bucket: i32) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[0..2].copy_from_slice(&8u16.to_be_bytes());
    key[2..10].copy_from_slice(&channel_id.to_be_bytes());
    key[11..13].copy_from_slice(&4u16.to_be_bytes());
    key[13..17].copy_from_slice(&bucket.to_be_bytes());
    key
}

/// scrolldb clustering key of `message_id bigint DESC`: the sign bit flipped (so signed
/// order is unsigned byte order), then every bit inverted (DESC), as 8 bytes BE.
pub fn scrolldb_clustering(message_id: i64) -> [u8; 8] {
    (!((message_id as u64) ^ (1 << 63))).to_be_bytes()
}

/// The message id of a scrolldb clustering key.
pub fn scrolldb_message_id(clustering: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = clustering.get(..8)?.try_into().ok()?;
    Some((!u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

// The scrolldb ids are used by scrolldb_store.rs, which is not in the module tree yet.
/// scrolldb table id of the messages table.
#[allow(dead_code)]
pub const SCROLLDB_TABLE_ID: u32 = 1;
/// scrolldb column ids of the messages table.
#[allow(dead_code)]
pub const SCROLLDB_COLUMN_AUTHOR_ID: u32 = 0;
#[allow(dead_code)]
pub const SCROLLDB_COLUMN_CONTENT: u32 = 1;

/// Checked once at start-up: a wrong encoding would make every figure meaningless.
pub fn self_check() {
    let (older, newer) = (snowflake_like(1), snowflake_like(2));
    assert!(fjall_key(7, 3, newer) < fjall_key(7, 3, older));
    assert!(fjall_key(7, 3, older) < fjall_prefix_end(7, 3));
    assert_eq!(fjall_message_id(&fjall_key(7, 3, older)), Some(older));
    assert!(scrolldb_clustering(newer) < scrolldb_clustering(older));
    assert_eq!(
        scrolldb_message_id(&scrolldb_clustering(older)),
        Some(older)
    );
    assert_eq!(
        scrolldb_partition_key(1, 2),
        [0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 4, 0, 0, 0, 2, 0]
    );
}

fn snowflake_like(ms: i64) -> i64 {
    crate::snowflake::snowflake(crate::snowflake::TIMELINE_START_MS + ms, 0, 0)
}
