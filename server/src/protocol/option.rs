//! `[option]`: how a column's type travels in result and prepared metadata (section 4.2.5.2).
//!
//! The wire does not tell frozen collections from non-frozen ones, so decoding yields
//! non-frozen collections.

use super::primitives::BodyReader;
use super::ProtocolError;
use bytes::{BufMut, BytesMut};
use scrolldb::storage::types::CqlType;

/// Bounds collection nesting on decode, so a hostile option cannot overflow the stack.
const MAX_DEPTH: usize = 16;

pub fn put_option(out: &mut BytesMut, ty: &CqlType) {
    out.put_u16(ty.option_id());
    match ty {
        CqlType::List { elem, .. } | CqlType::Set { elem, .. } => put_option(out, elem),
        CqlType::Map { key, value, .. } => {
            put_option(out, key);
            put_option(out, value);
        }
        _ => {}
    }
}

pub fn read_option(r: &mut BodyReader) -> Result<CqlType, ProtocolError> {
    read_at(r, 0)
}

fn read_at(r: &mut BodyReader, depth: usize) -> Result<CqlType, ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(ProtocolError::new("[option] nested too deeply"));
    }
    let id = r.short()?;
    Ok(match id {
        0x0001 => CqlType::Ascii,
        0x0002 => CqlType::BigInt,
        0x0003 => CqlType::Blob,
        0x0004 => CqlType::Boolean,
        0x0006 => CqlType::Decimal,
        0x0007 => CqlType::Double,
        0x0008 => CqlType::Float,
        0x0009 => CqlType::Int,
        0x000B => CqlType::Timestamp,
        0x000C => CqlType::Uuid,
        0x000A | 0x000D => CqlType::Text,
        0x000E => CqlType::Varint,
        0x000F => CqlType::TimeUuid,
        0x0010 => CqlType::Inet,
        0x0011 => CqlType::Date,
        0x0012 => CqlType::Time,
        0x0013 => CqlType::SmallInt,
        0x0014 => CqlType::TinyInt,
        0x0015 => CqlType::Duration,
        0x0020 => CqlType::List {
            elem: Box::new(read_at(r, depth + 1)?),
            frozen: false,
        },
        0x0022 => CqlType::Set {
            elem: Box::new(read_at(r, depth + 1)?),
            frozen: false,
        },
        0x0021 => {
            let key = Box::new(read_at(r, depth + 1)?);
            let value = Box::new(read_at(r, depth + 1)?);
            CqlType::Map {
                key,
                value,
                frozen: false,
            }
        }
        other => {
            return Err(ProtocolError::new(format!(
                "unsupported [option] type id 0x{other:04X}"
            )))
        }
    })
}
