//! The import/export file format: sessions and people as readable JSON.
//!
//! `agenda import FILE`, `agenda export` and `agenda serve --demo` (which imports
//! `data/demo/*.json`) all use it. Times are RFC 3339 with the offset of the session's time
//! zone (`2022-11-17T15:00:00+01:00`), so a file reads like the event page it came from.
//! Unknown fields are refused so a typo cannot silently drop data.
//!
//! This module only converts between the file and domain values ([`parse`], [`render`]): it
//! knows nothing of the store. What an import does with records already stored (the modes,
//! the outcomes, the loop) is [`crate::app::import`]'s.
//!
//! Exports carry what a faithful backup needs beyond the page (sequence numbers, creation and
//! update times); imports keep those when given.

use serde::{Deserialize, Serialize};

use crate::domain::{
    Email, Format, LanguageTag, Material, MaterialKind, Organizer, Participant, ParticipationStatus, Person, PersonId,
    RecordMeta, RemovedSlot, Role, Session, SessionId, SessionStatus, Slot, SlotId, SlotKind, SlotStatus, TimeZoneName,
    Timestamp, Violations, Visibility, WebUrl, check_time_range,
};

/// The value of the file's `format` field.
pub const FORMAT: &str = "agenda-export";
/// The file format version this build reads and writes.
pub const VERSION: u32 = 1;

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("not an agenda export file: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("unsupported file: format {format:?} version {version} (expected {FORMAT:?} version {VERSION})")]
    Version { format: String, version: u32 },
    #[error("invalid file: {0}")]
    Invalid(Violations),
}

