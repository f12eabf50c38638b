//! What domain operations fail with: invalid values (field by field), missing or duplicate
//! parts of a record, and answers the rules refuse.
//!
//! The domain's own error type, so the domain depends on nothing above it: the app's
//! `error::Error` wraps this one and adds what only the app can fail with (the store, etags,
//! contention). Messages quote ids with `Display`, never `Debug`.

use std::fmt;

use super::{SessionId, SlotId};

/// What kind of thing an error is about, for messages (and, above the domain, reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Session,
    Slot,
    Person,
    Participant,
    Group,
    FeedToken,
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

/// Why a domain operation refused a change. Each is the caller's to fix; the value operated on
/// is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The value breaks one or more rules; each violation names its field.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    #[error("{kind} \"{id}\" not found")]
    NotFound { kind: Kind, id: String },
    #[error("{kind} \"{id}\" already exists")]
    AlreadyExists { kind: Kind, id: String },
    /// A reply to an invite for an older version of a slot: the person will answer the newer
    /// invite, and applying the old answer would undo a newer one.
    #[error(
        "the reply answers version {answered} of slot \"{slot}\", which is now at version {current}; \
         the speaker will answer the newer invite"
    )]
    StaleReply { slot: SlotId, answered: u32, current: u32 },
    /// A participant's reply to an older version of the session's invite (see `StaleReply`).
    #[error(
        "the reply answers version {answered} of session \"{session}\", which is now at version {current}; \
         the participant will answer the newer invite"
    )]
    StaleSessionReply { session: SessionId, answered: u32, current: u32 },
}

impl Error {
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        Error::NotFound { kind, id: id.to_string() }
    }

    pub fn already_exists(kind: Kind, id: impl fmt::Display) -> Self {
        Error::AlreadyExists { kind, id: id.to_string() }
    }
}

impl From<Violations> for Error {
    fn from(v: Violations) -> Self {
        Error::Invalid(v)
    }
}

/// One invalid field: its path in the request (e.g. `session.slots[2].end_time`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Every violation found in one value. Validation collects all of them rather than stopping
/// at the first, so a client can fix a request in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations {
    prefix: String,
    list: Vec<FieldViolation>,
}

impl Violations {
    /// A collector whose field paths start with `prefix` (e.g. `session`), or nothing.
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned(), list: Vec::new() }
    }

    /// Records that `field` is invalid for `description`.
    pub fn add(&mut self, field: impl AsRef<str>, description: impl Into<String>) {
        let field = field.as_ref();
        let field = match (self.prefix.is_empty(), field.is_empty()) {
            (true, _) => field.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{field}", self.prefix),
        };
        self.list.push(FieldViolation { field, description: description.into() });
    }

    /// Keeps the value of a parse, or records its error against `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: impl AsRef<str>, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Appends violations collected elsewhere, under this collector's prefix.
    pub fn extend(&mut self, other: Violations) {
        for v in other.list {
            self.add(v.field, v.description);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn violations(&self) -> &[FieldViolation] {
        &self.list
    }

    /// `Ok(())` when nothing was recorded, the collected violations otherwise.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.list.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.list.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
