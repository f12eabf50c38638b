//! Prometheus metrics with the official client (`prometheus-client`), in the OpenMetrics text
//! format at `/metrics`.
//!
//! Requests by gRPC method and status code and by HTTP route and status, their latencies,
//! feed cache hits and misses, open watch streams, and the SMTP sender's figures (messages sent
//! and failed, errors by kind, the outbox's pending and blocked counts) live in one [`Registry`]
//! of atomic counters, gauges and histograms: a request updates a few atomics and builds no
//! text. Store figures, and the age of the oldest pending message, are computed at scrape time
//! and encoded beside the registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::render`]'s text, for the `Content-Type` header.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency bucket bounds, in seconds: from half a millisecond (a point read) to ten seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Builds each label set's latency histogram with [`BUCKETS`].
#[derive(Clone, Copy)]
struct Latency;

impl MetricConstructor<Histogram> for Latency {
    fn new_metric(&self) -> Histogram {
        Histogram::new(BUCKETS)
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Latency({BUCKETS:?})")
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcLabels {
    /// `/package.Service/Method`, from the bounded list of methods served.
    method: String,
    /// The gRPC code's upper snake case name.
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcMethod {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// The matched route pattern (never the raw path, which would be unbounded).
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpRoute {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SmtpErrorLabels {
    /// A bounded name from `smtp::ErrorKind` (transient, permanent, connection, tls, ...).
    kind: &'static str,
}

/// [`Metrics::oldest_pending`] when nothing is pending.
const NONE_PENDING: i64 = i64::MIN;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyOutcome {
    /// `applied`, `unreadable` or `refused` (src/mail/mailbox/).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    /// `smtp-sender` or `reply-mailbox` (src/app/roles.rs).
    role: &'static str,
}

/// The service's metrics. Cheap to update from any thread: every metric is atomic, and a label
/// set seen before costs a read lock to find.
#[derive(Debug)]
pub struct Metrics {
    /// Owns the descriptions (names, help) and handles of every metric below, for encoding.
    registry: Registry,
    grpc_requests: Family<GrpcLabels, Counter>,
    grpc_latency: Family<GrpcMethod, Histogram, Latency>,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<HttpRoute, Histogram, Latency>,
    /// The two families' handles of each HTTP route seen, so a request (a 304 is a few
    /// microseconds of work) costs no label strings and no family lookup.
    http_routes: RwLock<HashMap<Box<str>, Arc<HttpRouteMetrics>, fxhash::FxBuildHasher>>,
    feed_cache_hits: Counter,
    feed_cache_misses: Counter,
    read_cache_hits: Counter,
    read_cache_misses: Counter,
    read_cache_entries: Gauge,
    read_cache_bytes: Gauge,
    watch_subscribers: Gauge,
    /// Messages the SMTP server accepted.
    smtp_sent: Counter,
    /// Messages the SMTP server refused for good (5xx): marked failed.
    smtp_failed: Counter,
    /// Every SMTP failure, by kind (a 4xx, a lost connection, a 5xx...).
    smtp_errors: Family<SmtpErrorLabels, Counter>,
    /// Sessions whose outbox the sender read: what its work costs, which must follow what the
    /// writes touched, not the store's size.
    smtp_sessions_examined: Counter,
    /// Messages in the outbox waiting to be sent, as the sender knows them (see src/mail/smtp/).
    outbox_pending: Gauge,
    /// Messages that cannot be sent (no e-mail address), as of the sender's last look.
    outbox_blocked: Gauge,
    /// When the oldest pending message became due, in Unix seconds ([`NONE_PENDING`] if none):
    /// its age is computed at scrape time, so it grows between the sender's looks.
    oldest_pending: AtomicI64,
    /// The reply mailbox (src/mail/mailbox/): messages filed by outcome, polls done and failed.
    reply_mailbox: ReplyMailboxMetrics,
    /// 1 for each role this replica holds, 0 for one it campaigns for and does not: set at
    /// scrape time from what the campaigns last saw.
    leaders: Family<RoleLabel, Gauge>,
}

#[derive(Debug, Default)]
struct ReplyMailboxMetrics {
    replies: Family<ReplyOutcome, Counter>,
    polls: Counter,
    poll_errors: Counter,
}

impl ReplyMailboxMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "agenda_reply_mailbox_messages",
            "Messages of the reply mailbox filed, by outcome (applied, unreadable, refused)",
            self.replies.clone(),
        );
        registry.register(
            "agenda_reply_mailbox_polls",
            "Looks at the reply mailbox that completed",
            self.polls.clone(),
        );
        registry.register(
            "agenda_reply_mailbox_poll_errors",
            "Looks at the reply mailbox that failed (connection, server, store); retried at the next poll",
            self.poll_errors.clone(),
        );
    }
}

/// Store figures read at scrape time.
pub struct StoreFigures {
    pub size_bytes: u64,
    pub revision: u64,
    pub writes: u64,
    pub flushes: u64,
    /// Updates that lost a compare-and-write and read again (`Agenda::write_retries`).
    pub write_retries: u64,
    /// Estimated heap of the store's in-memory indexes.
    pub index_bytes: u64,
    /// Whether the open read them from the index file (see `StoreStats::index_from_file`).
    pub index_from_file: bool,
}

/// One HTTP route's request metrics, its handles resolved once ([`Metrics::http_route`]).
#[derive(Debug)]
pub struct HttpRouteMetrics {
    route: String,
    latency: Histogram,
    /// The route's request counter of each status answered so far (a handful).
    by_status: RwLock<Vec<(u16, Counter)>>,
    requests: Family<HttpLabels, Counter>,
}

impl HttpRouteMetrics {
    /// A request of this route answered `status` after `elapsed`.
    pub fn record(&self, status: u16, elapsed: Duration) {
        self.latency.observe(elapsed.as_secs_f64());
        let by_status = self.by_status.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, counter)) = by_status.iter().find(|(s, _)| *s == status) {
            counter.inc();
            return;
        }
        drop(by_status);
        let counter = self.requests.get_or_create(&HttpLabels { route: self.route.clone(), status }).clone();
        counter.inc();
        let mut by_status = self.by_status.write().unwrap_or_else(PoisonError::into_inner);
        if !by_status.iter().any(|(s, _)| *s == status) {
            by_status.push((status, counter));
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let grpc_requests = Family::<GrpcLabels, Counter>::default();
        let grpc_latency = Family::new_with_constructor(Latency);
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency = Family::new_with_constructor(Latency);
        let feed_cache_hits = Counter::default();
        let feed_cache_misses = Counter::default();
        let read_cache_hits = Counter::default();
        let read_cache_misses = Counter::default();
        let read_cache_entries = Gauge::default();
        let read_cache_bytes = Gauge::default();
        let watch_subscribers = Gauge::default();
        let smtp_sent = Counter::default();
        let smtp_failed = Counter::default();
        let smtp_errors = Family::<SmtpErrorLabels, Counter>::default();
        let smtp_sessions_examined = Counter::default();
        let outbox_pending = Gauge::default();
        let outbox_blocked = Gauge::default();
        // Counters are named without `_total`: the encoder appends it to their samples.
        registry.register("agenda_grpc_requests", "gRPC requests by method and code", grpc_requests.clone());
        registry.register(
            "agenda_grpc_request_duration_seconds",
            "gRPC requests: time to the response, by method",
            grpc_latency.clone(),
        );
        registry.register("agenda_http_requests", "HTTP requests by route and status", http_requests.clone());
        registry.register(
            "agenda_http_request_duration_seconds",
            "HTTP requests: time to the response, by route",
            http_latency.clone(),
        );
        registry.register("agenda_feed_cache_hits", "Feed requests answered from the cache", feed_cache_hits.clone());
        registry.register(
            "agenda_feed_cache_misses",
            "Feed requests that rendered the feed",
            feed_cache_misses.clone(),
        );
        registry.register(
            "agenda_read_cache_hits",
            "GetSession and GetPerson calls answered with cached encoded bytes",
            read_cache_hits.clone(),
        );
        registry.register(
            "agenda_read_cache_misses",
            "GetSession and GetPerson calls that read the store and encoded the answer",
            read_cache_misses.clone(),
        );
        registry.register(
            "agenda_read_cache_entries",
            "Encoded answers held by the read cache",
            read_cache_entries.clone(),
        );
        registry.register(
            "agenda_read_cache_bytes",
            "Bytes of encoded answers held by the read cache (bounded by cache.read_bytes)",
            read_cache_bytes.clone(),
        );
        registry.register("agenda_watch_subscribers", "Open WatchSessions streams", watch_subscribers.clone());
        registry.register("agenda_smtp_sent", "Invites the SMTP server accepted", smtp_sent.clone());
        registry.register("agenda_smtp_failed", "Invites the SMTP server refused for good (5xx)", smtp_failed.clone());
        registry.register("agenda_smtp_errors", "SMTP failures by kind", smtp_errors.clone());
        registry.register(
            "agenda_smtp_sessions_examined",
            "Sessions whose invite outbox the SMTP sender read",
            smtp_sessions_examined.clone(),
        );
        registry.register(
            "agenda_outbox_pending",
            "Invites waiting to be sent (updated by the built-in sender)",
            outbox_pending.clone(),
        );
        registry.register(
            "agenda_outbox_blocked",
            "Invites that cannot be sent: no e-mail address (updated by the built-in sender)",
            outbox_blocked.clone(),
        );
        let reply_mailbox = ReplyMailboxMetrics::default();
        reply_mailbox.register(&mut registry);
        let leaders = Family::<RoleLabel, Gauge>::default();
        registry.register(
            "agenda_leader",
            "1 while this replica holds the role (smtp-sender, reply-mailbox), else 0",
            leaders.clone(),
        );
        Self {
            registry,
            grpc_requests,
            grpc_latency,
            http_requests,
            http_latency,
            http_routes: RwLock::default(),
            feed_cache_hits,
            feed_cache_misses,
            read_cache_hits,
            read_cache_misses,
            read_cache_entries,
            read_cache_bytes,
            watch_subscribers,
            smtp_sent,
            smtp_failed,
            smtp_errors,
            smtp_sessions_examined,
            outbox_pending,
            outbox_blocked,
            oldest_pending: AtomicI64::new(NONE_PENDING),
            reply_mailbox,
            leaders,
        }
    }
}

impl Metrics {
    pub fn grpc_request(&self, method: &str, code: &'static str, elapsed: Duration) {
        let method = method.to_owned();
        self.grpc_latency.get_or_create(&GrpcMethod { method: method.clone() }).observe(elapsed.as_secs_f64());
        self.grpc_requests.get_or_create(&GrpcLabels { method, code }).inc();
    }

