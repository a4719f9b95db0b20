//! What the CQL layer knows about the node it runs on, for `system.local` and friends.

use std::net::{Ipv4Addr, SocketAddr};

/// The node's address and cluster name as drivers see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The address the native protocol listens on (shown as `rpc_address` etc.).
    pub listen: SocketAddr,
    pub cluster_name: String,
}

impl Default for NodeInfo {
    fn default() -> Self {
        NodeInfo {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 9042)),
            cluster_name: "scrolldb".to_string(),
        }
    }
}
