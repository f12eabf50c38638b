//! Protobuf <-> domain conversion, at the edge.
//!
//! Incoming messages are parsed field by field into domain values; every problem is recorded
//! as a field violation with the path a client sent (`session.slots[1].start_time`), and the
//! domain's own rules are checked afterwards by the app layer. Writes with a field mask parse
//! only the named fields, so an unrelated malformed field cannot block them.
//!
//! Defaults for unspecified enums: status SCHEDULED, visibility PUBLIC, slot kind OTHER,
//! slot status SCHEDULED, material kind OTHER, role PARTICIPANT, participation NEEDS_ACTION;
//! format derived from the place (join URL and location: HYBRID, join URL only: ONLINE,
//! otherwise IN_PERSON); an empty time zone is UTC.

use prost_types::FieldMask;

use crate::domain::{
    Email, Format, Material, MaterialKind, Organizer, Participant, ParticipationStatus, Person, PersonId, PersonPatch,
    PersonSlot, RecordMeta, Role, Session, SessionId, SessionPatch, SessionStatus, Slot, SlotId, SlotKind, SlotPatch,
    SlotStatus, TimeZoneName, Timestamp, Violations, Visibility, WebUrl,
};
use crate::links::{FeedLinks, Urls};
use crate::pb;

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

fn optional_url(v: &mut Violations, field: &str, s: &str) -> Option<Option<WebUrl>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, WebUrl::parse(s))) }
}

fn optional_email(v: &mut Violations, field: &str, s: &str) -> Option<Option<Email>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, Email::parse(s))) }
}

fn optional_person(v: &mut Violations, field: &str, s: &str) -> Option<Option<PersonId>> {
    if s.is_empty() { Some(None) } else { v.check(field, PersonId::parse(s)).map(Some) }
}

fn person_ids(v: &mut Violations, field: &str, ids: &[String]) -> Option<Vec<PersonId>> {
    let parsed: Vec<Option<PersonId>> =
        ids.iter().enumerate().map(|(i, s)| v.check(format!("{field}[{i}]"), PersonId::parse(s))).collect();
    parsed.into_iter().collect()
}

/// Parses an id field: required, or generated when empty and `generate` is set.
pub fn id<T>(
    v: &mut Violations,
    field: &str,
    s: &str,
    generate: bool,
    parse: fn(&str) -> Result<T, crate::domain::IdError>,
    new: fn() -> T,
) -> Option<T> {
    if s.is_empty() && generate {
        return Some(new());
    }
    if s.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.check(field, parse(s))
}

pub fn session_id(v: &mut Violations, field: &str, s: &str) -> Option<SessionId> {
    id(v, field, s, false, SessionId::parse, SessionId::generate)
}

pub fn person_id(v: &mut Violations, field: &str, s: &str) -> Option<PersonId> {
    id(v, field, s, false, PersonId::parse, PersonId::generate)
}

pub fn slot_id(v: &mut Violations, field: &str, s: &str) -> Option<SlotId> {
    id(v, field, s, false, SlotId::parse, SlotId::generate)
}

