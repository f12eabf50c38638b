//! The built-in SMTP sender: with `smtp.url` configured, one task drains the invite outbox
//! into a mail server, so no external mail loop is needed.
//!
//! The outbox's state lives in the store, never here: each message is rendered from the
//! session's outbox as the store has it just before it is sent, and marked (`invites::mark`)
//! after. That is what makes it safe to kill: a message is marked sent only after the server
//! accepted it, so a crash between the two sends it again after the restart, with the same
//! Message-ID (receivers drop the copy); nothing is ever marked that the server did not accept.
//!
//! Its work follows the writes, not the store's size ([`Outlook`]): it keeps, in memory, the
//! sessions that may have messages to send or blocked ones, with their figures. One full look
//! at every coming session fills it at start and every `rescan_seconds`; after that, a write
//! makes it examine only what the write touched: the sessions in the change log since the
//! revision it read up to (as watchers read it), and the sessions that name a person this
//! process wrote (an address added unblocks their invites). That set is only a hint: lost in a
//! crash, rebuilt at start, and each session in it is read again before anything is sent.
//!
//! The loop: take the due messages of the sessions with the oldest pending ones, send each as
//! it was rendered (its bytes, what lettre's `send_raw` does: an envelope from the organizer
//! to the person) over one kept connection, at most `rate_per_second`;
//! then wait for the next durable write (`Agenda::subscribe`, as watchers do), a person's
//! write, or a period (sessions that ended). A 4xx answer, a lost connection or a TLS failure
//! leaves the message pending and retries after an exponential backoff with jitter, capped at
//! `retry_max_seconds`. A 5xx answer to the message marks it failed, with the server's answer
//! as the reason; a 5xx to the session itself (greeting, login) is the configuration's fault,
//! not the message's, and is retried like a 4xx.
//!
//! `lettre` speaks SMTP (STARTTLS and implicit TLS through rustls with ring, the provider the
//! gRPC port already uses; the system's root certificates). The one connection is kept here
//! rather than in lettre's pool, because the pool opens its sockets without TCP_NODELAY: lettre
//! writes a message's body and its final `.` in two writes, and Nagle's algorithm held the
//! second until the server's delayed ACK, about 40 ms per message (20 messages/s on loopback).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Category, Severity};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::app::Agenda;
use crate::config::Config;
use crate::domain::{InviteMessage, PersonId, SessionId, Timestamp};
use crate::error::Error;
use crate::ics::feed::FeedSettings;
use crate::invites::{self, Examined, OutboxStats, Outcome, RenderedInvite};
use crate::metrics::Metrics;

/// Messages taken from the outbox at a time: small enough that a write made meanwhile is
/// seen soon, large enough that the listing is not redone per message.
const BATCH: usize = 100;

/// How often the sender wakes without a write: sessions end without one (they then leave
/// the outlook, and the metrics' figures).
const PERIOD: Duration = Duration::from_secs(30);

/// The first wait after a failure; it doubles on each failure in a row, up to the cap.
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Longest an SMTP command may take before the connection counts as lost.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain connect, then STARTTLS, which is required (no fallback to clear text).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://...?tls=none`: clear text, to a loopback host only (a local relay, tests).
    None,
}

/// Where and how to send: the parsed `smtp.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub security: Security,
    /// A name or an IP address (without brackets).
    pub host: String,
    pub port: u16,
    /// The login, when the server wants one (the password is configured apart).
    pub user: Option<String>,
}

/// Why an `smtp.url` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a URL: {0}")]
    Syntax(String),
    #[error("expected smtp:// (STARTTLS) or smtps:// (implicit TLS), not {0}://")]
    Scheme(String),
    #[error("names no host")]
    NoHost,
    #[error("holds a password: set smtp.password in the file or AGENDA_SMTP_PASSWORD instead")]
    Password,
    #[error("has a path; expected scheme://[user@]host[:port]")]
    Path,
    #[error("unknown option {0:?}: the only one is tls=none")]
    Option(String),
    #[error("tls=none sends the invites and the password in clear text: only to a loopback host, not {0}")]
    PlainOffLoopback(String),
}

