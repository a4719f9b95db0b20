//! The two workload phases over CQL: ingest (one prepared single-row INSERT per message, in
//! send order) and open-channel (the newest 50 messages of a channel picked by popularity,
//! newest bucket first, then older buckets until 50 rows or no more buckets).

use super::client::Client;
use super::load::{drive, Limit, Measured};
use super::workload::{Message, Workload};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Rows an open-channel read returns at most.
const OPEN_CHANNEL_ROWS: i32 = 50;

pub async fn ingest(
    client: Arc<Client>,
    messages: Arc<Vec<Message>>,
    concurrency: usize,
    limit: Limit,
) -> Result<Measured, String> {
    let limit = Limit {
        operations: limit.operations.min(messages.len() as u64),
        ..limit
    };
    drive(concurrency, limit, move |_, i| {
        let (client, messages) = (Arc::clone(&client), Arc::clone(&messages));
        async move {
            let Some(m) = usize::try_from(i).ok().and_then(|i| messages.get(i)) else {
                return Ok(0);
            };
            let values = (
                m.channel_id,
                m.bucket,
                m.message_id,
                m.author_id,
                m.content.as_str(),
            );
            client
                .session
                .execute_unpaged(&client.insert, values)
                .await
                .map_err(|e| format!("insert: {e}"))?;
            Ok(1)
        }
    })
    .await
}

/// What an open-channel read needs to know about the data: each channel's buckets.
pub struct Channels {
    pub workload: Workload,
    /// By channel rank: the buckets holding its messages, newest first.
    pub buckets: Vec<Vec<i32>>,
    /// The newest bucket of all, read for a channel that has no messages.
    pub current_bucket: i32,
    pub seed: u64,
}

pub async fn open_channel(
    client: Arc<Client>,
    channels: Arc<Channels>,
    concurrency: usize,
    limit: Limit,
) -> Result<Measured, String> {
    drive(concurrency, limit, move |_, i| {
        let (client, channels) = (Arc::clone(&client), Arc::clone(&channels));
        async move {
            // One random stream per read: the same seed reads the same channels.
            let mut rng = ChaCha8Rng::seed_from_u64(channels.seed ^ 0x6f70_656e ^ (i << 16));
            let rank = channels.workload.pick_channel_rank(&mut rng);
            let channel_id = channels.workload.channel_id(rank);
            let current = [channels.current_bucket];
            let buckets = match channels.buckets.get(rank) {
                Some(b) if !b.is_empty() => b.as_slice(),
                _ => &current,
            };
            let mut rows = 0i32;
            for &bucket in buckets {
                let result = client
                    .session
                    .execute_unpaged(
                        &client.newest,
                        (channel_id, bucket, OPEN_CHANNEL_ROWS - rows),
                    )
                    .await
                    .map_err(|e| format!("select: {e}"))?;
                let read = result
                    .into_rows_result()
                    .map_err(|e| format!("select: {e}"))?
                    .rows_num();
                rows = rows.saturating_add(i32::try_from(read).unwrap_or(i32::MAX));
                if rows >= OPEN_CHANNEL_ROWS {
                    break;
                }
            }
            Ok(u64::try_from(rows).unwrap_or(0))
        }
    })
    .await
}
