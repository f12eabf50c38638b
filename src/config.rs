//! Configuration of `agenda serve`: defaults, then a TOML file (`--config`), then environment
//! variables, then flags; `agenda serve --print-config` shows the result.
//!
//! `figment` merges the first three layers (and names the key and the layer in its errors);
//! flags are applied last. Every key has an environment variable, listed in [`ENV`] (and in
//! README.md): `AGENDA_` and the key's name, without its table for the few tables whose keys
//! already say what they are about (`AGENDA_MAX_SLOTS` is `limits.max_slots`), with a short
//! prefix for the others (`AGENDA_FEED_PAST_DAYS`, `AGENDA_TLS_CERT`). Values are written as
//! in TOML (`true`, `42`, bare strings). Other `AGENDA_*` variables are not settings and are
//! ignored here.
//!
//! Every key of the file, with its default (also in README.md):
//!
//! ```toml
//! data = "./agenda-data"              # sled database directory
//! store = "sled"                      # or "etcd://h1:2379,h2:2379[/prefix][?max_txn_ops=N]"
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
//! [cache]
//! read_entries = 16384                # GetSession / GetPerson answers kept encoded
//! read_bytes = 8388608                # and their bytes at most (8 MiB)
//! sled_bytes = 8388608                # sled's page cache capacity (8 MiB)
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
//!
//! [etcd]                              # with store = "etcd://..." (feature etcd)
//! ca = "/etc/agenda/etcd-ca.pem"      # https to the members, verified against this CA
//! user = "agenda"                     # etcd authentication, with the password file
//! password_file = "/etc/agenda/etcd-password"
//!
//! [smtp]                              # the built-in sender (src/smtp.rs); off without a url
//! url = "smtp://agenda@mail.example.org:587"  # STARTTLS; smtps:// implicit TLS;
//!                                     # smtp://127.0.0.1:2525?tls=none (loopback only)
//! password = "..."                    # or AGENDA_SMTP_PASSWORD; never printed
//! rate_per_second = 10                # messages per second at most; 0: no bound
//! retry_max_seconds = 60              # longest wait between retries of a 4xx or a lost connection
//! rescan_seconds = 3600               # how often the sender looks at every coming session
//! [reply_mailbox]                     # replies from the organizer's mailbox (src/mailbox.rs)
//! url = "imaps://organizer%40example.org@mail.example.org/INBOX"  # unset: off
//! password = "..."                    # or AGENDA_REPLY_MAILBOX_PASSWORD; printed masked
//! poll_seconds = 60
//! ca = "/etc/agenda/mail-ca.pem"      # trust this CA (PEM) instead of the public roots
//! applied_folder = "Agenda/Applied"   # "/" stands for the server's hierarchy separator
//! refused_folder = "Agenda/Refused"
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::Limits;
use crate::ics::feed::FeedSettings;
use crate::links::FeedLinks;

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data: PathBuf,
    /// The storage engine: `sled` (in `data`) or an etcd cluster; see [`StoreChoice`].
    pub store: String,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub demo: bool,
    pub public_url: String,
    pub uid_domain: String,
    pub shutdown_grace_seconds: u64,
    pub change_log_revisions: u64,
    pub feeds: FeedsConfig,
    pub limits: LimitsConfig,
    pub cache: CacheConfig,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub etcd: EtcdConfig,
    pub smtp: SmtpConfig,
    pub reply_mailbox: ReplyMailboxConfig,
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

/// Memory the server may spend on caches: the encoded answers of GetSession and GetPerson
/// (`api/cache.rs`) and sled's page cache. Both are bounded so that memory under a read load
/// over the whole store stays within a known figure (BENCHMARKS.md, resident memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Most answers kept; 0 turns the read cache off.
    pub read_entries: usize,
    /// Most bytes of answers kept. 8 MiB by default: about 800 answers of the demo session's
    /// size, plenty for the hot set, and memory at scale is tight (BENCHMARKS.md, memory).
    pub read_bytes: usize,
    /// sled's cache capacity (its own estimate of cached pages; the heap it takes is larger).
    pub sled_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            read_entries: 16 * 1024,
            read_bytes: 8 * 1024 * 1024,
            sled_bytes: crate::store::SledStore::DEFAULT_CACHE_BYTES,
        }
    }
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