impl SmtpUrl {
    /// `smtp://[user@]host[:port]` (port 587, STARTTLS), `smtps://[user@]host[:port]` (port
    /// 465), `smtp://host[:port]?tls=none` (port 25, loopback hosts only).
    pub fn parse(text: &str) -> Result<SmtpUrl, UrlError> {
        let url = url::Url::parse(text).map_err(|e| UrlError::Syntax(e.to_string()))?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Tls,
            other => return Err(UrlError::Scheme(other.to_owned())),
        };
        if url.password().is_some() {
            return Err(UrlError::Password);
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(UrlError::Path);
        }
        for (key, value) in url.query_pairs() {
            match (&*key, &*value, security) {
                ("tls", "none", Security::StartTls) => security = Security::None,
                _ => return Err(UrlError::Option(format!("{key}={value}"))),
            }
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(UrlError::NoHost)?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if security == Security::None && !is_loopback(&host) {
            return Err(UrlError::PlainOffLoopback(host));
        }
        let default_port = match security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        };
        let user = match url.username() {
            "" => None,
            user => Some(percent_encoding::percent_decode_str(user).decode_utf8_lossy().into_owned()),
        };
        Ok(SmtpUrl { security, host, port: url.port().unwrap_or(default_port), user })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The sender, ready to run (no connection is made before the first message).
pub struct Sender {
    url: SmtpUrl,
    /// The server's name to verify its certificate against (STARTTLS and implicit TLS).
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    /// The one connection, reused from message to message; reopened when lost or broken.
    connection: Option<AsyncSmtpConnection>,
    /// What the messages are rendered with (UIDs, the fallback organizer).
    feeds: FeedSettings,
    /// The least time between two messages (the rate bound); zero: no bound.
    spacing: Duration,
    /// The backoff's cap.
    retry_max: Duration,
    /// How often every coming session is examined again.
    rescan: Duration,
    /// `host:port`, for the logs.
    server: String,
}

impl Sender {
    /// The sender `config` asks for, or `None` without `smtp.url` (the outbox then waits for
    /// an external sender over gRPC).
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Sender>> {
        let Some(text) = &config.smtp.url else { return Ok(None) };
        let url = SmtpUrl::parse(text).map_err(|e| anyhow::anyhow!("smtp.url: {e}"))?;
        let tls = match url.security {
            Security::StartTls | Security::Tls => Some(TlsParameters::new(url.host.clone())?),
            Security::None => None,
        };
        let credentials = url.user.as_ref().map(|user| {
            let password = config.smtp.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        let rate = config.smtp.rate_per_second;
        Ok(Some(Sender {
            tls,
            credentials,
            connection: None,
            feeds: config.feeds().settings,
            spacing: if rate == 0 { Duration::ZERO } else { Duration::from_secs(1) / rate },
            retry_max: Duration::from_secs(config.smtp.retry_max_seconds),
            rescan: Duration::from_secs(config.smtp.rescan_seconds),
            server: format!("{}:{}", url.host, url.port),
            url,
        }))
    }

    /// Drains the outbox until `stop` turns true. At the stop, a message in flight is
    /// abandoned, unmarked (it is sent again after the restart).
    pub async fn run(mut self, agenda: Agenda, metrics: Arc<Metrics>, mut stop: watch::Receiver<bool>) {
        tracing::info!(server = %self.server, "sending invites over SMTP");
        let mut outlook = Outlook::new(&agenda, self.rescan);
        let mut backoff = Backoff::new(self.retry_max);
        let mut next_send = Instant::now();
        loop {
            let wait = match self.drain(&agenda, &metrics, &mut outlook, &mut stop, &mut next_send).await {
                Drained::More => continue,
                Drained::Stopped => break,
                Drained::Idle => {
                    backoff.reset();
                    outlook.report(&metrics);
                    None
                }
                Drained::Retry => {
                    outlook.report(&metrics);
                    Some(backoff.next())
                }
            };
            let woken = async {
                match wait {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => outlook.wait(PERIOD).await,
                }
            };
            tokio::select! {
                () = woken => {}
                () = stopped(&mut stop) => break,
            }
        }
        if let Some(mut connection) = self.connection.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), connection.quit()).await;
        }
        tracing::info!("the SMTP sender stopped");
    }

