//! The deterministic message stream of WORKLOAD.md: channels by Zipf popularity,
//! Snowflake ids in send order, uniform authors, chat-like content.
//!
//! Messages are generated one at a time (nothing is kept but the stream state), so the
//! generator's memory does not grow with the scale. The ingest phase collects them into
//! chunks before it starts its timer (`phases::ingest::CHUNK_MESSAGES`).

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::sync::Arc;

use crate::snowflake::{bucket_of, send_ms, snowflake};
use crate::vocabulary::{Vocabulary, ZipfTable};

pub const CHANNEL_COUNT: usize = 10_000;
pub const CHANNEL_ZIPF_S: f64 = 1.1;
pub const AUTHOR_COUNT: i64 = 100_000;
pub const MESSAGES_AT_SCALE_1: u64 = 5_000_000;
pub const TOMBSTONE_MESSAGES_AT_SCALE_1: u64 = 1_000_000;

/// One message, as the table stores it.
#[derive(Clone, Debug)]
pub struct Message {
    pub channel_id: i64,
    pub bucket: i32,
    pub message_id: i64,
    pub author_id: i64,
    pub content: String,
    /// Popularity rank - 1 of the channel (not stored), for the channel index.
    pub channel_rank: usize,
}

impl Message {
    /// User bytes: the four key and value columns at their fixed sizes plus the text.
    pub fn user_bytes(&self) -> u64 {
        (8 + 4 + 8 + 8 + self.content.len()) as u64
    }
}

/// What every stream of one seed shares: the channel ids and the vocabulary.
pub struct Workload {
    pub seed: u64,
    /// Channel ids by popularity rank (index 0 is the hottest).
    pub channels: Vec<i64>,
    pub popularity: ZipfTable,
    pub vocabulary: Vocabulary,
    /// A channel id that no generated message uses, for the tombstone phase.
    pub fresh_channel: i64,
}

impl Workload {
    pub fn new(seed: u64) -> Arc<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6368_616e_6e65_6c73);
        let mut seen = HashSet::with_capacity(CHANNEL_COUNT + 1);
        let mut draw_unique = |rng: &mut ChaCha8Rng| loop {
            let id = rng.random_range(1..i64::MAX);
            if seen.insert(id) {
                return id;
            }
        };
        let channels: Vec<i64> = (0..CHANNEL_COUNT).map(|_| draw_unique(&mut rng)).collect();
        let fresh_channel = draw_unique(&mut rng);
        Arc::new(Workload {
            seed,
            channels,
            popularity: ZipfTable::new(CHANNEL_COUNT, CHANNEL_ZIPF_S),
            vocabulary: Vocabulary::generate(seed),
            fresh_channel,
        })
    }

    /// A channel's popularity rank - 1, drawn by popularity.
    pub fn pick_channel_rank(&self, rng: &mut impl Rng) -> usize {
        self.popularity.sample(rng).clamp(1, CHANNEL_COUNT) - 1
    }
}

/// `count` messages in send order; with `fixed_channel` all go to that channel.
pub struct MessageStream {
    workload: Arc<Workload>,
    rng: ChaCha8Rng,
    index: u64,
    count: u64,
    fixed_channel: Option<i64>,
    last_id: i64,
}

impl MessageStream {
    /// The main stream of the workload.
    pub fn main(workload: Arc<Workload>, count: u64) -> Self {
        let seed = workload.seed;
        Self::new(workload, count, None, seed)
    }

    /// The tombstone phase's single fresh channel.
    pub fn fresh_channel(workload: Arc<Workload>, count: u64) -> Self {
        let (channel, seed) = (workload.fresh_channel, workload.seed ^ 0x746f_6d62);
        Self::new(workload, count, Some(channel), seed)
    }

    fn new(workload: Arc<Workload>, count: u64, fixed_channel: Option<i64>, seed: u64) -> Self {
        MessageStream {
            workload,
            rng: ChaCha8Rng::seed_from_u64(seed),
            index: 0,
            count,
            fixed_channel,
            last_id: 0,
        }
    }
}

impl Iterator for MessageStream {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if self.index >= self.count {
            return None;
        }
        let (channel_id, channel_rank) = match self.fixed_channel {
            Some(id) => (id, usize::MAX),
            None => {
                let rank = self.workload.pick_channel_rank(&mut self.rng);
                (self.workload.channels[rank], rank)
            }
        };
        let worker = self.rng.random_range(0..1024u16);
        let candidate = snowflake(send_ms(self.index, self.count), worker, 0);
        // Two sends in one millisecond from different workers must still be increasing.
        let message_id = candidate.max(self.last_id + 1);
        self.last_id = message_id;
        self.index += 1;
        Some(Message {
            channel_id,
            bucket: bucket_of(message_id),
            message_id,
            author_id: self.rng.random_range(0..AUTHOR_COUNT),
            content: self.workload.vocabulary.content(&mut self.rng),
            channel_rank,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.count - self.index) as usize;
        (left, Some(left))
    }
}
