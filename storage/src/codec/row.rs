//! Binary encoding of cells, rows, bounds, range tombstones and mutations.
//!
//! Shared by the commitlog (one mutation per record) and SSTable data blocks (rows).
//! Timestamps are written relative to a base (0 in the commitlog, the block's base
//! timestamp in SSTables) so they stay short. The layout is in `docs/FORMAT.md`.
//!
//! SSTable rows also carry their greatest data timestamp ([`put_row_with_max_ts`]), so a
//! read can tell from a row's head ([`read_row_head`]) that a newer tombstone shadows all
//! of it and skip its cells without decoding them. From SSTable format 3 a row is stored in
//! two parts, its head ([`put_head`]) and its body ([`put_body`]), in separate zstd frames of
//! its block, so that such a walk does not even decompress the cells.

use std::ops::Range;

use crate::codec::varint::{put_bytes, put_i64, put_u64, Reader};
use crate::error::{Error, Result};
use crate::model::{
    Bound, Cell, CellValue, DeletionTime, Mutation, RangeTombstone, Row, Slice, Timestamp,
};

const CELL_LIVE: u8 = 0;
const CELL_EXPIRING: u8 = 1;
const CELL_TOMBSTONE: u8 = 2;

const ROW_HAS_MARKER: u8 = 1;
const ROW_HAS_DELETION: u8 = 2;
/// The row stores the greatest timestamp of its marker and cells after its deletion.
const ROW_HAS_MAX_TS: u8 = 4;
const ROW_FLAGS: u8 = ROW_HAS_MARKER | ROW_HAS_DELETION | ROW_HAS_MAX_TS;

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

#[inline(always)] // the merge's per-row path: see `read_row_head`
pub fn read_deletion(r: &mut Reader<'_>, base_ts: i64) -> Result<DeletionTime> {
    Ok(DeletionTime::new(r.i64()?.wrapping_add(base_ts), r.i64()?))
}

/// Encodes a row without its maximum timestamp (the commitlog's row encoding).
pub fn put_row(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    put_row_inner(out, row, base_ts, None);
}

/// Encodes a row with the greatest timestamp of its marker and cells when it has cells
/// (the SSTable row encoding), so [`read_row_head`] need not walk the cells.
pub fn put_row_with_max_ts(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    let max_ts = (!row.cells.is_empty()).then(|| row.max_data_timestamp());
    put_row_inner(out, row, base_ts, max_ts);
}

fn put_row_inner(out: &mut Vec<u8>, row: &Row, base_ts: i64, max_ts: Option<Timestamp>) {
    let mut flags = 0;
    if row.marker.is_some() {
        flags |= ROW_HAS_MARKER;
    }
    if row.deletion.is_some() {
        flags |= ROW_HAS_DELETION;
    }
    if max_ts.is_some() {
        flags |= ROW_HAS_MAX_TS;
    }
    out.push(flags);
    put_bytes(out, &row.clustering);
    // Right after the key: a row head without a deletion ends here.
    if let Some(ts) = max_ts {
        put_i64(out, ts.wrapping_sub(base_ts));
    }
    if let Some(m) = &row.marker {
        put_cell(out, m, base_ts);
    }
    if let Some(d) = &row.deletion {
        put_deletion(out, d, base_ts);
    }
    put_cells(out, row, base_ts);
}

fn put_cells(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    put_u64(out, row.cells.len() as u64);
    put_cell_list(out, row, base_ts);
}

/// The cells of a row without their count.
fn put_cell_list(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    let mut prev = 0u32;
    for (column, cell) in &row.cells {
        // Column ids are sorted: store the gap.
        put_u64(out, u64::from(column - prev));
        prev = *column;
        put_cell(out, cell, base_ts);
    }
}

/// Encodes a row's head as a split block (SSTable format 3) stores it: flags, key, the
/// greatest timestamp of marker and cells when the row has either, deletion. Its marker
/// and cells go to the body ([`put_body`]), so a walk over shadowed rows reads only heads.
pub fn put_head(out: &mut Vec<u8>, row: &Row, base_ts: i64) {
    let has_data = row.marker.is_some() || !row.cells.is_empty();
    let mut flags = 0;
    if row.marker.is_some() {
        flags |= ROW_HAS_MARKER;
    }
    if row.deletion.is_some() {
        flags |= ROW_HAS_DELETION;
    }
    if has_data {
        flags |= ROW_HAS_MAX_TS;
    }
    out.push(flags);
    put_bytes(out, &row.clustering);
    if has_data {
        put_i64(out, row.max_data_timestamp().wrapping_sub(base_ts));
    }
    if let Some(d) = &row.deletion {
        put_deletion(out, d, base_ts);
    }
}