    /// Sends one batch of due messages, each marked after the server's answer.
    async fn drain(
        &mut self,
        agenda: &Agenda,
        metrics: &Metrics,
        outlook: &mut Outlook,
        stop: &mut watch::Receiver<bool>,
        next_send: &mut Instant,
    ) -> Drained {
        if *stop.borrow() {
            return Drained::Stopped;
        }
        let batch = match outlook.due(agenda, &self.feeds, metrics, BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "listing the due invites failed; retrying");
                metrics.smtp_error(ErrorKind::Store.name());
                return Drained::Retry;
            }
        };
        if batch.is_empty() {
            return Drained::Idle;
        }
        // A session-level failure (no server, TLS, login) is found here, before any message
        // is at stake, so it can never be taken for a refusal of the message.
        let connected = tokio::select! {
            r = self.connected() => r,
            () = stopped(stop) => return Drained::Stopped,
        };
        if let Err((kind, why)) = connected {
            return retry(metrics, &self.server, kind, &why);
        }
        for invite in &batch {
            tokio::select! {
                () = tokio::time::sleep_until(*next_send) => {}
                () = stopped(stop) => return Drained::Stopped,
            }
            *next_send = Instant::now().max(*next_send) + self.spacing;
            let sent = tokio::select! {
                r = self.send(invite) => r,
                () = stopped(stop) => {
                    // Cut mid-transaction: closed without a final `.`, the server drops it.
                    self.connection = None;
                    return Drained::Stopped;
                }
            };
            let outcome = match sent {
                Ok(()) => {
                    metrics.smtp_sent();
                    Outcome::Sent
                }
                Err(Failure::Refused(reason)) => {
                    tracing::warn!(to = %invite.to, message_id = %invite.message_id, %reason, "the mail server refused an invite");
                    metrics.smtp_error(ErrorKind::Permanent.name());
                    metrics.smtp_failed();
                    Outcome::Failed { reason }
                }
                Err(Failure::Retry(kind, why)) => return retry(metrics, &self.server, kind, &why),
            };
            let failed = matches!(outcome, Outcome::Failed { .. });
            if let Err(e) = invites::mark(agenda, &invite.message, outcome).await {
                // Not marked: it is sent again, with the same Message-ID (the crash window).
                tracing::warn!(error = %e, message_id = %invite.message_id, "marking an invite failed; retrying");
                metrics.smtp_error(ErrorKind::Store.name());
                return Drained::Retry;
            }
            outlook.handled(&invite.message, failed);
        }
        if outlook.has_pending() { Drained::More } else { Drained::Idle }
    }

    /// A usable connection: the kept one if it still answers a NOOP, else a new one (TCP with
    /// TCP_NODELAY, TLS, EHLO, STARTTLS, login).
    async fn connected(&mut self) -> Result<(), (ErrorKind, String)> {
        if let Some(c) = &mut self.connection {
            if !c.has_broken() && c.test_connected().await {
                return Ok(());
            }
            self.connection = None;
        }
        let opened = tokio::time::timeout(COMMAND_TIMEOUT, self.connect()).await;
        self.connection = Some(opened.map_err(|_| (ErrorKind::Timeout, "connecting timed out".to_owned()))??);
        Ok(())
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, (ErrorKind, String)> {
        let hello = ClientId::default();
        let smtp = |e: lettre::transport::smtp::Error| (kind_of(&e), e.to_string());
        let mut connection = match (self.url.security, &self.tls) {
            (Security::Tls, Some(tls)) => {
                // Implicit TLS goes through lettre's own connect: it has no way to take a TLS
                // stream opened here (so no TCP_NODELAY on this path).
                let address = (self.url.host.as_str(), self.url.port);
                AsyncSmtpConnection::connect_tokio1(address, Some(COMMAND_TIMEOUT), &hello, Some(tls.clone()), None)
                    .await
                    .map_err(smtp)?
            }
            _ => {
                let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
                    .await
                    .map_err(|e| (ErrorKind::Connection, format!("connecting: {e}")))?;
                tcp.set_nodelay(true).map_err(|e| (ErrorKind::Connection, format!("TCP_NODELAY: {e}")))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await.map_err(smtp)?
            }
        };
        if let (Security::StartTls, Some(tls)) = (self.url.security, &self.tls) {
            // Required: without STARTTLS on offer, nothing is sent in clear text.
            connection.starttls(tls.clone(), &hello).await.map_err(|e| (ErrorKind::Tls, e.to_string()))?;
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await.map_err(smtp)?;
        }
        Ok(connection)
    }

    /// One message, as rendered, from the organizer to the person, on the connection
    /// [`Sender::connected`] opened.
    async fn send(&mut self, invite: &RenderedInvite) -> Result<(), Failure> {
        let address = |a: &str| {
            a.parse::<Address>().map_err(|e| Failure::Refused(format!("not an address for SMTP: {a:?}: {e}")))
        };
        let envelope = Envelope::new(Some(address(&invite.from)?), vec![address(&invite.to)?])
            .map_err(|e| Failure::Refused(e.to_string()))?;
        if self.connection.is_none() {
            self.connected().await.map_err(|(kind, why)| Failure::Retry(kind, why))?;
        }
        let connection = self.connection.as_mut().expect("connected above");
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, connection.send(&envelope, invite.email.as_bytes())).await;
        // A timeout leaves the session in an unknown state; lettre closes one after any failed
        // command. Either way, a new connection next time.
        if sent.is_err() || connection.has_broken() {
            self.connection = None;
        }
        match sent {
            Err(_) => Err(Failure::Retry(ErrorKind::Timeout, "the server did not answer in time".to_owned())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(match e.status() {
                Some(code)
                    if code.severity == Severity::PermanentNegativeCompletion && !session_level(code.category) =>
                {
                    let answer = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
                    Failure::Refused(format!("{code} {answer}").trim_end().to_owned())
                }
                _ => Failure::Retry(kind_of(&e), e.to_string()),
            }),
        }
    }
}

