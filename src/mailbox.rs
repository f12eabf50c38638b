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
//! The mailbox is meant for replies only (the organizer address the invites name, or a folder a
//! server-side rule fills with `text/calendar` mail): every other message in it is filed as
//! unreadable. Moving uses MOVE when the server has it, else COPY, `\Deleted` and EXPUNGE.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_imap::types::{Fetch, Flag};
use async_imap::{Client, Session};
use futures_util::TryStreamExt as _;
use mail_parser::{MessageParser, MimeHeaders as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::app::Agenda;
use crate::config::{ReplyMailboxConfig, Secret};
use crate::domain::Timestamp;
use crate::error::Error;
use crate::ics::feed::FeedSettings;
use crate::invites;
use crate::metrics::Metrics;

/// Messages larger than this are refused unread: an iTIP reply is a few kilobytes, and the
/// whole message is held in memory to parse it.
pub const MAX_MESSAGE_BYTES: u32 = 1024 * 1024;

/// The longest one poll may take before it is abandoned (a server that stopped answering
/// must not stop the poller for good); the next poll starts afresh.
const POLL_TIMEOUT: Duration = Duration::from_secs(300);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `imaps://`: TLS from the first byte (port 993 by default).
    Tls,
    /// `imap://`: STARTTLS, required: a server that does not offer it is not used.
    StartTls,
    /// `imap://...?tls=none`: plain text, accepted for loopback hosts only (tests, a local
    /// relay); the password would otherwise cross the network readable.
    None,
}

/// `imaps://user@host[:port]/MAILBOX`, `imap://...` or `imap://...?tls=none` (loopback).
/// The user is percent-decoded (`organizer%40example.org`); the mailbox defaults to INBOX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxUrl {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub mailbox: String,
}

