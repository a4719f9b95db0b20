//! The Prometheus text exposition format (version 0.0.4) of everything the server knows:
//! its own request counters, the read coalescer's and every shard's (`Db::stats`).

use super::ServerSnapshot;
use scrolldb::coalesce::{CoalesceStats, HotPartition};
use scrolldb::storage::mirror::MirrorStatus;
use scrolldb::DbStats;
use std::fmt::Write;

/// The content type Prometheus expects for this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything one scrape shows.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub server: ServerSnapshot,
    pub coalesce: Option<CoalesceStats>,
    /// Leaders holding or waiting for a place on each shard's read gate.
    pub read_gate_depths: Vec<usize>,
    /// The hottest partitions now (at most [`HOT_SHOWN`]), most requested first.
    pub hot_partitions: Vec<HotPartition>,
    /// `None` when the shards could not be asked (closed database).
    pub db: Option<DbStats>,
    /// `None` without `--mirror`.
    pub mirror: Option<MirrorStatus>,
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                // Our label values are fixed words and numbers: nothing to escape.
                let _ = write!(self.0, "{k}=\"{v}\"");
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// Counters without labels: (name, help, value) each.
    fn counters(&mut self, list: &[(&str, &str, u64)]) {
        for (name, help, v) in list {
            self.family(name, "counter", help);
            self.sample(name, &[], v);
        }
    }

    /// One family with a sample per shard.
    fn per_shard<T: std::fmt::Display>(
        &mut self,
        db: &DbStats,
        name: &str,
        kind: &str,
        help: &str,
        f: impl Fn(&scrolldb::ShardStats) -> T,
    ) {
        self.family(name, kind, help);
        for s in &db.shards {
            let shard = s.shard.to_string();
            self.sample(name, &[("shard", &shard)], f(s));
        }
    }
}

pub fn render(r: &Report) -> String {
    let mut o = Out(String::with_capacity(8 * 1024));
    requests(&mut o, &r.server);
    if let Some(c) = &r.coalesce {
        coalescing(&mut o, c, &r.read_gate_depths);
        hot_partitions(&mut o, &r.hot_partitions);
    }
    if let Some(db) = &r.db {
        shards(&mut o, db);
    }
    if let Some(m) = &r.mirror {
        mirror(&mut o, m);
    }
    o.0
}

fn requests(o: &mut Out, s: &ServerSnapshot) {
    o.family(
        "scrolldb_requests_total",
        "counter",
        "CQL requests answered, by kind.",
    );
    for k in &s.kinds {
        o.sample("scrolldb_requests_total", &[("kind", k.kind)], k.requests);
    }
    o.family(
        "scrolldb_request_errors_total",
        "counter",
        "CQL requests answered with an error, by kind.",
    );
    for k in &s.kinds {
        o.sample(
            "scrolldb_request_errors_total",
            &[("kind", k.kind)],
            k.errors,
        );
    }
    o.family(
        "scrolldb_requests_overloaded_total",
        "counter",
        "CQL requests answered with Overloaded (0x1001), by kind.",
    );
    for k in &s.kinds {
        o.sample(
            "scrolldb_requests_overloaded_total",
            &[("kind", k.kind)],
            k.overloaded,
        );
    }
    let name = "scrolldb_request_latency_seconds";
    o.family(
        name,
        "histogram",
        "Time from a request's arrival to its answer, by kind.",
    );
    for k in &s.kinds {
        for (bound, n) in &k.latency.cumulative {
            let le = bound.to_string();
            o.sample(
                &format!("{name}_bucket"),
                &[("kind", k.kind), ("le", &le)],
                n,
            );
        }
        o.sample(
            &format!("{name}_bucket"),
            &[("kind", k.kind), ("le", "+Inf")],
            k.latency.count,
        );
        o.sample(
            &format!("{name}_sum"),
            &[("kind", k.kind)],
            k.latency.sum_seconds,
        );
        o.sample(
            &format!("{name}_count"),
            &[("kind", k.kind)],
            k.latency.count,
        );
    }
    o.family(
        "scrolldb_connections_open",
        "gauge",
        "Client connections open now.",
    );
    o.sample("scrolldb_connections_open", &[], s.connections_open);
    o.family(
        "scrolldb_connections_opened_total",
        "counter",
        "Client connections accepted.",
    );
    o.sample(
        "scrolldb_connections_opened_total",
        &[],
        s.connections_opened,
    );
    o.family(
        "scrolldb_fair_queue_shed_total",
        "counter",
        "Requests refused with Overloaded because their connection's line was full.",
    );
    o.sample("scrolldb_fair_queue_shed_total", &[], s.fair_queue_shed);
    o.family(
        "scrolldb_identical_waited_total",
        "counter",
        "Requests that waited for identical copies of themselves to finish (hot requests).",
    );
    o.sample("scrolldb_identical_waited_total", &[], s.identical_waited);
    o.family(
        "scrolldb_identical_shed_total",
        "counter",
        "Requests refused with Overloaded because too many identical copies were waiting.",
    );
    o.sample("scrolldb_identical_shed_total", &[], s.identical_shed);
}

