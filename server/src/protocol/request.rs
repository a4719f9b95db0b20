//! Request bodies (section 4.1) decoded into the contract types of `scrolldb::cql::result`.

use super::compression::Compression;
use super::frame::{flags, Opcode};
use super::primitives::BodyReader;
use super::ProtocolError;
use bytes::Bytes;
use scrolldb::cql::result::{Batch, BatchKind, BatchStatement, QueryParams};
use std::collections::BTreeMap;

/// `<query_parameters>` flags (section 4.1.4).
mod qflags {
    pub const VALUES: u8 = 0x01;
    pub const SKIP_METADATA: u8 = 0x02;
    pub const PAGE_SIZE: u8 = 0x04;
    pub const PAGING_STATE: u8 = 0x08;
    pub const SERIAL_CONSISTENCY: u8 = 0x10;
    pub const TIMESTAMP: u8 = 0x20;
    pub const NAMES: u8 = 0x40;
}

/// A decoded request. QUERY and EXECUTE also carry `skip_metadata`, which the contract's
/// `QueryParams` leaves to the frontend (it only changes how rows are written back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Startup(BTreeMap<String, String>),
    Options,
    Query {
        cql: String,
        params: QueryParams,
        skip_metadata: bool,
    },
    Prepare(String),
    Execute {
        id: Bytes,
        params: QueryParams,
        skip_metadata: bool,
    },
    Batch(Batch),
    Register(Vec<String>),
    AuthResponse(Option<Bytes>),
}

impl Request {
    /// Decodes an (already decompressed) body. `header_flags` says whether a custom payload
    /// precedes the body (it is read and ignored).
    pub fn decode(opcode: Opcode, header_flags: u8, body: Bytes) -> Result<Request, ProtocolError> {
        let mut r = BodyReader::new(body);
        if header_flags & flags::CUSTOM_PAYLOAD != 0 {
            r.bytes_map()?;
        }
        let req = match opcode {
            Opcode::Startup => Request::Startup(r.string_map()?),
            Opcode::Options => Request::Options,
            Opcode::Query => {
                let cql = r.long_string()?;
                let (params, skip_metadata) = query_params(&mut r)?;
                Request::Query {
                    cql,
                    params,
                    skip_metadata,
                }
            }
            Opcode::Prepare => Request::Prepare(r.long_string()?),
            Opcode::Execute => {
                let id = r.short_bytes()?;
                let (params, skip_metadata) = query_params(&mut r)?;
                Request::Execute {
                    id,
                    params,
                    skip_metadata,
                }
            }
            Opcode::Batch => Request::Batch(batch(&mut r)?),
            Opcode::Register => Request::Register(r.string_list()?),
            Opcode::AuthResponse => Request::AuthResponse(r.bytes()?),
            other => {
                return Err(ProtocolError::new(format!(
                    "opcode {other:?} is not a request"
                )))
            }
        };
        Ok(req)
    }
}

fn query_params(r: &mut BodyReader) -> Result<(QueryParams, bool), ProtocolError> {
    let consistency = r.short()?;
    let f = r.byte()?;
    let (values, names) = if f & qflags::VALUES != 0 {
        r.values(f & qflags::NAMES != 0)?
    } else {
        (Vec::new(), None)
    };
    let page_size = if f & qflags::PAGE_SIZE != 0 {
        Some(r.int()?)
    } else {
        None
    };
    let paging_state = if f & qflags::PAGING_STATE != 0 {
        r.bytes()?
    } else {
        None
    };
    let serial_consistency = if f & qflags::SERIAL_CONSISTENCY != 0 {
        Some(r.short()?)
    } else {
        None
    };
    let timestamp = if f & qflags::TIMESTAMP != 0 {
        Some(r.long()?)
    } else {
        None
    };
    let params = QueryParams {
        consistency,
        values,
        names,
        page_size,
        paging_state,
        serial_consistency,
        timestamp,
    };
    Ok((params, f & qflags::SKIP_METADATA != 0))
}

fn batch(r: &mut BodyReader) -> Result<Batch, ProtocolError> {
    let kind = match r.byte()? {
        0 => BatchKind::Logged,
        1 => BatchKind::Unlogged,
        2 => BatchKind::Counter,
        k => return Err(ProtocolError::new(format!("unknown BATCH type {k}"))),
    };
    let n = r.short()?;
    // Each statement takes at least 5 bytes (kind, empty id, no values).
    if usize::from(n).saturating_mul(5) > r.remaining() {
        return Err(ProtocolError::new(format!(
            "BATCH claims {n} statements but the body is too short"
        )));
    }
    let mut statements = Vec::with_capacity(usize::from(n));
    // The names flag comes after the statements; names are read below only if it is set, so
    // statements are decoded without names (the spec notes names in BATCH do not work in v4).
    for _ in 0..n {
        let st = match r.byte()? {
            0 => {
                let cql = r.long_string()?;
                let (values, _) = r.values(false)?;
                BatchStatement::Query { cql, values }
            }
            1 => {
                let id = r.short_bytes()?;
                let (values, _) = r.values(false)?;
                BatchStatement::Prepared { id, values }
            }
            k => {
                return Err(ProtocolError::new(format!(
                    "unknown BATCH statement kind {k}"
                )))
            }
        };
        statements.push(st);
    }
    let consistency = r.short()?;
    let f = r.byte()?;
    if f & qflags::NAMES != 0 {
        return Err(ProtocolError::new(
            "named values in BATCH are not supported by protocol v4",
        ));
    }
    let serial_consistency = if f & qflags::SERIAL_CONSISTENCY != 0 {
        Some(r.short()?)
    } else {
        None
    };
    let timestamp = if f & qflags::TIMESTAMP != 0 {
        Some(r.long()?)
    } else {
        None
    };
    Ok(Batch {
        kind,
        statements,
        consistency,
        serial_consistency,
        timestamp,
    })
}

/// Decodes the body of a request whose header passed [`super::Header::check`]: decompresses
/// it when the header says so (an error when no compression was negotiated), then decodes.
pub fn decode_request(
    opcode: Opcode,
    header_flags: u8,
    body: Bytes,
    compression: Option<Compression>,
) -> Result<Request, ProtocolError> {
    let body = if header_flags & flags::COMPRESSION != 0 {
        match compression {
            Some(c) => c.decompress(&body)?,
            None => {
                return Err(ProtocolError::new(
                    "compressed frame received but no compression was negotiated in STARTUP",
                ))
            }
        }
    } else {
        body
    };
    Request::decode(opcode, header_flags, body)
}
