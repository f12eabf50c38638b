//! Configuration of `agenda serve`, and of where the data is for every other command:
//! defaults, then a TOML file (`--config`), then environment variables, then flags;
//! `agenda serve --print-config` shows the result. The commands that open the store and serve
//! nothing resolve the same layers with [`Config::resolve_offline`] and use only the keys of
//! where the data is.
//!
//! `figment` merges the layers (and names the key and the layer in its errors); the flags
//! reach it as [`Overrides`], by key, which the command line fills. Every key has an environment variable, listed in [`ENV`] (and in
//! README.md): `AGENDA_` and the key's name, without its table for the few tables whose keys
//! already say what they are about (`AGENDA_MAX_SLOTS` is `limits.max_slots`), with a short
//! prefix for the others (`AGENDA_FEED_PAST_DAYS`, `AGENDA_TLS_CERT`). Values are written as
//! in TOML (`true`, `42`, bare strings). Other `AGENDA_*` variables are not settings and are
//! ignored here.
//!
//! The files: this one the schema (every key, its type and default); `env.rs` the environment
//! table; `layers.rs` the layering and the command line's overrides; `check.rs` what is
//! refused; `settings.rs` the settings of each subsystem, built from the keys. The
//! subsystems own their settings types and never read this module: it depends on them.
//!
//! Every key of the file, with its default (also in README.md):
//!
//! ```toml
//! data = "./agenda-data"              # sled database directory
//! store = "sled"                      # in data; or "sled:DIR", "etcd://h1:2379,h2:2379[/prefix][?max_txn_ops=N]"
//! grpc_listen = "127.0.0.1:50051"     # internal gRPC API
//! http_listen = "127.0.0.1:8080"      # feeds, /metrics, /healthz
//! demo = false                        # load the demo session first
//! public_url = "http://127.0.0.1:8080"
//! uid_domain = "agenda.invalid"
//! language = "en"                     # of pages and e-mails when reader, person and session name none: en, fr, es
//! shutdown_grace_seconds = 10
//! change_log_revisions = 100000       # how far back WatchSessions can resume
//! request_id_hours = 24               # how long a request_id's first result is kept
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
//! leader_ttl_seconds = 15             # lease of the sender's and the poller's role
//! replica_name = "agenda-1"           # unset: host name and process id
//!
//! [smtp]                              # the built-in sender (src/mail/smtp/); off without a url
//! url = "smtp://agenda@mail.example.org:587"  # STARTTLS; smtps:// implicit TLS;
//!                                     # smtp://127.0.0.1:2525?tls=none (loopback only)
//! password = "..."                    # or AGENDA_SMTP_PASSWORD; never printed
//! rate_per_second = 10                # messages per second at most; 0: no bound
//! retry_max_seconds = 60              # longest wait between retries of a 4xx or a lost connection
//! rescan_seconds = 3600               # how often the sender looks at every coming session
//! ca = "/etc/agenda/relay-ca.pem"     # trust this CA (PEM) alone instead of the system's roots
//! [schedule]
//! check_conflicts = true              # writes report (or, asked to, refuse) the double bookings they create
//! [reply_mailbox]                     # replies from the organizer's mailbox (src/mail/mailbox/)
//! url = "imaps://organizer%40example.org@mail.example.org/INBOX"  # unset: off
//! password = "..."                    # or AGENDA_REPLY_MAILBOX_PASSWORD; printed masked
//! poll_seconds = 60
//! ca = "/etc/agenda/mail-ca.pem"      # trust this CA (PEM) instead of the public roots
//! applied_folder = "Agenda/Applied"   # "/" stands for the server's hierarchy separator
//! refused_folder = "Agenda/Refused"
//! ```

mod check;
mod env;
mod layers;
mod settings;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::Limits;
use crate::mail::mailbox;
use crate::mail::url::UrlError;
use crate::secret::Secret;