fn coalescing(o: &mut Out, c: &CoalesceStats, depths: &[usize]) {
    let counters = [
        (
            "scrolldb_partition_reads_total",
            "Single-partition reads asked for.",
            c.requests,
        ),
        (
            "scrolldb_storage_reads_total",
            "Single-partition reads that reached a shard.",
            c.storage_reads,
        ),
        (
            "scrolldb_coalesced_reads_total",
            "Reads answered by an identical read in flight.",
            c.coalesced,
        ),
        (
            "scrolldb_reads_shed_total",
            "Reads refused with Overloaded by a partition or shard read gate.",
            c.shed,
        ),
    ];
    o.counters(&counters);
    o.family(
        "scrolldb_coalesce_leaders_in_flight",
        "gauge",
        "Coalesced reads under way now.",
    );
    o.sample(
        "scrolldb_coalesce_leaders_in_flight",
        &[],
        c.leaders_in_flight,
    );
    o.family(
        "scrolldb_shard_read_gate_depth",
        "gauge",
        "Storage reads holding or waiting for a place on the shard's read gate.",
    );
    for (shard, d) in depths.iter().enumerate() {
        let shard = shard.to_string();
        o.sample("scrolldb_shard_read_gate_depth", &[("shard", &shard)], d);
    }
}

/// The mirror of `serve --mirror`, summed over the shards.
fn mirror(o: &mut Out, m: &MirrorStatus) {
    o.family(
        "scrolldb_mirror_degraded",
        "gauge",
        "1 while the mirror misses writes (degraded, not yet resynced), else 0.",
    );
    o.sample("scrolldb_mirror_degraded", &[], u8::from(m.degraded));
    let counters = [
        (
            "scrolldb_mirror_errors_total",
            "Mirror operations that failed.",
            m.errors,
        ),
        (
            "scrolldb_mirror_resyncs_total",
            "Background resyncs of the mirror completed.",
            m.resyncs,
        ),
        (
            "scrolldb_mirror_read_fallbacks_total",
            "Reads served from the mirror because the local copy failed.",
            m.read_fallbacks,
        ),
        (
            "scrolldb_mirror_read_repairs_total",
            "Local file ranges rewritten from the mirror after such a read.",
            m.read_repairs,
        ),
    ];
    o.counters(&counters);
}

/// Hot partitions shown at most per scrape (label cardinality stays bounded).
pub const HOT_SHOWN: usize = 10;

/// What each hot partition cost since it became hot; the partition key is hex, so the label
/// needs no escaping.
fn hot_partitions(o: &mut Out, hot: &[HotPartition]) {
    let families = [
        (
            "scrolldb_hot_partition_requests",
            "Reads of a hot partition answered since it became hot (partition key in hex).",
        ),
        (
            "scrolldb_hot_partition_storage_reads",
            "Storage reads those reads of a hot partition cost.",
        ),
    ];
    for (i, (name, help)) in families.into_iter().enumerate() {
        o.family(name, "gauge", help);
        for h in hot.iter().take(HOT_SHOWN) {
            let table = h.table.to_string();
            let key: String = h.partition_key.iter().map(|b| format!("{b:02x}")).collect();
            let v = if i == 0 { h.requests } else { h.storage_reads };
            o.sample(name, &[("table_id", &table), ("partition", &key)], v);
        }
    }
}

