//! Configuration of `agenda serve`: flags with environment overrides.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::domain::Limits;
use crate::ics::feed::FeedSettings;
use crate::links::FeedLinks;

/// Options of `agenda serve`. Every flag can also be set by the environment variable named
/// in its help, so a container or a systemd unit needs no command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address of the internal gRPC API. Port 0 picks a free port (logged at start).
    #[arg(long, env = "AGENDA_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,
    /// Address of the HTTP listener for feeds and operator endpoints (may face the internet
    /// while gRPC stays internal).
    #[arg(long, env = "AGENDA_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Load the demo session (the FMG MSME brainstorming of 17 November 2022) before
    /// serving. Idempotent: running with --demo again changes nothing.
    #[arg(long, env = "AGENDA_DEMO")]
    pub demo: bool,
    /// Most slots a session may have.
    #[arg(long, env = "AGENDA_MAX_SLOTS", default_value_t = Limits::default().max_slots)]
    pub max_slots: usize,
    /// Most participants a session may have.
    #[arg(long, env = "AGENDA_MAX_PARTICIPANTS", default_value_t = Limits::default().max_participants)]
    pub max_participants: usize,
    /// Base URL where calendar clients reach the HTTP listener; feed URLs in gRPC answers are
    /// built from it.
    #[arg(long, env = "AGENDA_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Domain part of every iCalendar UID. Set it once, before anyone subscribes, and never
    /// change it: clients match events by UID.
    #[arg(long, env = "AGENDA_UID_DOMAIN", default_value = "agenda.invalid")]
    pub uid_domain: String,
    /// How often clients should poll the feeds (REFRESH-INTERVAL, Cache-Control), in seconds.
    #[arg(long, env = "AGENDA_FEED_REFRESH_SECONDS", default_value_t = 3600)]
    pub feed_refresh_seconds: u32,
    /// Default window of /feeds/sessions.ics: sessions from this many days ago...
    #[arg(long, env = "AGENDA_FEED_PAST_DAYS", default_value_t = 31)]
    pub feed_past_days: u32,
    /// ...to this many days ahead (query parameters `from` and `to` override it).
    #[arg(long, env = "AGENDA_FEED_FUTURE_DAYS", default_value_t = 366)]
    pub feed_future_days: u32,
    /// ORGANIZER address in feeds for sessions whose organizer has no e-mail.
    #[arg(long, env = "AGENDA_FEED_ORGANIZER_EMAIL", default_value = "noreply@agenda.invalid")]
    pub feed_organizer_email: String,
}

/// What the feeds need to know besides the data.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub settings: FeedSettings,
    pub links: FeedLinks,
    pub past_days: u32,
    pub future_days: u32,
}

impl FeedConfig {
    /// Defaults, with feed URLs under `public_url`.
    pub fn with_public_url(public_url: &str) -> Self {
        Self { settings: FeedSettings::default(), links: FeedLinks::new(public_url), past_days: 31, future_days: 366 }
    }
}

impl ServeConfig {
    pub fn limits(&self) -> Limits {
        Limits { max_slots: self.max_slots, max_participants: self.max_participants, ..Limits::default() }
    }

    pub fn feeds(&self) -> FeedConfig {
        FeedConfig {
            settings: FeedSettings {
                uid_domain: self.uid_domain.clone(),
                refresh_seconds: self.feed_refresh_seconds,
                fallback_organizer_email: self.feed_organizer_email.clone(),
            },
            links: FeedLinks::new(&self.public_url),
            past_days: self.feed_past_days,
            future_days: self.feed_future_days,
        }
    }
}

/// Where the store lives: `--data DIR` or `AGENDA_DATA`, `./agenda-data` by default.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Directory of the sled database (created if missing).
    #[arg(long = "data", env = "AGENDA_DATA", default_value = "./agenda-data", global = true)]
    pub path: PathBuf,
}
