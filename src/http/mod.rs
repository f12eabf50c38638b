//! The HTTP listener: what calendar clients and operators reach without gRPC.
//!
//! The ICS feeds (`feeds`), a liveness probe and robots.txt. This listener may face the
//! internet, so it serves only what is meant to be public.

mod feeds;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::Agenda;
use crate::config::FeedConfig;

/// Routes of the HTTP listener.
pub fn router(agenda: Agenda, feeds: FeedConfig) -> Router {
    feeds::routes(agenda, feeds).route("/healthz", get(|| async { "ok\n" })).route("/robots.txt", get(robots))
}

/// Allows the feeds to crawlers (Google Calendar's fetcher obeys robots.txt) and nothing else.
async fn robots() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "User-agent: *\nAllow: /feeds/\nDisallow: /\n")
}