/// Whether a reply code's category says the session is refused (x2z connection, x3z login),
/// not the message.
fn session_level(category: Category) -> bool {
    matches!(category, Category::Connections | Category::Unspecified3)
}

/// What a batch ended with.
enum Drained {
    /// Nothing more is due: wait for a write or the period.
    Idle,
    /// The batch was full: look again at once.
    More,
    /// A failure that may pass: wait the backoff.
    Retry,
    /// Shutdown.
    Stopped,
}

/// Why a message was not sent.
enum Failure {
    /// The server refused it for good: its answer.
    Refused(String),
    /// It may pass: the message stays pending.
    Retry(ErrorKind, String),
}

/// The kinds of SMTP failure the metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A 4xx answer.
    Transient,
    /// A 5xx answer to a message: it is marked failed.
    Permanent,
    /// A 5xx answer to the session (greeting, login): the configuration's fault.
    Session,
    /// No connection, or it was lost.
    Connection,
    Timeout,
    Tls,
    /// An answer the client could not read, or a client-side failure.
    Protocol,
    /// The outbox could not be read or marked.
    Store,
}

impl ErrorKind {
    /// The metrics label.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Session => "session",
            ErrorKind::Connection => "connection",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Store => "store",
        }
    }
}

fn kind_of(e: &lettre::transport::smtp::Error) -> ErrorKind {
    if e.is_transient() {
        ErrorKind::Transient
    } else if e.is_permanent() {
        ErrorKind::Session
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_tls() {
        ErrorKind::Tls
    } else if e.is_response() || e.is_client() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Connection
    }
}

