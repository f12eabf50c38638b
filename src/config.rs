//! Configuration of `agenda serve`: defaults, then a TOML file (`--config`), then environment
//! variables, then flags; `agenda serve --print-config` shows the result.
//!
//! Every key of the file, with its default (also in README.md):
//!
//! ```toml
//! data = "./agenda-data"              # sled database directory
//! grpc_listen = "127.0.0.1:50051"     # internal gRPC API
//! http_listen = "127.0.0.1:8080"      # feeds, /metrics, /healthz
//! demo = false                        # load the demo session first
//! public_url = "http://127.0.0.1:8080"
//! uid_domain = "agenda.invalid"
//! shutdown_grace_seconds = 10
//! change_log_revisions = 100000       # how far back WatchSessions can resume
//!
//! [feeds]
//! refresh_seconds = 3600
//! past_days = 31
//! future_days = 366
//! organizer_email = "noreply@agenda.invalid"
//!
//! [limits]
//! max_slots = 2000
//! max_participants = 5000
//! max_message_bytes = 4194304
//! max_concurrent_requests = 256       # gRPC; more at once get RESOURCE_EXHAUSTED
//! max_watchers = 1024
//! request_timeout_seconds = 30        # gRPC deadline cap (a client's grpc-timeout is honoured)
//! http_max_concurrent_requests = 1024 # more at once get 503
//! http_request_timeout_seconds = 30
//!
//! [auth]
//! tokens_file = "/etc/agenda/tokens.toml"   # see src/auth.rs for the format
//! require_read_token = false
//! insecure_no_auth = false            # allow no tokens on a non-loopback address
//!
//! [tls]                               # gRPC port; all three are PEM files
//! cert = "/etc/agenda/server.pem"
//! key = "/etc/agenda/server.key"
//! client_ca = "/etc/agenda/clients-ca.pem"  # set for mutual TLS
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::Limits;
use crate::ics::feed::FeedSettings;
use crate::links::FeedLinks;

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data: PathBuf,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub demo: bool,
    pub public_url: String,
    pub uid_domain: String,
    pub shutdown_grace_seconds: u64,
    pub change_log_revisions: u64,
    pub feeds: FeedsConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    pub refresh_seconds: u32,
    pub past_days: u32,
    pub future_days: u32,
    pub organizer_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_slots: usize,
    pub max_participants: usize,
    pub max_message_bytes: usize,
    pub max_concurrent_requests: usize,
    pub max_watchers: usize,
    pub request_timeout_seconds: u64,
    pub http_max_concurrent_requests: usize,
    pub http_request_timeout_seconds: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub tokens_file: Option<PathBuf>,
    pub require_read_token: bool,
    pub insecure_no_auth: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: PathBuf::from("./agenda-data"),
            grpc_listen: "127.0.0.1:50051".parse().expect("valid"),
            http_listen: "127.0.0.1:8080".parse().expect("valid"),
            demo: false,
            public_url: "http://127.0.0.1:8080".into(),
            uid_domain: "agenda.invalid".into(),
            shutdown_grace_seconds: 10,
            change_log_revisions: 100_000,
            feeds: FeedsConfig::default(),
            limits: LimitsConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for FeedsConfig {
    fn default() -> Self {
        Self {
            refresh_seconds: 3600,
            past_days: 31,
            future_days: 366,
            organizer_email: "noreply@agenda.invalid".into(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_slots: Limits::default().max_slots,
            max_participants: Limits::default().max_participants,
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 256,
            max_watchers: 1024,
            request_timeout_seconds: 30,
            http_max_concurrent_requests: 1024,
            http_request_timeout_seconds: 30,
        }
    }
}

/// Flags of `agenda serve`; each can also be set by the environment variable in its help.
/// Unset flags leave the file's (or the default) value.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (see --print-config for every key).
    #[arg(long, env = "AGENDA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the resolved configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Address of the internal gRPC API (default 127.0.0.1:50051). Port 0 picks a free port.
    #[arg(long, env = "AGENDA_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Address of the HTTP listener: feeds, /metrics, /healthz (default 127.0.0.1:8080).
    #[arg(long, env = "AGENDA_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Load the demo session before serving (idempotent).
    #[arg(long, env = "AGENDA_DEMO")]
    pub demo: bool,
    /// Base URL where calendar clients reach the HTTP listener.
    #[arg(long, env = "AGENDA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Domain part of every iCalendar UID: set once, never change.
    #[arg(long, env = "AGENDA_UID_DOMAIN")]
    pub uid_domain: Option<String>,
    /// REFRESH-INTERVAL and Cache-Control max-age of the feeds, in seconds.
    #[arg(long, env = "AGENDA_FEED_REFRESH_SECONDS")]
    pub feed_refresh_seconds: Option<u32>,
    /// Default window of /feeds/sessions.ics, days back.
    #[arg(long, env = "AGENDA_FEED_PAST_DAYS")]
    pub feed_past_days: Option<u32>,
    /// Default window of /feeds/sessions.ics, days ahead.
    #[arg(long, env = "AGENDA_FEED_FUTURE_DAYS")]
    pub feed_future_days: Option<u32>,
    /// ORGANIZER of sessions without an organizer e-mail.
    #[arg(long, env = "AGENDA_FEED_ORGANIZER_EMAIL")]
    pub feed_organizer_email: Option<String>,
    /// Most slots per session.
    #[arg(long, env = "AGENDA_MAX_SLOTS")]
    pub max_slots: Option<usize>,
    /// Most participants per session.
    #[arg(long, env = "AGENDA_MAX_PARTICIPANTS")]
    pub max_participants: Option<usize>,
    /// Largest gRPC message accepted, in bytes.
    #[arg(long, env = "AGENDA_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// gRPC requests served at once; more get RESOURCE_EXHAUSTED.
    #[arg(long, env = "AGENDA_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Longest a gRPC request may take, in seconds.
    #[arg(long, env = "AGENDA_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    /// Bearer tokens file (TOML, see README).
    #[arg(long, env = "AGENDA_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Reads need a token too.
    #[arg(long, env = "AGENDA_REQUIRE_READ_TOKEN")]
    pub require_read_token: bool,
    /// Serve without tokens on a non-loopback address (otherwise refused).
    #[arg(long, env = "AGENDA_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// TLS certificate chain for the gRPC port (PEM).
    #[arg(long, env = "AGENDA_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key for the gRPC port (PEM).
    #[arg(long, env = "AGENDA_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA whose client certificates are required (mutual TLS; PEM).
    #[arg(long, env = "AGENDA_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(long, env = "AGENDA_SHUTDOWN_GRACE_SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
}

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, String),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults < file < environment and flags (clap reads both).
    pub fn resolve(args: &ServeArgs, data: Option<PathBuf>) -> Result<Config, ConfigError> {
        let mut c = match &args.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
                toml::from_str::<Config>(&text)
                    .map_err(|e| ConfigError::Parse(path.display().to_string(), e.to_string()))?
            }
            None => Config::default(),
        };
        macro_rules! set {
            ($($field:expr => $arg:expr),* $(,)?) => {$(if let Some(v) = $arg.clone() { $field = v; })*};
        }
        set!(
            c.data => data,
            c.grpc_listen => args.grpc_listen,
            c.http_listen => args.http_listen,
            c.public_url => args.public_url,
            c.uid_domain => args.uid_domain,
            c.feeds.refresh_seconds => args.feed_refresh_seconds,
            c.feeds.past_days => args.feed_past_days,
            c.feeds.future_days => args.feed_future_days,
            c.feeds.organizer_email => args.feed_organizer_email,
            c.limits.max_slots => args.max_slots,
            c.limits.max_participants => args.max_participants,
            c.limits.max_message_bytes => args.max_message_bytes,
            c.limits.max_concurrent_requests => args.max_concurrent_requests,
            c.limits.request_timeout_seconds => args.request_timeout_seconds,
            c.shutdown_grace_seconds => args.shutdown_grace_seconds,
        );
        set!(
            c.auth.tokens_file => args.tokens_file.clone().map(Some),
            c.tls.cert => args.tls_cert.clone().map(Some),
            c.tls.key => args.tls_key.clone().map(Some),
            c.tls.client_ca => args.tls_client_ca.clone().map(Some),
        );
        c.demo |= args.demo;
        c.auth.require_read_token |= args.require_read_token;
        c.auth.insecure_no_auth |= args.insecure_no_auth;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key go together");
        }
        if self.tls.client_ca.is_some() && self.tls.cert.is_none() {
            return bad("tls.client_ca needs tls.cert and tls.key");
        }
        if self.limits.max_concurrent_requests == 0 || self.limits.http_max_concurrent_requests == 0 {
            return bad("concurrency limits must be at least 1");
        }
        if crate::domain::Email::parse(&self.feeds.organizer_email).is_err() {
            return bad("feeds.organizer_email is not an e-mail address");
        }
        Ok(())
    }

    /// The configuration as TOML (what --print-config prints; it holds no secrets: tokens
    /// live in their own file).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration serializes")
    }

    pub fn domain_limits(&self) -> Limits {
        Limits { max_slots: self.limits.max_slots, max_participants: self.limits.max_participants, ..Limits::default() }
    }

    pub fn feeds(&self) -> FeedConfig {
        FeedConfig {
            settings: FeedSettings {
                uid_domain: self.uid_domain.clone(),
                refresh_seconds: self.feeds.refresh_seconds,
                fallback_organizer_email: self.feeds.organizer_email.clone(),
            },
            links: FeedLinks::new(&self.public_url),
            past_days: self.feeds.past_days,
            future_days: self.feeds.future_days,
        }
    }
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

