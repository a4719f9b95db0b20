//! The bench's CQL client: one `scylla` driver session holding N connections, the schema of
//! the message table, and the two prepared statements the phases run.

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::client::PoolSize;
use scylla::statement::prepared::PreparedStatement;
use std::net::SocketAddr;
use std::num::NonZeroUsize;

/// A connected session and the prepared statements of both phases.
pub struct Client {
    pub session: Session,
    pub insert: PreparedStatement,
    pub newest: PreparedStatement,
}

impl Client {
    /// Connects with `connections` connections to `addr`; the driver spreads requests over
    /// them. Creates the keyspace and table if they are missing, then prepares.
    pub async fn connect(
        addr: SocketAddr,
        connections: NonZeroUsize,
        keyspace: &str,
    ) -> Result<Client, String> {
        let session = SessionBuilder::new()
            .known_node(addr.to_string())
            .pool_size(PoolSize::PerHost(connections))
            // The bench needs no schema metadata; fetching it only slows the start.
            .fetch_schema_metadata(false)
            .build()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let ddl = [
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {keyspace}.messages (channel_id bigint, bucket int, \
                 message_id bigint, author_id bigint, content text, \
                 PRIMARY KEY ((channel_id, bucket), message_id)) \
                 WITH CLUSTERING ORDER BY (message_id DESC)"
            ),
        ];
        for statement in ddl {
            session
                .query_unpaged(statement.as_str(), &[])
                .await
                .map_err(|e| format!("{statement}: {e}"))?;
        }
        let prepare = |cql: String| {
            let session = &session;
            async move {
                session
                    .prepare(cql.as_str())
                    .await
                    .map_err(|e| format!("PREPARE {cql}: {e}"))
            }
        };
        let insert = prepare(format!(
            "INSERT INTO {keyspace}.messages (channel_id, bucket, message_id, author_id, content) \
             VALUES (?, ?, ?, ?, ?)"
        ))
        .await?;
        let newest = prepare(format!(
            "SELECT message_id, author_id, content FROM {keyspace}.messages \
             WHERE channel_id = ? AND bucket = ? LIMIT ?"
        ))
        .await?;
        Ok(Client {
            session,
            insert,
            newest,
        })
    }
}