/// An etag field: empty means "no check".
pub fn etag(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

// ----- enums -----

/// Maps a protobuf enum to a domain enum; `UNSPECIFIED` takes `default`, unknown numbers are
/// violations.
macro_rules! enum_map {
    ($parse:ident, $emit:ident, $pb:ty, $dom:ty { $($pv:ident <=> $dv:ident),* $(,)? }) => {
        fn $parse(v: &mut Violations, field: &str, raw: i32, default: $dom) -> Option<$dom> {
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

// ----- field masks -----

/// The paths to apply: the mask's, checked against `allowed`, or when the mask is empty
/// every field the message sets (AIP-134), so an update never clears what it did not send.
pub fn mask_paths(
    v: &mut Violations,
    mask: Option<&FieldMask>,
    allowed: &[&str],
    populated: Vec<&'static str>,
) -> Vec<String> {
    match mask {
        Some(m) if !m.paths.is_empty() => {
            for (i, p) in m.paths.iter().enumerate() {
                if !allowed.contains(&p.as_str()) {
                    v.add(
                        format!("update_mask.paths[{i}]"),
                        format!("{p:?} is not a writable field (writable: {})", allowed.join(", ")),
                    );
                }
            }
            m.paths.clone()
        }
        _ => populated.into_iter().map(str::to_owned).collect(),
    }
}

// ----- materials, slots, participants -----

fn material(v: &mut Violations, field: &str, m: &pb::Material) -> Option<Material> {
    let url = optional_url(v, &format!("{field}.url"), &m.url);
    let kind = parse_material_kind(v, &format!("{field}.kind"), m.kind, MaterialKind::Other);
    let presenter = optional_person(v, &format!("{field}.presenter_id"), &m.presenter_id);
    Some(Material { title: m.title.clone(), url: url?, kind: kind?, presenter: presenter? })
}

fn materials(v: &mut Violations, field: &str, ms: &[pb::Material]) -> Option<Vec<Material>> {
    let parsed: Vec<Option<Material>> =
        ms.iter().enumerate().map(|(i, m)| material(v, &format!("{field}[{i}]"), m)).collect();
    parsed.into_iter().collect()
}

pub const SLOT_FIELDS: &[&str] = &[
    "start_time",
    "end_time",
    "title",
    "kind",
    "description",
    "speaker_ids",
    "moderator_ids",
    "materials",
    "allow_overlap",
    "status",
];

fn populated_slot_fields(s: &pb::Slot) -> Vec<&'static str> {
    let set = [
        s.start_time.is_some(),
        s.end_time.is_some(),
        !s.title.is_empty(),
        s.kind != 0,
        !s.description.is_empty(),
        !s.speaker_ids.is_empty(),
        !s.moderator_ids.is_empty(),
        !s.materials.is_empty(),
        s.allow_overlap,
        s.status != 0,
    ];
    SLOT_FIELDS.iter().zip(set).filter(|(_, on)| *on).map(|(f, _)| *f).collect()
}

/// The slot fields named by `paths`, parsed.
pub fn slot_patch(v: &mut Violations, field: &str, s: &pb::Slot, paths: &[String]) -> SlotPatch {
    let mut p = SlotPatch::default();
    let f = |name: &str| format!("{field}.{name}");
    for path in paths {
        match path.as_str() {
            "start_time" => p.start = parse_time(v, &f(path), s.start_time.as_ref()),
            "end_time" => p.end = parse_time(v, &f(path), s.end_time.as_ref()),
            "title" => p.title = Some(s.title.clone()),
            "kind" => p.kind = parse_slot_kind(v, &f(path), s.kind, SlotKind::Other),
            "description" => p.description = Some(s.description.clone()),
            "speaker_ids" => p.speakers = person_ids(v, &f(path), &s.speaker_ids),
            "moderator_ids" => p.moderators = person_ids(v, &f(path), &s.moderator_ids),
            "materials" => p.materials = materials(v, &f(path), &s.materials),
            "allow_overlap" => p.allow_overlap = Some(s.allow_overlap),
            "status" => p.status = parse_slot_status(v, &f(path), s.status, SlotStatus::Scheduled),
            _ => {}
        }
    }
    p
}

/// A whole slot; its id is generated when empty.
pub fn slot(v: &mut Violations, field: &str, s: &pb::Slot) -> Option<Slot> {
    let id = id(v, &format!("{field}.id"), &s.id, true, SlotId::parse, SlotId::generate);
    let all: Vec<String> = SLOT_FIELDS.iter().map(|s| (*s).to_owned()).collect();
    let p = slot_patch(v, field, s, &all);
    Some(Slot {
        id: id?,
        start: p.start?,
        end: p.end?,
        title: p.title?,
        kind: p.kind?,
        description: p.description?,
        speakers: p.speakers?,
        moderators: p.moderators?,
        materials: p.materials?,
        allow_overlap: p.allow_overlap?,
        status: p.status?,
        sequence: 0,
    })
}

pub fn participant(v: &mut Violations, field: &str, p: &pb::Participant) -> Option<Participant> {
    let person = person_id(v, &format!("{field}.person_id"), &p.person_id);
    let role = parse_role(v, &format!("{field}.role"), p.role, Role::Participant);
    let status = parse_partstat(v, &format!("{field}.status"), p.status, ParticipationStatus::NeedsAction);
    Some(Participant { person: person?, role: role?, group: p.group.clone(), status: status? })
}

pub fn participant_patch(
    v: &mut Violations,
    field: &str,
    p: &pb::Participant,
    mask: Option<&FieldMask>,
) -> (Option<Role>, Option<String>, Option<ParticipationStatus>) {
    let populated = [("role", p.role != 0), ("group", !p.group.is_empty()), ("status", p.status != 0)]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| f)
        .collect();
    let paths = mask_paths(v, mask, &["role", "group", "status"], populated);
    let mut out = (None, None, None);
    for path in &paths {
        match path.as_str() {
            "role" => out.0 = parse_role(v, &format!("{field}.role"), p.role, Role::Participant),
            "group" => out.1 = Some(p.group.clone()),
            "status" => {
                out.2 = parse_partstat(v, &format!("{field}.status"), p.status, ParticipationStatus::NeedsAction)
            }
            _ => {}
        }
    }
    out
}

// ----- sessions -----

pub const SESSION_FIELDS: &[&str] = &[
    "title",
    "description",
    "organizer",
    "format",
    "location",
    "join_url",
    "time_zone",
    "start_time",
    "end_time",
    "status",
    "tags",
    "recording_url",
    "materials",
    "expected_attendance",
    "actual_attendance",
    "visibility",
    "slots",
    "participants",
];

fn populated_session_fields(s: &pb::Session) -> Vec<&'static str> {
    let set = [
        !s.title.is_empty(),
        !s.description.is_empty(),
        s.organizer.is_some(),
        s.format != 0,
        !s.location.is_empty(),
        !s.join_url.is_empty(),
        !s.time_zone.is_empty(),
        s.start_time.is_some(),
        s.end_time.is_some(),
        s.status != 0,
        !s.tags.is_empty(),
        !s.recording_url.is_empty(),
        !s.materials.is_empty(),
        s.expected_attendance.is_some(),
        s.actual_attendance.is_some(),
        s.visibility != 0,
        !s.slots.is_empty(),
        !s.participants.is_empty(),
    ];
    SESSION_FIELDS.iter().zip(set).filter(|(_, on)| *on).map(|(f, _)| *f).collect()
}

/// The paths an UpdateSession applies.
pub fn session_mask(v: &mut Violations, s: &pb::Session, mask: Option<&FieldMask>) -> Vec<String> {
    mask_paths(v, mask, SESSION_FIELDS, populated_session_fields(s))
}

/// The slot fields an UpdateSlot applies.
pub fn slot_mask(v: &mut Violations, s: &pb::Slot, mask: Option<&FieldMask>) -> Vec<String> {
    mask_paths(v, mask, SLOT_FIELDS, populated_slot_fields(s))
}

/// The session fields named by `paths`, parsed; `field` is the message's path ("session").
pub fn session_patch(v: &mut Violations, field: &str, s: &pb::Session, paths: &[String]) -> SessionPatch {
    let mut p = SessionPatch::default();
    let f = |name: &str| format!("{field}.{name}");
    for path in paths {
        match path.as_str() {
            "title" => p.title = Some(s.title.clone()),
            "description" => p.description = Some(s.description.clone()),
            "organizer" => match &s.organizer {
                None => v.add(f(path), "is required"),
                Some(o) => {
                    let email = optional_email(v, &f("organizer.email"), &o.email);
                    p.organizer =
                        email.map(|email| Organizer { name: o.name.clone(), short_name: o.short_name.clone(), email });
                }
            },
            "format" => {
                let derived = match (s.join_url.is_empty(), s.location.is_empty()) {
                    (false, false) => Format::Hybrid,
                    (false, true) => Format::Online,
                    _ => Format::InPerson,
                };
                p.format = parse_format(v, &f(path), s.format, derived);
            }
            "location" => p.location = Some(s.location.clone()),
            "join_url" => p.join_url = optional_url(v, &f(path), &s.join_url),
            "time_zone" => {
                p.time_zone = if s.time_zone.is_empty() {
                    Some(TimeZoneName::utc())
                } else {
                    // Read as UTC when unknown, so the other rules can still be checked.
                    Some(v.check(f(path), TimeZoneName::parse(&s.time_zone)).unwrap_or_else(TimeZoneName::utc))
                }
            }
            "start_time" => p.start = parse_time(v, &f(path), s.start_time.as_ref()),
            "end_time" => p.end = parse_time(v, &f(path), s.end_time.as_ref()),
            "status" => p.status = parse_status(v, &f(path), s.status, SessionStatus::Scheduled),
            "tags" => p.tags = Some(s.tags.clone()),
            "recording_url" => p.recording_url = optional_url(v, &f(path), &s.recording_url),
            "materials" => p.materials = materials(v, &f(path), &s.materials),
            "expected_attendance" => p.expected_attendance = Some(s.expected_attendance),
            "actual_attendance" => p.actual_attendance = Some(s.actual_attendance),
            "visibility" => p.visibility = parse_visibility(v, &f(path), s.visibility, Visibility::Public),
            "slots" => {
                let slots: Vec<Option<Slot>> =
                    s.slots.iter().enumerate().map(|(i, sl)| slot(v, &format!("{field}.slots[{i}]"), sl)).collect();
                p.slots = slots.into_iter().collect();
            }
            "participants" => {
                let ps: Vec<Option<Participant>> = s
                    .participants
                    .iter()
                    .enumerate()
                    .map(|(i, pp)| participant(v, &format!("{field}.participants[{i}]"), pp))
                    .collect();
                p.participants = ps.into_iter().collect();
            }
            _ => {}
        }
    }
    p
}

/// A whole new session.
pub fn new_session(v: &mut Violations, field: &str, id: SessionId, s: &pb::Session) -> Option<Session> {
    let all: Vec<String> = SESSION_FIELDS.iter().map(|s| (*s).to_owned()).collect();
    let p = session_patch(v, field, s, &all);
    Some(Session {
        id,
        title: p.title?,
        description: p.description?,
        organizer: p.organizer?,
        format: p.format?,
        location: p.location?,
        join_url: p.join_url?,
        time_zone: p.time_zone?,
        start: p.start?,
        end: p.end?,
        status: p.status?,
        tags: p.tags?,
        recording_url: p.recording_url?,
        materials: p.materials?,
        expected_attendance: p.expected_attendance?,
        actual_attendance: p.actual_attendance?,
        visibility: p.visibility?,
        slots: p.slots?,
        participants: p.participants?,
        removed_slots: Vec::new(),
        meta: RecordMeta::default(),
        sequence: 0,
    })
}

fn material_out(m: &Material) -> pb::Material {
    pb::Material {
        title: m.title.clone(),
        url: m.url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        kind: material_kind(m.kind),
        presenter_id: m.presenter.as_ref().map(|p| p.to_string()).unwrap_or_default(),
    }
}

fn strings(ids: &[PersonId]) -> Vec<String> {
    ids.iter().map(|p| p.to_string()).collect()
}

pub fn slot_out(s: &Slot) -> pb::Slot {
    pb::Slot {
        id: s.id.to_string(),
        start_time: Some(timestamp(s.start)),
        end_time: Some(timestamp(s.end)),
        title: s.title.clone(),
        kind: slot_kind(s.kind),
        description: s.description.clone(),
        speaker_ids: strings(&s.speakers),
        moderator_ids: strings(&s.moderators),
        materials: s.materials.iter().map(material_out).collect(),
        allow_overlap: s.allow_overlap,
        status: slot_status(s.status),
        sequence: s.sequence,
    }
}

pub fn session_out(s: &Session, links: &FeedLinks) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        title: s.title.clone(),
        description: s.description.clone(),
        organizer: Some(pb::Organizer {
            name: s.organizer.name.clone(),
            short_name: s.organizer.short_name.clone(),
            email: s.organizer.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        }),
        format: format(s.format),
        location: s.location.clone(),
        join_url: s.join_url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        time_zone: s.time_zone.to_string(),
        start_time: Some(timestamp(s.start)),
        end_time: Some(timestamp(s.end)),
        status: status(s.status),
        tags: s.tags.clone(),
        recording_url: s.recording_url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        materials: s.materials.iter().map(material_out).collect(),
        expected_attendance: s.expected_attendance,
        actual_attendance: s.actual_attendance,
        visibility: visibility(s.visibility),
        slots: s.slots.iter().map(slot_out).collect(),
        participants: s
            .participants
            .iter()
            .map(|p| pb::Participant {
                person_id: p.person.to_string(),
                role: role(p.role),
                group: p.group.clone(),
                status: partstat(p.status),
            })
            .collect(),
        create_time: Some(timestamp(s.meta.create_time)),
        update_time: Some(timestamp(s.meta.update_time)),
        etag: s.meta.etag(),
        sequence: s.sequence,
        feed_urls: (s.visibility == Visibility::Public).then(|| feed_urls(links.session(s.id.as_str()))),
    }
}

