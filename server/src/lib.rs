//! `scrolldb-server`: the CQL native protocol v4 frontend and the `scrolldb` program.
//!
//! Not yet built: the protocol, the connection handling and request coalescing arrive with
//! the CQL server issue. Today this crate only holds the command-line entry point.
