//! What the HTTP listener needs to know besides the data. `server` builds these from the
//! configuration; nothing under `http/` reads the configuration itself.

use std::time::Duration;

use crate::ics::feed::CalendarSettings;
use crate::links::FeedLinks;

/// What the feeds and the pages render with.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    /// UIDs, the refresh interval, the fallback organizer.
    pub calendar: CalendarSettings,
    /// The public URLs of feeds and pages.
    pub links: FeedLinks,
    /// The default window of `/feeds/sessions.ics`: days back and ahead of today.
    pub past_days: u32,
    pub future_days: u32,
}

impl SiteSettings {
    /// Defaults, with feed URLs under `public_url`.
    pub fn with_public_url(public_url: &str) -> Self {
        Self {
            calendar: CalendarSettings::default(),
            links: FeedLinks::new(public_url),
            past_days: 31,
            future_days: 366,
        }
    }
}

/// The listener's own bounds, apart from the gRPC port's.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Requests served at once; more get 503 at once.
    pub max_concurrent_requests: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
}