/// Declares a snake_case file enum and its conversions to and from the domain enum.
macro_rules! doc_enum {
    ($doc:ident <=> $dom:ident { $($v:ident),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum $doc { $($v),* }
        impl From<$doc> for $dom {
            fn from(d: $doc) -> $dom { match d { $($doc::$v => $dom::$v),* } }
        }
        impl From<$dom> for $doc {
            fn from(d: $dom) -> $doc { match d { $($dom::$v => $doc::$v),* } }
        }
    };
}

doc_enum!(FormatDoc <=> Format { Online, InPerson, Hybrid });
doc_enum!(StatusDoc <=> SessionStatus { Scheduled, Cancelled, Completed });
doc_enum!(VisibilityDoc <=> Visibility { Public, Private });
doc_enum!(MaterialKindDoc <=> MaterialKind { Slides, Programme, ParticipantList, Recording, Document, Other });
doc_enum!(SlotKindDoc <=> SlotKind { Opening, Presentation, Panel, Discussion, Break, Closing, Other });
doc_enum!(SlotStatusDoc <=> SlotStatus { Scheduled, Cancelled });
doc_enum!(RoleDoc <=> Role { Organizer, Moderator, Speaker, Participant });
doc_enum!(PartstatDoc <=> ParticipationStatus { NeedsAction, Accepted, Tentative, Declined });

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    format: String,
    version: u32,
    #[serde(default)]
    people: Vec<PersonDoc>,
    #[serde(default)]
    sessions: Vec<SessionDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonDoc {
    id: String,
    name: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    honorific: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    position: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    affiliation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// An IANA name, e.g. "America/New_York".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    /// A BCP 47 tag, e.g. "fr": the language of the person's invite e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update_time: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizerDoc {
    name: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    short_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialDoc {
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    kind: MaterialKindDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presenter: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotDoc {
    id: String,
    start: String,
    end: String,
    title: String,
    kind: SlotKindDoc,
    #[serde(default, skip_serializing_if = "is_empty")]
    description: String,
    #[serde(default)]
    speakers: Vec<String>,
    #[serde(default)]
    moderators: Vec<String>,
    #[serde(default)]
    materials: Vec<MaterialDoc>,
    #[serde(default, skip_serializing_if = "is_false")]
    allow_overlap: bool,
    status: SlotStatusDoc,
    #[serde(default, skip_serializing_if = "is_zero")]
    sequence: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemovedSlotDoc {
    slot: SlotDoc,
    removed_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantDoc {
    person: String,
    role: RoleDoc,
    #[serde(default, skip_serializing_if = "is_empty")]
    group: String,
    status: PartstatDoc,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionDoc {
    id: String,
    title: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    description: String,
    organizer: OrganizerDoc,
    format: FormatDoc,
    #[serde(default, skip_serializing_if = "is_empty")]
    location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    join_url: Option<String>,
    time_zone: String,
    start: String,
    end: String,
    status: StatusDoc,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recording_url: Option<String>,
    #[serde(default)]
    materials: Vec<MaterialDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_attendance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actual_attendance: Option<u32>,
    visibility: VisibilityDoc,
    #[serde(default)]
    slots: Vec<SlotDoc>,
    #[serde(default)]
    participants: Vec<ParticipantDoc>,
    /// Whether the participants are invited (their statuses are then their answers).
    #[serde(default, skip_serializing_if = "is_false")]
    invite_participants: bool,
    /// A BCP 47 tag, e.g. "fr": the language of the session's pages and e-mails by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// Slots taken off the agenda recently, still shown cancelled in feeds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removed_slots: Vec<RemovedSlotDoc>,
    #[serde(default, skip_serializing_if = "is_zero")]
    sequence: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update_time: Option<String>,
}

/// The people and sessions of a file, validated field by field (paths like
/// `sessions[0].slots[2].start`).
pub fn parse(json: &str) -> Result<(Vec<Person>, Vec<Session>), FileError> {
    let file: FileDoc = serde_json::from_str(json)?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(FileError::Version { format: file.format, version: file.version });
    }
    let mut v = Violations::new("");
    let people: Vec<Option<Person>> =
        file.people.into_iter().enumerate().map(|(i, p)| person_of(&mut v, &format!("people[{i}]"), p)).collect();
    let sessions: Vec<Option<Session>> =
        file.sessions.into_iter().enumerate().map(|(i, s)| session_of(&mut v, &format!("sessions[{i}]"), s)).collect();
    v.into_result().map_err(FileError::Invalid)?;
    Ok((people.into_iter().flatten().collect(), sessions.into_iter().flatten().collect()))
}

/// A time of the file: RFC 3339, within the range the service accepts.
fn time(v: &mut Violations, field: &str, s: &str) -> Option<Timestamp> {
    v.check(
        field,
        s.parse::<Timestamp>().map_err(|_| "is not an RFC 3339 time with an offset").and_then(check_time_range),
    )
}

fn meta(v: &mut Violations, field: &str, create: Option<&str>, update: Option<&str>) -> Option<RecordMeta> {
    let create = create.map(|t| time(v, &format!("{field}.create_time"), t));
    let update = update.map(|t| time(v, &format!("{field}.update_time"), t));
    let create = match create {
        Some(t) => t?,
        None => Timestamp::UNIX_EPOCH,
    };
    let update = match update {
        Some(t) => t?,
        None => create,
    };
    Some(RecordMeta { create_time: create, update_time: update, revision: 0 })
}

fn opt<T, E: std::fmt::Display>(
    v: &mut Violations,
    field: &str,
    s: Option<&str>,
    parse: fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    match s {
        None => Some(None),
        Some(s) => v.check(field, parse(s)).map(Some),
    }
}

fn people_ids(v: &mut Violations, field: &str, ids: &[String]) -> Option<Vec<PersonId>> {
    let parsed: Vec<Option<PersonId>> =
        ids.iter().enumerate().map(|(i, s)| v.check(format!("{field}[{i}]"), PersonId::parse(s))).collect();
    parsed.into_iter().collect()
}

fn materials_of(v: &mut Violations, field: &str, docs: Vec<MaterialDoc>) -> Option<Vec<Material>> {
    let parsed: Vec<Option<Material>> = docs
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let f = format!("{field}[{i}]");
            let url = opt(v, &format!("{f}.url"), m.url.as_deref(), WebUrl::parse);
            let presenter = opt(v, &format!("{f}.presenter"), m.presenter.as_deref(), PersonId::parse);
            Some(Material { title: m.title, url: url?, kind: m.kind.into(), presenter: presenter? })
        })
        .collect();
    parsed.into_iter().collect()
}

fn person_of(v: &mut Violations, field: &str, p: PersonDoc) -> Option<Person> {
    let id = v.check(format!("{field}.id"), PersonId::parse(&p.id));
    let email = opt(v, &format!("{field}.email"), p.email.as_deref(), Email::parse);
    let time_zone = opt(v, &format!("{field}.time_zone"), p.time_zone.as_deref(), TimeZoneName::parse);
    let language = opt(v, &format!("{field}.language"), p.language.as_deref(), LanguageTag::parse);
    let meta = meta(v, field, p.create_time.as_deref(), p.update_time.as_deref());
    Some(Person {
        id: id?,
        name: p.name,
        honorific: p.honorific,
        position: p.position,
        affiliation: p.affiliation,
        email: email?,
        time_zone: time_zone?,
        language: language?,
        meta: meta?,
    })
}

fn slot_of(v: &mut Violations, field: &str, sl: SlotDoc) -> Option<Slot> {
    let g = |name: &str| format!("{field}.{name}");
    let id = v.check(g("id"), SlotId::parse(&sl.id));
    let start = time(v, &g("start"), &sl.start);
    let end = time(v, &g("end"), &sl.end);
    let speakers = people_ids(v, &g("speakers"), &sl.speakers);
    let moderators = people_ids(v, &g("moderators"), &sl.moderators);
    let materials = materials_of(v, &g("materials"), sl.materials);
    Some(Slot {
        answers: Vec::new(),
        id: id?,
        start: start?,
        end: end?,
        title: sl.title,
        kind: sl.kind.into(),
        description: sl.description,
        speakers: speakers?,
        moderators: moderators?,
        materials: materials?,
        allow_overlap: sl.allow_overlap,
        status: sl.status.into(),
        sequence: sl.sequence,
    })
}

fn slot_doc(sl: &Slot, tz: &TimeZoneName) -> SlotDoc {
    SlotDoc {
        id: sl.id.to_string(),
        start: local(sl.start, tz),
        end: local(sl.end, tz),
        title: sl.title.clone(),
        kind: sl.kind.into(),
        description: sl.description.clone(),
        speakers: strings(&sl.speakers),
        moderators: strings(&sl.moderators),
        materials: material_docs(&sl.materials),
        allow_overlap: sl.allow_overlap,
        status: sl.status.into(),
        sequence: sl.sequence,
    }
}

fn session_of(v: &mut Violations, field: &str, s: SessionDoc) -> Option<Session> {
    let f = |name: &str| format!("{field}.{name}");
    let id = v.check(f("id"), SessionId::parse(&s.id));
    let org_email = opt(v, &f("organizer.email"), s.organizer.email.as_deref(), Email::parse);
    let join_url = opt(v, &f("join_url"), s.join_url.as_deref(), WebUrl::parse);
    let recording_url = opt(v, &f("recording_url"), s.recording_url.as_deref(), WebUrl::parse);
    let language = opt(v, &f("language"), s.language.as_deref(), LanguageTag::parse);
    let time_zone = v.check(f("time_zone"), TimeZoneName::parse(&s.time_zone));
    let start = time(v, &f("start"), &s.start);
    let end = time(v, &f("end"), &s.end);
    let materials = materials_of(v, &f("materials"), s.materials);
    let slots: Vec<Option<Slot>> =
        s.slots.into_iter().enumerate().map(|(i, sl)| slot_of(v, &format!("{field}.slots[{i}]"), sl)).collect();
    let removed_slots: Vec<Option<RemovedSlot>> = s
        .removed_slots
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let f = format!("{field}.removed_slots[{i}]");
            let removed_at = time(v, &format!("{f}.removed_at"), &r.removed_at);
            let slot = slot_of(v, &format!("{f}.slot"), r.slot);
            Some(RemovedSlot { slot: slot?, removed_at: removed_at? })
        })
        .collect();
    let participants: Vec<Option<Participant>> = s
        .participants
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let person = v.check(format!("{field}.participants[{i}].person"), PersonId::parse(&p.person));
            Some(Participant { person: person?, role: p.role.into(), group: p.group, status: p.status.into() })
        })
        .collect();
    let meta = meta(v, field, s.create_time.as_deref(), s.update_time.as_deref());
    let mut session = Session {
        id: id?,
        title: s.title,
        description: s.description,
        organizer: Organizer { name: s.organizer.name, short_name: s.organizer.short_name, email: org_email? },
        format: s.format.into(),
        location: s.location,
        join_url: join_url?,
        time_zone: time_zone?,
        start: start?,
        end: end?,
        status: s.status.into(),
        tags: s.tags,
        recording_url: recording_url?,
        materials: materials?,
        expected_attendance: s.expected_attendance,
        actual_attendance: s.actual_attendance,
        visibility: s.visibility.into(),
        slots: slots.into_iter().collect::<Option<_>>()?,
        participants: participants.into_iter().collect::<Option<_>>()?,
        invite_participants: s.invite_participants,
        language: language?,
        removed_slots: removed_slots.into_iter().collect::<Option<_>>()?,
        meta: meta?,
        sequence: s.sequence,
    };
    // Domain rules too, reported under this session's path.
    if let Err(e) = session.validate(&crate::domain::Limits::default()) {
        for x in e.violations() {
            v.add(format!("{field}.{}", x.field), x.description.clone());
        }
        return None;
    }
    // The file carries no per-slot answers: they follow the participant statuses.
    session.answers_from_participants();
    Some(session)
}

