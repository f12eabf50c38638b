//! Who may call what: bearer tokens with a scope, checked for every gRPC call.
//!
//! Tokens come from a TOML file (`--tokens-file`) and/or the `AGENDA_TOKENS` environment
//! variable. File format:
//!
//! ```toml
//! [[tokens]]
//! name = "mail-service"      # shown in logs instead of the secret
//! scope = "write"            # read | write | admin
//! token = "long-random-secret"
//! ```
//!
//! Environment format: `name=scope:secret` entries separated by commas, e.g.
//! `AGENDA_TOKENS="mail-service=write:s3cr3t,dashboard=read:an0ther"`.
//!
//! Scopes nest: admin can do everything write can, write everything read can. Reads (Get,
//! List, Watch, Query, ListPendingInvites) need `read` when reads are closed (`--require-read-token`),
//! nothing otherwise; every other call of the agenda services needs `write`, and the
//! FeedService (secret feed addresses) and the AdminService (export) need `admin`. Health and reflection are always open,
//! so orchestrators and grpcurl work without a token. Secrets are compared in constant time
//! and never logged.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};
use tonic::Status;

use crate::api::status::refusal;
use crate::error::Reason;

/// What a token allows, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// A secret that never prints.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// One configured token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    pub name: String,
    pub scope: Scope,
    pub token: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    tokens: Vec<Token>,
}

/// Why the token configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, String),
    #[error("token {0:?} is shorter than 16 characters")]
    TooShort(String),
    #[error("two tokens are named {0:?}")]
    DuplicateName(String),
}

/// Loads tokens from a file and/or the environment variable's value.
pub fn load_tokens(file: Option<&Path>, env: Option<&str>) -> Result<Vec<Token>, TokenError> {
    let mut tokens = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read(path.display().to_string(), e))?;
        let parsed: TokenFile =
            toml::from_str(&text).map_err(|e| TokenError::Parse(path.display().to_string(), e.to_string()))?;
        tokens.extend(parsed.tokens);
    }
    if let Some(env) = env {
        for entry in env.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || TokenError::Parse("AGENDA_TOKENS".into(), "expected name=scope:secret entries".into());
            let (name, rest) = entry.split_once('=').ok_or_else(bad)?;
            let (scope, secret) = rest.split_once(':').ok_or_else(bad)?;
            let scope = Scope::parse(scope).ok_or_else(|| {
                TokenError::Parse("AGENDA_TOKENS".into(), format!("scope {scope:?} is not read, write or admin"))
            })?;
            tokens.push(Token { name: name.to_owned(), scope, token: Secret::new(secret) });
        }
    }
    let mut names = std::collections::HashSet::new();
    for t in &tokens {
        if t.token.0.chars().count() < 16 {
            return Err(TokenError::TooShort(t.name.clone()));
        }
        if !names.insert(t.name.as_str()) {
            return Err(TokenError::DuplicateName(t.name.clone()));
        }
    }
    Ok(tokens)
}

/// The scope a gRPC method needs; `None` for open services (health, reflection).
pub fn required_scope(path: &str) -> Option<Scope> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    if !service.starts_with("agenda.") {
        return None;
    }
    if service.ends_with(".FeedService") || service.ends_with(".AdminService") {
        return Some(Scope::Admin);
    }
    let read = ["Get", "List", "Watch", "Query"].iter().any(|p| method.starts_with(p));
    Some(if read { Scope::Read } else { Scope::Write })
}

/// The configured tokens and the read policy.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    tokens: Vec<Token>,
    /// Reads need a token too.
    pub require_read_token: bool,
}

impl Auth {
    pub fn new(tokens: Vec<Token>, require_read_token: bool) -> Self {
        Self { tokens, require_read_token }
    }

