//! Binary encoding of cells, rows, bounds, range tombstones and mutations.
//!
//! Shared by the commitlog (one mutation per record) and SSTable data blocks (rows).
//! Timestamps are written relative to a base (0 in the commitlog, the SSTable's minimum
//! timestamp in SSTables) so they stay short. The layout is in `docs/FORMAT.md`.

use crate::codec::varint::{put_bytes, put_i64, put_u64, Reader};
use crate::error::{Error, Result};
use crate::model::{Bound, Cell, CellValue, DeletionTime, Mutation, RangeTombstone, Row, Slice};

const CELL_LIVE: u8 = 0;
const CELL_EXPIRING: u8 = 1;
const CELL_TOMBSTONE: u8 = 2;

const ROW_HAS_MARKER: u8 = 1;
const ROW_HAS_DELETION: u8 = 2;

const BOUND_UNBOUNDED: u8 = 0;
const BOUND_INCLUDED: u8 = 1;
const BOUND_EXCLUDED: u8 = 2;

pub fn put_cell(out: &mut Vec<u8>, cell: &Cell, base_ts: i64) {
    match &cell.value {
        CellValue::Live(v) => {
            out.push(CELL_LIVE);
            put_i64(out, cell.timestamp.wrapping_sub(base_ts));
            put_bytes(out, v);
        }
        CellValue::Expiring {
            value,
            ttl_secs,
            expires_at,
        } => {
            out.push(CELL_EXPIRING);
            put_i64(out, cell.timestamp.wrapping_sub(base_ts));
            put_bytes(out, value);
            put_u64(out, u64::from(*ttl_secs));
            put_i64(out, *expires_at);
        }
        CellValue::Tombstone { deleted_at } => {
            out.push(CELL_TOMBSTONE);
            put_i64(out, cell.timestamp.wrapping_sub(base_ts));
            put_i64(out, *deleted_at);
        }
    }
}

pub fn read_cell(r: &mut Reader<'_>, base_ts: i64) -> Result<Cell> {
    let kind = r.u8()?;
    let timestamp = r.i64()?.wrapping_add(base_ts);
    let value = match kind {
        CELL_LIVE => CellValue::Live(r.bytes()?),
        CELL_EXPIRING => CellValue::Expiring {
            value: r.bytes()?,
            ttl_secs: r.u32()?,
            expires_at: r.i64()?,
        },
        CELL_TOMBSTONE => CellValue::Tombstone {
            deleted_at: r.i64()?,
        },
        other => return Err(Error::Malformed(format!("unknown cell kind {other}"))),
    };
    Ok(Cell { timestamp, value })
}

pub fn put_deletion(out: &mut Vec<u8>, d: &DeletionTime, base_ts: i64) {
    put_i64(out, d.marked_at.wrapping_sub(base_ts));
    put_i64(out, d.deleted_at);
}

pub fn read_deletion(r: &mut Reader<'_>, base_ts: i64) -> Result<DeletionTime> {
    Ok(DeletionTime::new(r.i64()?.wrapping_add(base_ts), r.i64()?))
}

pub fn put_row(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    let mut flags = 0;
    if row.marker.is_some() {
        flags |= ROW_HAS_MARKER;
    }
    if row.deletion.is_some() {
        flags |= ROW_HAS_DELETION;
    }
    out.push(flags);
    put_bytes(out, &row.clustering);
    if let Some(m) = &row.marker {
        put_cell(out, m, base_ts);
    }
    if let Some(d) = &row.deletion {
        put_deletion(out, d, base_ts);
    }
    put_u64(out, row.cells.len() as u64);
    let mut prev = 0u32;
    for (column, cell) in &row.cells {
        // Column ids are sorted: store the gap.
        put_u64(out, u64::from(column - prev));
        prev = *column;
        put_cell(out, cell, base_ts);
    }
}

pub fn read_row(r: &mut Reader<'_>, base_ts: i64) -> Result<Row> {
    let flags = r.u8()?;
    if flags & !(ROW_HAS_MARKER | ROW_HAS_DELETION) != 0 {
        return Err(Error::Malformed(format!("unknown row flags {flags:#x}")));
    }
    let clustering = r.bytes()?;
    let marker = if flags & ROW_HAS_MARKER != 0 {
        Some(read_cell(r, base_ts)?)
    } else {
        None
    };
    let deletion = if flags & ROW_HAS_DELETION != 0 {
        Some(read_deletion(r, base_ts)?)
    } else {
        None
    };
    let n = r.count()?;
    let mut cells = Vec::with_capacity(n.min(1024));
    let mut column = 0u32;
    for i in 0..n {
        let gap = r.u32()?;
        if i > 0 && gap == 0 {
            return Err(Error::Malformed("duplicate column in row".into()));
        }
        column = column
            .checked_add(gap)
            .ok_or_else(|| Error::Malformed("column id overflow".into()))?;
        cells.push((column, read_cell(r, base_ts)?));
    }
    Ok(Row {
        clustering,
        marker,
        deletion,
        cells,
    })
}

pub fn put_bound(out: &mut Vec<u8>, b: &Bound) {
    match b {
        Bound::Unbounded => out.push(BOUND_UNBOUNDED),
        Bound::Included(p) => {
            out.push(BOUND_INCLUDED);
            put_bytes(out, p);
        }
        Bound::Excluded(p) => {
            out.push(BOUND_EXCLUDED);
            put_bytes(out, p);
        }
    }
}

