//! Sessions and what they hold (slots, participants, materials, the organizer): protobuf to
//! domain through one field table per message, and back.
//!
//! Defaults for unspecified enums: status SCHEDULED, visibility PUBLIC, slot kind OTHER, slot
//! status SCHEDULED, material kind OTHER, role PARTICIPANT, participation NEEDS_ACTION. A
//! session's format and time zone have no default: a guess (in person, UTC) would put every
//! event at the wrong hour or place without a word, so they are required, on create and when
//! an update names them.

use prost_types::FieldMask;

use super::report::{Reported, each, scoped};
use super::scalars::{
    Field, add_rules, copied, feed_urls, format, id, masked, material_kind, optional_email, optional_id,
    optional_language, optional_url, parse_format, parse_material_kind, parse_partstat, parse_role, parse_slot_kind,
    parse_slot_status, parse_status, parse_visibility, partstat, patch, person_id, person_ids, role, slot_kind,
    slot_status, status, time, timestamp, visibility,
};
use crate::domain::{
    FieldPath, Format, Limits, Material, MaterialKind, Organizer, Participant, ParticipationStatus, PersonId,
    RecordMeta, Role, Session, SessionId, SessionPatch, SessionStatus, Slot, SlotId, SlotKind, SlotPatch, SlotStatus,
    TimeZoneName, Timestamp, Violations, Visibility,
};
use crate::links::FeedLinks;
use crate::pb;

/// What a missing or unknown time zone is told.
const TIME_ZONE_REQUIRED: &str = "required: an IANA time zone such as Europe/Zurich";
/// What an unspecified format is told.
const FORMAT_REQUIRED: &str = "required: SESSION_FORMAT_ONLINE, SESSION_FORMAT_IN_PERSON or SESSION_FORMAT_HYBRID";

// ----- materials and participants -----

fn material(v: &mut Violations, field: &str, m: &pb::Material) -> Option<Material> {
    let mut path = FieldPath::new(field);
    let url = optional_url(v, path.field("url"), &m.url);
    let kind = parse_material_kind(v, path.field("kind"), m.kind, MaterialKind::Other);
    let presenter = optional_id(v, path.field("presenter_id"), &m.presenter_id, PersonId::parse).ok();
    Some(Material { title: m.title.clone(), url: url?, kind: kind?, presenter: presenter? })
}

fn materials(v: &mut Violations, field: &str, ms: &[pb::Material]) -> Option<Vec<Material>> {
    let mut path = FieldPath::new(field);
    let parsed: Vec<Option<Material>> = ms.iter().enumerate().map(|(i, m)| material(v, path.index(i), m)).collect();
    parsed.into_iter().collect()
}

/// A whole participant; `Reported` when any of its fields is malformed.
pub fn participant(v: &mut Violations, field: &str, p: &pb::Participant) -> Result<Participant, Reported> {
    let person = person_id(v, FieldPath::new(field).field("person_id"), &p.person_id);
    let fields: Result<ParticipantPatch, Reported> = scoped(v, |v| patch(v, field, p, PARTICIPANT_FIELDS));
    let (person, fields) = (person?, fields?);
    // Every row applies to a whole participant, so these defaults are each overwritten.
    let mut out =
        Participant { person, role: Role::Participant, group: String::new(), status: ParticipationStatus::NeedsAction };
    fields.apply(&mut out);
    Ok(out)
}

/// A change to some of a participant's writable fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ParticipantPatch {
    pub role: Option<Role>,
    pub group: Option<String>,
    pub status: Option<ParticipationStatus>,
}

impl ParticipantPatch {
    pub fn apply(self, p: &mut Participant) {
        if let Some(role) = self.role {
            p.role = role;
        }
        if let Some(group) = self.group {
            p.group = group;
        }
        if let Some(status) = self.status {
            p.status = status;
        }
    }
}

/// The writable fields of a participant (its person_id names it and is not writable).
pub(super) const PARTICIPANT_FIELDS: &[Field<pb::Participant, ParticipantPatch>] = &[
    Field {
        name: "role",
        is_set: |p| p.role != 0,
        apply: |v, f, p, out| out.role = parse_role(v, f, p.role, Role::Participant),
    },
    copied!("group", group => group),
    Field {
        name: "status",
        is_set: |p| p.status != 0,
        apply: |v, f, p, out| out.status = parse_partstat(v, f, p.status, ParticipationStatus::NeedsAction),
    },
];