/// How to reach an etcd store securely. The password lives in its own file, so that
/// `--print-config` and the configuration file hold no secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdConfig {
    /// The CA (PEM) that signed the members' certificates: endpoints are `https` when set.
    pub ca: Option<PathBuf>,
    pub user: Option<String>,
    /// A file holding the user's password (a final newline is ignored).
    pub password_file: Option<PathBuf>,
}

/// The built-in SMTP sender (`crate::smtp`): on when `url` is set; otherwise the outbox waits
/// for an external sender over gRPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://[user@]host[:port]` (STARTTLS required), `smtps://[user@]host[:port]` (implicit
    /// TLS), or `smtp://host:port?tls=none` for a loopback host only. No password here: a URL
    /// shows in process lists and logs.
    pub url: Option<String>,
    /// The user's password, from the file or `AGENDA_SMTP_PASSWORD`; [`Secret`] never prints it.
    pub password: Option<Secret>,
    /// Messages per second at most (a relay's limits, the receivers' patience); 0: no bound.
    pub rate_per_second: u32,
    /// The cap of the exponential backoff after a 4xx answer or a lost connection.
    pub retry_max_seconds: u64,
    /// How often the sender looks at every coming session again. Between two such looks it
    /// follows the writes (the change log, changed people), so this only bounds how long
    /// something no write announced (a person changed through another replica) goes unseen.
    pub rescan_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self { url: None, password: None, rate_per_second: 10, retry_max_seconds: 60, rescan_seconds: 3600 }
    }
}

/// The organizer's mailbox, read for iTIP replies (`crate::mailbox`). Off while `url` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplyMailboxConfig {
    /// `imaps://user@host[:port]/MAILBOX` (implicit TLS), `imap://...` (STARTTLS required), or
    /// `imap://...?tls=none` on a loopback host only; see `mailbox::MailboxUrl`.
    pub url: Option<String>,
    /// The IMAP password: a [`Secret`], so neither `--print-config` nor a log shows it.
    pub password: Option<Secret>,
    /// Seconds between two looks at the mailbox.
    pub poll_seconds: u64,
    /// A CA (PEM) to trust for the mail server instead of the bundled public roots.
    pub ca: Option<PathBuf>,
    /// Where applied replies are moved; `/` separates levels, whatever the server's separator.
    pub applied_folder: String,
    /// Where unreadable and refused replies are moved, each beside a note giving the reason.
    pub refused_folder: String,
}

impl Default for ReplyMailboxConfig {
    fn default() -> Self {
        Self {
            url: None,
            password: None,
            poll_seconds: 60,
            ca: None,
            applied_folder: "Agenda/Applied".into(),
            refused_folder: "Agenda/Refused".into(),
        }
    }
}

/// A password from the file or the environment. Its `Debug` and its serialization (what
/// `--print-config` prints) are a mask, so it cannot leak through a log line or a printed
/// configuration; only [`Secret::expose`] gives the text, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// What a set secret prints as.
pub const SECRET_MASK: &str = "********";

impl Secret {
    /// What `Debug` and `--print-config` show instead of the value.
    pub const MASK: &'static str = SECRET_MASK;

    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({SECRET_MASK})")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SECRET_MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// A string, or a number (an environment value of digits reaches us as one).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a password")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret::new(v.to_string()))
            }
        }
        d.deserialize_any(Text)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: PathBuf::from("./agenda-data"),
            store: "sled".into(),
            grpc_listen: "127.0.0.1:50051".parse().expect("valid"),
            http_listen: "127.0.0.1:8080".parse().expect("valid"),
            demo: false,
            public_url: "http://127.0.0.1:8080".into(),
            uid_domain: "agenda.invalid".into(),
            shutdown_grace_seconds: 10,
            change_log_revisions: 100_000,
            feeds: FeedsConfig::default(),
            limits: LimitsConfig::default(),
            cache: CacheConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            etcd: EtcdConfig::default(),
            smtp: SmtpConfig::default(),
            reply_mailbox: ReplyMailboxConfig::default(),
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