fn retry(metrics: &Metrics, server: &str, kind: ErrorKind, why: &str) -> Drained {
    tracing::warn!(%server, kind = kind.name(), error = %why, "SMTP failed; the invites stay pending and are retried");
    metrics.smtp_error(kind.name());
    Drained::Retry
}

/// Change log entries read at once.
const CHANGES_BATCH: usize = 256;

/// What the sender knows of the outbox between two full looks: the sessions that may have
/// pending or blocked messages, with their figures as last examined, and what the writes
/// since touched. A hint: the store stays the truth (each session is read again before its
/// messages are sent), and a crash loses nothing, since a full look starts each run.
///
/// The figures (pending, blocked, oldest pending) are kept from the examinations and the
/// sender's own outcomes, without a look at the whole store: between two full looks they miss
/// what this process was not told of (a person changed through another replica), and the
/// oldest pending time of a session stays that of its oldest message until the session is
/// examined again or has nothing pending.
struct Outlook {
    /// Sessions with pending or blocked messages as last examined; none ended.
    sessions: HashMap<SessionId, Known>,
    /// Sessions a write touched since they were examined.
    touched: HashSet<SessionId>,
    /// People written since, whose sessions are still to be looked up.
    people: Vec<PersonId>,
    /// The change log is read up to this revision.
    revision: u64,
    /// Durable session writes (as watchers get them): only a wake-up, the change log says what.
    writes: broadcast::Receiver<u64>,
    /// The people this process writes.
    people_written: broadcast::Receiver<PersonId>,
    /// When the next full look is due; now when something was missed (a lagging channel, a
    /// change log pruned past our revision).
    next_scan: Instant,
    rescan: Duration,
}

/// One session's figures, and when it ends (then it leaves the outlook).
struct Known {
    end: Timestamp,
    stats: OutboxStats,
}

/// Keeps the figures of an examined session, or forgets it when it has nothing to send and
/// nothing blocked.
fn keep(sessions: &mut HashMap<SessionId, Known>, x: &Examined) {
    let stats = x.stats();
    if stats.pending + stats.blocked > 0 {
        sessions.insert(x.id().clone(), Known { end: x.end(), stats });
    } else {
        sessions.remove(x.id());
    }
}

impl Outlook {
    /// Subscribed before anything is read, so no write falls between.
    fn new(agenda: &Agenda, rescan: Duration) -> Self {
        Self {
            sessions: HashMap::new(),
            touched: HashSet::new(),
            people: Vec::new(),
            revision: agenda.durable_revision(),
            writes: agenda.subscribe(),
            people_written: agenda.subscribe_people(),
            next_scan: Instant::now(),
            rescan,
        }
    }

