//! `system.local`, `system.peers` and `system.peers_v2`: one node, no peers.
//!
//! Drivers build their view of the cluster from these: the data center and rack for load
//! balancing, the tokens for token-aware routing (one token owns the whole ring), and
//! `schema_version` to tell when DDL has reached every node.

use super::{cell, specs, text, text_set, uuid, SystemRows};
use crate::catalog::Catalog;
use crate::cql::node::NodeInfo;
use crate::storage::types::{CqlType, Value};

/// What we tell drivers we are: the Cassandra release whose schema tables we mirror, so
/// drivers pick their Cassandra 3 code paths.
pub const RELEASE_VERSION: &str = "3.0.8";
pub const CQL_VERSION: &str = "3.3.1";
pub const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";
pub const DATA_CENTER: &str = "datacenter1";
pub const RACK: &str = "rack1";
/// The single token this node owns: every range wraps around to it.
const TOKEN: &str = "0";

/// A stable host id for this node, derived from its cluster name and address (a version 4
/// shaped uuid), so a restarted server is recognized as the same host.
pub fn host_id(node: &NodeInfo) -> [u8; 16] {
    let seed = format!("scrolldb host {} {}", node.cluster_name, node.listen);
    let (a, b) = crate::storage::token::murmur3_x64_128(seed.as_bytes());
    let mut id = [0u8; 16];
    let (hi, lo) = id.split_at_mut(8);
    hi.copy_from_slice(&a.to_be_bytes());
    lo.copy_from_slice(&b.to_be_bytes());
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    id
}

fn tokens_type() -> CqlType {
    CqlType::Set {
        elem: Box::new(CqlType::Text),
        frozen: false,
    }
}

pub fn local(catalog: &Catalog, node: &NodeInfo) -> SystemRows {
    let columns = specs(
        "system",
        "local",
        &[
            ("key", CqlType::Text),
            ("bootstrapped", CqlType::Text),
            ("broadcast_address", CqlType::Inet),
            ("cluster_name", CqlType::Text),
            ("cql_version", CqlType::Text),
            ("data_center", CqlType::Text),
            ("host_id", CqlType::Uuid),
            ("listen_address", CqlType::Inet),
            ("native_protocol_version", CqlType::Text),
            ("partitioner", CqlType::Text),
            ("rack", CqlType::Text),
            ("release_version", CqlType::Text),
            ("rpc_address", CqlType::Inet),
            ("rpc_port", CqlType::Int),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens_type()),
        ],
    );
    let ip = cell(Value::Inet(node.listen.ip()));
    let row = vec![
        text("local"),
        text("COMPLETED"),
        ip.clone(),
        text(&node.cluster_name),
        text(CQL_VERSION),
        text(DATA_CENTER),
        uuid(host_id(node)),
        ip.clone(),
        text("4"),
        text(PARTITIONER),
        text(RACK),
        text(RELEASE_VERSION),
        ip,
        cell(Value::Int(i32::from(node.listen.port()))),
        uuid(catalog.version),
        text_set([TOKEN]),
    ];
    (columns, vec![row])
}

pub fn peers() -> SystemRows {
    let columns = specs(
        "system",
        "peers",
        &[
            ("peer", CqlType::Inet),
            ("data_center", CqlType::Text),
            ("host_id", CqlType::Uuid),
            ("preferred_ip", CqlType::Inet),
            ("rack", CqlType::Text),
            ("release_version", CqlType::Text),
            ("rpc_address", CqlType::Inet),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens_type()),
        ],
    );
    (columns, Vec::new())
}

pub fn peers_v2() -> SystemRows {
    let columns = specs(
        "system",
        "peers_v2",
        &[
            ("peer", CqlType::Inet),
            ("peer_port", CqlType::Int),
            ("data_center", CqlType::Text),
            ("host_id", CqlType::Uuid),
            ("native_address", CqlType::Inet),
            ("native_port", CqlType::Int),
            ("preferred_ip", CqlType::Inet),
            ("preferred_port", CqlType::Int),
            ("rack", CqlType::Text),
            ("release_version", CqlType::Text),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens_type()),
        ],
    );
    (columns, Vec::new())
}