/// Flags of `agenda serve`. Unset flags leave the environment's, the file's or the default
/// value; the environment variables are figment's layer ([`ENV`]), not clap's, so that a
/// flag always wins over the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (see --print-config for every key).
    #[arg(long, env = "AGENDA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the resolved configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Storage engine: `sled` (default, in --data) or `etcd://host1:2379,host2:2379[/prefix]`
    /// (builds with `--features etcd`).
    #[arg(long)]
    pub store: Option<String>,
    /// Address of the internal gRPC API (default 127.0.0.1:50051). Port 0 picks a free port.
    #[arg(long)]
    pub grpc_listen: Option<SocketAddr>,
    /// Address of the HTTP listener: feeds, /metrics, /healthz (default 127.0.0.1:8080).
    #[arg(long)]
    pub http_listen: Option<SocketAddr>,
    /// Load the demo session before serving (idempotent).
    #[arg(long)]
    pub demo: bool,
    /// Base URL where calendar clients reach the HTTP listener.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Domain part of every iCalendar UID: set once, never change.
    #[arg(long)]
    pub uid_domain: Option<String>,
    /// REFRESH-INTERVAL and Cache-Control max-age of the feeds, in seconds.
    #[arg(long)]
    pub feed_refresh_seconds: Option<u32>,
    /// Default window of /feeds/sessions.ics, days back.
    #[arg(long)]
    pub feed_past_days: Option<u32>,
    /// Default window of /feeds/sessions.ics, days ahead.
    #[arg(long)]
    pub feed_future_days: Option<u32>,
    /// ORGANIZER of sessions without an organizer e-mail.
    #[arg(long)]
    pub feed_organizer_email: Option<String>,
    /// Most slots per session.
    #[arg(long)]
    pub max_slots: Option<usize>,
    /// Most participants per session.
    #[arg(long)]
    pub max_participants: Option<usize>,
    /// Largest gRPC message accepted, in bytes.
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// gRPC requests served at once; more get RESOURCE_EXHAUSTED.
    #[arg(long)]
    pub max_concurrent_requests: Option<usize>,
    /// Longest a gRPC request may take, in seconds.
    #[arg(long)]
    pub request_timeout_seconds: Option<u64>,
    /// Bearer tokens file (TOML, see README).
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,
    /// Reads need a token too.
    #[arg(long)]
    pub require_read_token: bool,
    /// Serve without tokens on a non-loopback address (otherwise refused).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// TLS certificate chain for the gRPC port (PEM).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key for the gRPC port (PEM).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA whose client certificates are required (mutual TLS; PEM).
    #[arg(long)]
    pub tls_client_ca: Option<PathBuf>,
    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(long)]
    pub shutdown_grace_seconds: Option<u64>,
    /// Send the outbox over SMTP: `smtp://[user@]host:port` (STARTTLS), `smtps://...` (TLS), or
    /// `smtp://127.0.0.1:PORT?tls=none` (loopback only). The password comes from the config
    /// file or AGENDA_SMTP_PASSWORD.
    #[arg(long)]
    pub smtp_url: Option<String>,
    /// Most messages sent per second (0: no bound).
    #[arg(long)]
    pub smtp_rate_per_second: Option<u32>,
    /// Longest wait between SMTP retries, in seconds.
    #[arg(long)]
    pub smtp_retry_max_seconds: Option<u64>,
    /// The organizer's mailbox to read replies from: imaps://user@host[:port]/INBOX (the
    /// password from the file's reply_mailbox.password or AGENDA_REPLY_MAILBOX_PASSWORD).
    #[arg(long)]
    pub reply_mailbox: Option<String>,
    /// Seconds between two looks at the reply mailbox (default 60).
    #[arg(long)]
    pub reply_mailbox_poll_seconds: Option<u64>,
    /// CA (PEM) to trust for the reply mailbox's server instead of the public roots.
    #[arg(long)]
    pub reply_mailbox_ca: Option<PathBuf>,
}

