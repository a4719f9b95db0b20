//! What the read phases need to know about the data, gathered while it is written:
//! each channel's buckets and a uniform sample of its message ids.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::generator::{Message, CHANNEL_COUNT};

/// Message ids kept per channel for scroll-back starting points; bounded so the index
/// stays a few MB at any scale.
pub const SAMPLE_PER_CHANNEL: usize = 32;

#[derive(Default, Clone)]
pub struct ChannelHistory {
    /// Buckets holding messages, oldest first (messages arrive in send order).
    pub buckets: Vec<i32>,
    /// A reservoir sample of (bucket, message_id).
    pub sample: Vec<(i32, i64)>,
    pub message_count: u64,
}

pub struct ChannelIndex {
    pub channels: Vec<ChannelHistory>,
    rng: ChaCha8Rng,
}

impl ChannelIndex {
    pub fn new(seed: u64) -> Self {
        ChannelIndex {
            channels: vec![ChannelHistory::default(); CHANNEL_COUNT],
            // Its own stream: sampling must not change the messages generated.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7361_6d70_6c65),
        }
    }

    pub fn observe(&mut self, message: &Message) {
        let Some(history) = self.channels.get_mut(message.channel_rank) else {
            return;
        };
        if history.buckets.last() != Some(&message.bucket) {
            history.buckets.push(message.bucket);
        }
        history.message_count += 1;
        let entry = (message.bucket, message.message_id);
        if history.sample.len() < SAMPLE_PER_CHANNEL {
            history.sample.push(entry);
        } else {
            let slot = self.rng.random_range(0..history.message_count) as usize;
            if slot < SAMPLE_PER_CHANNEL {
                history.sample[slot] = entry;
            }
        }
    }
}
