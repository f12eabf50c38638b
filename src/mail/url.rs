//! The one parser of mail-server URLs: `smtp.url` (`smtp://`, `smtps://`) and
//! `reply_mailbox.url` (`imap://`, `imaps://`).
//!
//! Both say the same things the same way: the scheme picks the protocol and whether TLS
//! starts at once or by STARTTLS (required, never a fallback to clear text); `?tls=none` asks
//! for clear text, which only a loopback host may get; the user is percent-decoded
//! (`organizer%40example.org`); an IPv6 host is written in brackets; a password is refused,
//! because a URL shows in process lists and logs.

use std::fmt;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;

/// Which server a URL names; each has its two schemes and default ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Sending: `smtp://` (STARTTLS, 587), `smtps://` (465), `?tls=none` (25). No path.
    Smtp,
    /// Reading the reply mailbox: `imap://` (STARTTLS, 143), `imaps://` (993); the path names
    /// the mailbox.
    Imap,
}

impl Protocol {
    /// The scheme of TLS by STARTTLS (or none), then the scheme of TLS from the first byte.
    fn schemes(self) -> (&'static str, &'static str) {
        match self {
            Protocol::Smtp => ("smtp", "smtps"),
            Protocol::Imap => ("imap", "imaps"),
        }
    }

    fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Smtp, Security::StartTls) => 587,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, Security::None) => 25,
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, Security::StartTls | Security::None) => 143,
        }
    }

    /// Where the password goes instead of the URL, for the error that refuses one.
    fn password_setting(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp.password in the file or AGENDA_SMTP_PASSWORD",
            Protocol::Imap => "reply_mailbox.password in the file or AGENDA_REPLY_MAILBOX_PASSWORD",
        }
    }
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`, `imap://`: plain connect, then STARTTLS, which is required.
    StartTls,
    /// `smtps://`, `imaps://`: TLS from the first byte.
    Tls,
    /// `...?tls=none`: clear text, to a loopback host only (a local relay, tests); the
    /// password and the mail would otherwise cross the network readable.
    None,
}

/// A parsed mail-server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailUrl {
    pub protocol: Protocol,
    pub security: Security,
    /// A name or an IP address (without brackets).
    pub host: String,
    pub port: u16,
    /// The login, percent-decoded; the password is configured apart.
    pub user: Option<String>,
    /// The path without its leading `/`, percent-decoded: the mailbox of an IMAP URL; empty
    /// when absent (an SMTP URL has none).
    pub path: String,
}