/// The environment variable of every key of the file: (key, variable).
pub const ENV: &[(&str, &str)] = &[
    ("data", "AGENDA_DATA"),
    ("store", "AGENDA_STORE"),
    ("grpc_listen", "AGENDA_GRPC_LISTEN"),
    ("http_listen", "AGENDA_HTTP_LISTEN"),
    ("demo", "AGENDA_DEMO"),
    ("public_url", "AGENDA_PUBLIC_URL"),
    ("uid_domain", "AGENDA_UID_DOMAIN"),
    ("shutdown_grace_seconds", "AGENDA_SHUTDOWN_GRACE_SECONDS"),
    ("change_log_revisions", "AGENDA_CHANGE_LOG_REVISIONS"),
    ("feeds.refresh_seconds", "AGENDA_FEED_REFRESH_SECONDS"),
    ("feeds.past_days", "AGENDA_FEED_PAST_DAYS"),
    ("feeds.future_days", "AGENDA_FEED_FUTURE_DAYS"),
    ("feeds.organizer_email", "AGENDA_FEED_ORGANIZER_EMAIL"),
    ("limits.max_slots", "AGENDA_MAX_SLOTS"),
    ("limits.max_participants", "AGENDA_MAX_PARTICIPANTS"),
    ("limits.max_message_bytes", "AGENDA_MAX_MESSAGE_BYTES"),
    ("limits.max_concurrent_requests", "AGENDA_MAX_CONCURRENT_REQUESTS"),
    ("limits.max_watchers", "AGENDA_MAX_WATCHERS"),
    ("limits.request_timeout_seconds", "AGENDA_REQUEST_TIMEOUT_SECONDS"),
    ("limits.http_max_concurrent_requests", "AGENDA_HTTP_MAX_CONCURRENT_REQUESTS"),
    ("limits.http_request_timeout_seconds", "AGENDA_HTTP_REQUEST_TIMEOUT_SECONDS"),
    ("cache.read_entries", "AGENDA_READ_CACHE_ENTRIES"),
    ("cache.read_bytes", "AGENDA_READ_CACHE_BYTES"),
    ("cache.sled_bytes", "AGENDA_SLED_CACHE_BYTES"),
    ("auth.tokens_file", "AGENDA_TOKENS_FILE"),
    ("auth.require_read_token", "AGENDA_REQUIRE_READ_TOKEN"),
    ("auth.insecure_no_auth", "AGENDA_INSECURE_NO_AUTH"),
    ("tls.cert", "AGENDA_TLS_CERT"),
    ("tls.key", "AGENDA_TLS_KEY"),
    ("tls.client_ca", "AGENDA_TLS_CLIENT_CA"),
    ("etcd.ca", "AGENDA_ETCD_CA"),
    ("etcd.user", "AGENDA_ETCD_USER"),
    ("etcd.password_file", "AGENDA_ETCD_PASSWORD_FILE"),
    ("smtp.url", "AGENDA_SMTP_URL"),
    ("smtp.password", "AGENDA_SMTP_PASSWORD"),
    ("smtp.rate_per_second", "AGENDA_SMTP_RATE_PER_SECOND"),
    ("smtp.retry_max_seconds", "AGENDA_SMTP_RETRY_MAX_SECONDS"),
    ("smtp.rescan_seconds", "AGENDA_SMTP_RESCAN_SECONDS"),
    ("reply_mailbox.url", "AGENDA_REPLY_MAILBOX"),
    ("reply_mailbox.password", "AGENDA_REPLY_MAILBOX_PASSWORD"),
    ("reply_mailbox.poll_seconds", "AGENDA_REPLY_MAILBOX_POLL_SECONDS"),
    ("reply_mailbox.ca", "AGENDA_REPLY_MAILBOX_CA"),
    ("reply_mailbox.applied_folder", "AGENDA_REPLY_MAILBOX_APPLIED_FOLDER"),
    ("reply_mailbox.refused_folder", "AGENDA_REPLY_MAILBOX_REFUSED_FOLDER"),
];

/// The storage engine a configuration names (its `store` key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// sled in the `data` directory.
    Sled,
    /// An etcd cluster: its client URLs, the key prefix, and its `--max-txn-ops` when raised.
    Etcd { endpoints: Vec<String>, prefix: String, max_txn_ops: Option<usize> },
}

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    /// A value of the file or the environment that does not fit (figment's message names the
    /// key and where it came from), or an unknown key in the file.
    #[error("{0}")]
    Parse(Box<figment::Error>),
    #[error("{0}")]
    Invalid(String),
}

