//! Damaged SSTables give clean `Error::Corruption` (or `UnsupportedVersion`) naming the file,
//! from `open` or from the read that reaches the damage: never a panic, never wrong rows.
//! Also: an unfinished writer leaves nothing at the table's path.

use bytes::Bytes;
use std::path::{Path, PathBuf};

use scrolldb_storage::model::{Cell, DecoratedKey, Direction, Row, Slice};
use scrolldb_storage::sstable::{Sstable, SstableWriter, SstableWriterOptions};
use scrolldb_storage::Error;

fn rows(n: u32) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let mut r = Row::new(Bytes::from(i.to_be_bytes().to_vec()));
            r.set(
                1,
                Cell::live(
                    1_700_000_000_000_000 + i64::from(i),
                    format!("message number {i} of the channel"),
                ),
            );
            r
        })
        .collect()
}

fn keys() -> Vec<DecoratedKey> {
    let mut k: Vec<_> = (0..5)
        .map(|i| DecoratedKey::new(Bytes::from(format!("channel-{i}"))))
        .collect();
    k.sort();
    k
}

/// Writes a table of 5 partitions × 200 rows in 1 KiB blocks; returns its path.
fn build(dir: &Path) -> PathBuf {
    let path = dir.join("t.db");
    let opts = SstableWriterOptions {
        block_size_bytes: 1024,
        ..SstableWriterOptions::default()
    };
    let mut w = SstableWriter::create(&path, opts, 5).unwrap();
    for k in keys() {
        w.add_partition(&k, None, &[], rows(200)).unwrap();
    }
    w.finish().unwrap();
    path
}

/// Opens and reads everything, both directions; returns the first error, if any.
fn read_all(path: &Path) -> Result<usize, Error> {
    let t = Sstable::open(path)?;
    let mut n = 0;
    for k in keys() {
        if let Some(p) = t.partition(&k)? {
            for dir in [Direction::Forward, Direction::Reverse] {
                let got: Vec<Row> = p.rows(&Slice::all(), dir).collect::<Result<_, _>>()?;
                let mut want = rows(200);
                if dir == Direction::Reverse {
                    want.reverse();
                }
                assert_eq!(got, want, "wrong rows read without an error");
                n += got.len();
            }
        }
    }
    for p in t.partitions_from(None) {
        p?;
    }
    Ok(n)
}

fn assert_clean_error(e: &Error, path: &Path) {
    match e {
        Error::Corruption { file, .. } | Error::UnsupportedVersion { file, .. } => {
            assert_eq!(file, path, "error names another file: {e}")
        }
        other => panic!("expected corruption naming the file, got {other}"),
    }
}

#[test]
fn intact_table_reads_fully() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    assert_eq!(read_all(&path).unwrap(), 5 * 400);
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn flipped_byte_in_a_data_block_is_caught_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    flip(&path, 100);
    // Open succeeds (blocks are checked when read), the read fails cleanly.
    Sstable::open(&path).unwrap();
    let e = read_all(&path).unwrap_err();
    assert_clean_error(&e, &path);
    assert!(e.to_string().contains("checksum"), "{e}");
}

#[test]
fn flipped_byte_in_the_index_and_footer_is_caught_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    // The footer (last 152 bytes), and the sections before it (stats, filter, index).
    for back in [1usize, 10, 60, 125, 140, 200, 400, 1000, 2000] {
        let copy = dir.path().join(format!("c{back}.db"));
        std::fs::copy(&path, &copy).unwrap();
        flip(&copy, len - back);
        let e = read_all(&copy).unwrap_err();
        assert_clean_error(&e, &copy);
    }
}

#[test]
fn every_single_byte_flip_is_an_error_not_a_panic_or_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let original = std::fs::read(&path).unwrap();
    let copy = dir.path().join("copy.db");
    // Every 11th byte keeps the debug test short while touching every region.
    for at in (0..original.len()).step_by(11) {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&copy, &bytes).unwrap();
        match read_all(&copy) {
            Err(e) => assert_clean_error(&e, &copy),
            Ok(n) => panic!("flip at {at} went unnoticed ({n} rows read)"),
        }
    }
}

#[test]
fn truncated_file_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    for keep in [0usize, 5, 16, 100, bytes.len() / 2, bytes.len() - 1] {
        let copy = dir.path().join(format!("trunc{keep}.db"));
        std::fs::write(&copy, &bytes[..keep]).unwrap();
        let e = Sstable::open(&copy).unwrap_err();
        assert_clean_error(&e, &copy);
    }
}

#[test]
fn wrong_version_is_unsupported_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 99;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        Sstable::open(&path).unwrap_err(),
        Error::UnsupportedVersion { found: 99, .. }
    ));
}

#[test]
fn unfinished_writer_leaves_no_file_at_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 1).unwrap();
    w.add_partition(&keys()[0], None, &[], rows(1000)).unwrap();
    assert!(!path.exists(), "table visible before finish");
    drop(w);
    assert!(!path.exists());
    // And the temporary file is cleaned up too.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A writer abandoned without running its destructor (a crash) leaves at most a
    // temporary file, never a file at `path`.
    let mut w = SstableWriter::create(&path, SstableWriterOptions::default(), 1).unwrap();
    w.add_partition(&keys()[0], None, &[], rows(1000)).unwrap();
    std::mem::forget(w);
    assert!(!path.exists());
}

/// A dictionary section that zstd rejects but whose CRC (recomputed, as a forger would) and
/// footer are valid: a clean error, not the panic inside zstd's dictionary loader.
#[test]
fn forged_bad_dictionary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let footer_at = bytes.len() - 152;
    let field = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let dict_at = field(&bytes, footer_at + 80) as usize;
    let dict_len = field(&bytes, footer_at + 88) as usize;
    assert!(dict_len > 8, "the test table should have a dictionary");
    // Keep the zstd dictionary magic, wreck the entropy tables after it.
    for b in &mut bytes[dict_at + 8..dict_at + dict_len] {
        *b = 0xff;
    }
    let crc = crc32fast::hash(&bytes[dict_at..dict_at + dict_len]);
    bytes[footer_at + 96..footer_at + 100].copy_from_slice(&crc.to_le_bytes());
    let footer_crc = crc32fast::hash(&bytes[footer_at..footer_at + 140]);
    bytes[footer_at + 140..footer_at + 144].copy_from_slice(&footer_crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    match read_all(&path) {
        Err(e) => {
            assert_clean_error(&e, &path);
            assert!(e.to_string().contains("dictionary"), "{e}");
        }
        Ok(_) => panic!("forged dictionary went unnoticed"),
    }
}
