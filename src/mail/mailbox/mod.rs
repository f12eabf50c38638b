//! Replies from the organizer's mailbox: a poller that reads an IMAP mailbox, applies each
//! iTIP REPLY it finds through the same path as the ApplyReply RPC
//! ([`invites::apply_reply_text`]), and files every message so it is handled once.
//!
//! Each poll connects (implicit TLS, STARTTLS, or plain text on loopback only), selects the
//! mailbox and takes every message in it, oldest first:
//!
//! - applied: moved to the applied folder (`Agenda/Applied`);
//! - unreadable (no calendar part, not iCalendar) or refused (not an attendee, stale, no such
//!   slot): a note giving the reason and the original Message-ID is appended to the refused
//!   folder (`Agenda/Refused`), then the message is moved beside it. Nothing is ever deleted;
//! - a transient failure (the store unavailable, the connection lost): the message stays where
//!   it is and the next poll tries again. Applying is idempotent (the same answer again changes
//!   nothing), so a reply applied just before the connection broke is harmless to apply again.
//!
//! Among replicas on one etcd cluster, every one is configured alike and one reads: the poller
//! runs while this replica holds the `reply-mailbox` role (`app::roles`) and stops when it is
//! lost, so a reply is applied and filed by one poller, not raced for by several.
//!
//! The mailbox is meant for replies only (the organizer address the invites name, or a folder a
//! server-side rule fills with `text/calendar` mail): every other message in it is filed as
//! unreadable. Moving uses MOVE when the server has it, else COPY, `\Deleted` and EXPUNGE.

mod message;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_imap::types::{Fetch, Flag};
use async_imap::{Client, Session};
use futures_util::TryStreamExt as _;
use mail_parser::MessageParser;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::app::{Agenda, Role};
use crate::error::Error;
use crate::ics::feed::CalendarSettings;
use crate::invites;
use crate::mail::url::{MailUrl, Protocol, Security, UrlError};
use crate::metrics::Metrics;
use crate::secret::Secret;
use message::{About, refusal_note, reply_part};

/// Messages larger than this are refused unread: an iTIP reply is a few kilobytes, and the
/// whole message is held in memory to parse it.
pub const MAX_MESSAGE_BYTES: u32 = 1024 * 1024;

/// The longest one poll may take before it is abandoned (a server that stopped answering
/// must not stop the poller for good); the next poll starts afresh.
const POLL_TIMEOUT: Duration = Duration::from_secs(300);

/// The reply mailbox's checked settings (`[reply_mailbox]` of the configuration, when its
/// `url` is set).
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    /// The server and how to reach it: an IMAP URL (see [`crate::mail::url`]), whose user is
    /// the login ([`Self::user`]) and whose path the mailbox read ([`Self::mailbox`]).
    pub url: MailUrl,
    /// Shown masked by `Debug`.
    pub password: Secret,
    /// The pause between two polls.
    pub poll: Duration,
    /// A CA (PEM) to trust for the mail server instead of the bundled public roots.
    pub ca: Option<PathBuf>,
    /// Folder paths split at `/`, joined with the server's own separator when used.
    pub applied: Vec<String>,
    pub refused: Vec<String>,
}

/// Why the reply mailbox's settings are refused; each names the setting that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Its message includes the cause's (so it is no source: the cause would print twice).
    #[error("url: {0}")]
    Url(UrlError),
    #[error("url names no user (imaps://user@host/INBOX)")]
    NoUser,
    #[error("a password is needed: reply_mailbox.password or AGENDA_REPLY_MAILBOX_PASSWORD")]
    NoPassword,
    #[error("poll_seconds must be at least 1")]
    Poll,
    #[error("{0} {1:?}: folder names are printable ASCII without \" \\ % *, levels split by /")]
    Folder(&'static str, String),
}

impl MailboxSettings {
    /// Checks the settings of the mailbox at `url` (`imaps://user@host[:port]/MAILBOX`,
    /// `imap://...` with STARTTLS, or `imap://...?tls=none` on loopback).
    pub fn new(
        url: &str,
        password: Option<Secret>,
        poll_seconds: u64,
        ca: Option<PathBuf>,
        applied_folder: &str,
        refused_folder: &str,
    ) -> Result<Self, SettingsError> {
        let url = MailUrl::parse(url, Protocol::Imap).map_err(SettingsError::Url)?;
        if url.user.as_ref().is_none_or(String::is_empty) {
            return Err(SettingsError::NoUser);
        }
        let password = password.filter(|p| !p.expose().is_empty()).ok_or(SettingsError::NoPassword)?;
        if poll_seconds == 0 {
            return Err(SettingsError::Poll);
        }
        Ok(Self {
            url,
            password,
            poll: Duration::from_secs(poll_seconds),
            ca,
            applied: folder("applied_folder", applied_folder)?,
            refused: folder("refused_folder", refused_folder)?,
        })
    }
}

