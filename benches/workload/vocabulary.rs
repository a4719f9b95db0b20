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

/// A Zipf law over ranks `1..=n` with exponent `s`, sampled with Walker's alias method: one
/// uniform draw picks a column, a second decides between the column's rank and its alias.
///
/// The same law as `rand_distr::Zipf`, for a fraction of the cost: that one computes `pow` and
/// `exp` for every draw, and with about 30 words per message it took a third of the ingest
/// phase's writer thread, time that belongs to neither engine.
pub struct ZipfTable {
    /// Probability of keeping column `i`'s own rank (`i + 1`) rather than its alias.
    keep: Vec<f64>,
    /// The rank - 1 drawn when column `i` is not kept.
    alias: Vec<usize>,
}

impl ZipfTable {
    pub fn new(n: usize, s: f64) -> Self {
        let n = n.max(1);
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = weights.iter().sum();
        // Vose's construction: scale to mean 1, pair each light column with a heavy one.
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut keep = vec![1.0; n];
        let mut alias: Vec<usize> = (0..n).collect();
        let (mut light, mut heavy): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(l), Some(&h)) = (light.pop(), heavy.last()) {
            keep[l] = scaled[l];
            alias[l] = h;
            scaled[h] -= 1.0 - scaled[l];
            if scaled[h] < 1.0 {
                heavy.pop();
                light.push(h);
            }
        }
        ZipfTable { keep, alias }
    }

    /// A rank in `1..=n`.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let column = rng.random_range(0..self.keep.len());
        let kept = rng.random::<f64>() < self.keep[column];
        1 + if kept { column } else { self.alias[column] }
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
