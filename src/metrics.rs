//! Prometheus metrics, rendered as text exposition format 0.0.4 at `/metrics`.
//!
//! A few counters and histograms kept by hand (no metrics crate): requests by gRPC method and
//! status code, by feed route and HTTP status, their latencies, feed cache hits and misses,
//! watch subscribers; store figures are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Request counts and latencies for one kind of request, by a label pair.
#[derive(Default)]
struct Requests {
    /// (route or method, status) -> count.
    counts: BTreeMap<(String, String), u64>,
    /// route or method -> latency.
    latency: BTreeMap<String, Histogram>,
}

/// The service's metrics. Cheap to update from any thread.
#[derive(Default)]
pub struct Metrics {
    grpc: Mutex<Requests>,
    http: Mutex<Requests>,
    pub feed_cache_hits: AtomicU64,
    pub feed_cache_misses: AtomicU64,
    pub watch_subscribers: AtomicI64,
}

/// Store figures read at scrape time.
pub struct StoreFigures {
    pub size_bytes: u64,
    pub revision: u64,
    pub writes: u64,
    pub flushes: u64,
}

impl Metrics {
    pub fn grpc_request(&self, method: &str, code: &str, elapsed: Duration) {
        record(&self.grpc, method, code, elapsed);
    }

    pub fn http_request(&self, route: &str, status: u16, elapsed: Duration) {
        record(&self.http, route, &status.to_string(), elapsed);
    }

    /// The exposition text.
    pub fn render(&self, store: Option<StoreFigures>) -> String {
        let mut out = String::with_capacity(4096);
        render_requests(
            &mut out,
            "agenda_grpc",
            "method",
            "code",
            "gRPC requests",
            &self.grpc.lock().expect("metrics lock"),
        );
        render_requests(
            &mut out,
            "agenda_http",
            "route",
            "status",
            "HTTP requests",
            &self.http.lock().expect("metrics lock"),
        );
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        counter(
            &mut out,
            "agenda_feed_cache_hits_total",
            "Feed requests answered from the cache.",
            self.feed_cache_hits.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "agenda_feed_cache_misses_total",
            "Feed requests that rendered the feed.",
            self.feed_cache_misses.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "agenda_watch_subscribers",
            "Open WatchSessions streams.",
            self.watch_subscribers.load(Ordering::Relaxed),
        );
        if let Some(s) = store {
            gauge(
                &mut out,
                "agenda_store_size_bytes",
                "Bytes the sled database occupies on disk.",
                s.size_bytes as i64,
            );
            gauge(&mut out, "agenda_store_revision", "The store's latest revision.", s.revision as i64);
            counter(&mut out, "agenda_store_writes_total", "Durable writes since start.", s.writes);
            counter(
                &mut out,
                "agenda_store_flushes_total",
                "Flushes since start (group commit shares one among concurrent writes).",
                s.flushes,
            );
        }
        out
    }
}

fn record(requests: &Mutex<Requests>, name: &str, status: &str, elapsed: Duration) {
    let mut r = requests.lock().expect("metrics lock");
    *r.counts.entry((name.to_owned(), status.to_owned())).or_insert(0) += 1;
    r.latency.entry(name.to_owned()).or_default().observe(elapsed.as_secs_f64());
}

/// Label values escaped as the format asks (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn render_requests(out: &mut String, prefix: &str, key: &str, status: &str, what: &str, r: &Requests) {
    let _ = writeln!(
        out,
        "# HELP {prefix}_requests_total {what} by {key} and {status}.\n# TYPE {prefix}_requests_total counter"
    );
    for ((name, code), n) in &r.counts {
        let _ = writeln!(out, "{prefix}_requests_total{{{key}=\"{}\",{status}=\"{}\"}} {n}", label(name), label(code));
    }
    let _ = writeln!(
        out,
        "# HELP {prefix}_request_duration_seconds {what}: time to the response, by {key}.\n# TYPE {prefix}_request_duration_seconds histogram"
    );
    for (name, h) in &r.latency {
        let name = label(name);
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(out, "{prefix}_request_duration_seconds_bucket{{{key}=\"{name}\",le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{prefix}_request_duration_seconds_bucket{{{key}=\"{name}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{prefix}_request_duration_seconds_sum{{{key}=\"{name}\"}} {}", h.sum);
        let _ = writeln!(out, "{prefix}_request_duration_seconds_count{{{key}=\"{name}\"}} {}", h.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::default();
        m.grpc_request("/agenda.v1.SessionService/GetSession", "OK", Duration::from_millis(3));
        m.grpc_request("/agenda.v1.SessionService/GetSession", "NOT_FOUND", Duration::from_millis(30));
        let text = m.render(None);
        assert!(
            text.contains("agenda_grpc_requests_total{method=\"/agenda.v1.SessionService/GetSession\",code=\"OK\"} 1")
        );
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
    }
}
