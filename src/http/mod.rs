//! The HTTP listener: what calendar clients and operators reach without gRPC.
//!
//! The ICS feeds (`feeds`), the HTML pages for people (`pages`), a liveness probe and
//! robots.txt; the feeds and the pages share one cache of rendered bodies (`cache`). This listener may face the
//! internet, so it serves only what is meant to be public.
//!
//! Refusals answer through the same reason table as gRPC (`error::Reason`): the status is the
//! reason's, the body a one-line message, and the `agenda-error-reason` header names the
//! reason (`FEED_NOT_FOUND`, `CONCURRENCY_LIMIT`, ...) for machines. While the store's reads
//! are stale (etcd without quorum) every answer carries `agenda-stale: true`.

mod cache;
mod caldav;
mod feeds;
mod pages;
mod settings;

pub use cache::{not_modified, parse_http_date};
pub use feeds::parse_feed_query;
pub use settings::{HttpLimits, SiteSettings};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::app::{Agenda, Holder};
use crate::error::Reason;
use crate::metrics::{Metrics, StoreFigures};

/// Routes of the HTTP listener, behind the limits and metrics middleware; `extra` routes (the
/// benchmarks' HTTP floor, `bench_floor`, or none) go behind the same middleware.
pub fn router(agenda: Agenda, site: SiteSettings, metrics: Arc<Metrics>, limits: HttpLimits, extra: Router) -> Router {
    let guard = Arc::new(HttpGuard {
        agenda: agenda.clone(),
        metrics: Arc::clone(&metrics),
        permits: Semaphore::new(limits.max_concurrent_requests),
        timeout: limits.request_timeout,
    });
    let scrape = MetricsState { metrics: Arc::clone(&metrics), agenda: agenda.clone() };
    feeds::routes(agenda.clone(), site.clone(), metrics)
        .merge(pages::routes(agenda.clone(), site.clone()))
        .merge(caldav::routes(agenda.clone(), site))
        .route("/healthz", get(healthz).with_state(agenda.clone()))
        .route("/robots.txt", get(robots))
        .route("/metrics", get(metrics_text).with_state(scrape))
        .merge(extra)
        .layer(middleware::from_fn_with_state(guard, limit_and_measure))
}

struct HttpGuard {
    /// Asked after each request whether the store's reads are stale, to say so in the answer.
    agenda: Agenda,
    metrics: Arc<Metrics>,
    /// Requests in progress; none left means 503 at once.
    permits: Semaphore,
    timeout: Duration,
}

/// Concurrency limit and timeout (503 with Retry-After), and request metrics by route.
async fn limit_and_measure(State(guard): State<Arc<HttpGuard>>, req: Request, next: Next) -> Response {
    let start = tokio::time::Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
    let route = guard.metrics.http_route(route);
    let mut response = match guard.permits.try_acquire() {
        Err(_) => refusal(Reason::ConcurrencyLimit, "the server is at its concurrency limit; retry later"),
        Ok(_permit) => match within(start + guard.timeout, next.run(req)).await {
            Some(r) => r,
            None => refusal(Reason::Overloaded, "the request took too long; retry later"),
        },
    };
    route.record(response.status().as_u16(), start.elapsed());
    if guard.agenda.stale_since().is_some() {
        response.headers_mut().insert(crate::headers::STALE, HeaderValue::from_static("true"));
    }
    response
}

/// `answer`, or `None` if it is not ready by `deadline`. What `tokio::time::timeout_at` does,
/// but the timer is armed only for an answer that waits: most (a cached feed, a 304) are ready
/// at their first poll, and a timer armed and cancelled per request was a visible part of a
/// 304's work. A ready answer is taken even past the deadline, as `timeout_at` does.
async fn within(deadline: tokio::time::Instant, answer: impl Future<Output = Response>) -> Option<Response> {
    let mut answer = std::pin::pin!(answer);
    if let Poll::Ready(r) = std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await {
        return Some(r);
    }
    tokio::time::timeout_at(deadline, answer).await.ok()
}

/// Liveness: 200 while the server answers. While the store's reads are stale the body says
/// so (reads are still served, so a load balancer keeps the instance; writes are refused,
/// which the gRPC health service `agenda.v1.Writes` reports as NOT_SERVING). After a failed
/// flush it says that writes stopped, and why (`agenda.v1.Writes` is NOT_SERVING then too).
async fn healthz(State(agenda): State<Agenda>) -> String {
    let mut body = match agenda.stale_since() {
        None => "ok\n".to_owned(),
        Some(since) => {
            let since = jiff::Timestamp::try_from(since).map_or_else(|_| "?".to_owned(), |t| t.to_string());
            format!("ok, stale: the store's reads may lag since {since}; writes are refused\n")
        }
    };
    if let Some(why) = agenda.writes_stopped() {
        body.push_str(&format!(
            "writes stopped: a flush failed ({why}); reads go on; restart once the disk is sound\n"
        ));
    }
    // Then, for each role this replica campaigns for, who holds it (as this replica saw last).
    let me = agenda.replica_name();
    for (role, holder) in agenda.role_holders() {
        let line = match holder {
            Holder::This => format!("{}: held by {me} (this replica)\n", role.name()),
            Holder::Other(name) => format!("{}: held by {name}\n", role.name()),
            Holder::Unknown => format!("{}: no holder known\n", role.name()),
        };
        body.push_str(&line);
    }
    body
}

/// The one way the HTTP listener refuses a request: the reason's status, `message` as a
/// plain-text body, the reason in [`crate::headers::ERROR_REASON`], and `Retry-After` with every 503 (each
/// is temporary: a limit, a timeout, a store that failed).
fn refusal(reason: Reason, message: &str) -> Response {
    let status = reason.http_status();
    let mut r = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{message}\n")).into_response();
    let headers = r.headers_mut();
    headers.insert(crate::headers::ERROR_REASON, HeaderValue::from_static(reason.as_str()));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    agenda: Agenda,
}

/// The metrics in the OpenMetrics text format, with the store's figures as of this scrape.
async fn metrics_text(State(s): State<MetricsState>) -> impl IntoResponse {
    let store = s.agenda.store_stats().await.ok().map(|st| StoreFigures {
        size_bytes: st.size_bytes,
        revision: st.revision,
        writes: st.writes,
        flushes: st.flushes,
        write_retries: s.agenda.write_retries(),
        index_bytes: st.index_bytes,
        index_from_file: st.index_from_file,
    });
    for (role, holder) in s.agenda.role_holders() {
        s.metrics.leader(role.name(), holder == Holder::This);
    }
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], s.metrics.render(store))
}

/// Allows crawlers the public pages (so an event can be found) and the feeds (Google Calendar's
/// fetcher obeys robots.txt), and nothing else: not /metrics, not /healthz. `/$` is the front
/// page alone (the `$` end anchor of RFC 9309's widely kept extension).
async fn robots() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nAllow: /$\nAllow: /sessions/\nAllow: /people/\nAllow: /assets/\nAllow: /feeds/\nDisallow: /\n",
    )
}
