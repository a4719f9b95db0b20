//! A fixed 2,000-word vocabulary of pseudo-words and the chat-like text built from it.
//!
//! Words are drawn with a Zipf law (s = 1.0, as in natural language), so message text
//! repeats the way chat does and compresses like it, unlike random bytes.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

pub const WORD_COUNT: usize = 2_000;
pub const CONTENT_MIN_BYTES: usize = 20;
pub const CONTENT_MAX_BYTES: usize = 300;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
const VOWELS: &[u8] = b"aeiou";

pub struct Vocabulary {
    words: Vec<String>,
    popularity: Zipf<f64>,
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
        let popularity = Zipf::new(WORD_COUNT as f64, 1.0).expect("valid zipf parameters");
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
            let rank = self.popularity.sample(rng) as usize;
            text.push_str(&self.words[rank.clamp(1, WORD_COUNT) - 1]);
        }
        // Words are ASCII, so any byte length is a char boundary.
        text.truncate(target_bytes);
        text
    }
}