    /// The due messages of the sessions with the oldest pending ones, rendered from the
    /// store's state, at most `limit`, once the writes since the last call are accounted for.
    async fn due(
        &mut self,
        agenda: &Agenda,
        settings: &FeedSettings,
        metrics: &Metrics,
        limit: usize,
    ) -> Result<Vec<RenderedInvite>, Error> {
        self.follow(agenda).await?;
        if Instant::now() >= self.next_scan {
            self.scan(agenda, metrics).await?;
        }
        let now = Timestamp::now();
        self.sessions.retain(|_, k| k.end > now);
        // Examined now, and kept for the batch when they have something to send.
        let mut fresh: HashMap<SessionId, Examined> = HashMap::new();
        let touched: Vec<SessionId> = self.touched.iter().cloned().collect();
        for id in touched {
            if let Some(x) = self.examine(agenda, metrics, &id, now).await?
                && x.stats().pending > 0
                && fresh.len() < limit
            {
                fresh.insert(id.clone(), x);
            }
            self.touched.remove(&id);
        }
        let mut oldest: Vec<(&SessionId, &Known)> = self.sessions.iter().filter(|(_, k)| k.stats.pending > 0).collect();
        oldest.sort_by_key(|(id, k)| (k.stats.oldest_pending, *id));
        let mut chosen = Vec::new();
        let mut enough = 0;
        for (id, k) in oldest {
            if enough >= limit as u64 {
                break;
            }
            enough += k.stats.pending;
            chosen.push(id.clone());
        }
        let mut batch = Vec::with_capacity(chosen.len());
        for id in chosen {
            let x = match fresh.remove(&id) {
                Some(x) => Some(x),
                None => self.examine(agenda, metrics, &id, now).await?,
            };
            batch.extend(x);
        }
        invites::due_of(settings, &batch.iter().collect::<Vec<_>>(), limit)
    }

