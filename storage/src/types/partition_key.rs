//! Partition keys serialized as Cassandra serializes them for the token: one column is the
//! value's native-protocol bytes; a composite key is, per component, a u16 big-endian
//! length, the bytes and a 0x00 (`CompositeType` with the end-of-component byte 0).

use crate::{Error, Result};
use bytes::{BufMut, Bytes, BytesMut};

/// Serializes the partition key columns (each already in native protocol bytes). A
/// component over 65535 bytes is refused, as Cassandra refuses it.
pub fn serialize_partition_key(values: &[Bytes]) -> Result<Bytes> {
    if let [single] = values {
        return Ok(single.clone());
    }
    if values.is_empty() {
        return Err(Error::InvalidRequest(
            "a partition key has at least one column".into(),
        ));
    }
    let mut out = BytesMut::with_capacity(values.iter().map(|v| v.len() + 3).sum());
    for v in values {
        let len = u16::try_from(v.len()).map_err(|_| {
            Error::InvalidRequest(format!(
                "partition key component of {} bytes is longer than the maximum of 65535",
                v.len()
            ))
        })?;
        out.put_u16(len);
        out.put_slice(v);
        out.put_u8(0);
    }
    Ok(out.freeze())
}

/// Splits a serialized partition key of `n` columns back into the columns' bytes.
pub fn split_partition_key(key: &Bytes, n: usize) -> Result<Vec<Bytes>> {
    match n {
        0 => {
            return Err(Error::InvalidRequest(
                "a partition key has at least one column".into(),
            ))
        }
        1 => return Ok(vec![key.clone()]),
        _ => {}
    }
    let mut parts = Vec::with_capacity(n);
    let mut at = 0usize;
    let bad = |what: &str| Error::Malformed(format!("composite partition key: {what}"));
    for _ in 0..n {
        let len = key
            .get(at..at + 2)
            .ok_or_else(|| bad("truncated component length"))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let start = at + 2;
        let end = start + len;
        if key.len() < end + 1 {
            return Err(bad("component longer than the key"));
        }
        if key.get(end) != Some(&0) {
            return Err(bad("component not followed by 0x00"));
        }
        parts.push(key.slice(start..end));
        at = end + 1;
    }
    if at != key.len() {
        return Err(bad("trailing bytes after the last component"));
    }
    Ok(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::token::token_of;

    #[test]
    fn composite_layout_and_roundtrip() {
        let parts = vec![
            Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 7]),
            Bytes::from_static(&[0, 0, 0, 2]),
        ];
        let key = serialize_partition_key(&parts).unwrap();
        assert_eq!(
            &key[..],
            &[0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 4, 0, 0, 0, 2, 0]
        );
        assert_eq!(split_partition_key(&key, 2).unwrap(), parts);
        let single = serialize_partition_key(&parts[..1]).unwrap();
        assert_eq!(single, parts[0]);
        assert_eq!(split_partition_key(&single, 1).unwrap(), &parts[..1]);
    }

    #[test]
    fn gocql_composite_token() {
        // gocql `internal/murmur/murmur_test.go` hashes a composite key of a 16-byte uuid
        // and the 4-byte "\x00\x06jk": rebuilding it from its parts must give its token.
        let uuid = b"C'R\x9f\xb6E\xdd\x00\xb8\x83\xec9\xaeD\x8b\xb8";
        let key =
            serialize_partition_key(&[Bytes::from_static(uuid), Bytes::from_static(b"\x00\x06jk")])
                .unwrap();
        assert_eq!(token_of(&key), -9223371632693506265);
    }

    #[test]
    fn bad_keys_are_errors() {
        assert!(split_partition_key(&Bytes::from_static(&[0, 5, 1, 2]), 2).is_err());
        assert!(split_partition_key(&Bytes::from_static(&[0, 1, 1, 1, 0, 1, 2, 0]), 2).is_err());
        assert!(split_partition_key(&Bytes::from_static(&[0, 1, 1, 0, 0, 1, 2, 0, 9]), 2).is_err());
        assert!(split_partition_key(&Bytes::from_static(&[0]), 2).is_err());
        assert!(split_partition_key(&Bytes::new(), 0).is_err());
        assert!(serialize_partition_key(&[]).is_err());
        let big = Bytes::from(vec![0u8; 70_000]);
        assert!(serialize_partition_key(&[big.clone(), big]).is_err());
    }
}