    /// The metrics of the HTTP route `route` (its pattern, e.g. `/feeds/sessions/{file}`),
    /// resolved on its first request; later ones find them with one read-locked lookup.
    pub fn http_route(&self, route: &str) -> Arc<HttpRouteMetrics> {
        let routes = self.http_routes.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = routes.get(route) {
            return Arc::clone(m);
        }
        drop(routes);
        let mut routes = self.http_routes.write().unwrap_or_else(PoisonError::into_inner);
        let m = routes.entry(route.into()).or_insert_with(|| {
            Arc::new(HttpRouteMetrics {
                route: route.to_owned(),
                latency: self.http_latency.get_or_create(&HttpRoute { route: route.to_owned() }).clone(),
                by_status: RwLock::default(),
                requests: self.http_requests.clone(),
            })
        });
        Arc::clone(m)
    }

    /// A feed request answered from the cache.
    pub fn feed_cache_hit(&self) {
        self.feed_cache_hits.inc();
    }

    /// A feed request that rendered the feed.
    pub fn feed_cache_miss(&self) {
        self.feed_cache_misses.inc();
    }

    /// A GetSession, GetPerson or ListSessions page answered from the read cache.
    pub fn read_cache_hit(&self) {
        self.read_cache_hits.inc();
    }

    /// A GetSession, GetPerson or ListSessions page that built its answer.
    pub fn read_cache_miss(&self) {
        self.read_cache_misses.inc();
    }