/// Where the store lives: `--data DIR` or `AGENDA_DATA` (for `serve`, also the file's `data`).
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Directory of the sled database (created if missing; default ./agenda-data).
    #[arg(long = "data", env = "AGENDA_DATA", global = true)]
    pub path: Option<PathBuf>,
}

impl DataDir {
    pub fn or_default(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| Config::default().data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("agenda.toml");
        std::fs::write(
            &file,
            "public_url = \"https://agenda.example.org\"\n[limits]\nmax_slots = 10\nmax_message_bytes = 1000\n",
        )
        .unwrap();
        let args = ServeArgs { config: Some(file), max_slots: Some(20), ..ServeArgs::default() };
        let c = Config::resolve(&args, None).unwrap();
        assert_eq!(c.public_url, "https://agenda.example.org");
        assert_eq!(c.limits.max_slots, 20);
        assert_eq!(c.limits.max_message_bytes, 1000);
        assert_eq!(c.limits.max_participants, 5000);
        let again: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(again, c, "--print-config output is itself a valid config file");
    }

    #[test]
    fn unknown_keys_and_half_tls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("agenda.toml");
        std::fs::write(&file, "pubic_url = \"x\"\n").unwrap();
        let args = ServeArgs { config: Some(file), ..ServeArgs::default() };
        assert!(matches!(Config::resolve(&args, None), Err(ConfigError::Parse(..))));
        let args = ServeArgs { tls_cert: Some("c.pem".into()), ..ServeArgs::default() };
        assert!(matches!(Config::resolve(&args, None), Err(ConfigError::Invalid(_))));
    }
}