impl MailboxSettings {
    /// The login: the URL's user (never empty: [`MailboxSettings::new`] refuses that).
    pub fn user(&self) -> &str {
        self.url.user.as_deref().unwrap_or_default()
    }

    /// The mailbox read: the URL's path, INBOX when it names none.
    pub fn mailbox(&self) -> &str {
        if self.url.path.is_empty() { "INBOX" } else { &self.url.path }
    }
}

/// A folder path's levels, each printable ASCII without the characters IMAP quotes or
/// treats as wildcards.
fn folder(key: &'static str, path: &str) -> Result<Vec<String>, SettingsError> {
    let parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    let plain = |p: &String| !p.is_empty() && p.bytes().all(|b| (0x20..0x7f).contains(&b) && !b"\"\\%*".contains(&b));
    if parts.iter().all(plain) { Ok(parts) } else { Err(SettingsError::Folder(key, path.to_owned())) }
}

/// Why a poll ended early. Every one is transient: the messages not yet filed stay in the
/// mailbox for the next poll.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS with {0}: {1}")]
    Tls(String, std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    /// A failure that may pass ([`transient`]): the store unavailable, a write that lost
    /// too many races.
    #[error("the store could not apply a reply: {0}")]
    Store(Error),
    #[error("the poll took longer than {} seconds", POLL_TIMEOUT.as_secs())]
    TimedOut,
}

/// The byte stream under an IMAP session: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Stream for T {}

type ImapSession = Session<Box<dyn Stream>>;

/// What became of one message.
#[derive(Debug)]
enum Outcome {
    Applied(Box<invites::AppliedReply>),
    /// No calendar part, or one that is no readable iTIP REPLY.
    Unreadable(String),
    /// A readable reply the agenda refused (not an attendee, stale, no such slot).
    Refused(String),
}

impl Outcome {
    /// The metrics label.
    fn label(&self) -> &'static str {
        match self {
            Outcome::Applied(_) => "applied",
            Outcome::Unreadable(_) => "unreadable",
            Outcome::Refused(_) => "refused",
        }
    }
}

/// The poller: owns the settings, reaches the agenda as the RPC does.
pub struct Poller {
    agenda: Agenda,
    /// For the slot UIDs a reply names (their domain), as the RPC parses them.
    calendar: CalendarSettings,
    settings: MailboxSettings,
    /// Built once at start: a bad CA file fails `agenda serve`, not every poll.
    tls: TlsConnector,
    metrics: Arc<Metrics>,
}

