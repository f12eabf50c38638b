//! The one error type of the service's operations.
//!
//! It says what went wrong in domain terms; `api::status` maps it to a gRPC status (and the
//! HTTP layer to a status code) in one place, so every RPC reports the same failure the same
//! way.

use std::fmt;

use crate::domain::Violations;
use crate::store::StoreError;

/// What kind of thing an error is about, for messages and `ErrorInfo` reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Session,
    Slot,
    Person,
    Participant,
    Group,
    FeedToken,
}

impl Kind {
    /// Upper snake case, for `ErrorInfo.reason` (e.g. `SESSION_NOT_FOUND`).
    pub fn upper(self) -> &'static str {
        match self {
            Kind::Session => "SESSION",
            Kind::Slot => "SLOT",
            Kind::Person => "PERSON",
            Kind::Participant => "PARTICIPANT",
            Kind::Group => "GROUP",
            Kind::FeedToken => "FEED_TOKEN",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Session => "session",
            Kind::Slot => "slot",
            Kind::Person => "person",
            Kind::Participant => "participant",
            Kind::Group => "participant group",
            Kind::FeedToken => "feed token",
        })
    }
}

/// Why an operation failed. Every variant but `Store` and `Internal` is the caller's to fix,
/// and every failed operation has left the store as it was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request breaks one or more rules; each violation names its field.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    #[error("{kind} {id:?} not found")]
    NotFound { kind: Kind, id: String },
    #[error("{kind} {id:?} already exists")]
    AlreadyExists { kind: Kind, id: String },
    /// The request is well formed but the state does not allow it (e.g. deleting a person who
    /// is still on an agenda). `reason` is an upper snake case code for machines.
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    /// The etag given is not the stored one: someone else changed the record since it was read.
    #[error("{kind} {id:?} has changed since it was read (etag {given:?}, current {current:?})")]
    StaleEtag { kind: Kind, id: String, given: String, current: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        Error::NotFound { kind, id: id.to_string() }
    }

    pub fn already_exists(kind: Kind, id: impl fmt::Display) -> Self {
        Error::AlreadyExists { kind, id: id.to_string() }
    }

    /// One invalid field.
    pub fn invalid(field: impl AsRef<str>, description: impl Into<String>) -> Self {
        let mut v = Violations::new("");
        v.add(field, description);
        Error::Invalid(v)
    }
}