    /// What the read cache holds now.
    pub fn read_cache_size(&self, entries: usize, bytes: usize) {
        self.read_cache_entries.set(entries as i64);
        self.read_cache_bytes.set(bytes as i64);
    }

    /// A WatchSessions stream opened (`+1`) or ended (`-1`).
    pub fn watch_subscribers_add(&self, delta: i64) {
        self.watch_subscribers.inc_by(delta);
    }

    /// A message the SMTP server accepted.
    pub fn smtp_sent(&self) {
        self.smtp_sent.inc();
    }

    /// A message the SMTP server refused for good.
    pub fn smtp_failed(&self) {
        self.smtp_failed.inc();
    }

    /// An SMTP failure of a kind (a bounded set of names).
    pub fn smtp_error(&self, kind: &'static str) {
        self.smtp_errors.get_or_create(&SmtpErrorLabels { kind }).inc();
    }

    /// A session's outbox the sender read.
    pub fn smtp_session_examined(&self) {
        self.smtp_sessions_examined.inc();
    }

    /// The outbox as the sender last saw it: pending and blocked counts, and when the oldest
    /// pending message became due (Unix seconds).
    pub fn outbox(&self, pending: u64, blocked: u64, oldest_pending: Option<i64>) {
        self.outbox_pending.set(pending as i64);
        self.outbox_blocked.set(blocked as i64);
        self.oldest_pending.store(oldest_pending.unwrap_or(NONE_PENDING), Ordering::Relaxed);
    }

