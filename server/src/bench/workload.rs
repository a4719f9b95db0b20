//! The message data of `shared/WORKLOAD.md`, generated deterministically from a seed: channels
//! by Zipf popularity (s = 1.1), Snowflake ids in send order over 120 days, ten-day buckets,
//! uniform authors and 20-300 byte chat text from a 2,000-word vocabulary.
//!
//! The open-channel phase regenerates the same stream to learn which buckets each channel
//! has, so it can run against data an earlier `scrolldb bench --phase ingest` wrote.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use std::collections::HashSet;

pub const CHANNEL_COUNT: usize = 10_000;
const CHANNEL_ZIPF_S: f64 = 1.1;
const AUTHOR_COUNT: i64 = 100_000;
const WORD_COUNT: usize = 2_000;
const CONTENT_MIN_BYTES: usize = 20;
const CONTENT_MAX_BYTES: usize = 300;
/// Bits of a Snowflake below its millisecond timestamp (10 worker + 12 sequence).
const TIMESTAMP_SHIFT: u32 = 22;
const BUCKET_MS: i64 = 10 * 24 * 3600 * 1000;
/// 2024-01-01T00:00:00Z in ms since the Snowflake epoch (2015-01-01).
const TIMELINE_START_MS: i64 = 283_996_800_000;
const TIMELINE_SPAN_MS: i64 = 120 * 24 * 3600 * 1000;

/// One row of the `messages` table.
#[derive(Clone, Debug)]
pub struct Message {
    pub channel_id: i64,
    pub bucket: i32,
    pub message_id: i64,
    pub author_id: i64,
    pub content: String,
    /// The channel's popularity rank - 1 (not stored).
    pub channel_rank: usize,
}

/// The ten-day bucket of a message id.
pub fn bucket_of(message_id: i64) -> i32 {
    // (2^41 ms) / (10 days in ms) < 2,600: always fits.
    i32::try_from((message_id >> TIMESTAMP_SHIFT) / BUCKET_MS).unwrap_or(i32::MAX)
}

/// What all streams of one seed share: channel ids, popularity and vocabulary.
pub struct Workload {
    channels: Vec<i64>,
    popularity: Zipf<f64>,
    words: Vec<String>,
    word_popularity: Zipf<f64>,
}

impl Workload {
    pub fn new(seed: u64) -> Result<Self, String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6368_616e_6e65_6c73);
        let mut seen = HashSet::with_capacity(CHANNEL_COUNT);
        let mut channels = Vec::with_capacity(CHANNEL_COUNT);
        while channels.len() < CHANNEL_COUNT {
            let id = rng.random_range(1..i64::MAX);
            if seen.insert(id) {
                channels.push(id);
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x766f_6361_6275_6c61);
        let words = (0..WORD_COUNT)
            .map(|_| {
                let syllables = rng.random_range(1..=4);
                (0..syllables)
                    .flat_map(|_| {
                        let c = b"bcdfghjklmnprstvwz"[rng.random_range(0..18)];
                        let v = b"aeiou"[rng.random_range(0..5)];
                        [c as char, v as char]
                    })
                    .collect()
            })
            .collect();
        let zipf = |n: usize, s: f64| Zipf::new(n as f64, s).map_err(|e| format!("zipf: {e}"));
        Ok(Workload {
            channels,
            popularity: zipf(CHANNEL_COUNT, CHANNEL_ZIPF_S)?,
            words,
            word_popularity: zipf(WORD_COUNT, 1.0)?,
        })
    }

    /// A channel's popularity rank - 1, drawn by popularity.
    pub fn pick_channel_rank(&self, rng: &mut impl Rng) -> usize {
        (self.popularity.sample(rng) as usize).clamp(1, CHANNEL_COUNT) - 1
    }

    pub fn channel_id(&self, rank: usize) -> i64 {
        self.channels.get(rank).copied().unwrap_or(0)
    }

    fn content(&self, rng: &mut impl Rng) -> String {
        let target = rng.random_range(CONTENT_MIN_BYTES..=CONTENT_MAX_BYTES);
        let mut text = String::with_capacity(target + 16);
        while text.len() < target {
            if !text.is_empty() {
                text.push(' ');
            }
            let rank = (self.word_popularity.sample(rng) as usize).clamp(1, WORD_COUNT) - 1;
            text.push_str(self.words.get(rank).map_or("x", String::as_str));
        }
        // Words are ASCII, so every byte length is a char boundary.
        text.truncate(target);
        text
    }

    /// The first `count` messages of the seed's stream, in send order.
    pub fn messages(&self, seed: u64, count: u64) -> Vec<Message> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut last_id = 0i64;
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for index in 0..count {
            let rank = self.pick_channel_rank(&mut rng);
            let worker = rng.random_range(0..1024i64);
            let offset = u128::from(index) * TIMELINE_SPAN_MS as u128 / u128::from(count.max(1));
            let ms = TIMELINE_START_MS + i64::try_from(offset).unwrap_or(0);
            // Two sends in one millisecond must still get increasing ids.
            let message_id = ((ms << TIMESTAMP_SHIFT) | (worker << 12)).max(last_id + 1);
            last_id = message_id;
            out.push(Message {
                channel_id: self.channel_id(rank),
                bucket: bucket_of(message_id),
                message_id,
                author_id: rng.random_range(0..AUTHOR_COUNT),
                content: self.content(&mut rng),
                channel_rank: rank,
            });
        }
        out
    }
}

/// Per channel rank, its buckets newest first: where an open-channel read looks.
pub fn buckets_by_channel(messages: &[Message]) -> Vec<Vec<i32>> {
    let mut buckets = vec![Vec::new(); CHANNEL_COUNT];
    for m in messages {
        if let Some(b) = buckets.get_mut(m.channel_rank) {
            b.push(m.bucket);
        }
    }
    for b in &mut buckets {
        b.sort_unstable_by(|x, y| y.cmp(x));
        b.dedup();
    }
    buckets
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_deterministic_and_in_send_order() {
        let w = Workload::new(7).unwrap();
        let a = w.messages(7, 2_000);
        let b = Workload::new(7).unwrap().messages(7, 2_000);
        assert_eq!(a.len(), 2_000);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((x.message_id, &x.content), (y.message_id, &y.content));
        }
        assert!(a.windows(2).all(|p| p[0].message_id < p[1].message_id));
        assert!(a.iter().all(|m| (20..=300).contains(&m.content.len())));
        // 120 days span 12 or 13 ten-day buckets.
        let buckets: HashSet<i32> = a.iter().map(|m| m.bucket).collect();
        assert!((12..=14).contains(&buckets.len()), "{}", buckets.len());
        // Zipf: the hottest channel gets far more than an even share.
        let hot = a.iter().filter(|m| m.channel_rank == 0).count();
        assert!(hot > 100, "{hot}");
    }

    #[test]
    fn buckets_are_newest_first() {
        let w = Workload::new(1).unwrap();
        let msgs = w.messages(1, 5_000);
        let by = buckets_by_channel(&msgs);
        assert!(by[0].len() > 1);
        assert!(by[0].windows(2).all(|p| p[0] > p[1]));
    }
}
