//! The built-in SMTP sender: with `smtp.url` configured, one task drains the invite outbox
//! into a mail server, so no external mail loop is needed.
//!
//! The outbox's state lives in the store, never here: each message is rendered from the
//! session's outbox as the store has it just before it is sent, and marked (`invites::mark`)
//! after. That is what makes it safe to kill: a message is marked sent only after the server
//! accepted it, so a crash between the two sends it again after the restart, with the same
//! Message-ID (receivers drop the copy); nothing is ever marked that the server did not accept.
//!
//! Its work follows the writes, not the store's size (`tracker.rs`, the sessions to look at):
//! it keeps, in memory, the sessions that may have messages to send or blocked ones, with
//! their figures. One full look
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
//!
//! Among replicas on one etcd cluster, every one is configured alike and one sends: the loop
//! runs while this replica holds the `smtp-sender` role (`app::roles`), stops (cutting a
//! message in flight) when the role's lease is about to lapse, and waits to win it again.
//! Each mark carries the term's fence, so a mark by a replica that lost the role is refused
//! and the message stays pending for the new holder, which sends it with the same Message-ID.
//!
//! The files: this one the loop; `connection.rs` the kept connection and the reading of the
//! server's answers; `tracker.rs` the sessions to look at; `backoff.rs` the wait between retries.

mod backoff;
mod connection;
mod tracker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::app::{Agenda, Fence, Role};
use crate::ics::feed::CalendarSettings;
use crate::invites::{self, Outcome};
use crate::mail::url::{MailUrl, Protocol, UrlError};
use crate::metrics::Metrics;
use crate::secret::Secret;
use backoff::Backoff;
pub use connection::ErrorKind;
use connection::{Connection, Failure};
use tracker::SessionTracker;

/// Messages taken from the outbox at a time: small enough that a write made meanwhile is
/// seen soon, large enough that the listing is not redone per message.
const BATCH: usize = 100;

/// How often the sender wakes without a write: sessions end without one (they then leave
/// the tracker, and the metrics' figures).
const PERIOD: Duration = Duration::from_secs(30);

/// The sender's checked settings: `[smtp]` of the configuration, when its `url` is set.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Where and how to send: an SMTP URL (see [`crate::mail::url`]).
    pub url: MailUrl,
    /// The login's password, used when the URL names a user; [`Secret`] never prints it.
    pub password: Option<Secret>,
    /// Messages per second at most (a relay's limits, the receivers' patience); 0: no bound.
    pub rate_per_second: u32,
    /// The cap of the exponential backoff after a 4xx answer or a lost connection.
    pub retry_max: Duration,
    /// How often every coming session is examined again. Between two such looks the sender
    /// follows the writes, so this only bounds how long something no write announced (a
    /// person changed through another replica) goes unseen.
    pub rescan: Duration,
    /// A CA (PEM file) to verify the relay's certificate against, instead of the system's
    /// roots; read when the sender is built, so a bad file stops the start.
    pub ca: Option<PathBuf>,
}

impl SmtpSettings {
    /// The settings of the server at `url`: `smtp://[user@]host[:port]` (STARTTLS, required),
    /// `smtps://[user@]host[:port]` (implicit TLS), or `smtp://host[:port]?tls=none` (loopback
    /// only).
    pub fn new(
        url: &str,
        password: Option<Secret>,
        rate_per_second: u32,
        retry_max: Duration,
        rescan: Duration,
    ) -> Result<Self, UrlError> {
        Ok(Self { url: MailUrl::parse(url, Protocol::Smtp)?, password, rate_per_second, retry_max, rescan, ca: None })
    }

    /// These settings, trusting the CA in `ca` (PEM) alone when it is set.
    pub fn with_ca(self, ca: Option<PathBuf>) -> Self {
        Self { ca, ..self }
    }
}

/// The sender, ready to run (no connection is made before the first message).
pub struct Sender {
    connection: Connection,
    /// What the messages are rendered with (UIDs, the fallback organizer).
    calendar: CalendarSettings,
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
    /// The sender of `settings`, rendering with `calendar` (the TLS parameters are checked
    /// now, so a mistake stops the start).
    pub fn new(settings: SmtpSettings, calendar: CalendarSettings) -> anyhow::Result<Sender> {
        let rate = settings.rate_per_second;
        Ok(Sender {
            server: settings.url.server(),
            connection: Connection::new(settings.url, settings.password.as_ref(), settings.ca.as_deref())?,
            calendar,
            spacing: if rate == 0 { Duration::ZERO } else { Duration::from_secs(1) / rate },
            retry_max: settings.retry_max,
            rescan: settings.rescan,
        })
    }