    /// A message of the reply mailbox filed: `applied`, `unreadable` or `refused`.
    pub fn reply_mailbox_reply(&self, outcome: &'static str) {
        self.reply_mailbox.replies.get_or_create(&ReplyOutcome { outcome }).inc();
    }

    /// Whether this replica holds `role` (set at each scrape).
    pub fn leader(&self, role: &'static str, held: bool) {
        self.leaders.get_or_create(&RoleLabel { role }).set(i64::from(held));
    }

    /// A look at the reply mailbox that completed.
    pub fn reply_mailbox_poll(&self) {
        self.reply_mailbox.polls.inc();
    }

    /// A look at the reply mailbox that failed.
    pub fn reply_mailbox_poll_error(&self) {
        self.reply_mailbox.poll_errors.inc();
    }

    /// The exposition text ([`CONTENT_TYPE`]), with the store's figures when they could be read.
    pub fn render(&self, store: Option<StoreFigures>) -> String {
        let mut out = String::with_capacity(4096);
        encode_registry(&mut out, &self.registry).expect("writing to a String cannot fail");
        let oldest = self.oldest_pending.load(Ordering::Relaxed);
        let age = if oldest == NONE_PENDING { 0 } else { (jiff::Timestamp::now().as_second() - oldest).max(0) };
        let mut r = Registry::default();
        r.register(
            "agenda_outbox_oldest_pending_age_seconds",
            "Age of the oldest invite waiting to be sent (0: none; updated by the built-in sender)",
            ConstGauge::new(age),
        );
        encode_registry(&mut out, &r).expect("writing to a String cannot fail");
        encode_registry(&mut out, &process_memory()).expect("writing to a String cannot fail");
        if let Some(s) = store {
            // Figures the store keeps itself: constant metrics in a registry of this scrape.
            let mut r = Registry::default();
            r.register(
                "agenda_store_size_bytes",
                "Bytes the sled database occupies on disk",
                ConstGauge::new(s.size_bytes as i64),
            );
            r.register("agenda_store_revision", "The store's latest revision", ConstGauge::new(s.revision as i64));
            r.register("agenda_store_writes", "Durable writes since start", ConstCounter::new(s.writes));
            r.register(
                "agenda_store_flushes",
                "Flushes since start (group commit shares one among concurrent writes)",
                ConstCounter::new(s.flushes),
            );
            r.register(
                "agenda_write_retries",
                "Updates that lost a compare-and-write to another writer and read the record again",
                ConstCounter::new(s.write_retries),
            );
            r.register(
                "agenda_store_index_bytes",
                "Estimated heap of the store's in-memory indexes",
                ConstGauge::new(s.index_bytes as i64),
            );
            r.register(
                "agenda_store_index_from_file",
                "1 when the open read the indexes from the index file of the last clean stop, 0 when it listed every record",
                ConstGauge::new(i64::from(s.index_from_file)),
            );
            encode_registry(&mut out, &r).expect("writing to a String cannot fail");
        }
        encode_eof(&mut out).expect("writing to a String cannot fail");
        out
    }
}

/// The process's resident memory now and at its peak, read at scrape time from
/// `/proc/self/status` (`VmRSS`, `VmHWM`; a read of a small in-memory file): what the cache
/// and store figures above add up to, with the allocator's and sled's own share. Nothing on a
/// system without procfs.
fn process_memory() -> Registry {
    let mut r = Registry::default();
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return r };
    let figures = [
        ("VmRSS:", "process_resident_memory_bytes", "Resident memory of this process (VmRSS)"),
        (
            "VmHWM:",
            "agenda_process_resident_memory_peak_bytes",
            "Peak resident memory of this process since start (VmHWM)",
        ),
    ];
    for (field, name, help) in figures {
        if let Some(kib) = status_kib(&status, field) {
            r.register(name, help, ConstGauge::new(kib.saturating_mul(1024)));
        }
    }
    r
}