impl MailboxUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (security, rest) = if let Some(rest) = url.strip_prefix("imaps://") {
            (Security::Tls, rest)
        } else if let Some(rest) = url.strip_prefix("imap://") {
            (Security::StartTls, rest)
        } else {
            return Err(format!("{url:?}: expected imaps://user@host[:port]/MAILBOX or imap://..."));
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let security = match query {
            "" => security,
            "tls=none" if security == Security::StartTls => Security::None,
            _ => return Err(format!("{url:?}: the only option is ?tls=none, with imap://")),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Some((user, host_port)) = authority.rsplit_once('@') else {
            return Err(format!("{url:?}: names no user (imaps://user@host/INBOX)"));
        };
        if user.contains(':') {
            return Err(format!("{url:?}: put the password in reply_mailbox.password, not in the URL"));
        }
        let user = percent_decode(user).ok_or_else(|| format!("{url:?}: the user is not valid percent-encoding"))?;
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                (host, port.parse::<u16>().map_err(|_| format!("{url:?}: the port is not a number"))?)
            }
            _ => (host_port, if security == Security::Tls { 993 } else { 143 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() || user.is_empty() {
            return Err(format!("{url:?}: names no host or no user"));
        }
        if security == Security::None && !is_loopback(&host) {
            return Err(format!("{url:?}: tls=none is for loopback hosts only; use imaps:// or imap:// (STARTTLS)"));
        }
        let mailbox =
            percent_decode(path).ok_or_else(|| format!("{url:?}: the mailbox is not valid percent-encoding"))?;
        let mailbox = if mailbox.is_empty() { "INBOX".to_owned() } else { mailbox };
        Ok(Self { security, host, port, user, mailbox })
    }
}

impl fmt::Display for MailboxUrl {
    /// The URL without secrets (there are none in it), for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.security == Security::Tls { "imaps" } else { "imap" };
        write!(f, "{scheme}://{}@{}:{}/{}", self.user, self.host, self.port, self.mailbox)?;
        if self.security == Security::None {
            f.write_str("?tls=none")?;
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The reply mailbox's checked settings (`[reply_mailbox]` of the configuration).
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    pub url: MailboxUrl,
    /// Shown masked by `Debug`.
    pub password: Secret,
    pub poll: Duration,
    pub ca: Option<std::path::PathBuf>,
    /// Folder paths split at `/`, joined with the server's own separator when used.
    pub applied: Vec<String>,
    pub refused: Vec<String>,
}

impl MailboxSettings {
    /// `None` while no URL is configured; an error names the setting that is wrong.
    pub fn from_config(c: &ReplyMailboxConfig) -> Result<Option<Self>, String> {
        let Some(url) = &c.url else { return Ok(None) };
        let url = MailboxUrl::parse(url)?;
        let password = c.password.clone().filter(|p| !p.expose().is_empty()).ok_or_else(|| {
            "a password is needed: reply_mailbox.password or AGENDA_REPLY_MAILBOX_PASSWORD".to_owned()
        })?;
        if c.poll_seconds == 0 {
            return Err("poll_seconds must be at least 1".into());
        }
        let folder = |key: &str, f: &str| -> Result<Vec<String>, String> {
            let parts: Vec<String> = f.split('/').map(str::to_owned).collect();
            let plain =
                |p: &String| !p.is_empty() && p.bytes().all(|b| (0x20..0x7f).contains(&b) && !b"\"\\%*".contains(&b));
            if parts.iter().all(plain) {
                Ok(parts)
            } else {
                Err(format!("{key} {f:?}: folder names are printable ASCII without \" \\ % *, levels split by /"))
            }
        };
        Ok(Some(Self {
            url,
            password,
            poll: Duration::from_secs(c.poll_seconds),
            ca: c.ca.clone(),
            applied: folder("applied_folder", &c.applied_folder)?,
            refused: folder("refused_folder", &c.refused_folder)?,
        }))
    }
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
    feeds: FeedSettings,
    settings: MailboxSettings,
    /// Built once at start: a bad CA file fails `agenda serve`, not every poll.
    tls: TlsConnector,
    metrics: Arc<Metrics>,
}

impl Poller {
    pub fn new(
        agenda: Agenda,
        feeds: FeedSettings,
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
        Ok(Self { agenda, feeds, settings, tls: TlsConnector::from(Arc::new(config)), metrics })
    }

    /// Polls until `shutdown` completes: a poll, then a pause of the poll interval. A poll in
    /// progress at shutdown is dropped; what it had not filed is found again next start.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!(mailbox = %self.settings.url, every_seconds = self.settings.poll.as_secs(), "reading replies");
        tokio::pin!(shutdown);
        loop {
            let poll = async {
                match tokio::time::timeout(POLL_TIMEOUT, self.poll()).await {
                    Ok(r) => r,
                    Err(_) => Err(MailboxError::TimedOut),
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                r = poll => match r {
                    Ok(()) => self.metrics.reply_mailbox_poll(),
                    Err(e) => {
                        self.metrics.reply_mailbox_poll_error();
                        tracing::warn!(mailbox = %self.settings.url, error = %e, "reading the reply mailbox failed; trying again at the next poll");
                    }
                },
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
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
        let selected = session.select(&self.settings.url.mailbox).await?;
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
        let place = format!("{}:{}", url.host, url.port);
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
        client.login(&url.user, self.settings.password.expose()).await.map_err(|(e, _)| MailboxError::Imap(e))
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
                Ok(ics) => match invites::apply_reply_text(&self.agenda, &self.feeds, &ics).await {
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
                    message_id = %about.message_id, session_id = %a.session.id, slot_id = %a.slot,
                    person_id = %a.person, status = ?a.status, "reply from the mailbox applied"
                );
            }
            Outcome::Unreadable(why) | Outcome::Refused(why) => {
                // The note first: were the connection lost in between, the next poll would
                // write a second note, never leave a filed message without its reason.
                let note = refusal_note(&self.settings.url.user, &self.feeds.uid_domain, &about, why, outcome.label());
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

/// The calendar part of a reply e-mail, decoded to text: the `text/calendar` part with
/// `method=REPLY`, else the first `text/calendar`, else an `application/ics` attachment.
/// Transfer encodings (base64, quoted-printable) and charsets are undone by the parser.
fn reply_part(message: &mail_parser::Message<'_>) -> Result<String, String> {
    let is = |p: &mail_parser::MessagePart<'_>, t: &str, sub: &str| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case(t) && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
    };
    let calendars: Vec<_> = message.parts.iter().filter(|p| is(p, "text", "calendar")).collect();
    let reply = calendars
        .iter()
        .find(|p| p.content_type().and_then(|c| c.attribute("method")).is_some_and(|m| m.eq_ignore_ascii_case("REPLY")))
        .or(calendars.first())
        .copied()
        .or_else(|| message.parts.iter().find(|p| is(p, "application", "ics")));
    let part = reply.ok_or("the message has no calendar part (text/calendar): it is no iTIP reply")?;
    part.text_contents().map(str::to_owned).ok_or_else(|| "the calendar part is not text in a known charset".to_owned())
}

/// What the refusal note quotes of the original message.
struct About {
    message_id: String,
    from: String,
    subject: String,
}

impl About {
    fn of(m: Option<&mail_parser::Message<'_>>) -> Self {
        let from = m.and_then(|m| m.from()).and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("(unknown)");
        Self {
            message_id: m.and_then(|m| m.message_id()).map_or_else(|| "(none)".to_owned(), |id| format!("<{id}>")),
            from: from.to_owned(),
            subject: m.and_then(|m| m.subject()).unwrap_or("(none)").to_owned(),
        }
    }
}

/// The note filed beside a refused message: its subject and body give the reason; the
/// original's Message-ID is in the body, in `X-Agenda-Original-Message-ID` and in
/// `In-Reply-To` (so mail clients thread the two).
fn refusal_note(to: &str, uid_domain: &str, about: &About, reason: &str, outcome: &str) -> String {
    let one_line = |s: &str| s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let reason = one_line(reason);
    let short: String = reason.chars().take(150).collect();
    let now = Timestamp::now();
    let date = jiff::fmt::rfc2822::to_string(&now.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap_or_default();
    let mut id_bytes = [0u8; 8];
    let _ = getrandom::fill(&mut id_bytes);
    let note_id = format!("refused.{}@{uid_domain}", u64::from_be_bytes(id_bytes));
    let mut out = String::new();
    let mut h = |name: &str, value: &str| {
        out.push_str(&format!("{name}: {value}\r\n"));
    };
    h("From", &format!("\"agenda\" <agenda@{uid_domain}>"));
    h("To", &format!("<{}>", one_line(to)));
    h("Subject", &crate::mail::header_text(&format!("Reply not applied: {short}")));
    h("Date", &date);
    h("Message-ID", &format!("<{note_id}>"));
    if about.message_id.starts_with('<') {
        h("In-Reply-To", &about.message_id);
        h("X-Agenda-Original-Message-ID", &about.message_id);
    }
    h("X-Agenda-Outcome", outcome);
    h("MIME-Version", "1.0");
    h("Content-Type", "text/plain; charset=UTF-8");
    h("Content-Transfer-Encoding", "8bit");
    out.push_str("\r\n");
    out.push_str(&format!(
        "agenda did not apply the message filed beside this note.\r\n\r\nReason: {reason}\r\n\r\n\
         Original Message-ID: {}\r\nFrom: {}\r\nSubject: {}\r\n",
        one_line(&about.message_id),
        one_line(&about.from),
        one_line(&about.subject)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part_of(mail: &str) -> Result<String, String> {
        reply_part(&MessageParser::default().parse(mail.as_bytes()).expect("an e-mail"))
    }

    #[test]
    fn urls_name_the_security_the_user_and_the_mailbox() {
        let u = MailboxUrl::parse("imaps://organizer%40example.org@mail.example.org/Replies").unwrap();
        assert_eq!(
            u,
            MailboxUrl {
                security: Security::Tls,
                host: "mail.example.org".into(),
                port: 993,
                user: "organizer@example.org".into(),
                mailbox: "Replies".into()
            }
        );
        let u = MailboxUrl::parse("imap://o@[::1]:1143?tls=none").unwrap();
        assert_eq!((u.security, u.host.as_str(), u.port, u.mailbox.as_str()), (Security::None, "::1", 1143, "INBOX"));
        assert_eq!(MailboxUrl::parse("imap://o@mail.example.org/").unwrap().port, 143);
        assert!(MailboxUrl::parse("imap://o@mail.example.org/?tls=none").is_err());
        assert!(MailboxUrl::parse("imaps://mail.example.org/").is_err());
    }

    #[test]
    fn the_calendar_part_is_found_and_decoded_from_base64_and_quoted_printable() {
        let base64 = "From: a@example.org\r\nMessage-ID: <r1@example.org>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYes.\r\n\
            --b\r\nContent-Type: text/calendar; method=REPLY; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVQTFkNCkVORDpWQ0FMRU5EQVINCg==\r\n--b--\r\n";
        assert_eq!(part_of(base64).unwrap(), "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n");
        let qp = "From: a@example.org\r\nMIME-Version: 1.0\r\n\
            Content-Type: text/calendar; method=REPLY; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nCOMMENT:Jos=E9 accepts=\r\n and more\r\nEND:VCALENDAR\r\n";
        assert!(part_of(qp).unwrap().contains("COMMENT:José accepts and more\r\n"), "{:?}", part_of(qp));
    }

    #[test]
    fn a_message_without_a_calendar_part_says_so() {
        let plain = "From: a@example.org\r\nSubject: Thanks\r\n\r\nSee you there.\r\n";
        assert!(part_of(plain).unwrap_err().contains("no calendar part"));
    }

    #[test]
    fn the_refusal_note_gives_the_reason_and_the_original_message_id() {
        let about =
            About { message_id: "<r1@example.org>".into(), from: "a@example.org".into(), subject: "Accepted".into() };
        let note = refusal_note("organizer", "agenda.example.org", &about, "not an attendee\r\nBcc: x", "refused");
        assert!(note.contains("Subject: Reply not applied: not an attendee  Bcc: x\r\n"), "{note}");
        assert!(note.contains("In-Reply-To: <r1@example.org>\r\n"), "{note}");
        assert!(!note.contains("\r\nBcc:"), "no header injection: {note}");
    }
}