/// The participant fields an UpdateParticipant applies, parsed.
pub fn participant_patch(
    v: &mut Violations,
    field: &str,
    p: &pb::Participant,
    mask: Option<&FieldMask>,
) -> ParticipantPatch {
    let fields = masked(v, PARTICIPANT_FIELDS, p, mask);
    patch(v, field, p, fields)
}

// ----- slots -----

/// The writable fields of a slot (its id names it and is not writable).
pub(super) const SLOT_FIELDS: &[Field<pb::Slot, SlotPatch>] = &[
    time!("start_time", start_time => start),
    time!("end_time", end_time => end),
    copied!("title", title => title),
    Field {
        name: "kind",
        is_set: |s| s.kind != 0,
        apply: |v, f, s, p| p.kind = parse_slot_kind(v, f, s.kind, SlotKind::Other),
    },
    copied!("description", description => description),
    Field {
        name: "speaker_ids",
        is_set: |s| !s.speaker_ids.is_empty(),
        apply: |v, f, s, p| p.speakers = person_ids(v, f, &s.speaker_ids).ok(),
    },
    Field {
        name: "moderator_ids",
        is_set: |s| !s.moderator_ids.is_empty(),
        apply: |v, f, s, p| p.moderators = person_ids(v, f, &s.moderator_ids).ok(),
    },
    Field {
        name: "materials",
        is_set: |s| !s.materials.is_empty(),
        apply: |v, f, s, p| p.materials = materials(v, f, &s.materials),
    },
    Field {
        name: "allow_overlap",
        is_set: |s| s.allow_overlap,
        apply: |_, _, s, p| p.allow_overlap = Some(s.allow_overlap),
    },
    Field {
        name: "status",
        is_set: |s| s.status != 0,
        apply: |v, f, s, p| p.status = parse_slot_status(v, f, s.status, SlotStatus::Scheduled),
    },
];

/// The slot fields an UpdateSlot applies, parsed; `field` is the message's path ("slot").
pub fn slot_patch(v: &mut Violations, field: &str, s: &pb::Slot, mask: Option<&FieldMask>) -> SlotPatch {
    let fields = masked(v, SLOT_FIELDS, s, mask);
    patch(v, field, s, fields)
}

/// A whole slot; its id is generated when empty. Fields that fail to parse are recorded and
/// hold placeholders, so the slot can still be checked against the domain's rules.
pub fn slot(v: &mut Violations, field: &str, s: &pb::Slot) -> Slot {
    let id = id(v, FieldPath::new(field).field("id"), &s.id, true, SlotId::parse, SlotId::generate);
    let mut out = Slot {
        id: id.unwrap_or_else(|_| SlotId::generate()),
        start: Timestamp::UNIX_EPOCH,
        end: Timestamp::UNIX_EPOCH,
        title: String::new(),
        kind: SlotKind::Other,
        description: String::new(),
        speakers: Vec::new(),
        moderators: Vec::new(),
        materials: Vec::new(),
        allow_overlap: false,
        status: SlotStatus::Scheduled,
        sequence: 0,
        answers: Vec::new(),
    };
    patch(v, field, s, SLOT_FIELDS).apply(&mut out);
    out
}

/// A whole new slot, as AddSlot takes it: parse errors and the slot's own rules in one list.
pub fn new_slot(v: &mut Violations, field: &str, s: &pb::Slot, limits: &Limits) -> Slot {
    let slot = slot(v, field, s);
    if !v.is_empty() {
        let mut rules = Violations::new("");
        slot.validate(&mut rules, field, limits);
        add_rules(v, "", rules.into_result());
    }
    slot
}

// ----- sessions -----