/// Encodes a row's body for a split block: varint `cell count << 1 | has marker`, the
/// marker cell if any, then per cell the gap from the previous column id and the cell,
/// timestamps relative to the row's greatest data timestamp (stored in its head: a row
/// written at one time then stores zeros here, where relative to the block's base the
/// head's timestamp was paid a second time). The body says its own length, so the bodies
/// of a block need no offset array on disk ([`skip_body`] finds them).
pub fn put_body(out: &mut Vec<u8>, row: &Row) {
    let base_ts = row.max_data_timestamp();
    put_u64(
        out,
        ((row.cells.len() as u64) << 1) | u64::from(row.marker.is_some()),
    );
    if let Some(m) = &row.marker {
        put_cell(out, m, base_ts);
    }
    put_cell_list(out, row, base_ts);
}

/// Steps over one row body ([`put_body`]) without decoding its values.
pub fn skip_body(r: &mut Reader<'_>) -> Result<()> {
    let n = r.u64()?;
    if n & 1 != 0 {
        skip_cell(r, 0)?;
    }
    for _ in 0..n >> 1 {
        r.u64()?;
        skip_cell(r, 0)?;
    }
    Ok(())
}

#[inline(always)] // the merge's per-row path: see `read_row_head`
fn read_row_flags(r: &mut Reader<'_>) -> Result<u8> {
    let flags = r.u8()?;
    if flags & !ROW_FLAGS != 0 {
        return Err(Error::Malformed(format!("unknown row flags {flags:#x}")));
    }
    Ok(flags)
}

pub fn read_row(r: &mut Reader<'_>, base_ts: i64) -> Result<Row> {
    let flags = read_row_flags(r)?;
    let clustering = r.bytes()?;
    let stored_max_ts = if flags & ROW_HAS_MAX_TS != 0 {
        Some(r.i64()?.wrapping_add(base_ts))
    } else {
        None
    };
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
    let cells = read_cells(r, base_ts)?;
    let row = Row {
        clustering,
        marker,
        deletion,
        cells,
    };
    // A wrong maximum would let a read skip live cells: refuse it rather than trust it.
    if let Some(stored) = stored_max_ts {
        if row.cells.is_empty() || stored != row.max_data_timestamp() {
            return Err(Error::Malformed(
                "row's stored maximum timestamp does not match its cells".into(),
            ));
        }
    }
    Ok(row)
}

fn read_cells(r: &mut Reader<'_>, base_ts: i64) -> Result<Vec<(u32, Cell)>> {
    let n = r.count()?;
    read_cell_list(r, n, base_ts)
}

fn read_cell_list(r: &mut Reader<'_>, n: usize, base_ts: i64) -> Result<Vec<(u32, Cell)>> {
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
    Ok(cells)
}

/// Decodes a row of a split block from its head (`head`, base `head_base_ts`) and its body
/// (`body`, relative to the head's maximum timestamp), checking that the head's stored
/// maximum timestamp is present exactly when the row has a marker or cells and equals their
/// greatest timestamp. Trailing bytes in either part are the caller's to check.
pub fn read_split_row(
    head: &mut Reader<'_>,
    head_base_ts: i64,
    body: &mut Reader<'_>,
) -> Result<Row> {
    let flags = read_row_flags(head)?;
    let clustering = head.bytes()?;
    let stored_max_ts = if flags & ROW_HAS_MAX_TS != 0 {
        Some(head.i64()?.wrapping_add(head_base_ts))
    } else {
        None
    };
    let deletion = if flags & ROW_HAS_DELETION != 0 {
        Some(read_deletion(head, head_base_ts)?)
    } else {
        None
    };
    let shape = body.u64()?;
    if (shape & 1 != 0) != (flags & ROW_HAS_MARKER != 0) {
        return Err(Error::Malformed(
            "row head and body disagree on the marker".into(),
        ));
    }
    let body_base_ts = stored_max_ts.unwrap_or(0);
    let marker = if shape & 1 != 0 {
        Some(read_cell(body, body_base_ts)?)
    } else {
        None
    };
    let count = usize::try_from(shape >> 1)
        .ok()
        .filter(|&n| n <= body.remaining())
        .ok_or_else(|| Error::Malformed(format!("row body claims {} cells", shape >> 1)))?;
    let cells = read_cell_list(body, count, body_base_ts)?;
    let row = Row {
        clustering,
        marker,
        deletion,
        cells,
    };
    let has_data = row.marker.is_some() || !row.cells.is_empty();
    // A wrong or missing maximum would let a read skip live data: refuse it.
    let consistent = match stored_max_ts {
        Some(stored) => has_data && stored == row.max_data_timestamp(),
        None => !has_data,
    };
    if !consistent {
        return Err(Error::Malformed(
            "row head's maximum timestamp does not match its body".into(),
        ));
    }
    Ok(row)
}