/// RFC 3339 in the zone's offset at that instant.
fn local(t: Timestamp, tz: &TimeZoneName) -> String {
    t.to_zoned_datetime(tz.tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn utc(t: Timestamp) -> String {
    t.to_string()
}

fn material_docs(ms: &[Material]) -> Vec<MaterialDoc> {
    ms.iter()
        .map(|m| MaterialDoc {
            title: m.title.clone(),
            url: m.url.as_ref().map(|u| u.to_string()),
            kind: m.kind.into(),
            presenter: m.presenter.as_ref().map(|p| p.to_string()),
        })
        .collect()
}

fn strings(ids: &[PersonId]) -> Vec<String> {
    ids.iter().map(|p| p.to_string()).collect()
}

/// Renders people and sessions as a file (pretty JSON, one field per line, for diffs).
pub fn render(people: &[Person], sessions: &[Session]) -> String {
    let file = FileDoc {
        format: FORMAT.into(),
        version: VERSION,
        people: people
            .iter()
            .map(|p| PersonDoc {
                id: p.id.to_string(),
                name: p.name.clone(),
                honorific: p.honorific.clone(),
                position: p.position.clone(),
                affiliation: p.affiliation.clone(),
                email: p.email.as_ref().map(|e| e.to_string()),
                time_zone: p.time_zone.as_ref().map(|z| z.to_string()),
                language: p.language.as_ref().map(|l| l.to_string()),
                create_time: Some(utc(p.meta.create_time)),
                update_time: Some(utc(p.meta.update_time)),
            })
            .collect(),
        sessions: sessions
            .iter()
            .map(|s| SessionDoc {
                id: s.id.to_string(),
                title: s.title.clone(),
                description: s.description.clone(),
                organizer: OrganizerDoc {
                    name: s.organizer.name.clone(),
                    short_name: s.organizer.short_name.clone(),
                    email: s.organizer.email.as_ref().map(|e| e.to_string()),
                },
                format: s.format.into(),
                location: s.location.clone(),
                join_url: s.join_url.as_ref().map(|u| u.to_string()),
                time_zone: s.time_zone.to_string(),
                start: local(s.start, &s.time_zone),
                end: local(s.end, &s.time_zone),
                status: s.status.into(),
                tags: s.tags.clone(),
                recording_url: s.recording_url.as_ref().map(|u| u.to_string()),
                materials: material_docs(&s.materials),
                expected_attendance: s.expected_attendance,
                actual_attendance: s.actual_attendance,
                visibility: s.visibility.into(),
                slots: s.slots.iter().map(|sl| slot_doc(sl, &s.time_zone)).collect(),
                removed_slots: s
                    .removed_slots
                    .iter()
                    .map(|r| RemovedSlotDoc { slot: slot_doc(&r.slot, &s.time_zone), removed_at: utc(r.removed_at) })
                    .collect(),
                participants: s
                    .participants
                    .iter()
                    .map(|p| ParticipantDoc {
                        person: p.person.to_string(),
                        role: p.role.into(),
                        group: p.group.clone(),
                        status: p.status.into(),
                    })
                    .collect(),
                invite_participants: s.invite_participants,
                language: s.language.as_ref().map(|l| l.to_string()),
                sequence: s.sequence,
                create_time: Some(utc(s.meta.create_time)),
                update_time: Some(utc(s.meta.update_time)),
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&file).expect("serializing plain data cannot fail");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../data/demo/fmg-msme-2022-11-17.json");

    #[test]
    fn the_demo_file_parses_completely() {
        let (people, sessions) = parse(DEMO).unwrap();
        assert_eq!(people.len(), 28);
        assert_eq!(sessions.len(), 1);
        let s = &sessions[0];
        assert_eq!(s.slots.len(), 5);
        assert_eq!(s.participants.len(), 28);
        assert_eq!(s.time_zone.as_str(), "Europe/Zurich");
        assert_eq!(s.start, "2022-11-17T14:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn render_then_parse_is_the_identity() {
        let (people, sessions) = parse(DEMO).unwrap();
        let again = render(&people, &sessions);
        let (people2, sessions2) = parse(&again).unwrap();
        assert_eq!(people, people2);
        assert_eq!(sessions, sessions2);
        assert_eq!(render(&people2, &sessions2), again);
    }

    #[test]
    fn a_persons_time_zone_is_exported_and_imported() {
        let (mut people, sessions) = parse(DEMO).unwrap();
        people[0].time_zone = Some(TimeZoneName::parse("America/New_York").unwrap());
        let text = render(&people, &sessions);
        assert!(text.contains("\"time_zone\": \"America/New_York\""), "{}", &text[..400]);
        assert_eq!(parse(&text).unwrap().0, people);
        let bad = text.replacen("America/New_York", "America/Nowhere", 1);
        match parse(&bad) {
            Err(FileError::Invalid(v)) => assert_eq!(v.violations()[0].field, "people[0].time_zone"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_files_say_where() {
        assert!(matches!(parse("{"), Err(FileError::Syntax(_))));
        assert!(matches!(parse(r#"{"format":"x","version":1}"#), Err(FileError::Version { .. })));
        let bad = DEMO.replacen("\"Europe/Zurich\"", "\"Europe/Geneva-ish\"", 1);
        match parse(&bad) {
            Err(FileError::Invalid(v)) => assert_eq!(v.violations()[0].field, "sessions[0].time_zone"),
            other => panic!("{other:?}"),
        }
        let ancient = DEMO.replacen("\"2022-11-17T15:00:00+01:00\"", "\"0001-11-17T15:00:00+01:00\"", 1);
        match parse(&ancient) {
            Err(FileError::Invalid(v)) => {
                assert_eq!(v.violations()[0].field, "sessions[0].start");
                assert!(v.violations()[0].description.contains("1900-01-01T00:00:00Z"));
            }
            other => panic!("{other:?}"),
        }
        let typo = DEMO.replacen("\"recording_url\"", "\"recordingurl\"", 1);
        assert!(matches!(parse(&typo), Err(FileError::Syntax(_))));
    }
}