/// The environment layer: the variables of [`ENV`], under their keys. Its errors name the
/// variable (figment's own `Env` would name the key in capitals, which is no variable here).
struct Environment(Env);

fn environment() -> Environment {
    Environment(Env::raw().filter_map(|var| ENV.iter().find(|(_, v)| var == *v).map(|(key, _)| (*key).into())))
}

impl figment::Provider for Environment {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("the environment").interpolater(|_: &figment::Profile, keys: &[&str]| {
            let key = keys.join(".");
            ENV.iter().find(|(k, _)| *k == key).map_or(key, |(_, var)| (*var).to_owned())
        })
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.0.data()
    }
}

impl Config {
    /// Defaults < file < environment < flags.
    pub fn resolve(args: &ServeArgs, data: Option<PathBuf>) -> Result<Config, ConfigError> {
        let mut layers = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &args.config {
            // figment takes a missing file for an empty one: a wrong path must not pass silently.
            std::fs::metadata(path).map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
            layers = layers.merge(Toml::file_exact(path));
        }
        let mut c: Config = layers.merge(environment()).extract().map_err(|e| ConfigError::Parse(Box::new(e)))?;
        macro_rules! set {
            ($($field:expr => $arg:expr),* $(,)?) => {$(if let Some(v) = $arg.clone() { $field = v; })*};
        }
        set!(
            c.data => data,
            c.store => args.store,
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
            c.smtp.rate_per_second => args.smtp_rate_per_second,
            c.smtp.retry_max_seconds => args.smtp_retry_max_seconds,
            c.reply_mailbox.poll_seconds => args.reply_mailbox_poll_seconds,
        );
        set!(
            c.reply_mailbox.url => args.reply_mailbox.clone().map(Some),
            c.reply_mailbox.ca => args.reply_mailbox_ca.clone().map(Some),
        );
        set!(
            c.auth.tokens_file => args.tokens_file.clone().map(Some),
            c.tls.cert => args.tls_cert.clone().map(Some),
            c.tls.key => args.tls_key.clone().map(Some),
            c.tls.client_ca => args.tls_client_ca.clone().map(Some),
            c.smtp.url => args.smtp_url.clone().map(Some),
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
        if self.etcd.user.is_some() != self.etcd.password_file.is_some() {
            return bad("etcd.user and etcd.password_file go together");
        }
        self.store_choice()?;
        if let Some(url) = &self.smtp.url {
            crate::smtp::SmtpUrl::parse(url).map_err(|e| ConfigError::Invalid(format!("smtp.url: {e}")))?;
        }
        if self.smtp.retry_max_seconds == 0 {
            return bad("smtp.retry_max_seconds must be at least 1");
        }
        if self.smtp.rescan_seconds == 0 {
            return bad("smtp.rescan_seconds must be at least 1");
        }
        self.reply_mailbox_settings()?;
        Ok(())
    }

    /// The reply mailbox's settings, checked, when `reply_mailbox.url` is set.
    pub fn reply_mailbox_settings(&self) -> Result<Option<crate::mailbox::MailboxSettings>, ConfigError> {
        crate::mailbox::MailboxSettings::from_config(&self.reply_mailbox)
            .map_err(|e| ConfigError::Invalid(format!("reply_mailbox: {e}")))
    }

    /// The configuration as TOML (what --print-config prints; it holds no secrets: tokens
    /// live in their own file, and the SMTP and mailbox passwords print as [`SECRET_MASK`]).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration serializes")
    }

