//! `frame`: arbitrary bytes as a stream of request frames, decoded as the connection decodes
//! them, with no compression, lz4 and snappy. Must never panic or allocate beyond the input's
//! worth; every frame is either a request or a protocol error.

use crate::protocol::frame::{Header, HEADER_LEN};
use crate::protocol::request::decode_request;
use crate::protocol::{Compression, Response};
use bytes::Bytes;
use scrolldb::cql::result::CqlError;

pub fn run(data: &[u8]) {
    for compression in [None, Some(Compression::Lz4), Some(Compression::Snappy)] {
        let mut rest = data;
        while let (Some(head), Some(tail)) = (rest.get(..HEADER_LEN), rest.get(HEADER_LEN..)) {
            let Ok(head) = <[u8; HEADER_LEN]>::try_from(head) else {
                return;
            };
            let header = Header::parse(&head);
            let Ok(opcode) = header.check() else {
                break;
            };
            let n = header.body_len().min(tail.len());
            let (body, next) = tail.split_at(n);
            let outcome = decode_request(
                opcode,
                header.flags,
                Bytes::copy_from_slice(body),
                compression,
            );
            if let Err(e) = outcome {
                // The answer to a bad frame must itself encode.
                let _ = Response::error(CqlError::from(e)).encode_frame(header.stream, compression);
            }
            rest = next;
        }
        if let Some(c) = compression {
            // The decompressors also see the raw input whole.
            let _ = c.decompress(data);
        }
    }
}
