//! `scrolldb stats`: fetch the metrics endpoint, check and parse its Prometheus text, and
//! print it as a table a person can read (latency histograms become count, mean and p99).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the text exposition format strictly: every sample must belong to a family
/// declared by a `# TYPE` line before it, names and labels must be well formed, values must
/// be numbers. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut p = rest.split_whitespace();
            let (Some(name), Some(kind), None) = (p.next(), p.next(), p.next()) else {
                return Err(format!("line {n}: bad TYPE line"));
            };
            if !valid_name(name)
                || !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
            {
                return Err(format!("line {n}: bad TYPE line"));
            }
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {n}: no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .map_err(|_| format!("line {n}: bad value {v:?}"))?,
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .ok_or_else(|| format!("line {n}: unclosed labels"))?;
                (
                    name,
                    parse_labels(body).map_err(|e| format!("line {n}: {e}"))?,
                )
            }
        };
        if !valid_name(name) {
            return Err(format!("line {n}: bad metric name {name:?}"));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(format!("line {n}: {name} has no TYPE line before it"));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn parse_labels(body: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in body.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or("label without =")?;
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or("label value not quoted")?;
        if !valid_name(k) {
            return Err(format!("bad label name {k:?}"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `GET /metrics` from `addr`, the body on a 200.
pub fn fetch(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot reach the metrics endpoint at {addr}: {e} (is `scrolldb serve --metrics {addr}` running?)"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut raw = Vec::new();
    // Bounded: a metrics page is kilobytes; 16 MiB means something else answered.
    s.take(16 << 20)
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr} did not answer HTTP"))?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        return Err(format!("{addr} answered {status:?}"));
    }
    Ok(body.to_string())
}

/// The readable table of a scrape.
pub fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut latency: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        if let Some(base) = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| s.name.strip_suffix(suffix))
            .filter(|b| b.ends_with("_seconds"))
        {
            let kind = s.label("kind").unwrap_or("-").to_string();
            latency.entry(format!("{base} {kind}")).or_default().push(s);
            continue;
        }
        let labels = s
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        rows.push((short(&s.name), labels, number(s.value)));
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(6).max(6);
    out.push_str(&format!(
        "{:<w0$}  {:<w1$}  {:>14}\n",
        "metric", "labels", "value"
    ));
    for (name, labels, value) in &rows {
        out.push_str(&format!("{name:<w0$}  {labels:<w1$}  {value:>14}\n"));
    }
    if !latency.is_empty() {
        out.push_str(&format!(
            "\n{:<40}  {:>10}  {:>10}  {:>12}\n",
            "latency", "count", "mean_ms", "p99_ms (<=)"
        ));
        for (name, series) in &latency {
            let (count, sum, p99) = summarize(series);
            let mean = if count > 0.0 { sum / count * 1e3 } else { 0.0 };
            out.push_str(&format!(
                "{:<40}  {:>10}  {:>10.3}  {:>12}\n",
                short(name),
                number(count),
                mean,
                p99.map_or("-".to_string(), |p| format!("{:.3}", p * 1e3))
            ));
        }
    }
    out
}

fn short(name: &str) -> String {
    name.strip_prefix("scrolldb_").unwrap_or(name).to_string()
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

/// Count, sum and the upper bound of the bucket holding the 99th percentile.
fn summarize(series: &[&Sample]) -> (f64, f64, Option<f64>) {
    let count = series
        .iter()
        .find(|s| s.name.ends_with("_count"))
        .map_or(0.0, |s| s.value);
    let sum = series
        .iter()
        .find(|s| s.name.ends_with("_sum"))
        .map_or(0.0, |s| s.value);
    let mut buckets: Vec<(f64, f64)> = series
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
        .filter_map(|s| {
            let le = s.label("le")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, s.value))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let p99 = (count > 0.0)
        .then(|| {
            buckets
                .iter()
                .find(|(_, n)| *n >= count * 0.99)
                .map(|(le, _)| *le)
        })
        .flatten();
    (count, sum, p99)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_what_prometheus_rejects() {
        assert!(parse("x 1\n").is_err(), "no TYPE line");
        assert!(
            parse("# TYPE x counter\nx{a=b} 1\n").is_err(),
            "unquoted label"
        );
        assert!(parse("# TYPE x counter\nx one\n").is_err(), "bad value");
        assert!(parse("# TYPE 1x counter\n").is_err(), "bad name");
        let ok =
            parse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n").unwrap();
        assert_eq!(ok.len(), 3);
    }

    #[test]
    fn the_table_shows_counters_and_latency_p99() {
        let text =
            "# TYPE scrolldb_requests_total counter\nscrolldb_requests_total{kind=\"query\"} 100\n\
                    # TYPE scrolldb_request_latency_seconds histogram\n\
                    scrolldb_request_latency_seconds_bucket{kind=\"query\",le=\"0.001\"} 98\n\
                    scrolldb_request_latency_seconds_bucket{kind=\"query\",le=\"0.01\"} 100\n\
                    scrolldb_request_latency_seconds_bucket{kind=\"query\",le=\"+Inf\"} 100\n\
                    scrolldb_request_latency_seconds_sum{kind=\"query\"} 0.2\n\
                    scrolldb_request_latency_seconds_count{kind=\"query\"} 100\n";
        let t = render(&parse(text).unwrap());
        assert!(t.contains("requests_total"), "{t}");
        assert!(t.contains("kind=query"), "{t}");
        // 99 of 100 fall under 10 ms, not under 1 ms; mean 2 ms.
        let line = t
            .lines()
            .find(|l| l.contains("request_latency_seconds query"))
            .unwrap();
        assert!(line.contains("10.000") && line.contains("2.000"), "{line}");
    }
}