/// The writable fields of a session (id, etag and the output-only fields are not).
pub(super) const SESSION_FIELDS: &[Field<pb::Session, SessionPatch>] = &[
    copied!("title", title => title),
    copied!("description", description => description),
    Field { name: "organizer", is_set: |s| s.organizer.is_some(), apply: organizer },
    Field { name: "format", is_set: |s| s.format != 0, apply: session_format },
    copied!("location", location => location),
    Field {
        name: "join_url",
        is_set: |s| !s.join_url.is_empty(),
        apply: |v, f, s, p| p.join_url = optional_url(v, f, &s.join_url),
    },
    Field { name: "time_zone", is_set: |s| !s.time_zone.is_empty(), apply: time_zone },
    time!("start_time", start_time => start),
    time!("end_time", end_time => end),
    Field {
        name: "status",
        is_set: |s| s.status != 0,
        apply: |v, f, s, p| p.status = parse_status(v, f, s.status, SessionStatus::Scheduled),
    },
    copied!("tags", tags => tags),
    Field {
        name: "recording_url",
        is_set: |s| !s.recording_url.is_empty(),
        apply: |v, f, s, p| p.recording_url = optional_url(v, f, &s.recording_url),
    },
    Field {
        name: "materials",
        is_set: |s| !s.materials.is_empty(),
        apply: |v, f, s, p| p.materials = materials(v, f, &s.materials),
    },
    Field {
        name: "expected_attendance",
        is_set: |s| s.expected_attendance.is_some(),
        apply: |_, _, s, p| p.expected_attendance = Some(s.expected_attendance),
    },
    Field {
        name: "actual_attendance",
        is_set: |s| s.actual_attendance.is_some(),
        apply: |_, _, s, p| p.actual_attendance = Some(s.actual_attendance),
    },
    Field {
        name: "visibility",
        is_set: |s| s.visibility != 0,
        apply: |v, f, s, p| p.visibility = parse_visibility(v, f, s.visibility, Visibility::Public),
    },
    Field { name: "slots", is_set: |s| !s.slots.is_empty(), apply: slots },
    Field { name: "participants", is_set: |s| !s.participants.is_empty(), apply: participants },
    Field {
        name: "invite_participants",
        is_set: |s| s.invite_participants,
        apply: |_, _, s, p| p.invite_participants = Some(s.invite_participants),
    },
    Field {
        name: "language",
        is_set: |s| !s.language.is_empty(),
        apply: |v, f, s, p| p.language = optional_language(v, f, &s.language),
    },
];

fn organizer(v: &mut Violations, f: &str, s: &pb::Session, p: &mut SessionPatch) {
    match &s.organizer {
        None => v.add(f, "is required"),
        Some(o) => {
            let email = optional_email(v, &format!("{f}.email"), &o.email);
            p.organizer =
                email.map(|email| Organizer { name: o.name.clone(), short_name: o.short_name.clone(), email });
        }
    }
}

fn session_format(v: &mut Violations, f: &str, s: &pb::Session, p: &mut SessionPatch) {
    if s.format == pb::SessionFormat::Unspecified as i32 {
        v.add(f, FORMAT_REQUIRED);
    } else {
        // The default is never taken: unspecified was refused above.
        p.format = parse_format(v, f, s.format, Format::InPerson);
    }
}

fn time_zone(v: &mut Violations, f: &str, s: &pb::Session, p: &mut SessionPatch) {
    if s.time_zone.is_empty() {
        v.add(f, TIME_ZONE_REQUIRED);
    } else {
        p.time_zone = v.check(f, TimeZoneName::parse(&s.time_zone));
    }
}

fn slots(v: &mut Violations, f: &str, s: &pb::Session, p: &mut SessionPatch) {
    let mut path = FieldPath::new(f);
    p.slots = Some(s.slots.iter().enumerate().map(|(i, sl)| slot(v, path.index(i), sl)).collect());
}

fn participants(v: &mut Violations, f: &str, s: &pb::Session, p: &mut SessionPatch) {
    let mut path = FieldPath::new(f);
    p.participants = each(&s.participants, |i, pp| participant(v, path.index(i), pp)).ok();
}

/// The session fields an UpdateSession applies, parsed; `field` is the message's path
/// ("session").
pub fn session_patch(v: &mut Violations, field: &str, s: &pb::Session, mask: Option<&FieldMask>) -> SessionPatch {
    let fields = masked(v, SESSION_FIELDS, s, mask);
    patch(v, field, s, fields)
}

