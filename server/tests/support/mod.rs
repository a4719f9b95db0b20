//! A minimal raw native-protocol client for tests: encodes requests byte by byte (independently
//! of the server's encoder) and reads response frames.
#![allow(dead_code)]

pub mod process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub const STARTUP: u8 = 0x01;
pub const OPTIONS: u8 = 0x05;
pub const QUERY: u8 = 0x07;
pub const PREPARE: u8 = 0x09;
pub const EXECUTE: u8 = 0x0A;
pub const REGISTER: u8 = 0x0B;
pub const BATCH: u8 = 0x0D;
pub const AUTH_RESPONSE: u8 = 0x0F;

pub const ERROR: u8 = 0x00;
pub const READY: u8 = 0x02;
pub const AUTHENTICATE: u8 = 0x03;
pub const SUPPORTED: u8 = 0x06;
pub const RESULT: u8 = 0x08;
pub const EVENT: u8 = 0x0C;
pub const AUTH_SUCCESS: u8 = 0x10;

pub fn frame(version: u8, flags: u8, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![version, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.push(opcode);
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

pub fn string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(s.as_bytes());
    b
}

pub fn long_string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(s.as_bytes());
    b
}

pub fn string_map(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut b = (pairs.len() as u16).to_be_bytes().to_vec();
    for (k, v) in pairs {
        b.extend(string(k));
        b.extend(string(v));
    }
    b
}

pub fn startup_body(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs = vec![("CQL_VERSION", "3.0.0")];
    pairs.extend_from_slice(extra);
    string_map(&pairs)
}

/// A QUERY body with consistency ONE and no values.
pub fn query_body(cql: &str) -> Vec<u8> {
    let mut b = long_string(cql);
    b.extend_from_slice(&1u16.to_be_bytes());
    b.push(0);
    b
}

pub struct Response {
    pub version: u8,
    pub flags: u8,
    pub stream: i16,
    pub opcode: u8,
    pub body: Vec<u8>,
}

impl Response {
    pub fn error_code(&self) -> Option<i32> {
        (self.opcode == ERROR).then(|| i32::from_be_bytes(self.body[0..4].try_into().unwrap()))
    }

    pub fn error_message(&self) -> String {
        let n = u16::from_be_bytes(self.body[4..6].try_into().unwrap()) as usize;
        String::from_utf8_lossy(&self.body[6..6 + n]).into_owned()
    }

    pub fn result_kind(&self) -> i32 {
        assert_eq!(self.opcode, RESULT, "not a RESULT: {}", self.describe());
        i32::from_be_bytes(self.body[0..4].try_into().unwrap())
    }

    pub fn describe(&self) -> String {
        if self.opcode == ERROR {
            format!(
                "ERROR {:#06x} {}",
                self.error_code().unwrap(),
                self.error_message()
            )
        } else {
            format!(
                "opcode {:#04x}, {} body bytes",
                self.opcode,
                self.body.len()
            )
        }
    }
}

pub struct RawClient {
    pub sock: TcpStream,
}

impl RawClient {
    pub fn connect(addr: SocketAddr) -> RawClient {
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        RawClient { sock }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).unwrap();
    }

    pub fn send(&mut self, stream: i16, opcode: u8, body: &[u8]) {
        self.send_raw(&frame(4, 0, stream, opcode, body));
    }

    /// Reads one frame; `None` when the server closed the connection.
    pub fn recv(&mut self) -> Option<Response> {
        let mut head = [0u8; 9];
        self.sock.read_exact(&mut head).ok()?;
        let len = u32::from_be_bytes(head[5..9].try_into().unwrap()) as usize;
        let mut body = vec![0; len];
        self.sock.read_exact(&mut body).ok()?;
        Some(Response {
            version: head[0],
            flags: head[1],
            stream: i16::from_be_bytes([head[2], head[3]]),
            opcode: head[4],
            body,
        })
    }

    pub fn request(&mut self, stream: i16, opcode: u8, body: &[u8]) -> Response {
        self.send(stream, opcode, body);
        let r = self.recv().expect("server closed the connection");
        assert_eq!(r.stream, stream);
        r
    }

    pub fn startup(&mut self) {
        let r = self.request(1, STARTUP, &startup_body(&[]));
        assert_eq!(r.opcode, READY, "{}", r.describe());
    }

    /// True when the server has closed the connection (reads EOF).
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.sock.read(&mut b), Ok(0))
    }
}
