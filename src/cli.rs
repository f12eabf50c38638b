//! The flags of the command line that become configuration: `agenda serve`'s ([`ServeArgs`]),
//! where the data is for every command that opens the store ([`StoreArgs`]), and the store
//! directory every command takes ([`DataDir`]). A module of the binary: the library's
//! configuration knows no flag, it takes the [`Overrides`] these fill.
//!
//! The environment variables are figment's layer (`agenda::config::ENV`), not clap's, so that
//! a flag always wins over the environment, and so that a variable set on the host for
//! `serve` never counts as a flag given to another command (clap would refuse it as one).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use agenda::config::{Config, Overrides};

/// Where the data is: the configuration file and the storage engine. `serve` takes them, and
/// so does every command that opens the store, resolving the same layers.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// TOML configuration file, or AGENDA_CONFIG (`serve --print-config` shows every key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Storage engine: `sled` (default, in --data), `sled:DIR`, or
    /// `etcd://host1:2379,host2:2379[/prefix]` (builds with `--features etcd`); or AGENDA_STORE,
    /// or the file's `store`.
    #[arg(long)]
    pub store: Option<String>,
}

/// `--config`, else AGENDA_CONFIG (read here, not by clap: see the module's header).
pub fn config_file(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_owned).or_else(|| std::env::var_os("AGENDA_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from))
}

impl StoreArgs {
    /// The configuration of a command that opens the store and serves nothing: `data` is
    /// `--data`, `more` the command's own flags by key ([`Config::resolve_offline`] has what
    /// is checked). `--data` with a store elsewhere is refused, as any flag that goes unused.
    pub fn resolve_offline(&self, data: Option<PathBuf>, more: Overrides) -> anyhow::Result<Config> {
        let file = config_file(self.config.as_deref());
        let config =
            Config::resolve_offline(file.as_deref(), more.set("data", data.clone()).set("store", self.store.clone()))?;
        if let Some(dir) = data
            && config.store != "sled"
        {
            anyhow::bail!(
                "--data {}: not used, the store is {} (from --store, AGENDA_STORE or the configuration file)",
                dir.display(),
                config.store
            );
        }
        Ok(config)
    }
}

/// Flags of `agenda serve`. Unset flags leave the environment's, the file's or the default
/// value.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub place: StoreArgs,
    /// Print the resolved configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
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
    /// CA (PEM) to trust for the SMTP relay instead of the system's roots.
    #[arg(long)]
    pub smtp_ca: Option<PathBuf>,
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

/// Where the sled store lives: `--data DIR` (else AGENDA_DATA, else the file's `data`), for
/// every command.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Directory of the sled database (created if missing; default ./agenda-data), or
    /// AGENDA_DATA.
    #[arg(long = "data", global = true)]
    pub path: Option<PathBuf>,
}

impl ServeArgs {
    /// The flags set, by the key each one overrides; `data` is `--data`.
    pub fn overrides(&self, data: Option<PathBuf>) -> Overrides {
        let on = |flag: bool| flag.then_some(true);
        Overrides::default()
            .set("data", data)
            .set("store", self.place.store.clone())
            .set("grpc_listen", self.grpc_listen)
            .set("http_listen", self.http_listen)
            .set("demo", on(self.demo))
            .set("public_url", self.public_url.clone())
            .set("uid_domain", self.uid_domain.clone())
            .set("shutdown_grace_seconds", self.shutdown_grace_seconds)
            .set("feeds.refresh_seconds", self.feed_refresh_seconds)
            .set("feeds.past_days", self.feed_past_days)
            .set("feeds.future_days", self.feed_future_days)
            .set("feeds.organizer_email", self.feed_organizer_email.clone())
            .set("limits.max_slots", self.max_slots)
            .set("limits.max_participants", self.max_participants)
            .set("limits.max_message_bytes", self.max_message_bytes)
            .set("limits.max_concurrent_requests", self.max_concurrent_requests)
            .set("limits.request_timeout_seconds", self.request_timeout_seconds)
            .set("auth.tokens_file", self.tokens_file.clone())
            .set("auth.require_read_token", on(self.require_read_token))
            .set("auth.insecure_no_auth", on(self.insecure_no_auth))
            .set("tls.cert", self.tls_cert.clone())
            .set("tls.key", self.tls_key.clone())
            .set("tls.client_ca", self.tls_client_ca.clone())
            .set("smtp.url", self.smtp_url.clone())
            .set("smtp.rate_per_second", self.smtp_rate_per_second)
            .set("smtp.retry_max_seconds", self.smtp_retry_max_seconds)
            .set("smtp.ca", self.smtp_ca.clone())
            .set("reply_mailbox.url", self.reply_mailbox.clone())
            .set("reply_mailbox.poll_seconds", self.reply_mailbox_poll_seconds)
            .set("reply_mailbox.ca", self.reply_mailbox_ca.clone())
    }

