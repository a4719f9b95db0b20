//! The 9-byte frame header (section 2): version, flags, stream, opcode, body length.

use super::ProtocolError;
use bytes::{BufMut, BytesMut};

pub const HEADER_LEN: usize = 9;
/// The only protocol version we speak.
pub const VERSION: u8 = 4;
/// Set in the version byte of every response.
pub const RESPONSE_BIT: u8 = 0x80;
/// The spec's frame size limit: a longer body is a protocol error, never an allocation.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Header flags (section 2.2).
pub mod flags {
    pub const COMPRESSION: u8 = 0x01;
    pub const TRACING: u8 = 0x02;
    pub const CUSTOM_PAYLOAD: u8 = 0x04;
    pub const WARNING: u8 = 0x08;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

impl Opcode {
    pub fn from_u8(b: u8) -> Option<Opcode> {
        Some(match b {
            0x00 => Opcode::Error,
            0x01 => Opcode::Startup,
            0x02 => Opcode::Ready,
            0x03 => Opcode::Authenticate,
            0x05 => Opcode::Options,
            0x06 => Opcode::Supported,
            0x07 => Opcode::Query,
            0x08 => Opcode::Result,
            0x09 => Opcode::Prepare,
            0x0A => Opcode::Execute,
            0x0B => Opcode::Register,
            0x0C => Opcode::Event,
            0x0D => Opcode::Batch,
            0x0E => Opcode::AuthChallenge,
            0x0F => Opcode::AuthResponse,
            0x10 => Opcode::AuthSuccess,
            _ => return None,
        })
    }
}

/// A frame header as it arrived; [`Header::check`] says whether we can read its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The whole version byte, direction bit included.
    pub version: u8,
    pub flags: u8,
    pub stream: i16,
    pub opcode: u8,
    pub length: u32,
}

/// Why a request header is refused. Each variant still carries the stream, so the error
/// response can be matched to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Answered with the spec's version message, then the connection is closed.
    UnsupportedVersion { version: u8, stream: i16 },
    /// Any other bad header: a protocol error, then the connection is closed (the body cannot
    /// be skipped safely).
    Invalid { stream: i16, error: ProtocolError },
}

impl Header {
    pub fn parse(b: &[u8; HEADER_LEN]) -> Header {
        let [version, flags, s0, s1, opcode, l0, l1, l2, l3] = *b;
        Header {
            version,
            flags,
            stream: i16::from_be_bytes([s0, s1]),
            opcode,
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        }
    }

    /// Checks a request header: version 4, request direction, a known opcode, a body within
    /// the frame limit.
    pub fn check(&self) -> Result<Opcode, HeaderError> {
        let version = self.version & !RESPONSE_BIT;
        if version != VERSION {
            // v1 and v2 headers have a one-byte stream: echo what the client would read.
            let stream = if version < 3 {
                i16::from(self.stream.to_be_bytes()[0] as i8)
            } else {
                self.stream
            };
            return Err(HeaderError::UnsupportedVersion { version, stream });
        }
        let invalid = |message: String| HeaderError::Invalid {
            stream: self.stream,
            error: ProtocolError::new(message),
        };
        if self.version & RESPONSE_BIT != 0 {
            return Err(invalid("a client sent a response frame".into()));
        }
        let len = usize::try_from(self.length).unwrap_or(usize::MAX);
        if len > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "frame body of {len} bytes exceeds the 256 MiB limit"
            )));
        }
        Opcode::from_u8(self.opcode)
            .ok_or_else(|| invalid(format!("unknown opcode 0x{:02X}", self.opcode)))
    }

    pub fn body_len(&self) -> usize {
        usize::try_from(self.length).unwrap_or(usize::MAX)
    }
}

/// The message of the version-negotiation error (drivers match on its wording).
pub fn unsupported_version_message(version: u8) -> String {
    format!("Invalid or unsupported protocol version ({version}); highest supported version is {VERSION}")
}

/// Writes a response header; `length` is the body's, after compression.
pub fn put_response_header(
    out: &mut BytesMut,
    flags: u8,
    stream: i16,
    opcode: Opcode,
    length: usize,
) {
    out.put_u8(VERSION | RESPONSE_BIT);
    out.put_u8(flags);
    out.put_i16(stream);
    out.put_u8(opcode as u8);
    out.put_u32(u32::try_from(length).unwrap_or(u32::MAX));
}