/// Reads a split block's row head (SSTable format 3, [`put_head`]): everything in it is
/// what the merge needs, so there is nothing to skip.
// Always inlined: see `read_row_head`.
#[inline(always)]
pub fn read_split_head(r: &mut Reader<'_>, base_ts: i64) -> Result<RowHead> {
    let flags = read_row_flags(r)?;
    let n = r.len()?;
    let at = r.position();
    r.slice(n)?;
    let max_data_ts = if flags & ROW_HAS_MAX_TS != 0 {
        r.i64()?.wrapping_add(base_ts)
    } else {
        Timestamp::MIN
    };
    let deletion = if flags & ROW_HAS_DELETION != 0 {
        Some(read_deletion(r, base_ts)?)
    } else {
        None
    };
    Ok(RowHead {
        clustering: at..at + n,
        deletion,
        max_data_ts,
    })
}

/// What a merge needs to know of a row before deciding whether to decode it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowHead {
    /// Where the clustering key lies in the buffer the row was read from.
    pub clustering: Range<usize>,
    pub deletion: Option<DeletionTime>,
    /// The greatest timestamp of the marker and the cells; `Timestamp::MIN` when the row
    /// has neither (a tombstone alone).
    pub max_data_ts: Timestamp,
}

/// Reads a row's flags, key, marker timestamp, deletion and maximum timestamp, allocating
/// nothing. A row written without its maximum timestamp (the commitlog's encoding, or an
/// SSTable of format version 1) has its cells walked, still without decoding their values.
/// The rest of the row is left unread and unchecked: [`read_row`] checks it.
// Always inlined: returned through memory, the head cost a store-forwarding stall per row.
#[inline(always)]
pub fn read_row_head(r: &mut Reader<'_>, base_ts: i64) -> Result<RowHead> {
    let flags = read_row_flags(r)?;
    let n = r.len()?;
    let at = r.position();
    r.slice(n)?;
    if flags & ROW_HAS_MAX_TS != 0 {
        // The stored maximum covers the marker: only a deletion is left to read.
        let max_data_ts = r.i64()?.wrapping_add(base_ts);
        let deletion = if flags & ROW_HAS_DELETION != 0 {
            if flags & ROW_HAS_MARKER != 0 {
                skip_cell(r, base_ts)?;
            }
            Some(read_deletion(r, base_ts)?)
        } else {
            None
        };
        return Ok(RowHead {
            clustering: at..at + n,
            deletion,
            max_data_ts,
        });
    }
    let mut max_data_ts = Timestamp::MIN;
    if flags & ROW_HAS_MARKER != 0 {
        max_data_ts = skip_cell(r, base_ts)?;
    }
    let deletion = if flags & ROW_HAS_DELETION != 0 {
        Some(read_deletion(r, base_ts)?)
    } else {
        None
    };
    for _ in 0..r.count()? {
        r.u64()?;
        max_data_ts = max_data_ts.max(skip_cell(r, base_ts)?);
    }
    Ok(RowHead {
        clustering: at..at + n,
        deletion,
        max_data_ts,
    })
}

