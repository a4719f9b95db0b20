//! A fixed 2,000-word vocabulary of pseudo-words and the chat-like text built from it.
//!
//! Words are drawn with a Zipf law (s = 1.0, as in natural language), so message text
//! repeats the way chat does and compresses like it, unlike random bytes.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub const WORD_COUNT: usize = 2_000;
pub const CONTENT_MIN_BYTES: usize = 20;
pub const CONTENT_MAX_BYTES: usize = 300;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
const VOWELS: &[u8] = b"aeiou";

pub struct Vocabulary {
    words: Vec<String>,
    popularity: ZipfTable,
}

/// A Zipf law over ranks `1..=n` with exponent `s`, sampled by inverting its cumulative
/// distribution (a binary search in a table of `n` entries).
///
/// The same law as `rand_distr::Zipf`, for a fraction of the cost: that one computes `pow` and
/// `exp` for every draw, and with about 30 words per message it took a third of the ingest
/// phase's writer thread, time that belongs to neither engine.
pub struct ZipfTable {
    /// `cumulative[k - 1]` = sum of `1 / i^s` for `i` in `1..=k`.
    cumulative: Vec<f64>,
}

impl ZipfTable {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|k| {
                total += (k as f64).powf(-s);
                total
            })
            .collect();
        ZipfTable { cumulative }
    }

    /// A rank in `1..=n`.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = rng.random::<f64>() * total;
        let rank = self.cumulative.partition_point(|&c| c <= u) + 1;
        rank.min(self.cumulative.len())
    }
}

impl Vocabulary {
    /// The vocabulary of a seed: the same seed always gives the same words.
    pub fn generate(seed: u64) -> Self {
        // A stream of its own, so the vocabulary does not shift the message stream.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x766f_6361_6275_6c61);
        let words = (0..WORD_COUNT)
            .map(|_| {
                let syllables = rng.random_range(1..=4);
                let mut word = String::with_capacity(syllables * 2);
                for _ in 0..syllables {
                    word.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char);
                    word.push(VOWELS[rng.random_range(0..VOWELS.len())] as char);
                }
                word
            })
            .collect();
        let popularity = ZipfTable::new(WORD_COUNT, 1.0);
        Vocabulary { words, popularity }
    }

    /// Text of a uniform length in 20..=300 bytes, words separated by spaces.
    pub fn content(&self, rng: &mut impl Rng) -> String {
        let target_bytes = rng.random_range(CONTENT_MIN_BYTES..=CONTENT_MAX_BYTES);
        let mut text = String::with_capacity(target_bytes + 16);
        while text.len() < target_bytes {
            if !text.is_empty() {
                text.push(' ');
            }
            let rank = self.popularity.sample(rng);
            text.push_str(&self.words[rank.clamp(1, WORD_COUNT) - 1]);
        }
        // Words are ASCII, so any byte length is a char boundary.
        text.truncate(target_bytes);
        text
    }
}