    /// Whether any token is configured (auth is on).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The configured token `presented` is. Compares with every token in constant time
    /// (`subtle`) and picks the first match without a branch, so the time taken does not tell
    /// which one matched or nearly matched. Only a token's length can show (subtle returns
    /// early on unequal lengths).
    fn token(&self, presented: &[u8]) -> Option<&Token> {
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, t) in self.tokens.iter().enumerate() {
            let hit = presented.ct_eq(t.token.0.as_bytes()) & !found;
            index.conditional_assign(&(i as u64), hit);
            found |= hit;
        }
        Option::<u64>::from(CtOption::new(index, found)).map(|i| &self.tokens[i as usize])
    }

    /// Whether a caller presenting `authorization` may see the details of every private
    /// session in answers that gather across organizers (ListConflicts): with auth off, every
    /// caller; with it on, a token of scope `write` or `admin` (the services that book and
    /// already see every session they write), not a `read` token nor a caller without one.
    pub fn sees_private(&self, authorization: Option<&[u8]>) -> bool {
        if !self.enabled() {
            return true;
        }
        authorization
            .and_then(|h| h.strip_prefix(b"Bearer ").or_else(|| h.strip_prefix(b"bearer ")))
            .and_then(|presented| self.token(presented))
            .is_some_and(|t| t.scope >= Scope::Write)
    }

    /// Checks a call to `path` with the `authorization` header value: Ok with the token's name
    /// (if any), or UNAUTHENTICATED / PERMISSION_DENIED.
    pub fn check(&self, path: &str, authorization: Option<&[u8]>) -> Result<Option<&str>, Status> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(needed) = required_scope(path) else { return Ok(None) };
        if needed == Scope::Read && !self.require_read_token && authorization.is_none() {
            return Ok(None);
        }
        let method = || ("method", path.to_owned());
        let presented = authorization
            .and_then(|h| h.strip_prefix(b"Bearer ").or_else(|| h.strip_prefix(b"bearer ")))
            .ok_or_else(|| {
            refusal(Reason::MissingToken, "this call needs an `authorization: Bearer <token>` header", [method()])
        })?;
        let token = self.token(presented).ok_or_else(|| refusal(Reason::UnknownToken, "unknown token", [method()]))?;
        if token.scope < needed {
            return Err(refusal(
                Reason::InsufficientScope,
                format!(
                    "token \"{}\" has scope {}; {path} needs {}",
                    token.name,
                    token.scope.as_str(),
                    needed.as_str()
                ),
                [
                    method(),
                    ("token_name", token.name.clone()),
                    ("scope", token.scope.as_str().to_owned()),
                    ("required_scope", needed.as_str().to_owned()),
                ],
            ));
        }
        Ok(Some(&token.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(require_read_token: bool) -> Auth {
        let tokens = load_tokens(
            None,
            Some("reader=read:rrrrrrrrrrrrrrrr, writer=write:wwwwwwwwwwwwwwww,admin=admin:aaaaaaaaaaaaaaaa"),
        )
        .unwrap();
        Auth::new(tokens, require_read_token)
    }

    #[test]
    fn scopes_follow_the_method_names() {
        assert_eq!(required_scope("/agenda.v1.SessionService/GetSession"), Some(Scope::Read));
        assert_eq!(required_scope("/agenda.v1.SessionService/WatchSessions"), Some(Scope::Read));
        assert_eq!(required_scope("/agenda.v1.InviteService/ListPendingInvites"), Some(Scope::Read));
        assert_eq!(required_scope("/agenda.v1.SessionService/AddSlot"), Some(Scope::Write));
        assert_eq!(required_scope("/agenda.v1.InviteService/ApplyReply"), Some(Scope::Write));
        assert_eq!(required_scope("/agenda.v1.FeedService/ListFeedTokens"), Some(Scope::Admin));
        assert_eq!(required_scope("/grpc.health.v1.Health/Check"), None);
        assert_eq!(required_scope("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), None);
    }

    #[test]
    fn tokens_are_checked_by_scope() {
        let a = auth(false);
        let write = "/agenda.v1.SessionService/CreateSession";
        assert_eq!(a.check(write, None).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(
            a.check(write, Some(b"Bearer nope-nope-nope-nope")).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(a.check(write, Some(b"Bearer rrrrrrrrrrrrrrrr")).unwrap_err().code(), tonic::Code::PermissionDenied);
        assert_eq!(a.check(write, Some(b"Bearer wwwwwwwwwwwwwwww")).unwrap(), Some("writer"));
        assert_eq!(a.check("/agenda.v1.SessionService/GetSession", None).unwrap(), None, "reads open");
        let closed = auth(true);
        assert_eq!(
            closed.check("/agenda.v1.SessionService/GetSession", None).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert!(closed.check("/grpc.health.v1.Health/Check", None).is_ok());
        assert_eq!(a.check("/agenda.v1.ScheduleService/QueryFreeBusy", None).unwrap(), None, "a query is a read");
        assert!(a.sees_private(Some(b"Bearer wwwwwwwwwwwwwwww")), "a write token covers private sessions");
        assert!(!a.sees_private(Some(b"Bearer rrrrrrrrrrrrrrrr")), "a read token does not");
        assert!(!a.sees_private(None), "nor does no token");
        assert!(Auth::default().sees_private(None), "with auth off, everyone is trusted");
    }

    #[test]
    fn secrets_never_print() {
        let t = load_tokens(None, Some("x=read:0123456789abcdef")).unwrap();
        assert!(!format!("{t:?}").contains("0123456789abcdef"));
        assert!(matches!(load_tokens(None, Some("x=read:short")), Err(TokenError::TooShort(_))));
        assert!(matches!(load_tokens(None, Some("x=root:0123456789abcdef")), Err(TokenError::Parse(..))));
    }
}