    /// The configuration these flags, `data`, the file they name and the environment resolve to.
    pub fn resolve(&self, data: Option<PathBuf>) -> Result<Config, agenda::config::ConfigError> {
        Config::resolve(config_file(self.place.config.as_deref()).as_deref(), self.overrides(data))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    /// Every flag lands on its key: a key misspelt in [`ServeArgs::overrides`] would be refused
    /// (the file's keys are closed), and one mixed up would show here.
    #[test]
    // figment's Jail takes a closure that returns figment's (large) error type.
    #[allow(clippy::result_large_err)]
    fn every_flag_overrides_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let line = "agenda --store etcd://h:2379 --grpc-listen 127.0.0.1:1 --http-listen 127.0.0.1:2 --demo \
                --public-url https://a.example.org --uid-domain a.example.org --feed-refresh-seconds 3 \
                --feed-past-days 4 --feed-future-days 5 --feed-organizer-email o@example.org --max-slots 6 \
                --max-participants 7 --max-message-bytes 8 --max-concurrent-requests 9 \
                --request-timeout-seconds 10 --tokens-file t.toml --require-read-token --insecure-no-auth \
                --tls-cert c.pem --tls-key k.pem --tls-client-ca ca.pem --shutdown-grace-seconds 11 \
                --smtp-url smtps://u@mail.example.org --smtp-rate-per-second 12 --smtp-retry-max-seconds 13 --smtp-ca s.pem \
                --reply-mailbox imaps://u@mail.example.org/INBOX --reply-mailbox-poll-seconds 14 \
                --reply-mailbox-ca m.pem";
            jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "p");
            let args = Serve::parse_from(line.split_whitespace()).args;
            let c = args.resolve(Some("d".into())).expect("every flag is a key");
            assert_eq!((c.data.to_str(), c.store.as_str()), (Some("d"), "etcd://h:2379"));
            assert_eq!((c.grpc_listen.port(), c.http_listen.port(), c.demo), (1, 2, true));
            assert_eq!((c.public_url.as_str(), c.uid_domain.as_str()), ("https://a.example.org", "a.example.org"));
            let f = &c.feeds;
            assert_eq!(
                (f.refresh_seconds, f.past_days, f.future_days, f.organizer_email.as_str()),
                (3, 4, 5, "o@example.org")
            );
            let l = &c.limits;
            assert_eq!((l.max_slots, l.max_participants, l.max_message_bytes, l.max_concurrent_requests), (6, 7, 8, 9));
            assert_eq!((l.request_timeout_seconds, c.shutdown_grace_seconds), (10, 11));
            let a = &c.auth;
            assert_eq!(
                (a.tokens_file.as_deref(), a.require_read_token, a.insecure_no_auth),
                (Some("t.toml".as_ref()), true, true)
            );
            let t = &c.tls;
            assert_eq!(
                (t.cert.as_deref(), t.key.as_deref(), t.client_ca.as_deref()),
                (Some("c.pem".as_ref()), Some("k.pem".as_ref()), Some("ca.pem".as_ref()))
            );
            let s = &c.smtp;
            assert_eq!(
                (s.url.as_deref(), s.rate_per_second, s.retry_max_seconds, s.ca.as_deref()),
                (Some("smtps://u@mail.example.org"), 12, 13, Some("s.pem".as_ref()))
            );
            let m = &c.reply_mailbox;
            assert_eq!(
                (m.url.as_deref(), m.poll_seconds, m.ca.as_deref()),
                (Some("imaps://u@mail.example.org/INBOX"), 14, Some("m.pem".as_ref()))
            );
            Ok(())
        });
    }
}