    /// The engine `store` names. `etcd://` takes comma-separated `host:port` client endpoints
    /// (`https` when `etcd.ca` is set, else `http`), then an optional key prefix after a `/`,
    /// then an optional `?max_txn_ops=N`: the cluster's `--max-txn-ops`.
    pub fn store_choice(&self) -> Result<StoreChoice, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid(format!("store {:?}: {why}", self.store));
        if self.store == "sled" {
            return Ok(StoreChoice::Sled);
        }
        let Some(rest) = self.store.strip_prefix("etcd://") else {
            return Err(bad("expected \"sled\" or etcd://host:port[,host:port...]"));
        };
        let (rest, max_txn_ops) = match rest.split_once("?max_txn_ops=") {
            Some((rest, n)) => (rest, Some(n.parse::<usize>().map_err(|_| bad("max_txn_ops is not a number"))?)),
            None => (rest, None),
        };
        let (hosts, prefix) = match rest.split_once('/') {
            Some((hosts, prefix)) => (hosts, prefix.to_owned()),
            None => (rest, String::new()),
        };
        let scheme = if self.etcd.ca.is_some() { "https" } else { "http" };
        let endpoints: Vec<String> =
            hosts.split(',').filter(|h| !h.is_empty()).map(|h| format!("{scheme}://{h}")).collect();
        if endpoints.is_empty() {
            return Err(bad("names no etcd endpoint"));
        }
        if prefix.starts_with('/') || hosts.split(',').any(|h| h.ends_with(':')) {
            return Err(bad("endpoints are host:port, without a scheme"));
        }
        Ok(StoreChoice::Etcd { endpoints, prefix, max_txn_ops })
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
// figment's Jail takes closures that return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use std::collections::BTreeSet;

    use figment::Jail;

    use super::*;

    /// Runs `f` with no environment variable but the ones it sets (figment's Jail: a lock held
    /// for the test, and the environment restored after), in a temporary directory.
    fn jailed(f: impl FnOnce(&mut Jail) -> figment::Result<()>) {
        Jail::expect_with(|jail| {
            jail.clear_env();
            f(jail)
        });
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        jailed(|jail| {
            jail.create_file(
                "agenda.toml",
                "public_url = \"https://agenda.example.org\"\n[limits]\nmax_slots = 10\nmax_message_bytes = 1000\n",
            )?;
            let args = ServeArgs { config: Some("agenda.toml".into()), max_slots: Some(20), ..ServeArgs::default() };
            let c = Config::resolve(&args, None).unwrap();
            assert_eq!(c.public_url, "https://agenda.example.org");
            assert_eq!(c.limits.max_slots, 20);
            assert_eq!(c.limits.max_message_bytes, 1000);
            assert_eq!(c.limits.max_participants, 5000);
            let again: Config = toml::from_str(&c.to_toml()).unwrap();
            assert_eq!(again, c, "--print-config output is itself a valid config file");
            Ok(())
        });
    }

    #[test]
    fn an_environment_variable_sets_a_nested_key() {
        jailed(|jail| {
            jail.set_env("AGENDA_MAX_WATCHERS", 7);
            jail.set_env("AGENDA_TLS_CERT", "server.pem");
            jail.set_env("AGENDA_TLS_KEY", "server.key");
            jail.set_env("AGENDA_REQUIRE_READ_TOKEN", true);
            let c = Config::resolve(&ServeArgs::default(), None).unwrap();
            assert_eq!(c.limits.max_watchers, 7);
            assert_eq!(c.tls.cert, Some(PathBuf::from("server.pem")));
            assert!(c.auth.require_read_token);
            jail.set_env("AGENDA_MAX_WATCHERS", "many");
            let err = Config::resolve(&ServeArgs::default(), None).unwrap_err().to_string();
            assert!(err.contains("AGENDA_MAX_WATCHERS"), "the error names the variable: {err}");
            Ok(())
        });
    }