fn shards(o: &mut Out, db: &DbStats) {
    o.per_shard(
        db,
        "scrolldb_shard_queue_depth",
        "gauge",
        "Requests waiting in the shard's queue.",
        |s| s.queue_depth,
    );
    o.per_shard(
        db,
        "scrolldb_memtable_bytes",
        "gauge",
        "Bytes in the shard's memtables.",
        |s| s.engine.memtable_bytes,
    );
    o.per_shard(
        db,
        "scrolldb_sstables",
        "gauge",
        "SSTables of the shard.",
        |s| s.engine.sstable_count,
    );
    o.per_shard(
        db,
        "scrolldb_disk_bytes",
        "gauge",
        "SSTable and commitlog bytes of the shard.",
        |s| s.engine.disk_bytes,
    );
    o.per_shard(
        db,
        "scrolldb_engine_reads_total",
        "counter",
        "Reads run by the shard's engine.",
        |s| s.engine.reads,
    );
    o.per_shard(
        db,
        "scrolldb_engine_writes_total",
        "counter",
        "Writes applied by the shard's engine.",
        |s| s.engine.writes,
    );
    o.per_shard(
        db,
        "scrolldb_flushes_total",
        "counter",
        "Memtable flushes.",
        |s| s.engine.flushes,
    );
    o.per_shard(
        db,
        "scrolldb_tombstones_scanned_total",
        "counter",
        "Tombstones stepped over by reads.",
        |s| s.engine.tombstones_scanned,
    );
    o.per_shard(
        db,
        "scrolldb_commitlog_syncs_total",
        "counter",
        "fdatasync calls on commitlog segments.",
        |s| s.engine.commitlog.syncs,
    );
    o.per_shard(
        db,
        "scrolldb_compactions_running",
        "gauge",
        "Compaction jobs under way.",
        |s| s.engine.compaction.running,
    );
    o.per_shard(
        db,
        "scrolldb_compaction_jobs_started_total",
        "counter",
        "Compaction jobs started.",
        |s| s.engine.compaction.jobs_started,
    );
    o.per_shard(
        db,
        "scrolldb_compaction_jobs_installed_total",
        "counter",
        "Compaction jobs finished and installed.",
        |s| s.engine.compaction.jobs_installed,
    );
    o.per_shard(
        db,
        "scrolldb_compaction_bytes_read_total",
        "counter",
        "Input bytes of installed compactions.",
        |s| s.engine.compaction.bytes_read,
    );
    o.per_shard(
        db,
        "scrolldb_compaction_bytes_written_total",
        "counter",
        "Output bytes of installed compactions.",
        |s| s.engine.compaction.bytes_written,
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::metrics::table;
    use bytes::Bytes;

    #[test]
    fn hot_partitions_are_labelled_by_table_and_hex_key_and_bounded() {
        let hot = (0..15u8)
            .map(|i| HotPartition {
                table: 7,
                partition_key: Bytes::from(vec![0xab, i]),
                requests: 1000 - u64::from(i),
                storage_reads: 10,
            })
            .collect();
        let text = render(&Report {
            coalesce: Some(CoalesceStats::default()),
            hot_partitions: hot,
            ..Report::default()
        });
        let samples = table::parse(&text).unwrap();
        assert!(!samples
            .iter()
            .any(|s| s.name.starts_with("scrolldb_mirror")));
        let requests: Vec<_> = samples
            .iter()
            .filter(|s| s.name == "scrolldb_hot_partition_requests")
            .collect();
        assert_eq!(requests.len(), HOT_SHOWN);
        assert_eq!(requests[0].label("table_id"), Some("7"));
        assert_eq!(requests[0].label("partition"), Some("ab00"));
        assert_eq!(requests[0].value, 1000.0);
        let reads = samples
            .iter()
            .find(|s| s.name == "scrolldb_hot_partition_storage_reads")
            .unwrap();
        assert_eq!(reads.value, 10.0);
    }

    #[test]
    fn a_mirror_reports_degraded_and_its_read_fallbacks() {
        let text = render(&Report {
            mirror: Some(MirrorStatus {
                degraded: true,
                errors: 3,
                read_fallbacks: 5,
                read_repairs: 4,
                ..MirrorStatus::default()
            }),
            ..Report::default()
        });
        let samples = table::parse(&text).unwrap();
        let value = |name: &str| samples.iter().find(|s| s.name == name).unwrap().value;
        assert_eq!(value("scrolldb_mirror_degraded"), 1.0);
        assert_eq!(value("scrolldb_mirror_errors_total"), 3.0);
        assert_eq!(value("scrolldb_mirror_read_fallbacks_total"), 5.0);
        assert_eq!(value("scrolldb_mirror_read_repairs_total"), 4.0);
    }
}
