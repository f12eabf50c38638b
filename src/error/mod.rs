//! The error type of the service's operations, and the one table of refusal reasons.
//!
//! [`Error`] wraps the domain's own error (`domain::Error`: invalid values, missing parts,
//! stale replies) and adds what only the app can fail with: the store, stale etags, and
//! refusals that need state the domain does not see (a person still in use, contention).
//! Every error has one [`Reason`] (`reason.rs`), which fixes its gRPC code and HTTP status,
//! and metadata naming the ids it is about; `api::status` and the HTTP listener both answer
//! through it. Messages quote ids with `Display`, never `Debug`.

mod reason;

use std::fmt;

pub use crate::domain::Kind;
use crate::domain::{self, Violations};
use crate::store::StoreError;
pub use reason::Reason;

/// `ErrorInfo.metadata` of a refusal: the ids it is about, by name (`session_id`, ...).
pub type Metadata = Vec<(&'static str, String)>;

/// Why an operation failed. Every variant but `Store` is the caller's to fix, and every
/// failed operation has left the store as it was, except a write of unknown outcome
/// ([`StoreError::OutcomeUnknown`]), which a restart settles one way or the other.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A domain rule refused the change (invalid fields, a missing slot, ...).
    #[error(transparent)]
    Domain(#[from] domain::Error),
    /// The etag given is not the stored one: someone else changed the record since it was read.
    #[error("{kind} \"{id}\" has changed since it was read (etag \"{given}\", current \"{current}\")")]
    StaleEtag { kind: Kind, id: String, given: String, current: String },
    /// The request is well formed but the state does not allow it now (a person still on an
    /// agenda, a write that kept losing races, an invite with nowhere to go).
    #[error("{message}")]
    Refused { reason: Reason, message: String, metadata: Metadata },
    /// The write would create these conflicts and the caller asked to be refused then.
    #[error("{} the write would double-book: {}", conflicts.len(), describe_conflicts(conflicts))]
    Conflicting { conflicts: Vec<domain::Conflict> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The people a refused write would double-book, for the status message (the details list
/// each conflict).
fn describe_conflicts(conflicts: &[domain::Conflict]) -> String {
    let mut people: Vec<&str> = conflicts.iter().map(|c| c.person().as_str()).collect();
    people.dedup();
    people.join(", ")
}

impl From<Violations> for Error {
    fn from(v: Violations) -> Self {
        Error::Domain(domain::Error::Invalid(v))
    }
}

impl Error {
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        domain::Error::not_found(kind, id).into()
    }

    pub fn already_exists(kind: Kind, id: impl fmt::Display) -> Self {
        domain::Error::already_exists(kind, id).into()
    }

    /// One invalid field.
    pub fn invalid(field: impl AsRef<str>, description: impl Into<String>) -> Self {
        let mut v = Violations::new("");
        v.add(field, description);
        v.into()
    }

    /// The record `id` is at revision `current`, not at the etag the request gave.
    pub fn stale_etag(kind: Kind, id: impl fmt::Display, given: Option<&str>, current: impl fmt::Display) -> Self {
        Error::StaleEtag {
            kind,
            id: id.to_string(),
            given: given.unwrap_or_default().to_owned(),
            current: current.to_string(),
        }
    }

    /// A refusal for `reason`, with the ids it is about.
    pub fn refused(
        reason: Reason,
        message: impl Into<String>,
        metadata: impl IntoIterator<Item = (&'static str, String)>,
    ) -> Self {
        Error::Refused { reason, message: message.into(), metadata: metadata.into_iter().collect() }
    }

    /// The validation failures, when that is what this is.
    pub fn violations(&self) -> Option<&Violations> {
        match self {
            Error::Domain(domain::Error::Invalid(v)) => Some(v),
            _ => None,
        }
    }

    /// The row of the reason table this error answers with.
    /// Whether a fenced write was refused because this replica's term of a role is over
    /// ([`StoreError::Deposed`]): the caller must stop acting for the role.
    pub fn deposed(&self) -> bool {
        matches!(self, Error::Store(StoreError::Deposed { .. }))
    }

    pub fn reason(&self) -> Reason {
        match self {
            Error::Domain(e) => match e {
                domain::Error::Invalid(_) => Reason::InvalidArgument,
                domain::Error::NotFound { kind, .. } => Reason::not_found(*kind),
                domain::Error::AlreadyExists { kind, .. } => Reason::already_exists(*kind),
                domain::Error::StaleReply { .. } | domain::Error::StaleSessionReply { .. } => Reason::StaleReply,
            },
            Error::StaleEtag { .. } => Reason::StaleEtag,
            Error::Refused { reason, .. } => *reason,
            Error::Conflicting { .. } => Reason::ScheduleConflict,
            Error::Store(StoreError::Corrupt(_)) => Reason::StoreCorrupt,
            Error::Store(StoreError::OutcomeUnknown(_)) => Reason::WriteOutcomeUnknown,
            Error::Store(StoreError::WritesStopped(_)) => Reason::StoreWritesStopped,
            Error::Store(_) => Reason::StoreUnavailable,
        }
    }

    /// The ids this error is about, for `ErrorInfo.metadata`.
    pub fn metadata(&self) -> Metadata {
        let named = |kind: Kind, id: &str| metadata_key(kind).map(|k| (k, id.to_owned())).into_iter();
        match self {
            Error::Domain(domain::Error::NotFound { kind, id } | domain::Error::AlreadyExists { kind, id }) => {
                named(*kind, id).collect()
            }
            Error::Domain(domain::Error::StaleReply { slot, answered, current }) => vec![
                ("slot_id", slot.to_string()),
                ("reply_sequence", answered.to_string()),
                ("current_sequence", current.to_string()),
            ],
            Error::Domain(domain::Error::StaleSessionReply { session, answered, current }) => vec![
                ("session_id", session.to_string()),
                ("reply_sequence", answered.to_string()),
                ("current_sequence", current.to_string()),
            ],
            Error::StaleEtag { kind, id, current, .. } => {
                named(*kind, id).chain([("current_etag", current.clone())]).collect()
            }
            Error::Refused { metadata, .. } => metadata.clone(),
            Error::Conflicting { conflicts } => vec![("conflicts", conflicts.len().to_string())],
            Error::Domain(domain::Error::Invalid(_)) | Error::Store(_) => Vec::new(),
        }
    }

    /// What a client is told. A store failure is described only in the server's log: clients
    /// learn that it failed and that nothing changed, not how the disk looks.
    pub fn client_message(&self) -> String {
        match self {
            Error::Store(StoreError::OutcomeUnknown(_)) => "the outcome is unknown: a flush of the store failed, so a \
                write may or may not have been applied; the server takes no writes until it is restarted, then a read \
                (or a retry with the same request_id) tells"
                .to_owned(),
            Error::Store(StoreError::WritesStopped(_)) => {
                "the store takes no writes since a flush failed; nothing was changed; reads go on".to_owned()
            }
            Error::Store(_) => "the store could not complete the operation; nothing was changed".to_owned(),
            e => e.to_string(),
        }
    }
}

/// The metadata key of a kind's id; none for feed tokens, whose id is a secret.
pub fn metadata_key(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Session => Some("session_id"),
        Kind::Slot => Some("slot_id"),
        Kind::Person | Kind::Participant => Some("person_id"),
        Kind::Group => Some("group"),
        Kind::FeedToken => None,
    }
}
