//! A small chat service embedding scrolldb: send messages with Snowflake ids, fetch the
//! newest 50, scroll back through older ten-day buckets, delete a message.
//!
//! Run it with `cargo run --example chat`; `cargo test --example chat` runs the same
//! scenario as a test. It uses `Db::temporary()`, so nothing is left behind.

use scrolldb::catalog::{ColumnDef, ColumnKind, KeyspaceDef, TableParams, TableSchema};
use scrolldb::snowflake::{
    bucket_of, Clock, SnowflakeGenerator, DEFAULT_EPOCH_MS, TEN_DAY_BUCKET_MS,
};
use scrolldb::storage::types::{CqlType, Order, Value};
use scrolldb::{Db, Delete, KeyBound, Select};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
struct Message {
    id: i64,
    author: i64,
    content: String,
}

/// The data service: one method per query, no business logic.
struct ChatService<C: Clock> {
    db: Db,
    ids: SnowflakeGenerator<C>,
}

impl<C: Clock> ChatService<C> {
    fn new(db: Db, ids: SnowflakeGenerator<C>) -> scrolldb::Result<Self> {
        db.create_keyspace(
            KeyspaceDef {
                name: "chat".into(),
                replication: BTreeMap::from([("class".into(), "SimpleStrategy".into())]),
                durable_writes: true,
            },
            true,
        )?;
        let col = |name: &str, ty, kind| ColumnDef {
            name: name.into(),
            ty,
            id: 0,
            kind,
        };
        // CREATE TABLE chat.messages (channel_id bigint, bucket int, message_id bigint,
        //   author_id bigint, content text, PRIMARY KEY ((channel_id, bucket), message_id))
        //   WITH CLUSTERING ORDER BY (message_id DESC)
        db.create_table(
            TableSchema {
                keyspace: "chat".into(),
                name: "messages".into(),
                id: 0,
                uuid: [0; 16],
                columns: vec![
                    col(
                        "channel_id",
                        CqlType::BigInt,
                        ColumnKind::PartitionKey { position: 0 },
                    ),
                    col(
                        "bucket",
                        CqlType::Int,
                        ColumnKind::PartitionKey { position: 1 },
                    ),
                    col(
                        "message_id",
                        CqlType::BigInt,
                        ColumnKind::Clustering {
                            position: 0,
                            order: Order::Desc,
                        },
                    ),
                    col("author_id", CqlType::BigInt, ColumnKind::Regular),
                    col("content", CqlType::Text, ColumnKind::Regular),
                ],
                params: TableParams::default(),
            },
            true,
        )?;
        Ok(ChatService { db, ids })
    }

    fn new_channel(&self) -> scrolldb::Result<i64> {
        self.ids
            .next_id()
            .map_err(|e| scrolldb::Error::Invalid(e.to_string()))
    }

    fn send(&self, channel: i64, author: i64, content: &str) -> scrolldb::Result<i64> {
        let id = self.new_channel()?;
        self.db.insert(
            "chat",
            "messages",
            &[
                ("channel_id", Value::BigInt(channel)),
                ("bucket", Value::Int(bucket_of(id, TEN_DAY_BUCKET_MS))),
                ("message_id", Value::BigInt(id)),
                ("author_id", Value::BigInt(author)),
                ("content", Value::Text(content.into())),
            ],
        )?;
        Ok(id)
    }