    /// Reads session `id`'s outbox and keeps its figures (or forgets it: gone, ended, nothing
    /// left to send and nothing blocked).
    async fn examine(
        &mut self,
        agenda: &Agenda,
        metrics: &Metrics,
        id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<Examined>, Error> {
        metrics.smtp_session_examined();
        let x = invites::examine(agenda, id, now).await?;
        match &x {
            Some(x) => keep(&mut self.sessions, x),
            None => drop(self.sessions.remove(id)),
        }
        Ok(x)
    }

    /// Notes what the writes since the last call touched: the change log's sessions, and the
    /// sessions naming a person written.
    async fn follow(&mut self, agenda: &Agenda) -> Result<(), Error> {
        while !matches!(self.writes.try_recv(), Err(broadcast::error::TryRecvError::Empty)) {}
        loop {
            match self.people_written.try_recv() {
                Ok(id) => self.people.push(id),
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.next_scan = Instant::now(),
                Err(_) => break,
            }
        }
        let upto = agenda.durable_revision();
        while self.revision < upto {
            if self.revision + 1 < agenda.changes_from().await? {
                // Pruned past what we read: only a full look can tell what changed.
                self.revision = upto;
                self.next_scan = Instant::now();
                break;
            }
            let changes = agenda.changes_between(self.revision, upto, CHANGES_BATCH).await?;
            let Some(last) = changes.last() else {
                self.revision = upto;
                break;
            };
            self.revision = last.revision;
            self.touched.extend(changes.into_iter().map(|c| c.session.id));
        }
        while let Some(person) = self.people.last() {
            self.touched.extend(invites::sessions_naming(agenda, person).await?);
            self.people.pop();
        }
        Ok(())
    }

    /// Examines every coming session: at start, every `rescan`, and when something was missed.
    async fn scan(&mut self, agenda: &Agenda, metrics: &Metrics) -> Result<(), Error> {
        // Whatever is written from here on is followed as usual; what came before, the look covers.
        let revision = agenda.durable_revision();
        while !matches!(self.people_written.try_recv(), Err(broadcast::error::TryRecvError::Empty)) {}
        let now = Timestamp::now();
        let mut sessions = HashMap::new();
        for s in invites::coming(agenda, now).await? {
            metrics.smtp_session_examined();
            keep(&mut sessions, &invites::examine_session(agenda, s, now).await?);
        }
        self.sessions = sessions;
        self.touched.clear();
        self.people.clear();
        self.revision = revision;
        self.next_scan = Instant::now() + self.rescan;
        Ok(())
    }

    /// A message the server answered: sent, or refused for good.
    fn handled(&mut self, m: &InviteMessage, failed: bool) {
        let Some(k) = self.sessions.get_mut(&m.session) else { return };
        k.stats.pending = k.stats.pending.saturating_sub(1);
        k.stats.failed += u64::from(failed);
        if k.stats.pending == 0 {
            k.stats.oldest_pending = None;
            if k.stats.blocked == 0 {
                self.sessions.remove(&m.session);
            }
        }
    }

    /// Whether some session may have messages to send.
    fn has_pending(&self) -> bool {
        self.sessions.values().any(|k| k.stats.pending > 0)
    }

    /// Refreshes the metrics' outbox figures.
    fn report(&self, metrics: &Metrics) {
        let s = self.sessions.values().fold(OutboxStats::default(), |a, k| a + k.stats);
        metrics.outbox(s.pending, s.blocked, s.oldest_pending.map(|t| t.as_second()));
    }

    /// Waits for a write (of a session or a person) or `period`.
    async fn wait(&mut self, period: Duration) {
        let woken = async {
            tokio::select! {
                _ = self.writes.recv() => None,
                r = self.people_written.recv() => Some(r),
            }
        };
        match tokio::time::timeout(period, woken).await {
            Ok(Some(Ok(person))) => self.people.push(person),
            Ok(Some(Err(broadcast::error::RecvError::Lagged(_)))) => self.next_scan = Instant::now(),
            _ => {}
        }
    }
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Exponential backoff with jitter: each wait is drawn from the upper half of a range that
/// doubles with each failure in a row, up to the cap, so that many senders behind one relay
/// do not retry in step.
struct Backoff {
    current: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self { current: FIRST_RETRY.min(max), max }
    }

    fn reset(&mut self) {
        self.current = FIRST_RETRY.min(self.max);
    }

    fn next(&mut self) -> Duration {
        let range = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = range / 2;
        let jitter = getrandom::u64().unwrap_or(0) % (half.as_millis() as u64 + 1);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_security_the_port_and_the_user() {
        let parsed = |s: &str| SmtpUrl::parse(s).unwrap();
        assert_eq!(
            parsed("smtp://agenda@mail.example.org"),
            SmtpUrl {
                security: Security::StartTls,
                host: "mail.example.org".into(),
                port: 587,
                user: Some("agenda".into())
            }
        );
        assert_eq!(parsed("smtps://mail.example.org:2465").port, 2465);
        assert_eq!(parsed("smtps://mail.example.org").security, Security::Tls);
        assert_eq!(parsed("smtp://me%40example.org@mail.example.org").user.as_deref(), Some("me@example.org"));
        let plain = parsed("smtp://[::1]:2525?tls=none");
        assert_eq!((plain.security, plain.host.as_str(), plain.port), (Security::None, "::1", 2525));
    }

    #[test]
    fn urls_that_would_leak_or_mislead_are_refused() {
        let refused = |s: &str| SmtpUrl::parse(s).unwrap_err();
        assert_eq!(refused("smtp://a:secret@mail.example.org"), UrlError::Password);
        assert!(matches!(refused("smtp://mail.example.org?tls=none"), UrlError::PlainOffLoopback(_)));
        assert!(matches!(refused("smtps://127.0.0.1?tls=none"), UrlError::Option(_)));
        assert!(matches!(refused("smtp://mail.example.org?tls=maybe"), UrlError::Option(_)));
        assert!(matches!(refused("imap://mail.example.org"), UrlError::Scheme(_)));
        assert_eq!(refused("smtp://mail.example.org/inbox"), UrlError::Path);
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::new(Duration::from_secs(4));
        let waits: Vec<Duration> = (0..6).map(|_| b.next()).collect();
        let ranges = [500, 1000, 2000, 4000, 4000, 4000].map(Duration::from_millis);
        for (wait, range) in waits.iter().zip(ranges) {
            assert!(*wait >= range / 2 && *wait <= range, "{wait:?} within the upper half of {range:?}");
        }
        b.reset();
        assert!(b.next() <= FIRST_RETRY);
    }
}
