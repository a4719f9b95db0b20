//! Space: chat-like text (WORKLOAD.md: 20-300 byte messages from a 2,000-word vocabulary)
//! takes at most 0.6x its user bytes on disk with the default options.

use bytes::Bytes;

use std::path::Path;

use scrolldb_storage::model::{Cell, DecoratedKey, Direction, Row, Slice};
use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Chat-like partitions: 50 partition keys in ring order, 1,000 messages each (rows
/// sorted), and the user bytes they hold. Every seed draws from the same vocabulary.
fn chat_partitions(seed: u64) -> (Vec<(DecoratedKey, Vec<Row>)>, usize) {
    // One vocabulary (seed 42) for every call; `seed` picks the messages.
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
    let mut rng = Rng(seed);
    let mut user_bytes = 0usize;
    let mut message_id = 1u64 << 40;
    let mut out = Vec::new();
    for k in keys {
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
        out.push((k, rows));
    }
    (out, user_bytes)
}

fn write(path: &Path, partitions: &[(DecoratedKey, Vec<Row>)], dictionary: Option<&[u8]>) {
    let mut w =
        SstableWriter::create(path, SstableWriterOptions::default(), partitions.len()).unwrap();
    if let Some(d) = dictionary {
        w.reuse_dictionary(d).unwrap();
    }
    for (k, rows) in partitions {
        w.add_partition_borrowed(k, None, &[], rows).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn chat_text_takes_at_most_six_tenths_of_user_bytes() {
    let (partitions, user_bytes) = chat_partitions(42);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    write(&path, &partitions, None);
    let disk = std::fs::metadata(&path).unwrap().len() as f64;
    let ratio = disk / user_bytes as f64;
    println!("{disk} bytes on disk for {user_bytes} user bytes: {ratio:.3}");
    assert!(ratio <= 0.6, "space ratio {ratio:.3}");
}

#[test]
fn a_reused_dictionary_compresses_new_data_as_well_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = chat_partitions(42);
    let trained_path = dir.path().join("1.db");
    write(&trained_path, &first, None);
    let trained = Sstable::open(&trained_path).unwrap();
    let dictionary = trained.dictionary_bytes().to_vec();
    assert!(!dictionary.is_empty());

    // Other messages of the same vocabulary, with and without the earlier dictionary.
    let (second, user_bytes) = chat_partitions(43);
    let (fresh_path, reused_path) = (dir.path().join("2.db"), dir.path().join("3.db"));
    write(&fresh_path, &second, None);
    write(&reused_path, &second, Some(&dictionary));
    let reused = Sstable::open(&reused_path).unwrap();
    assert_eq!(reused.dictionary_bytes(), &dictionary[..]);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    let (fresh, again) = (size(&fresh_path), size(&reused_path));
    println!("trained {fresh}, reused {again}, user bytes {user_bytes}");
    assert!(
        again <= fresh * 1.05,
        "reused dictionary: {again} vs trained {fresh}"
    );
    for (k, rows) in &second {
        let p = reused.partition(k).unwrap().unwrap();
        let got: Vec<Row> = p
            .rows(&Slice::all(), Direction::Forward)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(&got, rows);
    }

    // The dictionary must be chosen before any row is written.
    let mut w = SstableWriter::create(&dir.path().join("4.db"), SstableWriterOptions::default(), 1)
        .unwrap();
    w.add_partition_borrowed(&second[0].0, None, &[], &second[0].1)
        .unwrap();
    assert!(w.reuse_dictionary(&dictionary).is_err());
}