pub fn feed_urls(u: Urls) -> pb::FeedUrls {
    pb::FeedUrls { https: u.https, webcal: u.webcal }
}

// ----- people -----

pub const PERSON_FIELDS: &[&str] = &["name", "honorific", "position", "affiliation", "email"];

/// The paths an UpdatePerson applies.
pub fn person_mask(v: &mut Violations, p: &pb::Person, mask: Option<&FieldMask>) -> Vec<String> {
    let set = [
        !p.name.is_empty(),
        !p.honorific.is_empty(),
        !p.position.is_empty(),
        !p.affiliation.is_empty(),
        !p.email.is_empty(),
    ];
    let populated = PERSON_FIELDS.iter().zip(set).filter(|(_, on)| *on).map(|(f, _)| *f).collect();
    mask_paths(v, mask, PERSON_FIELDS, populated)
}

pub fn person_patch(v: &mut Violations, field: &str, p: &pb::Person, paths: &[String]) -> PersonPatch {
    let mut out = PersonPatch::default();
    for path in paths {
        match path.as_str() {
            "name" => out.name = Some(p.name.clone()),
            "honorific" => out.honorific = Some(p.honorific.clone()),
            "position" => out.position = Some(p.position.clone()),
            "affiliation" => out.affiliation = Some(p.affiliation.clone()),
            "email" => out.email = optional_email(v, &format!("{field}.email"), &p.email),
            _ => {}
        }
    }
    out
}

