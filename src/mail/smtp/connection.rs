//! The one SMTP connection the sender keeps: opened with TCP_NODELAY (see the sender's header
//! for why lettre's pool is not used), TLS as the URL says, login; reopened when lost; and
//! the reading of the server's answers into what the sender does next ([`Failure`]) and what
//! the metrics count ([`ErrorKind`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, CertificateStore, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Category, Severity};
use tokio::net::TcpStream;

use crate::invites::RenderedInvite;
use crate::mail::url::{MailUrl, Security};
use crate::secret::Secret;

/// Longest an SMTP command may take before the connection counts as lost.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How the server's certificate is verified: against `ca` (PEM, one or more certificates)
/// when given, else the system's roots.
fn tls_parameters(host: &str, ca: Option<&Path>) -> anyhow::Result<TlsParameters> {
    let builder = TlsParameters::builder(host.to_owned());
    let builder = match ca {
        None => builder,
        Some(path) => {
            let what = || format!("reading smtp.ca {}", path.display());
            let pem = std::fs::read(path).with_context(what)?;
            let certificate = Certificate::from_pem(&pem).with_context(what)?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                anyhow::bail!("{}: no certificate in the file (PEM expected)", what());
            }
            builder.certificate_store(CertificateStore::None).add_root_certificate(certificate)
        }
    };
    Ok(builder.build()?)
}

/// The mail server, and the connection to it while there is one.
pub(super) struct Connection {
    url: MailUrl,
    /// The server's name to verify its certificate against (STARTTLS and implicit TLS).
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    /// The one connection, reused from message to message; reopened when lost or broken.
    kept: Option<AsyncSmtpConnection>,
}

impl Connection {
    /// Nothing is opened yet: the first message does. With `ca`, the server's certificate must
    /// chain to that CA alone (as `reply_mailbox.ca` does for IMAP): a private relay's CA
    /// trusted beside every public root would let any public certificate for the name pass.
    pub(super) fn new(url: MailUrl, password: Option<&Secret>, ca: Option<&Path>) -> anyhow::Result<Self> {
        let tls = match url.security {
            Security::StartTls | Security::Tls => Some(tls_parameters(&url.host, ca)?),
            Security::None => None,
        };
        let credentials = url
            .user
            .as_ref()
            .map(|user| Credentials::new(user.clone(), password.map(|p| p.expose().to_owned()).unwrap_or_default()));
        Ok(Self { url, tls, credentials, kept: None })
    }

    /// A usable connection: the kept one if it still answers a NOOP, else a new one (TCP with
    /// TCP_NODELAY, TLS, EHLO, STARTTLS, login).
    pub(super) async fn ready(&mut self) -> Result<(), (ErrorKind, String)> {
        if let Some(c) = &mut self.kept {
            if !c.has_broken() && c.test_connected().await {
                return Ok(());
            }
            self.kept = None;
        }
        let opened = tokio::time::timeout(COMMAND_TIMEOUT, self.open()).await;
        self.kept = Some(opened.map_err(|_| (ErrorKind::Timeout, "connecting timed out".to_owned()))??);
        Ok(())
    }

    async fn open(&self) -> Result<AsyncSmtpConnection, (ErrorKind, String)> {
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
    /// [`Connection::ready`] opened.
    pub(super) async fn send(&mut self, invite: &RenderedInvite) -> Result<(), Failure> {
        let address = |a: &str| {
            a.parse::<Address>().map_err(|e| Failure::Refused(format!("not an address for SMTP: {a:?}: {e}")))
        };
        let envelope = Envelope::new(Some(address(&invite.from)?), vec![address(&invite.to)?])
            .map_err(|e| Failure::Refused(e.to_string()))?;
        if self.kept.is_none() {
            self.ready().await.map_err(|(kind, why)| Failure::Retry(kind, why))?;
        }
        let connection = self.kept.as_mut().expect("connected above");
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, connection.send(&envelope, invite.email.as_bytes())).await;
        // A timeout leaves the session in an unknown state; lettre closes one after any failed
        // command. Either way, a new connection next time.
        if sent.is_err() || connection.has_broken() {
            self.kept = None;
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

    /// Drops the connection mid-transaction: closed without a final `.`, the server drops
    /// the message.
    pub(super) fn cut(&mut self) {
        self.kept = None;
    }

    /// Says goodbye, if a connection is open, waiting a second at most.
    pub(super) async fn quit(&mut self) {
        if let Some(mut connection) = self.kept.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), connection.quit()).await;
        }
    }
}

/// Whether a reply code's category says the session is refused (x2z connection, x3z login),
/// not the message.
fn session_level(category: Category) -> bool {
    matches!(category, Category::Connections | Category::Unspecified3)
}

/// Why a message was not sent.
pub(super) enum Failure {
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

/// Whether `e` is a TLS handshake that failed (an untrusted certificate, say): lettre reports
/// those of implicit TLS as connection errors, with rustls' error inside the I/O error.
fn failed_handshake(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let inner = s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if s.is::<tokio_rustls::rustls::Error>() || inner.is_some_and(|i| i.is::<tokio_rustls::rustls::Error>()) {
            return true;
        }
        source = s.source();
    }
    false
}

fn kind_of(e: &lettre::transport::smtp::Error) -> ErrorKind {
    if e.is_transient() {
        ErrorKind::Transient
    } else if e.is_permanent() {
        ErrorKind::Session
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_tls() || failed_handshake(e) {
        ErrorKind::Tls
    } else if e.is_response() || e.is_client() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Connection
    }
}