/// Steps over one cell without decoding its value; returns its timestamp.
#[inline(always)] // the merge's per-row path: see `read_row_head`
fn skip_cell(r: &mut Reader<'_>, base_ts: i64) -> Result<Timestamp> {
    let kind = r.u8()?;
    let timestamp = r.i64()?.wrapping_add(base_ts);
    match kind {
        CELL_LIVE => {
            let n = r.len()?;
            r.slice(n)?;
        }
        CELL_EXPIRING => {
            let n = r.len()?;
            r.slice(n)?;
            r.u32()?;
            r.i64()?;
        }
        CELL_TOMBSTONE => {
            r.i64()?;
        }
        other => return Err(Error::Malformed(format!("unknown cell kind {other}"))),
    }
    Ok(timestamp)
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
    fn head_matches_row_with_and_without_stored_max() {
        let m = sample();
        let base = 1_700_000_000_000_000;
        for row in &m.rows {
            let expected_max = row.max_data_timestamp();
            for with_max in [false, true] {
                let mut out = Vec::new();
                if with_max {
                    put_row_with_max_ts(&mut out, row, base);
                } else {
                    put_row(&mut out, row, base);
                }
                let head = read_row_head(&mut Reader::new(&out), base).unwrap();
                assert_eq!(&out[head.clustering.clone()], &row.clustering[..]);
                assert_eq!(head.deletion, row.deletion);
                assert_eq!(head.max_data_ts, expected_max);
                assert_eq!(&read_row(&mut Reader::new(&out), base).unwrap(), row);
            }
        }
        // A tombstone-only row has no data timestamp.
        assert_eq!(m.rows[1].max_data_timestamp(), Timestamp::MIN);
    }

    #[test]
    fn a_wrong_stored_max_is_an_error() {
        let row = &sample().rows[0];
        let encode = |max_ts: Timestamp| {
            let mut out = vec![ROW_HAS_MARKER | ROW_HAS_MAX_TS];
            put_bytes(&mut out, &row.clustering);
            put_i64(&mut out, max_ts);
            put_cell(&mut out, row.marker.as_ref().unwrap(), 0);
            put_u64(&mut out, row.cells.len() as u64);
            let mut prev = 0;
            for (column, cell) in &row.cells {
                put_u64(&mut out, u64::from(column - prev));
                prev = *column;
                put_cell(&mut out, cell, 0);
            }
            out
        };
        let right = row.max_data_timestamp();
        assert_eq!(&read_row(&mut Reader::new(&encode(right)), 0).unwrap(), row);
        for wrong in [right - 1, right + 1] {
            let bad = encode(wrong);
            assert_eq!(
                read_row_head(&mut Reader::new(&bad), 0)
                    .unwrap()
                    .max_data_ts,
                wrong
            );
            assert!(read_row(&mut Reader::new(&bad), 0).is_err());
        }
    }

    #[test]
    fn every_truncated_head_is_an_error() {
        for row in &sample().rows {
            let mut out = Vec::new();
            put_row(&mut out, row, 7);
            let mut full = Reader::new(&out);
            read_row_head(&mut full, 7).unwrap();
            for n in 0..out.len() {
                // A head read either fails or stops within the prefix; it never panics.
                let mut r = Reader::new(&out[..n]);
                if let Ok(h) = read_row_head(&mut r, 7) {
                    assert!(h.clustering.end <= n);
                }
            }
        }
    }

    #[test]
    fn split_row_round_trip_and_checks() {
        let base = 1_700_000_000_000_000;
        let mut rows = sample().rows;
        let mut marker_only = Row::new(Bytes::from_static(b"m"));
        marker_only.marker = Some(Cell::live(base + 3, Bytes::new()));
        rows.push(marker_only);
        for row in &rows {
            let (mut head, mut body) = (Vec::new(), Vec::new());
            put_head(&mut head, row, base);
            put_body(&mut body, row);
            let h = read_split_head(&mut Reader::new(&head), base).unwrap();
            assert_eq!(&head[h.clustering.clone()], &row.clustering[..]);
            assert_eq!(h.deletion, row.deletion);
            assert_eq!(h.max_data_ts, row.max_data_timestamp());
            let (mut hr, mut br) = (Reader::new(&head), Reader::new(&body));
            assert_eq!(&read_split_row(&mut hr, base, &mut br).unwrap(), row);
            assert!(hr.is_empty() && br.is_empty());
            let mut skipped = Reader::new(&body);
            skip_body(&mut skipped).unwrap();
            assert!(skipped.is_empty());
            for n in 0..body.len() {
                assert!(skip_body(&mut Reader::new(&body[..n])).is_err());
            }
            for n in 0..head.len() {
                assert!(read_split_head(&mut Reader::new(&head[..n]), base).is_err());
            }
        }
    }

    #[test]
    fn a_split_row_whose_body_disagrees_with_its_head_is_an_error() {
        let mut row = Row::new(Bytes::from_static(b"k"));
        row.set(0, Cell::live(100, &b"v"[..]));
        let mut head = Vec::new();
        put_head(&mut head, &row, 0);
        let decode = |head: &[u8], body: &[u8]| {
            read_split_row(&mut Reader::new(head), 0, &mut Reader::new(body))
        };
        let mut body = Vec::new();
        put_body(&mut body, &row);
        assert_eq!(decode(&head, &body).unwrap(), row);
        // One cell, one microsecond after the head's maximum.
        let mut late = Vec::new();
        put_u64(&mut late, 1 << 1);
        put_u64(&mut late, 0);
        put_cell(&mut late, &Cell::live(1, &b"v"[..]), 0);
        assert!(decode(&head, &late).is_err());
        // A body with a marker the head does not announce, and cells behind a head
        // without a maximum.
        let mut marked = Vec::new();
        put_u64(&mut marked, (1 << 1) | 1);
        put_cell(&mut marked, &Cell::live(0, Bytes::new()), 0);
        put_u64(&mut marked, 0);
        put_cell(&mut marked, &Cell::live(0, &b"v"[..]), 0);
        assert!(decode(&head, &marked).is_err());
        let mut bare = Vec::new();
        put_head(&mut bare, &Row::new(Bytes::from_static(b"k")), 0);
        assert!(decode(&bare, &body).is_err());
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