pub fn new_person(v: &mut Violations, field: &str, id: PersonId, p: &pb::Person) -> Option<Person> {
    let email = optional_email(v, &format!("{field}.email"), &p.email);
    Some(Person {
        id,
        name: p.name.clone(),
        honorific: p.honorific.clone(),
        position: p.position.clone(),
        affiliation: p.affiliation.clone(),
        email: email?,
        meta: RecordMeta::default(),
    })
}

pub fn person_out(p: &Person, links: &FeedLinks) -> pb::Person {
    pb::Person {
        id: p.id.to_string(),
        name: p.name.clone(),
        honorific: p.honorific.clone(),
        position: p.position.clone(),
        affiliation: p.affiliation.clone(),
        email: p.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(p.meta.create_time)),
        update_time: Some(timestamp(p.meta.update_time)),
        etag: p.meta.etag(),
        feed_urls: Some(feed_urls(links.person(p.id.as_str()))),
    }
}

pub fn person_slot_out(p: &PersonSlot) -> pb::PersonSlot {
    pb::PersonSlot {
        session_id: p.session_id.to_string(),
        session_title: p.session_title.clone(),
        time_zone: p.time_zone.to_string(),
        session_status: status(p.session_status),
        slot: Some(slot_out(&p.slot)),
        roles: p.roles.iter().map(|r| role(*r)).collect(),
    }
}
