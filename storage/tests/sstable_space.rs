//! Space: chat-like text (WORKLOAD.md: 20-300 byte messages from a 2,000-word vocabulary)
//! takes at most 0.6x its user bytes on disk with the default options.

use bytes::Bytes;

use scrolldb_storage::model::{Cell, DecoratedKey, Row};
use scrolldb_storage::sstable::{SstableWriter, SstableWriterOptions};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn chat_text_takes_at_most_six_tenths_of_user_bytes() {
    let mut rng = Rng(42);
    let vocabulary: Vec<String> = (0..2000)
        .map(|_| {
            let len = 2 + rng.next() % 8;
            (0..len)
                .map(|_| (b'a' + (rng.next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    let mut keys: Vec<DecoratedKey> = (0..50u64)
        .map(|c| DecoratedKey::new(Bytes::from([c.to_be_bytes(), 7u64.to_be_bytes()].concat())))
        .collect();
    keys.sort();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), keys.len()).unwrap();
    let mut user_bytes = 0usize;
    let mut message_id = 1u64 << 40;
    for k in &keys {
        user_bytes += k.key.len();
        let mut rows = Vec::new();
        for _ in 0..1000 {
            message_id += 1 + rng.next() % 5000;
            let target = 20 + (rng.next() % 281) as usize;
            let mut content = String::new();
            while content.len() < target {
                content.push_str(&vocabulary[(rng.next() % 2000) as usize]);
                content.push(' ');
            }
            content.truncate(target);
            let ts = 1_700_000_000_000_000 + (message_id >> 10) as i64;
            // message_id DESC: the byte-comparable key is the complement.
            let mut r = Row::new(Bytes::copy_from_slice(&(!message_id).to_be_bytes()));
            r.marker = Some(Cell::live(ts, Bytes::new()));
            r.set(
                0,
                Cell::live(ts, (rng.next() % 100_000).to_be_bytes().to_vec()),
            );
            r.set(1, Cell::live(ts, content.into_bytes()));
            user_bytes += 8 + 8 + target;
            rows.push(r);
        }
        rows.sort_by(|a, b| a.clustering.cmp(&b.clustering));
        w.add_partition(k, None, &[], rows).unwrap();
    }
    w.finish().unwrap();
    let disk = std::fs::metadata(&path).unwrap().len() as f64;
    let ratio = disk / user_bytes as f64;
    println!("{disk} bytes on disk for {user_bytes} user bytes: {ratio:.3}");
    assert!(ratio <= 0.6, "space ratio {ratio:.3}");
}