/// A whole new session, as CreateSession takes it. Every field is parsed; one that fails is
/// recorded and holds a placeholder, and the domain's rules are then checked too, so that
/// parse errors and rule violations come back in one answer.
pub fn new_session(
    v: &mut Violations,
    field: &str,
    id: Option<SessionId>,
    s: &pb::Session,
    limits: &Limits,
) -> Session {
    let mut out = Session {
        id: id.unwrap_or_else(SessionId::generate),
        title: String::new(),
        description: String::new(),
        organizer: Organizer { name: String::new(), short_name: String::new(), email: None },
        format: Format::InPerson,
        location: String::new(),
        join_url: None,
        time_zone: TimeZoneName::utc(),
        start: Timestamp::UNIX_EPOCH,
        end: Timestamp::UNIX_EPOCH,
        status: SessionStatus::Scheduled,
        tags: Vec::new(),
        recording_url: None,
        materials: Vec::new(),
        expected_attendance: None,
        actual_attendance: None,
        visibility: Visibility::Public,
        slots: Vec::new(),
        participants: Vec::new(),
        invite_participants: false,
        language: None,
        removed_slots: Vec::new(),
        meta: RecordMeta::default(),
        sequence: 0,
    };
    patch(v, field, s, SESSION_FIELDS).apply(&mut out);
    if !v.is_empty() {
        add_rules(v, field, out.validate(limits));
    }
    out
}

// ----- domain to protobuf -----

fn material_out(m: &Material) -> pb::Material {
    pb::Material {
        title: m.title.clone(),
        url: m.url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        kind: material_kind(m.kind),
        presenter_id: m.presenter.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
    }
}

// Ids are copied as strings (`as_str().to_owned()`), not through `Display` (`to_string()`):
// the formatting machinery per id was a visible part of a write's answer (issue 22).
fn strings(ids: &[PersonId]) -> Vec<String> {
    ids.iter().map(|p| p.as_str().to_owned()).collect()
}

pub fn slot_out(s: &Slot) -> pb::Slot {
    pb::Slot {
        id: s.id.as_str().to_owned(),
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
        answers: slot_answers_out(s),
    }
}

/// Every speaker and moderator of the slot with their answer to its current version
/// (NEEDS_ACTION when none, or when the slot changed since they answered).
fn slot_answers_out(s: &Slot) -> Vec<pb::SlotAnswer> {
    let mut seen: fxhash::FxHashSet<&PersonId> = fxhash::FxHashSet::default();
    seen.reserve(s.speakers.len() + s.moderators.len());
    s.speakers
        .iter()
        .chain(&s.moderators)
        .filter(|p| seen.insert(*p))
        .map(|p| pb::SlotAnswer { person_id: p.as_str().to_owned(), status: partstat(s.status_of(p)) })
        .collect()
}

pub fn session_out(s: &Session, links: &FeedLinks) -> pb::Session {
    session_view_out(s, links, View::Full)
}

/// How much of a session a listing shows (AIP-157).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Every field but slots and participants: what a list shows, a small page.
    Basic,
    /// Every field, as GetSession answers.
    Full,
}

/// The view a request names: unspecified is BASIC (the small answer), an unknown number is
/// a violation.
pub fn session_view(v: &mut Violations, field: &str, raw: i32) -> View {
    match pb::SessionView::try_from(raw) {
        Ok(pb::SessionView::Unspecified | pb::SessionView::Basic) => View::Basic,
        Ok(pb::SessionView::Full) => View::Full,
        Err(_) => {
            v.add(field, format!("{raw} is not a known value"));
            View::Basic
        }
    }
}

/// A session as `view` shows it; BASIC never converts the slots and participants it leaves
/// out.
pub fn session_view_out(s: &Session, links: &FeedLinks, view: View) -> pb::Session {
    let full = view == View::Full;
    pb::Session {
        id: s.id.as_str().to_owned(),
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
        slots: if full { s.slots.iter().map(slot_out).collect() } else { Vec::new() },
        participants: if full {
            s.participants
                .iter()
                .map(|p| pb::Participant {
                    person_id: p.person.as_str().to_owned(),
                    role: role(p.role),
                    group: p.group.clone(),
                    status: partstat(p.status),
                })
                .collect()
        } else {
            Vec::new()
        },
        create_time: Some(timestamp(s.meta.create_time)),
        update_time: Some(timestamp(s.meta.update_time)),
        etag: s.meta.etag(),
        sequence: s.sequence,
        feed_urls: (s.visibility == Visibility::Public).then(|| feed_urls(links.session(s.id.as_str()))),
        invite_participants: s.invite_participants,
        language: s.language.as_ref().map(|l| l.to_string()).unwrap_or_default(),
    }
}