pub use env::ENV;
pub use layers::Overrides;
pub use settings::StoreChoice;

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data: PathBuf,
    /// The storage engine: `sled` (in `data`), `sled:DIR`, or an etcd cluster; see [`StoreChoice`].
    pub store: String,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub demo: bool,
    pub public_url: String,
    pub uid_domain: String,
    /// The server's language (`en`, `fr` or `es`): of a page whose reader and session name
    /// none agenda writes, of an e-mail whose person and session name none.
    pub language: String,
    pub shutdown_grace_seconds: u64,
    pub change_log_revisions: u64,
    /// How long the first result of a write's `request_id` (AIP-155) is kept: a retry within
    /// it is answered with that result. At least 1.
    pub request_id_hours: u64,
    pub feeds: FeedsConfig,
    pub limits: LimitsConfig,
    pub cache: CacheConfig,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub etcd: EtcdConfig,
    pub smtp: SmtpConfig,
    pub reply_mailbox: ReplyMailboxConfig,
    pub schedule: ScheduleConfig,
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

/// How to reach an etcd store securely, and how this replica takes part in the elections of
/// the sender and the mailbox poller. The password lives in its own file, so that
/// `--print-config` and the configuration file hold no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdConfig {
    /// The CA (PEM) that signed the members' certificates: endpoints are `https` when set.
    pub ca: Option<PathBuf>,
    pub user: Option<String>,
    /// A file holding the user's password (a final newline is ignored).
    pub password_file: Option<PathBuf>,
    /// The TTL of the lease by which one replica holds the `smtp-sender` or `reply-mailbox`
    /// role. 15 s (client-go's leader election default): a holder killed outright is replaced
    /// within about this long, which invites and replies easily wait, while an etcd leader
    /// election (1-2 s with etcd's default timings) or a pause of a few seconds never costs a
    /// replica its role. At least 2 (etcd's least lease TTL with its default timings).
    pub leader_ttl_seconds: u64,
    /// This replica's name, stored as a role's holder and shown by `/healthz`; unset: the
    /// host name and the process id.
    pub replica_name: Option<String>,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        Self { ca: None, user: None, password_file: None, leader_ttl_seconds: 15, replica_name: None }
    }
}

/// The built-in SMTP sender (`crate::mail::smtp`): on when `url` is set; otherwise the outbox waits
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
    /// A CA (PEM) to trust for the relay instead of the system's roots: organizations run
    /// their relays with certificates from a private CA.
    pub ca: Option<PathBuf>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self { url: None, password: None, rate_per_second: 10, retry_max_seconds: 60, rescan_seconds: 3600, ca: None }
    }
}

/// Double bookings (`crate::app` `schedule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Whether the writes that can double-book someone (CreateSession, UpdateSession, AddSlot,
    /// UpdateSlot, AddParticipant, UpdateParticipant) look for the conflicts they create and
    /// report them in their answers. Off: the answers carry none and `refuse_conflicts` refuses
    /// nothing; ListConflicts and free/busy still answer.
    pub check_conflicts: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self { check_conflicts: true }
    }
}

/// The organizer's mailbox, read for iTIP replies (`crate::mail::mailbox`). Off while `url` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplyMailboxConfig {
    /// `imaps://user@host[:port]/MAILBOX` (implicit TLS), `imap://...` (STARTTLS required), or
    /// `imap://...?tls=none` on a loopback host only; see `crate::mail::url`.
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
            language: "en".into(),
            shutdown_grace_seconds: 10,
            change_log_revisions: 100_000,
            request_id_hours: 24,
            feeds: FeedsConfig::default(),
            limits: LimitsConfig::default(),
            cache: CacheConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            etcd: EtcdConfig::default(),
            smtp: SmtpConfig::default(),
            reply_mailbox: ReplyMailboxConfig::default(),
            schedule: ScheduleConfig::default(),
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
    /// The message says it all (so the error is no source too: the cause would print twice).
    #[error("smtp.url: {0}")]
    SmtpUrl(UrlError),
    #[error("reply_mailbox: {0}")]
    ReplyMailbox(mailbox::SettingsError),
}
