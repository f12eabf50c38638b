//! The small pieces every message is made of: ids, timestamps, URLs, e-mail addresses, enums,
//! and the field tables that tie a field's mask name to its "is set" check and its parser.

use prost_types::FieldMask;

use super::report::{Report, Reported, each};
use crate::domain::{
    Email, FieldPath, Format, LanguageTag, MaterialKind, ParticipationStatus, PersonId, Role, SessionId, SessionStatus,
    SlotId, SlotKind, SlotStatus, Timestamp, Violations, Visibility, WebUrl,
};
use crate::links::Urls;
use crate::pb;

// ----- field tables -----

/// One writable field of a message `M` that is parsed into a patch `P`.
///
/// A message's fields are one `const` table of these, so a field's mask name, the check that
/// tells whether a request sets it, and the code that parses it sit in one row and cannot be
/// reordered against each other.
pub struct Field<M, P> {
    /// The proto name, as an `update_mask` path names it.
    pub name: &'static str,
    /// Whether the message sets the field (what an empty mask applies, AIP-134).
    pub is_set: fn(&M) -> bool,
    /// Parses the field into the patch; `path` is its request path (`session.title`).
    /// A malformed value is recorded in the violations and leaves the patch as it was.
    pub apply: fn(&mut Violations, &str, &M, &mut P),
}

/// A row for a field copied as it is (text or a list of text): set when not empty.
macro_rules! copied {
    ($name:literal, $get:ident => $set:ident) => {
        Field { name: $name, is_set: |m| !m.$get.is_empty(), apply: |_, _, m, p| p.$set = Some(m.$get.clone()) }
    };
}
pub(super) use copied;

/// A row for a required timestamp: set when present.
macro_rules! time {
    ($name:literal, $get:ident => $set:ident) => {
        Field {
            name: $name,
            is_set: |m| m.$get.is_some(),
            apply: |v, f, m, p| p.$set = $crate::api::convert::scalars::parse_time(v, f, m.$get.as_ref()),
        }
    };
}
pub(super) use time;

/// The fields an update applies: those its mask names, or when the mask is empty every field
/// the message sets (AIP-134), so an update never clears what it did not send. A mask path
/// that is not a writable field is a violation on `update_mask.paths[i]`.
pub fn masked<'t, M, P>(
    v: &mut Violations,
    table: &'t [Field<M, P>],
    message: &M,
    mask: Option<&FieldMask>,
) -> Vec<&'t Field<M, P>> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        return table.iter().filter(|f| (f.is_set)(message)).collect();
    }
    let mut out = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        match table.iter().find(|f| f.name == p) {
            Some(f) => out.push(f),
            None => {
                let names: Vec<&str> = table.iter().map(|f| f.name).collect();
                v.add(
                    format!("update_mask.paths[{i}]"),
                    format!("{p:?} is not a writable field (writable: {})", names.join(", ")),
                );
            }
        }
    }
    out
}

/// The patch of `fields` of `message`, whose request path is `prefix` (`session`).
pub fn patch<'t, M, P: Default + 't>(
    v: &mut Violations,
    prefix: &str,
    message: &M,
    fields: impl IntoIterator<Item = &'t Field<M, P>>,
) -> P
where
    M: 't,
{
    let mut p = P::default();
    let mut path = FieldPath::new(prefix);
    for f in fields {
        (f.apply)(v, path.field(f.name), message, &mut p);
    }
    p
}

/// Adds the domain's rule violations (`rules`, paths relative to `prefix`) to what parsing
/// found, so that a client learns every problem in one answer.
///
/// A value that failed to parse is checked with a placeholder in its place, so the rules about
/// that field (and under it) are left out: the parse error already says what is wrong. When a
/// time failed to parse, the rules that compare times (end after start, slots inside their
/// session, overlaps) are left out too, as they would be comparing with the placeholder.
pub fn add_rules(v: &mut Violations, prefix: &str, rules: Result<(), Violations>) {
    let Err(rules) = rules else { return };
    let failed: Vec<String> = v.violations().iter().map(|x| x.field.clone()).collect();
    let is_time = |f: &str| f.ends_with("start_time") || f.ends_with("end_time");
    let time_failed = failed.iter().any(|f| is_time(f));
    for x in rules.violations() {
        let path = match (prefix.is_empty(), x.field.is_empty()) {
            (true, _) => x.field.clone(),
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{}", x.field),
        };
        let under_failed = failed
            .iter()
            .any(|f| path == *f || path.strip_prefix(f.as_str()).is_some_and(|rest| rest.starts_with(['.', '['])));
        let compares_placeholder = time_failed && is_time(&path);
        if !(under_failed || compares_placeholder) {
            v.add(path, x.description.clone());
        }
    }
}

// ----- scalars -----

pub fn timestamp(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.as_second(), nanos: t.subsec_nanosecond() }
}

/// A required timestamp.
pub fn parse_time(v: &mut Violations, field: &str, t: Option<&prost_types::Timestamp>) -> Option<Timestamp> {
    match t {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) => parse_optional_time(v, field, Some(t)),
    }
}

/// An optional timestamp (absent stays absent), within the accepted range.
pub fn parse_optional_time(v: &mut Violations, field: &str, t: Option<&prost_types::Timestamp>) -> Option<Timestamp> {
    let t = t?;
    v.check(
        field,
        Timestamp::new(t.seconds, t.nanos)
            .map_err(|_| "is not a valid timestamp")
            .and_then(crate::domain::check_time_range),
    )
}