    /// Up to `n` messages older than `before` (or the newest), newest first, walking the
    /// channel's buckets backwards until the channel's first bucket.
    fn history(
        &self,
        channel: i64,
        before: Option<i64>,
        n: usize,
    ) -> scrolldb::Result<Vec<Message>> {
        let newest_bucket = match before {
            Some(id) => bucket_of(id, TEN_DAY_BUCKET_MS),
            // A fresh id is "now" on the ids' own clock.
            None => bucket_of(self.ids.next_id().unwrap_or(i64::MAX), TEN_DAY_BUCKET_MS),
        };
        let first_bucket = bucket_of(channel, TEN_DAY_BUCKET_MS);
        let mut out = Vec::new();
        for bucket in (first_bucket..=newest_bucket).rev() {
            if out.len() >= n {
                break;
            }
            // message_id is DESC: "older than before" is after it in clustering order.
            let start = match before {
                Some(id) => KeyBound::Excluded(vec![Value::BigInt(id)]),
                None => KeyBound::Unbounded,
            };
            let page = self.db.select(
                &Select::new(
                    "chat",
                    "messages",
                    vec![Value::BigInt(channel), Value::Int(bucket)],
                )
                .range(start, KeyBound::Unbounded)
                .limit(n - out.len()),
            )?;
            for row in page.rows {
                let (
                    Some(Value::BigInt(id)),
                    Some(Value::BigInt(author)),
                    Some(Value::Text(content)),
                ) = (
                    row.get("message_id"),
                    row.get("author_id"),
                    row.get("content"),
                )
                else {
                    continue;
                };
                out.push(Message {
                    id: *id,
                    author: *author,
                    content: content.clone(),
                });
            }
        }
        Ok(out)
    }

    fn delete(&self, channel: i64, id: i64) -> scrolldb::Result<()> {
        self.db.delete(
            "chat",
            "messages",
            &Delete::Row {
                key: vec![
                    Value::BigInt(channel),
                    Value::Int(bucket_of(id, TEN_DAY_BUCKET_MS)),
                ],
                clustering: vec![Value::BigInt(id)],
            },
        )
    }
}

/// A clock the scenario moves forward by hand, so 200 messages span several buckets.
#[derive(Clone, Default)]
struct SimulatedClock(Arc<AtomicI64>);

impl Clock for SimulatedClock {
    fn unix_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn scenario() -> scrolldb::Result<()> {
    let clock = SimulatedClock::default();
    // 2024-01-01.
    clock.0.store(1_704_067_200_000, Ordering::SeqCst);
    let ids = SnowflakeGenerator::with_clock(DEFAULT_EPOCH_MS, 1, clock.clone())
        .map_err(|e| scrolldb::Error::Invalid(e.to_string()))?;
    let chat = ChatService::new(Db::temporary()?, ids)?;

    let channel = chat.new_channel()?;
    let mut sent = Vec::new();
    for i in 0..200 {
        // A message every four hours: 200 messages over ~33 days, four buckets.
        clock.0.fetch_add(4 * 3600 * 1000, Ordering::SeqCst);
        sent.push(chat.send(channel, 100 + i % 3, &format!("hello #{i}"))?);
    }
    let buckets: std::collections::BTreeSet<i32> = sent
        .iter()
        .map(|&id| bucket_of(id, TEN_DAY_BUCKET_MS))
        .collect();
    println!(
        "sent {} messages over {} buckets",
        sent.len(),
        buckets.len()
    );
    assert!(buckets.len() >= 3);

    // Open the channel: the newest 50.
    let newest = chat.history(channel, None, 50)?;
    let expected: Vec<i64> = sent.iter().rev().take(50).copied().collect();
    assert_eq!(newest.iter().map(|m| m.id).collect::<Vec<_>>(), expected);
    println!("newest: {:?}", newest.first());

    // Scroll back 50 at a time to the beginning, across buckets.
    let mut all = newest.clone();
    while let Some(oldest) = all.last().map(|m| m.id) {
        let older = chat.history(channel, Some(oldest), 50)?;
        if older.is_empty() {
            break;
        }
        all.extend(older);
    }
    let everything: Vec<i64> = sent.iter().rev().copied().collect();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), everything);
    println!("scrolled back through {} messages", all.len());

    // Delete the newest message and one deep in history.
    chat.delete(channel, sent[199])?;
    chat.delete(channel, sent[10])?;
    let newest = chat.history(channel, None, 50)?;
    assert_eq!(newest[0].id, sent[198]);
    let old = chat.history(channel, Some(sent[12]), 3)?;
    assert_eq!(
        old.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![sent[11], sent[9], sent[8]]
    );
    println!(
        "deleted 2 messages; stats: {:?} writes",
        chat.db.stats()?.writes()
    );
    Ok(())
}

fn main() -> scrolldb::Result<()> {
    scenario()
}

#[cfg(test)]
mod tests {
    #[test]
    fn chat_scenario() {
        super::scenario().unwrap();
    }
}