    #[test]
    fn the_environment_overrides_the_file_and_a_flag_overrides_both() {
        jailed(|jail| {
            jail.create_file(
                "agenda.toml",
                "[limits]\nmax_slots = 10\nmax_participants = 11\nmax_message_bytes = 12\n",
            )?;
            jail.set_env("AGENDA_MAX_PARTICIPANTS", 21);
            jail.set_env("AGENDA_MAX_MESSAGE_BYTES", 22);
            let args =
                ServeArgs { config: Some("agenda.toml".into()), max_message_bytes: Some(32), ..ServeArgs::default() };
            let c = Config::resolve(&args, None).unwrap();
            let l = &c.limits;
            assert_eq!((l.max_slots, l.max_participants, l.max_message_bytes), (10, 21, 32));
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_that_names_it() {
        jailed(|jail| {
            jail.create_file("agenda.toml", "pubic_url = \"x\"\n")?;
            let args = ServeArgs { config: Some("agenda.toml".into()), ..ServeArgs::default() };
            let err = Config::resolve(&args, None).unwrap_err();
            assert!(matches!(err, ConfigError::Parse(_)), "{err}");
            assert!(err.to_string().contains("pubic_url"), "{err}");
            jail.create_file("nested.toml", "[limits]\nmax_slot = 3\n")?;
            let args = ServeArgs { config: Some("nested.toml".into()), ..ServeArgs::default() };
            let err = Config::resolve(&args, None).unwrap_err();
            assert!(err.to_string().contains("max_slot"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_and_half_tls_are_refused() {
        jailed(|_| {
            let args = ServeArgs { config: Some("missing.toml".into()), ..ServeArgs::default() };
            assert!(matches!(Config::resolve(&args, None), Err(ConfigError::Read(..))));
            let args = ServeArgs { tls_cert: Some("c.pem".into()), ..ServeArgs::default() };
            assert!(matches!(Config::resolve(&args, None), Err(ConfigError::Invalid(_))));
            Ok(())
        });
    }

    #[test]
    fn the_store_is_sled_by_default_or_an_etcd_cluster_from_flag_or_environment() {
        jailed(|jail| {
            assert_eq!(
                Config::resolve(&ServeArgs::default(), None).unwrap().store_choice().unwrap(),
                StoreChoice::Sled
            );
            jail.set_env("AGENDA_STORE", "etcd://h1:2379,h2:2379/agenda/?max_txn_ops=4096");
            let etcd = Config::resolve(&ServeArgs::default(), None).unwrap().store_choice().unwrap();
            let endpoints = vec!["http://h1:2379".to_owned(), "http://h2:2379".to_owned()];
            assert_eq!(etcd, StoreChoice::Etcd { endpoints, prefix: "agenda/".into(), max_txn_ops: Some(4096) });
            let args = ServeArgs { store: Some("etcd://h3:2379".into()), ..ServeArgs::default() };
            let etcd = Config::resolve(&args, None).unwrap().store_choice().unwrap();
            let endpoints = vec!["http://h3:2379".to_owned()];
            assert_eq!(etcd, StoreChoice::Etcd { endpoints, prefix: String::new(), max_txn_ops: None }, "a flag wins");
            for wrong in ["mysql://h1", "etcd://", "etcd://h1:2379?max_txn_ops=many", "etcd://h1:2379,https://h2:2379"]
            {
                let args = ServeArgs { store: Some(wrong.into()), ..ServeArgs::default() };
                assert!(matches!(Config::resolve(&args, None), Err(ConfigError::Invalid(_))), "{wrong}");
            }
            jail.set_env("AGENDA_ETCD_CA", "etcd-ca.pem");
            let etcd = Config::resolve(&args, None).unwrap().store_choice().unwrap();
            assert!(
                matches!(etcd, StoreChoice::Etcd { endpoints, .. } if endpoints == ["https://h3:2379"]),
                "a CA: TLS"
            );
            jail.set_env("AGENDA_ETCD_USER", "agenda");
            assert!(
                matches!(Config::resolve(&args, None), Err(ConfigError::Invalid(_))),
                "a user needs a password file"
            );
            Ok(())
        });
    }

    #[test]
    fn the_smtp_password_comes_from_file_or_environment_and_is_never_printed() {
        jailed(|jail| {
            jail.create_file(
                "agenda.toml",
                "[smtp]\nurl = \"smtp://agenda@mail.example.org:587\"\npassword = \"from-the-file\"\n",
            )?;
            let args = ServeArgs { config: Some("agenda.toml".into()), ..ServeArgs::default() };
            let c = Config::resolve(&args, None).unwrap();
            assert_eq!(c.smtp.password.as_ref().map(Secret::expose), Some("from-the-file"));
            jail.set_env("AGENDA_SMTP_PASSWORD", "from-the-environment");
            let c = Config::resolve(&args, None).unwrap();
            assert_eq!(c.smtp.password.as_ref().map(Secret::expose), Some("from-the-environment"));
            for shown in [c.to_toml(), format!("{c:?}")] {
                assert!(!shown.contains("from-the"), "{shown}");
                assert!(shown.contains(Secret::MASK), "{shown}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_plain_text_smtp_url_is_refused_off_loopback() {
        jailed(|_| {
            for (url, ok) in [
                ("smtp://127.0.0.1:2525?tls=none", true),
                ("smtp://localhost:2525?tls=none", true),
                ("smtp://mail.example.org:25?tls=none", false),
                ("smtp://agenda:secret@mail.example.org", false),
                ("smtps://agenda@mail.example.org", true),
                ("http://mail.example.org", false),
            ] {
                let args = ServeArgs { smtp_url: Some(url.into()), ..ServeArgs::default() };
                assert_eq!(Config::resolve(&args, None).is_ok(), ok, "{url}");
            }
            Ok(())
        });
    }

    #[test]
    fn every_key_of_the_file_has_an_environment_variable() {
        let mut full = Config::default();
        full.auth.tokens_file = Some("tokens.toml".into());
        full.tls = TlsConfig { cert: Some("c".into()), key: Some("k".into()), client_ca: Some("ca".into()) };
        full.etcd = EtcdConfig { ca: Some("ca".into()), user: Some("u".into()), password_file: Some("p".into()) };
        full.smtp.url = Some("smtp://u@mail.example.org".into());
        full.smtp.password = Some(Secret::new("p"));
        full.reply_mailbox = ReplyMailboxConfig {
            url: Some("imaps://u@h/INBOX".into()),
            password: Some(Secret::new("p")),
            ca: Some("ca".into()),
            ..ReplyMailboxConfig::default()
        };
        fn leaves(prefix: &str, t: &toml::Table, out: &mut BTreeSet<String>) {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    toml::Value::Table(t) => leaves(&key, t, out),
                    _ => {
                        out.insert(key);
                    }
                }
            }
        }
        let mut keys = BTreeSet::new();
        leaves("", &toml::Table::try_from(&full).unwrap(), &mut keys);
        let mapped: BTreeSet<String> = ENV.iter().map(|(k, _)| (*k).to_owned()).collect();
        assert_eq!(keys, mapped);
        let vars: BTreeSet<&str> = ENV.iter().map(|(_, v)| *v).collect();
        assert_eq!(vars.len(), ENV.len(), "one variable per key");
    }

    #[test]
    fn the_reply_mailbox_password_comes_from_the_environment_and_is_never_printed() {
        jailed(|jail| {
            jail.set_env("AGENDA_REPLY_MAILBOX", "imaps://organizer%40example.org@mail.example.org/INBOX");
            jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "hunter2-secret");
            let c = Config::resolve(&ServeArgs::default(), None).unwrap();
            assert_eq!(c.reply_mailbox.password.as_ref().map(Secret::expose), Some("hunter2-secret"));
            let printed = c.to_toml();
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(printed.contains(SECRET_MASK), "{printed}");
            let debug = format!("{c:?} {:?}", c.reply_mailbox_settings().unwrap());
            assert!(!debug.contains("hunter2"), "{debug}");
            jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "123456");
            let c = Config::resolve(&ServeArgs::default(), None).unwrap();
            assert_eq!(c.reply_mailbox.password.as_ref().map(Secret::expose), Some("123456"), "digits are text");
            Ok(())
        });
    }

    #[test]
    fn a_reply_mailbox_without_tls_is_refused_unless_on_loopback() {
        jailed(|jail| {
            jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "p");
            for (url, ok) in [
                ("imaps://u@mail.example.org/INBOX", true),
                ("imap://u@mail.example.org:143/INBOX", true),
                ("imap://u@127.0.0.1:1143/INBOX?tls=none", true),
                ("imap://u@mail.example.org/INBOX?tls=none", false),
                ("imaps://u:pw@mail.example.org/INBOX", false),
                ("pop3://u@mail.example.org/", false),
            ] {
                let args = ServeArgs { reply_mailbox: Some(url.into()), ..ServeArgs::default() };
                assert_eq!(Config::resolve(&args, None).is_ok(), ok, "{url}");
            }
            jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "");
            let args = ServeArgs { reply_mailbox: Some("imaps://u@h/INBOX".into()), ..ServeArgs::default() };
            let err = Config::resolve(&args, None).unwrap_err().to_string();
            assert!(err.contains("password"), "{err}");
            Ok(())
        });
    }
}