/// Why a mail-server URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a URL: {0}")]
    Syntax(String),
    #[error("expected {0}:// (STARTTLS) or {1}:// (implicit TLS), not {2}://")]
    Scheme(&'static str, &'static str, String),
    #[error("names no host")]
    NoHost,
    #[error("holds a password: set {0} instead")]
    Password(&'static str),
    #[error("has a path; expected scheme://[user@]host[:port]")]
    Path,
    #[error("has a fragment (#...)")]
    Fragment,
    #[error("the {0} is not valid percent-encoded UTF-8")]
    Encoding(&'static str),
    #[error("unknown option {0:?}: the only one is tls=none, with {1}://")]
    Option(String, &'static str),
    #[error("tls=none sends the mail and the password in clear text: only to a loopback host, not {0}")]
    PlainOffLoopback(String),
}

impl MailUrl {
    /// `scheme://[user@]host[:port][/path][?tls=none]`, with the schemes, default ports and
    /// path rule of `protocol`.
    pub fn parse(text: &str, protocol: Protocol) -> Result<MailUrl, UrlError> {
        let url = url::Url::parse(text).map_err(|e| UrlError::Syntax(e.to_string()))?;
        let (plain, tls) = protocol.schemes();
        let mut security = match url.scheme() {
            s if s == plain => Security::StartTls,
            s if s == tls => Security::Tls,
            other => return Err(UrlError::Scheme(plain, tls, other.to_owned())),
        };
        if url.password().is_some() {
            return Err(UrlError::Password(protocol.password_setting()));
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        for (key, value) in url.query_pairs() {
            match (&*key, &*value, security) {
                ("tls", "none", Security::StartTls) => security = Security::None,
                _ => return Err(UrlError::Option(format!("{key}={value}"), plain)),
            }
        }
        let path = decode(url.path().strip_prefix('/').unwrap_or(url.path()), "path")?;
        if protocol == Protocol::Smtp && !path.is_empty() {
            return Err(UrlError::Path);
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(UrlError::NoHost)?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if security == Security::None && !is_loopback(&host) {
            return Err(UrlError::PlainOffLoopback(host));
        }
        let user = match url.username() {
            "" => None,
            user => Some(decode(user, "user")?),
        };
        let port = url.port().unwrap_or(protocol.default_port(security));
        Ok(MailUrl { protocol, security, host, port, user, path })
    }

    /// `host:port`, as the logs name the server (an IPv6 address in brackets).
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for MailUrl {
    /// The URL as parsed, for logs: it holds no secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (plain, tls) = self.protocol.schemes();
        let scheme = if self.security == Security::Tls { tls } else { plain };
        let user = self.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        write!(f, "{scheme}://{user}{}/{}", self.server(), self.path)?;
        if self.security == Security::None {
            f.write_str("?tls=none")?;
        }
        Ok(())
    }
}

fn decode(text: &str, what: &'static str) -> Result<String, UrlError> {
    Ok(percent_decode_str(text).decode_utf8().map_err(|_| UrlError::Encoding(what))?.into_owned())
}

/// Whether clear text to `host` stays on this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(s: &str) -> Result<MailUrl, UrlError> {
        MailUrl::parse(s, Protocol::Smtp)
    }

    fn imap(s: &str) -> Result<MailUrl, UrlError> {
        MailUrl::parse(s, Protocol::Imap)
    }

    #[test]
    fn smtp_urls_name_the_security_the_port_and_the_user() {
        assert_eq!(
            smtp("smtp://agenda@mail.example.org").unwrap(),
            MailUrl {
                protocol: Protocol::Smtp,
                security: Security::StartTls,
                host: "mail.example.org".into(),
                port: 587,
                user: Some("agenda".into()),
                path: String::new(),
            }
        );
        assert_eq!(smtp("smtps://mail.example.org:2465").unwrap().port, 2465);
        assert_eq!(smtp("smtps://mail.example.org").unwrap().security, Security::Tls);
        assert_eq!(smtp("smtp://me%40example.org@mail.example.org").unwrap().user.as_deref(), Some("me@example.org"));
        let plain = smtp("smtp://[::1]:2525?tls=none").unwrap();
        assert_eq!((plain.security, plain.host.as_str(), plain.port), (Security::None, "::1", 2525));
        assert_eq!(smtp("smtp://LocalHost?tls=none").unwrap().port, 25);
    }

    #[test]
    fn imap_urls_name_the_security_the_user_and_the_mailbox() {
        let u = imap("imaps://organizer%40example.org@mail.example.org/Replies").unwrap();
        assert_eq!(
            (u.security, u.host.as_str(), u.port, u.user.as_deref(), u.path.as_str()),
            (Security::Tls, "mail.example.org", 993, Some("organizer@example.org"), "Replies")
        );
        let u = imap("imap://o@[::1]:1143?tls=none").unwrap();
        assert_eq!((u.security, u.host.as_str(), u.port, u.path.as_str()), (Security::None, "::1", 1143, ""));
        assert_eq!(imap("imap://o@mail.example.org/").unwrap().port, 143);
        assert_eq!(imap("imap://o@mail.example.org/Agenda%20Replies").unwrap().path, "Agenda Replies");
        assert_eq!(
            imap("imaps://organizer%40example.org@mail.example.org/INBOX").unwrap().to_string(),
            "imaps://organizer@example.org@mail.example.org:993/INBOX"
        );
    }

    #[test]
    fn urls_that_would_leak_or_mislead_are_refused() {
        assert!(matches!(smtp("smtp://a:secret@mail.example.org"), Err(UrlError::Password(_))));
        assert!(matches!(imap("imaps://u:pw@mail.example.org/INBOX"), Err(UrlError::Password(_))));
        assert!(matches!(smtp("smtp://mail.example.org?tls=none"), Err(UrlError::PlainOffLoopback(_))));
        assert!(matches!(imap("imap://o@mail.example.org/?tls=none"), Err(UrlError::PlainOffLoopback(_))));
        assert!(matches!(smtp("smtps://127.0.0.1?tls=none"), Err(UrlError::Option(..))));
        assert!(matches!(smtp("smtp://mail.example.org?tls=maybe"), Err(UrlError::Option(..))));
        assert!(matches!(smtp("imap://mail.example.org"), Err(UrlError::Scheme(..))));
        assert!(matches!(imap("pop3://u@mail.example.org/"), Err(UrlError::Scheme(..))));
        assert!(matches!(smtp("http://mail.example.org"), Err(UrlError::Scheme(..))));
        assert_eq!(smtp("smtp://mail.example.org/inbox"), Err(UrlError::Path));
        assert_eq!(imap("imap://o@mail.example.org/INBOX#x"), Err(UrlError::Fragment));
        assert_eq!(imap("imap://%ff@mail.example.org/"), Err(UrlError::Encoding("user")));
        assert!(matches!(imap("imap://o@mail.example.org:many/"), Err(UrlError::Syntax(_))));
    }
}