// Malformed optional values are recorded and read as absent, so the rest of the request can
// still be checked against the domain rules and every problem reported in one answer.

pub fn optional_url(v: &mut Violations, field: &str, s: &str) -> Option<Option<WebUrl>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, WebUrl::parse(s))) }
}

pub fn optional_email(v: &mut Violations, field: &str, s: &str) -> Option<Option<Email>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, Email::parse(s))) }
}

/// A BCP 47 tag, or none when empty; a malformed one is recorded and read as absent.
pub fn optional_language(v: &mut Violations, field: &str, s: &str) -> Option<Option<LanguageTag>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, LanguageTag::parse(s))) }
}

/// A list of person ids, each malformed one recorded at its index.
pub fn person_ids(v: &mut Violations, field: &str, ids: &[String]) -> Result<Vec<PersonId>, Reported> {
    each(ids, |i, s| v.parsed(format!("{field}[{i}]"), PersonId::parse(s)))
}

/// Parses an id field: required, or generated when empty and `generate` is set.
pub fn id<T>(
    v: &mut Violations,
    field: &str,
    s: &str,
    generate: bool,
    parse: fn(&str) -> Result<T, crate::domain::IdError>,
    new: fn() -> T,
) -> Result<T, Reported> {
    match s {
        "" if generate => Ok(new()),
        "" => Err(v.reject(field, "is required")),
        s => v.parsed(field, parse(s)),
    }
}

pub fn session_id(v: &mut Violations, field: &str, s: &str) -> Result<SessionId, Reported> {
    id(v, field, s, false, SessionId::parse, SessionId::generate)
}

pub fn person_id(v: &mut Violations, field: &str, s: &str) -> Result<PersonId, Reported> {
    id(v, field, s, false, PersonId::parse, PersonId::generate)
}

pub fn slot_id(v: &mut Violations, field: &str, s: &str) -> Result<SlotId, Reported> {
    id(v, field, s, false, SlotId::parse, SlotId::generate)
}

/// An id field that may be left empty: empty is `None`.
pub fn optional_id<T>(
    v: &mut Violations,
    field: &str,
    s: &str,
    parse: fn(&str) -> Result<T, crate::domain::IdError>,
) -> Result<Option<T>, Reported> {
    if s.is_empty() { Ok(None) } else { v.parsed(field, parse(s)).map(Some) }
}

/// An etag field: empty means "no check".
pub fn etag(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// A feed's two addresses as the API shows them.
pub fn feed_urls(u: Urls) -> pb::FeedUrls {
    pb::FeedUrls { url: u.url, webcal: u.webcal }
}

// ----- enums -----

/// Maps a protobuf enum to a domain enum; `UNSPECIFIED` takes `default`, unknown numbers are
/// violations.
macro_rules! enum_map {
    ($parse:ident, $emit:ident, $pb:ty, $dom:ty { $($pv:ident <=> $dv:ident),* $(,)? }) => {
        pub fn $parse(v: &mut Violations, field: &str, raw: i32, default: $dom) -> Option<$dom> {
            match <$pb>::try_from(raw) {
                Ok(<$pb>::Unspecified) => Some(default),
                $(Ok(<$pb>::$pv) => Some(<$dom>::$dv),)*
                Err(_) => {
                    v.add(field, format!("{raw} is not a known value"));
                    None
                }
            }
        }
        pub fn $emit(d: $dom) -> i32 {
            match d { $(<$dom>::$dv => <$pb>::$pv as i32,)* }
        }
    };
}

enum_map!(parse_format, format, pb::SessionFormat, Format { Online <=> Online, InPerson <=> InPerson, Hybrid <=> Hybrid });
enum_map!(parse_status, status, pb::SessionStatus, SessionStatus {
    Scheduled <=> Scheduled, Cancelled <=> Cancelled, Completed <=> Completed,
});
enum_map!(parse_visibility, visibility, pb::Visibility, Visibility { Public <=> Public, Private <=> Private });
enum_map!(parse_material_kind, material_kind, pb::MaterialKind, MaterialKind {
    Slides <=> Slides, Programme <=> Programme, ParticipantList <=> ParticipantList,
    Recording <=> Recording, Document <=> Document, Other <=> Other,
});
enum_map!(parse_slot_kind, slot_kind, pb::SlotKind, SlotKind {
    Opening <=> Opening, Presentation <=> Presentation, Panel <=> Panel, Discussion <=> Discussion,
    Break <=> Break, Closing <=> Closing, Other <=> Other,
});
enum_map!(parse_slot_status, slot_status, pb::SlotStatus, SlotStatus { Scheduled <=> Scheduled, Cancelled <=> Cancelled });
enum_map!(parse_role, role, pb::ParticipantRole, Role {
    Organizer <=> Organizer, Moderator <=> Moderator, Speaker <=> Speaker, Participant <=> Participant,
});
enum_map!(parse_partstat, partstat, pb::ParticipationStatus, ParticipationStatus {
    NeedsAction <=> NeedsAction, Accepted <=> Accepted, Tentative <=> Tentative, Declined <=> Declined,
});

/// A session status filter: unspecified means "any".
pub fn status_filter(v: &mut Violations, field: &str, raw: i32) -> Option<Option<SessionStatus>> {
    if raw == 0 {
        return Some(None);
    }
    parse_status(v, field, raw, SessionStatus::Scheduled).map(Some)
}