    /// Drains the outbox while this replica holds the `smtp-sender` role, until `stop` turns
    /// true. At the stop, or when the role is lost, a message in flight is abandoned, unmarked
    /// (it is sent again by the role's next holder, with the same Message-ID); at the stop the
    /// role is resigned, so another replica takes it at once.
    pub async fn run(mut self, agenda: Agenda, metrics: Arc<Metrics>, mut stop: watch::Receiver<bool>) {
        let mut campaign = agenda.campaign(Role::SmtpSender).await;
        loop {
            let fence = tokio::select! {
                fence = campaign.won() => fence,
                () = stopped(&mut stop) => break,
            };
            tracing::info!(server = %self.server, replica = %agenda.replica_name(), "sending invites over SMTP");
            let ended = tokio::select! {
                ended = self.term(&agenda, &metrics, &mut stop, fence.as_ref()) => ended,
                () = campaign.lost(fence.as_ref()) => Ended::Lost,
            };
            if !matches!(ended, Ended::Stopped) {
                // The outbox figures are the holder's to report: a replica that no longer
                // sends shows none, so a sum over replicas counts each message once.
                metrics.outbox(0, 0, None);
            }
            match ended {
                Ended::Stopped => break,
                Ended::Lost => {
                    // Whatever was in flight is abandoned: the next holder sends it again.
                    self.connection.cut();
                    tracing::warn!(role = Role::SmtpSender.name(), "this replica lost the role: it stopped sending");
                }
                Ended::Deposed => {
                    self.connection.cut();
                    campaign.restart().await;
                }
            }
        }
        self.connection.quit().await;
        campaign.resign().await;
        tracing::info!("the SMTP sender stopped");
    }

    /// One term of the role: drains the outbox until `stop`, or until a fenced mark is refused.
    async fn term(
        &mut self,
        agenda: &Agenda,
        metrics: &Metrics,
        stop: &mut watch::Receiver<bool>,
        fence: Option<&Fence>,
    ) -> Ended {
        let mut tracker = SessionTracker::new(agenda, self.rescan);
        let mut backoff = Backoff::new(self.retry_max);
        let mut next_send = Instant::now();
        loop {
            let wait = match self.drain(agenda, metrics, &mut tracker, stop, &mut next_send, fence).await {
                Drained::More => continue,
                Drained::Stopped => return Ended::Stopped,
                Drained::Deposed => return Ended::Deposed,
                Drained::Idle => {
                    backoff.reset();
                    tracker.report(metrics);
                    None
                }
                Drained::Retry => {
                    tracker.report(metrics);
                    Some(backoff.next())
                }
            };
            let woken = async {
                match wait {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => tracker.wait(PERIOD).await,
                }
            };
            tokio::select! {
                () = woken => {}
                () = stopped(stop) => return Ended::Stopped,
            }
        }
    }

    /// Sends one batch of due messages, each marked after the server's answer.
    async fn drain(
        &mut self,
        agenda: &Agenda,
        metrics: &Metrics,
        tracker: &mut SessionTracker,
        stop: &mut watch::Receiver<bool>,
        next_send: &mut Instant,
        fence: Option<&Fence>,
    ) -> Drained {
        if *stop.borrow() {
            return Drained::Stopped;
        }
        let batch = match tracker.due(agenda, &self.calendar, metrics, BATCH).await {
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
            r = self.connection.ready() => r,
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
                r = self.connection.send(invite) => r,
                () = stopped(stop) => {
                    self.connection.cut();
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
            if let Err(e) = invites::mark(agenda, &invite.message, outcome, fence).await {
                if e.deposed() {
                    // Another replica holds the role now: the message stays pending for it.
                    tracing::warn!(error = %e, message_id = %invite.message_id, "the mark was refused: this replica no longer sends");
                    metrics.smtp_error(ErrorKind::Store.name());
                    return Drained::Deposed;
                }
                // Not marked: it is sent again, with the same Message-ID (the crash window).
                tracing::warn!(error = %e, message_id = %invite.message_id, "marking an invite failed; retrying");
                metrics.smtp_error(ErrorKind::Store.name());
                return Drained::Retry;
            }
            tracker.handled(&invite.message, failed);
        }
        if tracker.has_pending() { Drained::More } else { Drained::Idle }
    }
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
    /// A mark was refused: the role has passed to another replica.
    Deposed,
}

/// How a term of the role ended.
enum Ended {
    /// Shutdown.
    Stopped,
    /// The role was lost (its lease not renewed in time, or gone).
    Lost,
    /// A fenced mark was refused: the role is another replica's, whatever the lease says.
    Deposed,
}

fn retry(metrics: &Metrics, server: &str, kind: ErrorKind, why: &str) -> Drained {
    tracing::warn!(%server, kind = kind.name(), error = %why, "SMTP failed; the invites stay pending and are retried");
    metrics.smtp_error(kind.name());
    Drained::Retry
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
