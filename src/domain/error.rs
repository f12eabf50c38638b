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

/// A request path grown from a base (`slots[3]`) by one field or index at a time, in one
/// buffer reused for every field of a value.
///
/// Why: validation names a field for every check, though a name is read only when a check
/// fails. A `format!` per check (an allocation and the formatting machinery each) was a third
/// of CreateSession's instructions (issue 22, BENCHMARKS.md); appending to a buffer the value
/// keeps costs a few instructions per field and one allocation per value.
pub struct FieldPath {
    buf: String,
    base: usize,
}

impl FieldPath {
    pub fn new(base: &str) -> Self {
        let mut buf = String::with_capacity(base.len() + 24);
        buf.push_str(base);
        Self { buf, base: base.len() }
    }

    /// `base.name`, as `format!("{base}.{name}")` gives it.
    pub fn field(&mut self, name: &str) -> &str {
        self.buf.truncate(self.base);
        self.buf.push('.');
        self.buf.push_str(name);
        &self.buf
    }

    /// `base[i]`, as `format!("{base}[{i}]")` gives it.
    pub fn index(&mut self, i: usize) -> &str {
        self.buf.truncate(self.base);
        self.buf.push('[');
        push_digits(&mut self.buf, i as u64, 0);
        self.buf.push(']');
        &self.buf
    }

    /// `base[i].name`, as `format!("{base}[{i}].{name}")` gives it.
    pub fn index_field(&mut self, i: usize, name: &str) -> &str {
        self.index(i);
        self.buf.push('.');
        self.buf.push_str(name);
        &self.buf
    }
}

/// Appends `n` in decimal, zero-padded to `width` digits (`{n:0width$}`), without the
/// formatting machinery: field paths here, iCalendar dates in `ics::feed`.
pub fn push_digits(out: &mut String, n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    let mut v = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    at = at.min(buf.len().saturating_sub(width));
    out.push_str(std::str::from_utf8(&buf[at..]).expect("ASCII digits"));
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

#[cfg(test)]
mod field_path_tests {
    use super::FieldPath;

    #[test]
    fn a_field_path_reads_as_format_would_write_it() {
        let mut p = FieldPath::new("session.slots");
        for i in [0, 7, 10, 99, 1234, usize::MAX] {
            assert_eq!(p.index(i), format!("session.slots[{i}]"));
            assert_eq!(p.index_field(i, "title"), format!("session.slots[{i}].title"));
        }
        assert_eq!(p.field("title"), "session.slots.title");
        assert_eq!(FieldPath::new("").field("title"), ".title");
    }
}
