//! The HTTP listener: what calendar clients and operators reach without gRPC.
//!
//! For now: a liveness probe and robots.txt. The ICS feeds live here too (see the feeds
//! module once it lands); this listener may face the internet, so it serves only what is
//! meant to be public.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::Agenda;

/// Routes of the HTTP listener.
pub fn router(_agenda: Agenda) -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" })).route("/robots.txt", get(robots))
}

/// Allows the feeds to crawlers (Google Calendar's fetcher obeys robots.txt) and nothing else.
async fn robots() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "User-agent: *\nAllow: /feeds/\nDisallow: /\n")
}