impl Poller {
    pub fn new(
        agenda: Agenda,
        calendar: CalendarSettings,
        settings: MailboxSettings,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        match &settings.ca {
            Some(path) => {
                for cert in CertificateDer::pem_file_iter(path)
                    .with_context(|| format!("reading reply_mailbox.ca {}", path.display()))?
                {
                    roots.add(cert.with_context(|| format!("reading reply_mailbox.ca {}", path.display()))?)?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS for the reply mailbox")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { agenda, calendar, settings, tls: TlsConnector::from(Arc::new(config)), metrics })
    }

    /// Polls while this replica holds the `reply-mailbox` role, until `shutdown` completes: a
    /// poll, then a pause of the poll interval. A poll in progress at shutdown, or when the
    /// role is lost, is dropped; what it had not filed is found again by the next poll (here or
    /// on the role's next holder). At shutdown the role is resigned, so another replica takes
    /// it at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut campaign = self.agenda.campaign(Role::ReplyMailbox).await;
        loop {
            let fence = tokio::select! {
                fence = campaign.won() => fence,
                () = &mut shutdown => break,
            };
            tracing::info!(mailbox = %self.settings.url, every_seconds = self.settings.poll.as_secs(), replica = %self.agenda.replica_name(), "reading replies");
            tokio::select! {
                () = self.polls() => {}
                () = campaign.lost(fence.as_ref()) => {
                    tracing::warn!(role = Role::ReplyMailbox.name(), "this replica lost the role: it stopped reading replies");
                }
                () = &mut shutdown => break,
            }
        }
        campaign.resign().await;
    }

    /// Polls for good: a poll, then a pause of the poll interval.
    async fn polls(&self) {
        loop {
            match tokio::time::timeout(POLL_TIMEOUT, self.poll()).await.unwrap_or(Err(MailboxError::TimedOut)) {
                Ok(()) => self.metrics.reply_mailbox_poll(),
                Err(e) => {
                    self.metrics.reply_mailbox_poll_error();
                    tracing::warn!(mailbox = %self.settings.url, error = %e, "reading the reply mailbox failed; trying again at the next poll");
                }
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }

    /// One look at the mailbox: every message in it handled and filed, or an error that
    /// leaves the rest for the next poll.
    async fn poll(&self) -> Result<(), MailboxError> {
        let mut session = self.connect().await?;
        let can_move = session.capabilities().await?.has_str("MOVE");
        let delimiter = delimiter(&mut session).await?;
        let applied = self.settings.applied.join(&delimiter);
        let refused = self.settings.refused.join(&delimiter);
        for folder in [&applied, &refused] {
            match session.create(folder).await {
                // NO: it exists already (or cannot be made, which the move will report).
                Ok(()) | Err(async_imap::error::Error::No(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let selected = session.select(self.settings.mailbox()).await?;
        if selected.exists > 0 {
            let listed: Vec<Fetch> = session.uid_fetch("1:*", "(UID RFC822.SIZE FLAGS)").await?.try_collect().await?;
            let mut messages: Vec<(u32, u32)> = listed
                .iter()
                .filter(|f| !f.flags().any(|flag| flag == Flag::Deleted))
                .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                .collect();
            messages.sort_unstable();
            for (uid, size) in messages {
                let folder = Folders { applied: &applied, refused: &refused, can_move };
                self.handle(&mut session, uid, size, &folder).await?;
            }
        }
        session.logout().await?;
        Ok(())
    }

    async fn connect(&self) -> Result<ImapSession, MailboxError> {
        let url = &self.settings.url;
        let place = url.server();
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| MailboxError::Connect(place.clone(), e))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match url.security {
            Security::None => Box::new(tcp),
            Security::Tls => Box::new(self.tls(tcp, &place).await?),
            Security::StartTls => {
                let mut client = Client::new(tcp);
                greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await?;
                Box::new(self.tls(client.into_inner(), &place).await?)
            }
        };
        let mut client = Client::new(stream);
        if url.security != Security::StartTls {
            greeting(&mut client).await?;
        }
        client
            .login(self.settings.user(), self.settings.password.expose())
            .await
            .map_err(|(e, _)| MailboxError::Imap(e))
    }

    async fn tls(
        &self,
        tcp: TcpStream,
        place: &str,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailboxError> {
        let name = ServerName::try_from(self.settings.url.host.clone()).map_err(|e| {
            MailboxError::Tls(place.to_owned(), std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
        })?;
        self.tls.connect(name, tcp).await.map_err(|e| MailboxError::Tls(place.to_owned(), e))
    }

    /// Reads, applies and files one message.
    async fn handle(&self, s: &mut ImapSession, uid: u32, size: u32, to: &Folders<'_>) -> Result<(), MailboxError> {
        let raw = if size > MAX_MESSAGE_BYTES {
            None
        } else {
            let fetched: Vec<Fetch> = s.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?.try_collect().await?;
            let Some(raw) = fetched.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body().map(<[u8]>::to_vec))
            else {
                // Gone since the listing (another client moved it): nothing to do.
                return Ok(());
            };
            Some(raw)
        };
        let parsed = raw.as_deref().and_then(|raw| MessageParser::default().parse(raw));
        let about = About::of(parsed.as_ref());
        let outcome = match (&raw, &parsed) {
            (None, _) => Outcome::Unreadable(format!("the message is larger than {MAX_MESSAGE_BYTES} bytes")),
            (Some(_), None) => Outcome::Unreadable("the message is not a readable e-mail".into()),
            (Some(_), Some(message)) => match reply_part(message) {
                Err(why) => Outcome::Unreadable(why),
                Ok(ics) => match invites::apply_reply_text(&self.agenda, &self.calendar, &ics).await {
                    Ok(applied) => Outcome::Applied(Box::new(applied)),
                    Err(e) if transient(&e) => return Err(MailboxError::Store(e)),
                    Err(e) if e.violations().is_some() => Outcome::Unreadable(format!("{e} ({})", e.reason().as_str())),
                    Err(e) => Outcome::Refused(format!("{e} ({})", e.reason().as_str())),
                },
            },
        };
        match &outcome {
            Outcome::Applied(a) => {
                move_message(s, uid, to.applied, to.can_move).await?;
                tracing::info!(
                    message_id = %about.message_id, session_id = %a.session.id, slot_id = a.slot.as_ref().map_or("", |s| s.as_str()),
                    person_id = %a.person, status = ?a.status, "reply from the mailbox applied"
                );
            }
            Outcome::Unreadable(why) | Outcome::Refused(why) => {
                // The note first: were the connection lost in between, the next poll would
                // write a second note, never leave a filed message without its reason.
                let note = refusal_note(self.settings.user(), &self.calendar.uid_domain, &about, why, outcome.label());
                s.append(to.refused, None, None, note.as_bytes()).await?;
                move_message(s, uid, to.refused, to.can_move).await?;
                tracing::warn!(message_id = %about.message_id, outcome = outcome.label(), reason = %why, "reply from the mailbox not applied");
            }
        }
        self.metrics.reply_mailbox_reply(outcome.label());
        Ok(())
    }
}

/// Whether a failure to apply may pass by itself (the store unavailable or overloaded, a
/// write that lost too many races): the message then stays for the next poll. Decided by the
/// reason table's code, so it agrees with what a gRPC client is told to retry.
fn transient(e: &Error) -> bool {
    use tonic::Code;
    matches!(e, Error::Store(_))
        || matches!(
            e.reason().code(),
            Code::Unavailable
                | Code::Aborted
                | Code::ResourceExhausted
                | Code::DeadlineExceeded
                | Code::Internal
                | Code::Unknown
                | Code::DataLoss
        )
}

/// Where messages are filed, as the server names them.
struct Folders<'a> {
    applied: &'a str,
    refused: &'a str,
    can_move: bool,
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug>(
    client: &mut Client<T>,
) -> Result<(), MailboxError> {
    client.read_response().await.map_err(|e| MailboxError::Imap(e.into()))?.ok_or(MailboxError::Closed)?;
    Ok(())
}

/// The server's hierarchy separator (`LIST "" ""`); `/` on a flat server.
async fn delimiter(s: &mut ImapSession) -> Result<String, MailboxError> {
    // No pattern: the crate sends `""`, the request for the separator alone.
    let names: Vec<_> = s.list(Some(""), None).await?.try_collect().await?;
    Ok(names.iter().find_map(|n| n.delimiter().map(str::to_owned)).unwrap_or_else(|| "/".to_owned()))
}

/// MOVE when the server has it (RFC 6851), else COPY, `\Deleted` and EXPUNGE of that one
/// message (UID EXPUNGE, RFC 4315, when the server has UIDPLUS).
async fn move_message(s: &mut ImapSession, uid: u32, folder: &str, can_move: bool) -> Result<(), MailboxError> {
    let uid = uid.to_string();
    if can_move {
        s.uid_mv(&uid, folder).await?;
        return Ok(());
    }
    s.uid_copy(&uid, folder).await?;
    let _: Vec<Fetch> = s.uid_store(&uid, "+FLAGS.SILENT (\\Deleted)").await?.try_collect().await?;
    if s.capabilities().await?.has_str("UIDPLUS") {
        let _: Vec<u32> = s.uid_expunge(&uid).await?.try_collect().await?;
    } else {
        let _: Vec<u32> = s.expunge().await?.try_collect().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, applied: &str) -> Result<MailboxSettings, SettingsError> {
        MailboxSettings::new(url, Some(Secret::new("p")), 60, None, applied, "Agenda/Refused")
    }

    #[test]
    fn the_settings_need_a_user_and_read_the_inbox_unless_the_url_names_a_mailbox() {
        let s = settings("imaps://organizer%40example.org@mail.example.org", "Agenda/Applied").unwrap();
        assert_eq!((s.user(), s.mailbox()), ("organizer@example.org", "INBOX"));
        assert_eq!(s.applied, ["Agenda", "Applied"]);
        assert_eq!(settings("imaps://o@mail.example.org/Replies", "Applied").unwrap().mailbox(), "Replies");
        assert_eq!(settings("imaps://mail.example.org/", "Applied").unwrap_err(), SettingsError::NoUser);
        assert!(matches!(settings("imaps://o@mail.example.org/", "Agenda//*"), Err(SettingsError::Folder(..))));
        let no_password = MailboxSettings::new("imaps://o@h/", Some(Secret::new("")), 60, None, "A", "R");
        assert_eq!(no_password.unwrap_err(), SettingsError::NoPassword);
    }
}
