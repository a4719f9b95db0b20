//! The results table: one row per (phase, figure), one column per engine, and the ratio
//! scrolldb / fjall; printed to stdout and optionally written as JSON.

use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;

use crate::latency::Latency;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    /// A digest or other text, compared for equality across engines.
    Text(String),
}

pub struct Row {
    pub phase: String,
    pub figure: String,
    pub values: BTreeMap<String, Value>,
}

pub struct Report {
    pub cores: usize,
    pub scale: f64,
    pub seed: u64,
    /// Options that change what the figures mean, printed with the table.
    pub options: Vec<(String, String)>,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(scale: f64, seed: u64) -> Self {
        Report {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            scale,
            seed,
            options: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn set(&mut self, phase: &str, figure: &str, engine: &str, value: Value) {
        let index = match self
            .rows
            .iter()
            .position(|r| r.phase == phase && r.figure == figure)
        {
            Some(i) => i,
            None => {
                self.rows.push(Row {
                    phase: phase.to_string(),
                    figure: figure.to_string(),
                    values: BTreeMap::new(),
                });
                self.rows.len() - 1
            }
        };
        self.rows[index].values.insert(engine.to_string(), value);
    }

    pub fn number(&mut self, phase: &str, figure: &str, engine: &str, value: f64) {
        self.set(phase, figure, engine, Value::Number(value));
    }

    /// Throughput and p50/p99/p99.9 of an operation phase.
    pub fn latencies(&mut self, phase: &str, engine: &str, latency: &Latency, ops_per_s: f64) {
        self.number(phase, "ops_per_s", engine, ops_per_s);
        self.number(phase, "latency_us_p50", engine, latency.quantile_us(0.5));
        self.number(phase, "latency_us_p99", engine, latency.quantile_us(0.99));
        self.number(
            phase,
            "latency_us_p99_9",
            engine,
            latency.quantile_us(0.999),
        );
    }

    /// Rows grouped by phase, phases in the order they first reported, figures in the
    /// order they were reported (a phase may report in several steps).
    fn ordered_rows(&self) -> Vec<&Row> {
        let mut phases: Vec<&str> = Vec::new();
        for row in &self.rows {
            if !phases.contains(&row.phase.as_str()) {
                phases.push(&row.phase);
            }
        }
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| phases.iter().position(|p| *p == row.phase));
        rows
    }

    /// `scrolldb / fjall`, or for text whether both engines agree.
    fn ratio(row: &Row) -> String {
        match (row.values.get("scrolldb"), row.values.get("fjall")) {
            (Some(Value::Number(a)), Some(Value::Number(b))) if *b != 0.0 => {
                format!("{:.2}", a / b)
            }
            (Some(Value::Text(a)), Some(Value::Text(b))) => {
                if a == b { "equal" } else { "DIFFER" }.to_string()
            }
            _ => "-".to_string(),
        }
    }

    /// The text figures (digests) on which the engines disagree.
    pub fn differences(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| Self::ratio(row) == "DIFFER")
            .map(|row| format!("{} {}", row.phase, row.figure))
            .collect()
    }

    pub fn print(&self) {
        println!(
            "\nmessage workload: cores {}, scale {}, seed {}",
            self.cores, self.scale, self.seed
        );
        for (name, value) in &self.options {
            println!("  {name}: {value}");
        }
        println!(
            "{:<14} {:<34} {:>16} {:>16} {:>8}",
            "phase", "figure", "scrolldb", "fjall", "ratio"
        );
        for row in self.ordered_rows() {
            let cell = |engine: &str| match row.values.get(engine) {
                Some(Value::Number(v)) => format_number(*v),
                Some(Value::Text(t)) => t.clone(),
                None => "-".to_string(),
            };
            println!(
                "{:<14} {:<34} {:>16} {:>16} {:>8}",
                row.phase,
                row.figure,
                cell("scrolldb"),
                cell("fjall"),
                Self::ratio(row)
            );
        }
    }

    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let rows: Vec<Json> = self
            .ordered_rows()
            .into_iter()
            .map(|row| {
                let value = |engine: &str| match row.values.get(engine) {
                    Some(Value::Number(v)) => json!(v),
                    Some(Value::Text(t)) => json!(t),
                    None => Json::Null,
                };
                json!({
                    "phase": row.phase,
                    "figure": row.figure,
                    "scrolldb": value("scrolldb"),
                    "fjall": value("fjall"),
                    "ratio": Self::ratio(row),
                })
            })
            .collect();
        let doc = json!({
            "cores": self.cores,
            "scale": self.scale,
            "seed": self.seed,
            "options": self.options.iter().cloned().collect::<BTreeMap<_, _>>(),
            "rows": rows,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
    }
}

fn format_number(v: f64) -> String {
    if v.abs() >= 1_000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}