pub fn read_bound(r: &mut Reader<'_>) -> Result<Bound> {
    match r.u8()? {
        BOUND_UNBOUNDED => Ok(Bound::Unbounded),
        BOUND_INCLUDED => Ok(Bound::Included(r.bytes()?)),
        BOUND_EXCLUDED => Ok(Bound::Excluded(r.bytes()?)),
        other => Err(Error::Malformed(format!("unknown bound kind {other}"))),
    }
}

pub fn put_range_tombstone(out: &mut Vec<u8>, rt: &RangeTombstone, base_ts: i64) {
    put_bound(out, &rt.slice.start);
    put_bound(out, &rt.slice.end);
    put_deletion(out, &rt.deletion, base_ts);
}

pub fn read_range_tombstone(r: &mut Reader<'_>, base_ts: i64) -> Result<RangeTombstone> {
    let start = read_bound(r)?;
    let end = read_bound(r)?;
    Ok(RangeTombstone {
        slice: Slice::new(start, end),
        deletion: read_deletion(r, base_ts)?,
    })
}

/// Partition-level deletions shared by mutations and SSTable partition headers.
pub fn put_partition_deletions(
    out: &mut Vec<u8>,
    deletion: Option<&DeletionTime>,
    rts: &[RangeTombstone],
    base_ts: i64,
) {
    match deletion {
        Some(d) => {
            out.push(1);
            put_deletion(out, d, base_ts);
        }
        None => out.push(0),
    }
    put_u64(out, rts.len() as u64);
    for rt in rts {
        put_range_tombstone(out, rt, base_ts);
    }
}

pub fn read_partition_deletions(
    r: &mut Reader<'_>,
    base_ts: i64,
) -> Result<(Option<DeletionTime>, Vec<RangeTombstone>)> {
    let deletion = match r.u8()? {
        0 => None,
        1 => Some(read_deletion(r, base_ts)?),
        other => {
            return Err(Error::Malformed(format!(
                "bad partition deletion flag {other}"
            )))
        }
    };
    let n = r.count()?;
    let mut rts = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        rts.push(read_range_tombstone(r, base_ts)?);
    }
    Ok((deletion, rts))
}

/// Encodes a mutation (timestamps absolute) as one commitlog record body.
pub fn encode_mutation(m: &Mutation) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + m.rows.len() * 64);
    encode_mutation_into(&mut out, m);
    out
}

/// [`encode_mutation`], appending to `out` (the commitlog's batch buffer).
pub fn encode_mutation_into(out: &mut Vec<u8>, m: &Mutation) {
    put_u64(out, u64::from(m.table));
    put_bytes(out, &m.partition_key);
    put_partition_deletions(out, m.partition_deletion.as_ref(), &m.range_tombstones, 0);
    put_u64(out, m.rows.len() as u64);
    for row in &m.rows {
        put_row(out, row, 0);
    }
}

/// Decodes a mutation written by [`encode_mutation`]; trailing bytes are an error.
pub fn decode_mutation(buf: &[u8]) -> Result<Mutation> {
    let mut r = Reader::new(buf);
    let table = r.u32()?;
    let partition_key = r.bytes()?;
    let (partition_deletion, range_tombstones) = read_partition_deletions(&mut r, 0)?;
    let n = r.count()?;
    let mut rows = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        rows.push(read_row(&mut r, 0)?);
    }
    if !r.is_empty() {
        return Err(Error::Malformed(format!(
            "{} trailing bytes after mutation",
            r.remaining()
        )));
    }
    Ok(Mutation {
        table,
        partition_key,
        partition_deletion,
        range_tombstones,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn sample() -> Mutation {
        let mut row = Row::new(Bytes::from_static(b"\x80\x01"));
        row.marker = Some(Cell::live(1_700_000_000_000_000, Bytes::new()));
        row.set(0, Cell::live(1_700_000_000_000_001, &b"hello"[..]));
        row.set(
            4,
            Cell::expiring(1_700_000_000_000_002, &b"bye"[..], 60, 1_700_000_000),
        );
        row.set(7, Cell::tombstone(1_700_000_000_000_003, 1_700_000_000));
        let mut dead = Row::new(Bytes::from_static(b"\x80\x02"));
        dead.deletion = Some(DeletionTime::new(5, 6));
        let mut m = Mutation::new(3, &b"pk"[..]).with_row(row).with_row(dead);
        m.partition_deletion = Some(DeletionTime::new(1, 2));
        m.range_tombstones.push(RangeTombstone::new(
            Bound::Included(Bytes::from_static(b"a")),
            Bound::Excluded(Bytes::from_static(b"b")),
            DeletionTime::new(9, 10),
        ));
        m
    }

    #[test]
    fn mutation_round_trip() {
        let m = sample();
        assert_eq!(decode_mutation(&encode_mutation(&m)).unwrap(), m);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let enc = encode_mutation(&sample());
        for n in 0..enc.len() {
            assert!(
                decode_mutation(&enc[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }

    #[test]
    fn row_round_trip_with_base_timestamp() {
        let m = sample();
        let mut out = Vec::new();
        put_row(&mut out, &m.rows[0], 1_700_000_000_000_000);
        let back = read_row(&mut Reader::new(&out), 1_700_000_000_000_000).unwrap();
        assert_eq!(back, m.rows[0]);
    }
}
