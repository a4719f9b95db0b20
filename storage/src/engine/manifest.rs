//! The manifest: which SSTables make up each table, and where commitlog replay starts.
//!
//! It is the engine's single commit point for flushes and compactions: a new SSTable set
//! exists only once a new manifest naming it has been written to a temporary file, fsynced,
//! renamed over `MANIFEST` and the directory fsynced. SSTable files the manifest does not
//! name are leftovers of an interrupted flush or compaction and are deleted on open.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::codec::varint::{put_u64, Reader};
use crate::commitlog::Position;
use crate::error::{Error, Result};
use crate::io::{FileIo, SyncKind};
use crate::model::TableId;

const MAGIC: &[u8; 8] = b"SCRLMANI";
const VERSION: u32 = 1;
pub const FILE_NAME: &str = "MANIFEST";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Commitlog records before this position are all in SSTables.
    pub replay_from: Position,
    /// The next SSTable generation number to hand out.
    pub next_generation: u64,
    /// Live SSTable generations of each table, newest first.
    pub tables: BTreeMap<TableId, Vec<u64>>,
}

impl Manifest {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Loads the manifest of `dir`; a missing one is an empty engine.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = Self::path(dir);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Manifest {
                    next_generation: 1,
                    ..Manifest::default()
                })
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        Self::decode(&data).map_err(|e| e.at(&path, 0))
    }

    fn decode(data: &[u8]) -> Result<Manifest> {
        let mut r = Reader::new(data);
        if r.slice(8)? != MAGIC {
            return Err(Error::Malformed("bad manifest magic".into()));
        }
        let version = r.fixed_u32_le()?;
        if version != VERSION {
            return Err(Error::Malformed(format!(
                "unsupported manifest version {version}"
            )));
        }
        let crc = r.fixed_u32_le()?;
        let body = r.slice(r.remaining())?;
        if crc32fast::hash(body) != crc {
            return Err(Error::Malformed("manifest checksum mismatch".into()));
        }
        let mut r = Reader::new(body);
        let replay_from = Position {
            segment: r.u64()?,
            offset: r.u64()?,
        };
        let next_generation = r.u64()?;
        let mut tables = BTreeMap::new();
        for _ in 0..r.count()? {
            let table = r.u32()?;
            let n = r.count()?;
            let mut gens = Vec::with_capacity(n);
            for _ in 0..n {
                gens.push(r.u64()?);
            }
            tables.insert(table, gens);
        }
        Ok(Manifest {
            replay_from,
            next_generation,
            tables,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_u64(&mut body, self.replay_from.segment);
        put_u64(&mut body, self.replay_from.offset);
        put_u64(&mut body, self.next_generation);
        put_u64(&mut body, self.tables.len() as u64);
        for (table, gens) in &self.tables {
            put_u64(&mut body, u64::from(*table));
            put_u64(&mut body, gens.len() as u64);
            for g in gens {
                put_u64(&mut body, *g);
            }
        }
        let mut out = Vec::with_capacity(16 + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Atomically replaces the manifest of `dir` with this one, through `io` (so that a
    /// mirror gets it too).
    pub fn store(&self, dir: &Path, io: &dyn FileIo) -> Result<()> {
        let path = Self::path(dir);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let f = io
            .create_file(&tmp, false)
            .map_err(|e| Error::io(&tmp, e))?;
        io.write_all_at_and_sync(&f, &self.encode(), 0, SyncKind::All)
            .map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        io.rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        io.sync_dir(dir).map_err(|e| Error::io(dir, e))
    }
}

/// Fsyncs a directory so a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.next_generation, 1);
        m.replay_from = Position {
            segment: 3,
            offset: 99,
        };
        m.tables.insert(7, vec![5, 4, 1]);
        m.next_generation = 6;
        m.store(dir.path(), &crate::io::PlainIo).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), m);
        let mut bytes = fs::read(Manifest::path(dir.path())).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(Manifest::path(dir.path()), bytes).unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
    }
}