/// A `/proc/self/status` figure in KiB (`VmRSS:    1234 kB`).
fn status_kib(status: &str, field: &str) -> Option<i64> {
    status.lines().find_map(|l| l.strip_prefix(field))?.split_whitespace().next()?.parse().ok()
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
            text.contains("agenda_grpc_requests_total{method=\"/agenda.v1.SessionService/GetSession\",code=\"OK\"} 1"),
            "{text}"
        );
        let bucket =
            |le: &str, n: u64| format!("_bucket{{le=\"{le}\",method=\"/agenda.v1.SessionService/GetSession\"}} {n}\n");
        assert!(text.contains(&bucket("0.005", 1)), "{text}");
        assert!(text.contains(&bucket("0.05", 2)), "{text}");
        assert!(text.contains(&bucket("+Inf", 2)), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn resident_memory_is_shown_at_scrape_time() {
        let text = Metrics::default().render(None);
        let rss = text.lines().find_map(|l| l.strip_prefix("process_resident_memory_bytes ")).expect("the RSS line");
        assert!(rss.parse::<i64>().expect("a number") > 0, "{text}");
        assert!(text.contains("\nagenda_process_resident_memory_peak_bytes "), "{text}");
        assert_eq!(status_kib("Name:\tagenda\nVmRSS:\t  1234 kB\n", "VmRSS:"), Some(1234));
    }

    #[test]
    fn store_figures_come_before_the_end_marker() {
        let m = Metrics::default();
        let text = m.render(Some(StoreFigures {
            size_bytes: 4096,
            revision: 7,
            writes: 5,
            flushes: 2,
            write_retries: 3,
            index_bytes: 1024,
            index_from_file: true,
        }));
        assert!(text.contains("agenda_store_writes_total 5\n"), "{text}");
        assert!(text.contains("agenda_store_index_from_file 1\n"), "{text}");
        assert!(text.contains("agenda_store_revision 7\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
