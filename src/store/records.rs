//! The stored form of sessions and people: serde structs encoded with postcard.
//!
//! These are separate from the domain types on purpose: the stored format changes only when
//! this file does (and then the format version in `sled_store` goes up), whatever happens to
//! the API or the domain. Enums are stored as explicit numeric codes, never as positions, so
//! reordering a domain enum cannot silently change what old records mean.
//!
//! postcard: compact (varints, no field names), fast, with a documented stable wire format;
//! the price is that it is not self-describing, which the format version covers.
//!
//! Tails: a field added later goes in a struct encoded *after* the record (`SessionTail`,
//! `SentInviteTail`), not into it. postcard's `from_bytes` ignores trailing bytes, so a build
//! that predates a tail still reads the record, and a record without its tail (written
//! before it existed) reads with the tail's stated defaults: no rewrite, no format bump.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::memindex::Doc;
use crate::domain::{
    Change, ChangeKind, Delivery, Email, Failure, FeedScope, FeedToken, Format, InviteMethod, InviteRecord, Material,
    MaterialKind, Organizer, Participant, ParticipationStatus, Person, PersonId, RecordMeta, RemovedSlot, Role,
    Session, SessionId, SessionStatus, Slot, SlotAnswer, SlotId, SlotKind, SlotStatus, TimeZoneName, Timestamp,
    Visibility, WebUrl,
};

/// Maps a domain enum to stable one-byte codes and back.
macro_rules! codes {
    ($enum:ident, $to:ident, $from:ident { $($variant:ident = $code:literal),* $(,)? }) => {
        fn $to(v: $enum) -> u8 {
            match v { $($enum::$variant => $code),* }
        }
        fn $from(c: u8) -> Result<$enum, StoreError> {
            match c {
                $($code => Ok($enum::$variant),)*
                _ => Err(StoreError::Corrupt(format!("unknown {} code {c}", stringify!($enum)))),
            }
        }
    };
}

codes!(Format, format_code, format_of { Online = 1, InPerson = 2, Hybrid = 3 });
codes!(SessionStatus, session_status_code, session_status_of { Scheduled = 1, Cancelled = 2, Completed = 3 });
codes!(Visibility, visibility_code, visibility_of { Public = 1, Private = 2 });
codes!(MaterialKind, material_kind_code, material_kind_of {
    Slides = 1, Programme = 2, ParticipantList = 3, Recording = 4, Document = 5, Other = 6,
});
codes!(SlotKind, slot_kind_code, slot_kind_of {
    Opening = 1, Presentation = 2, Panel = 3, Discussion = 4, Break = 5, Closing = 6, Other = 7,
});
codes!(SlotStatus, slot_status_code, slot_status_of { Scheduled = 1, Cancelled = 2 });
codes!(Role, role_code, role_of { Organizer = 1, Moderator = 2, Speaker = 3, Participant = 4 });
codes!(ParticipationStatus, partstat_code, partstat_of { NeedsAction = 1, Accepted = 2, Tentative = 3, Declined = 4 });

#[derive(Serialize, Deserialize)]
struct MetaRecord {
    create_micros: i64,
    update_micros: i64,
    revision: u64,
}

#[derive(Serialize, Deserialize)]
struct MaterialRecord {
    title: String,
    url: Option<String>,
    kind: u8,
    presenter: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SlotRecord {
    id: String,
    start: i64,
    end: i64,
    title: String,
    kind: u8,
    description: String,
    speakers: Vec<String>,
    moderators: Vec<String>,
    materials: Vec<MaterialRecord>,
    allow_overlap: bool,
    status: u8,
    sequence: u32,
}

#[derive(Serialize, Deserialize)]
struct RemovedSlotRecord {
    slot: SlotRecord,
    removed_micros: i64,
}

#[derive(Serialize, Deserialize)]
struct ParticipantRecord {
    person: String,
    role: u8,
    group: String,
    status: u8,
}

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    id: String,
    title: String,
    description: String,
    organizer_name: String,
    organizer_short_name: String,
    organizer_email: Option<String>,
    format: u8,
    location: String,
    join_url: Option<String>,
    time_zone: String,
    start: i64,
    end: i64,
    status: u8,
    tags: Vec<String>,
    recording_url: Option<String>,
    materials: Vec<MaterialRecord>,
    expected_attendance: Option<u32>,
    actual_attendance: Option<u32>,
    visibility: u8,
    slots: Vec<SlotRecord>,
    participants: Vec<ParticipantRecord>,
    removed_slots: Vec<RemovedSlotRecord>,
    meta: MetaRecord,
    sequence: u32,
}

/// Encoded after a [`SessionRecord`]: what sessions gained since. Absent in records written
/// before per-slot answers were kept; see [`decode_session`] for how those read.
#[derive(Serialize, Deserialize)]
struct SessionTail {
    /// The answers of each slot, in the order of `SessionRecord::slots`.
    slot_answers: Vec<Vec<AnswerRecord>>,
    /// The answers of each removed slot, in the order of `SessionRecord::removed_slots`.
    removed_slot_answers: Vec<Vec<AnswerRecord>>,
}

#[derive(Serialize, Deserialize)]
struct AnswerRecord {
    person: String,
    status: u8,
    sequence: u32,
}

#[derive(Serialize, Deserialize)]
struct PersonRecord {
    id: String,
    name: String,
    honorific: String,
    position: String,
    affiliation: String,
    email: Option<String>,
    meta: MetaRecord,
}

/// What a person record holds beyond `PersonRecord`, encoded after it. A record written
/// before it existed ends at `PersonRecord` and reads as no time zone (postcard's
/// `take_from_bytes` returns the bytes left over), so adding it needed no format bump; older
/// binaries ignore it (`from_bytes` ignores trailing bytes). A later field goes in a further
/// tail after this one, never inside it.
#[derive(Serialize, Deserialize, Default)]
struct PersonTail {
    time_zone: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FeedTokenRecord {
    token: String,
    /// 1 session, 2 person, 3 all sessions.
    scope: u8,
    id: String,
    description: String,
    create_micros: i64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn secs(t: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(t).map_err(corrupt)
}

fn meta_record(m: &RecordMeta, revision: u64) -> MetaRecord {
    MetaRecord {
        create_micros: m.create_time.as_microsecond(),
        update_micros: m.update_time.as_microsecond(),
        revision,
    }
}

fn meta_of(m: MetaRecord) -> Result<RecordMeta, StoreError> {
    Ok(RecordMeta {
        create_time: Timestamp::from_microsecond(m.create_micros).map_err(corrupt)?,
        update_time: Timestamp::from_microsecond(m.update_micros).map_err(corrupt)?,
        revision: m.revision,
    })
}

fn ids(v: &[PersonId]) -> Vec<String> {
    v.iter().map(|p| p.as_str().to_owned()).collect()
}

fn person_ids(v: Vec<String>) -> Result<Vec<PersonId>, StoreError> {
    v.into_iter().map(|s| PersonId::try_from(s).map_err(corrupt)).collect()
}

fn url_of(s: Option<String>) -> Result<Option<WebUrl>, StoreError> {
    s.map(|u| WebUrl::try_from(u).map_err(corrupt)).transpose()
}

fn material_records(v: &[Material]) -> Vec<MaterialRecord> {
    v.iter()
        .map(|m| MaterialRecord {
            title: m.title.clone(),
            url: m.url.as_ref().map(|u| u.as_str().to_owned()),
            kind: material_kind_code(m.kind),
            presenter: m.presenter.as_ref().map(|p| p.as_str().to_owned()),
        })
        .collect()
}

fn materials_of(v: Vec<MaterialRecord>) -> Result<Vec<Material>, StoreError> {
    v.into_iter()
        .map(|m| {
            Ok(Material {
                title: m.title,
                url: url_of(m.url)?,
                kind: material_kind_of(m.kind)?,
                presenter: m.presenter.map(|p| PersonId::try_from(p).map_err(corrupt)).transpose()?,
            })
        })
        .collect()
}

fn slot_record(sl: &Slot) -> SlotRecord {
    SlotRecord {
        id: sl.id.as_str().to_owned(),
        start: sl.start.as_second(),
        end: sl.end.as_second(),
        title: sl.title.clone(),
        kind: slot_kind_code(sl.kind),
        description: sl.description.clone(),
        speakers: ids(&sl.speakers),
        moderators: ids(&sl.moderators),
        materials: material_records(&sl.materials),
        allow_overlap: sl.allow_overlap,
        status: slot_status_code(sl.status),
        sequence: sl.sequence,
    }
}

fn slot_of(sl: SlotRecord) -> Result<Slot, StoreError> {
    Ok(Slot {
        id: SlotId::try_from(sl.id).map_err(corrupt)?,
        start: secs(sl.start)?,
        end: secs(sl.end)?,
        title: sl.title,
        kind: slot_kind_of(sl.kind)?,
        description: sl.description,
        speakers: person_ids(sl.speakers)?,
        moderators: person_ids(sl.moderators)?,
        materials: materials_of(sl.materials)?,
        allow_overlap: sl.allow_overlap,
        status: slot_status_of(sl.status)?,
        sequence: sl.sequence,
        answers: Vec::new(),
    })
}

fn answer_records(v: &[SlotAnswer]) -> Vec<AnswerRecord> {
    v.iter()
        .map(|a| AnswerRecord {
            person: a.person.as_str().to_owned(),
            status: partstat_code(a.status),
            sequence: a.sequence,
        })
        .collect()
}

fn answers_of(v: Vec<AnswerRecord>) -> Result<Vec<SlotAnswer>, StoreError> {
    v.into_iter()
        .map(|a| {
            Ok(SlotAnswer {
                person: PersonId::try_from(a.person).map_err(corrupt)?,
                status: partstat_of(a.status)?,
                sequence: a.sequence,
            })
        })
        .collect()
}

fn session_tail(s: &Session) -> SessionTail {
    SessionTail {
        slot_answers: s.slots.iter().map(|sl| answer_records(&sl.answers)).collect(),
        removed_slot_answers: s.removed_slots.iter().map(|r| answer_records(&r.slot.answers)).collect(),
    }
}

/// Puts the tail's answers on their slots; the tail must match the record's slots.
fn apply_tail(s: &mut Session, tail: SessionTail) -> Result<(), StoreError> {
    if tail.slot_answers.len() != s.slots.len() || tail.removed_slot_answers.len() != s.removed_slots.len() {
        return Err(StoreError::Corrupt(format!("session {}: the answers do not match the slots", s.id)));
    }
    for (slot, answers) in s.slots.iter_mut().zip(tail.slot_answers) {
        slot.answers = answers_of(answers)?;
    }
    for (r, answers) in s.removed_slots.iter_mut().zip(tail.removed_slot_answers) {
        r.slot.answers = answers_of(answers)?;
    }
    Ok(())
}

/// `record` followed by `tail`.
fn with_tail<R: Serialize, T: Serialize>(record: &R, tail: &T) -> Vec<u8> {
    let mut out = postcard::to_stdvec(record).expect("encoding to a Vec cannot fail");
    out.extend(postcard::to_stdvec(tail).expect("encoding to a Vec cannot fail"));
    out
}

/// Encodes a session at its own revision (the sled engine encodes through [`Unrevisioned`];
/// the etcd engine stores records as they are).
#[cfg(any(test, feature = "etcd"))]
pub fn encode_session(s: &Session) -> Vec<u8> {
    with_tail(&session_record(s, s.meta.revision), &session_tail(s))
}

/// A record encoded before its revision is known: the bytes before and after the revision.
///
/// Why: the sled engine takes a write's revision under the lock that orders writes, and
/// encoding a session there would hold every other writer for its duration. A postcard
/// struct is its fields' encodings end to end, so the record at revision `r` is the bytes
/// before the revision, `r` as a varint, and the bytes after it (`unrevisioned_*` encode with
/// revision 0, one byte, and cut it out).
pub struct Unrevisioned {
    pre: Vec<u8>,
    post: Vec<u8>,
}

impl Unrevisioned {
    fn cut(bytes: Vec<u8>, post_len: usize) -> Self {
        let at = bytes.len() - post_len - 1;
        debug_assert_eq!(bytes[at], 0, "revision 0 encodes as one zero byte");
        Unrevisioned { pre: bytes[..at].to_vec(), post: bytes[at + 1..].to_vec() }
    }

    /// The record at `revision`, after a one-byte `prefix` when given (a log entry's kind).
    pub fn at(&self, revision: u64, prefix: Option<u8>) -> Vec<u8> {
        let mut rev = [0u8; 10];
        let rev = postcard::to_slice(&revision, &mut rev).expect("a u64 varint fits 10 bytes");
        let mut out = Vec::with_capacity(1 + self.pre.len() + rev.len() + self.post.len());
        out.extend(prefix);
        out.extend_from_slice(&self.pre);
        out.extend_from_slice(rev);
        out.extend_from_slice(&self.post);
        out
    }
}

/// A session for the `sessions` tree, its revision left to fill in.
pub fn unrevisioned_session(s: &Session) -> Unrevisioned {
    let tail = postcard::to_stdvec(&session_tail(s)).expect("encoding to a Vec cannot fail");
    let mut bytes = postcard::to_stdvec(&session_record(s, 0)).expect("encoding to a Vec cannot fail");
    bytes.extend_from_slice(&tail);
    // `sequence` is the one field after `meta.revision`; the tail follows the record.
    let post_len = postcard::to_stdvec(&s.sequence).expect("encoding to a Vec cannot fail").len() + tail.len();
    Unrevisioned::cut(bytes, post_len)
}

/// A person for the `people` tree, its revision left to fill in (`meta.revision` is the last
/// field of `PersonRecord`; the tail follows it).
pub fn unrevisioned_person(p: &Person) -> Unrevisioned {
    let tail = person_tail(p);
    let mut bytes = postcard::to_stdvec(&person_record(p, 0)).expect("encoding to a Vec cannot fail");
    bytes.extend_from_slice(&tail);
    Unrevisioned::cut(bytes, tail.len())
}

fn session_record(s: &Session, revision: u64) -> SessionRecord {
    SessionRecord {
        id: s.id.as_str().to_owned(),
        title: s.title.clone(),
        description: s.description.clone(),
        organizer_name: s.organizer.name.clone(),
        organizer_short_name: s.organizer.short_name.clone(),
        organizer_email: s.organizer.email.as_ref().map(|e| e.as_str().to_owned()),
        format: format_code(s.format),
        location: s.location.clone(),
        join_url: s.join_url.as_ref().map(|u| u.as_str().to_owned()),
        time_zone: s.time_zone.as_str().to_owned(),
        start: s.start.as_second(),
        end: s.end.as_second(),
        status: session_status_code(s.status),
        tags: s.tags.clone(),
        recording_url: s.recording_url.as_ref().map(|u| u.as_str().to_owned()),
        materials: material_records(&s.materials),
        expected_attendance: s.expected_attendance,
        actual_attendance: s.actual_attendance,
        visibility: visibility_code(s.visibility),
        slots: s.slots.iter().map(slot_record).collect(),
        removed_slots: s
            .removed_slots
            .iter()
            .map(|r| RemovedSlotRecord { slot: slot_record(&r.slot), removed_micros: r.removed_at.as_microsecond() })
            .collect(),
        participants: s
            .participants
            .iter()
            .map(|p| ParticipantRecord {
                person: p.person.as_str().to_owned(),
                role: role_code(p.role),
                group: p.group.clone(),
                status: partstat_code(p.status),
            })
            .collect(),
        meta: meta_record(&s.meta, revision),
        sequence: s.sequence,
    }
}

/// Decodes a record of the `sessions` tree.
///
/// A record without a tail (stored before per-slot answers were kept) reads with the answers
/// its participant statuses imply ([`Session::answers_from_participants`]), so no answer is
/// lost.
pub fn decode_session(bytes: &[u8]) -> Result<Session, StoreError> {
    let (r, rest): (SessionRecord, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let tail: Option<SessionTail> =
        if rest.is_empty() { None } else { Some(postcard::from_bytes(rest).map_err(corrupt)?) };
    let slots = r.slots.into_iter().map(slot_of).collect::<Result<_, StoreError>>()?;
    let removed_slots = r
        .removed_slots
        .into_iter()
        .map(|rs| {
            Ok(RemovedSlot {
                slot: slot_of(rs.slot)?,
                removed_at: Timestamp::from_microsecond(rs.removed_micros).map_err(corrupt)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let participants = r
        .participants
        .into_iter()
        .map(|p| {
            Ok(Participant {
                person: PersonId::try_from(p.person).map_err(corrupt)?,
                role: role_of(p.role)?,
                group: p.group,
                status: partstat_of(p.status)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let mut s = Session {
        id: SessionId::try_from(r.id).map_err(corrupt)?,
        title: r.title,
        description: r.description,
        organizer: Organizer {
            name: r.organizer_name,
            short_name: r.organizer_short_name,
            email: r.organizer_email.map(|e| Email::try_from(e).map_err(corrupt)).transpose()?,
        },
        format: format_of(r.format)?,
        location: r.location,
        join_url: url_of(r.join_url)?,
        time_zone: TimeZoneName::try_from(r.time_zone).map_err(corrupt)?,
        start: secs(r.start)?,
        end: secs(r.end)?,
        status: session_status_of(r.status)?,
        tags: r.tags,
        recording_url: url_of(r.recording_url)?,
        materials: materials_of(r.materials)?,
        expected_attendance: r.expected_attendance,
        actual_attendance: r.actual_attendance,
        visibility: visibility_of(r.visibility)?,
        slots,
        participants,
        removed_slots,
        meta: meta_of(r.meta)?,
        sequence: r.sequence,
    };
    match tail {
        Some(tail) => apply_tail(&mut s, tail)?,
        None => s.answers_from_participants(),
    }
    Ok(s)
}

/// A session record read without building domain values: what the indexes need of it. Field
/// for field the layout of `SessionRecord` (postcard is not self-describing: every field is
/// read, in order), with strings borrowed from the bytes instead of allocated and validated.
/// Why: opening a store reads every record; this is several times faster than
/// `decode_session` (BENCHMARKS.md, open to serving).
#[derive(Deserialize)]
struct SessionView<'a> {
    #[serde(borrow)]
    id: &'a str,
    _title: &'a str,
    _description: &'a str,
    organizer_name: &'a str,
    organizer_short_name: &'a str,
    _organizer_email: Option<&'a str>,
    _format: u8,
    _location: &'a str,
    _join_url: Option<&'a str>,
    _time_zone: &'a str,
    start: i64,
    end: i64,
    _status: u8,
    #[serde(borrow)]
    tags: Vec<&'a str>,
    _recording_url: Option<&'a str>,
    #[serde(borrow)]
    materials: Vec<MaterialView<'a>>,
    _expected_attendance: Option<u32>,
    _actual_attendance: Option<u32>,
    _visibility: u8,
    #[serde(borrow)]
    slots: Vec<SlotView<'a>>,
    #[serde(borrow)]
    participants: Vec<ParticipantView<'a>>,
    #[serde(borrow)]
    removed_slots: Vec<RemovedSlotView<'a>>,
    meta: MetaRecord,
    _sequence: u32,
}

#[derive(Deserialize)]
struct MaterialView<'a> {
    _title: &'a str,
    _url: Option<&'a str>,
    _kind: u8,
    presenter: Option<&'a str>,
}

#[derive(Deserialize)]
struct SlotView<'a> {
    id: &'a str,
    start: i64,
    end: i64,
    _title: &'a str,
    _kind: u8,
    _description: &'a str,
    #[serde(borrow)]
    speakers: Vec<&'a str>,
    #[serde(borrow)]
    moderators: Vec<&'a str>,
    #[serde(borrow)]
    materials: Vec<MaterialView<'a>>,
    _allow_overlap: bool,
    _status: u8,
    _sequence: u32,
}

#[derive(Deserialize)]
struct RemovedSlotView<'a> {
    #[serde(borrow)]
    slot: SlotView<'a>,
    _removed_micros: i64,
}

#[derive(Deserialize)]
struct ParticipantView<'a> {
    person: &'a str,
    _role: u8,
    _group: &'a str,
    _status: u8,
}

/// The id, revision and index fields of a stored session, without decoding it
/// ([`SessionView`]); equal to `Doc::of(&decode_session(bytes)?)`.
pub fn session_doc(bytes: &[u8]) -> Result<(&str, u64, Doc), StoreError> {
    let v: SessionView<'_> = postcard::from_bytes(bytes).map_err(corrupt)?;
    let mut people: BTreeSet<&str> = v.participants.iter().map(|p| p.person).collect();
    let materials = v.materials.iter().chain(v.slots.iter().flat_map(|s| &s.materials));
    people.extend(materials.filter_map(|m| m.presenter));
    for s in &v.slots {
        people.extend(s.speakers.iter().chain(&s.moderators).copied());
    }
    let slots = v
        .slots
        .iter()
        .chain(v.removed_slots.iter().map(|r| &r.slot))
        .map(|s| (s.id, s.start, s.end, s.speakers.iter().chain(&s.moderators).copied().collect()));
    let doc = Doc::from_parts(
        (v.start, v.end),
        people,
        [v.organizer_name, v.organizer_short_name],
        v.tags.iter().copied(),
        slots,
    );
    Ok((v.id, v.meta.revision, doc))
}

/// Encodes a person at its own revision (the sled engine encodes through [`Unrevisioned`];
/// the etcd engine stores records as they are).
#[cfg(any(test, feature = "etcd"))]
pub fn encode_person(p: &Person) -> Vec<u8> {
    let mut bytes = postcard::to_stdvec(&person_record(p, p.meta.revision)).expect("encoding to a Vec cannot fail");
    bytes.extend_from_slice(&person_tail(p));
    bytes
}

fn person_tail(p: &Person) -> Vec<u8> {
    let tail = PersonTail { time_zone: p.time_zone.as_ref().map(|z| z.as_str().to_owned()) };
    postcard::to_stdvec(&tail).expect("encoding to a Vec cannot fail")
}

fn person_record(p: &Person, revision: u64) -> PersonRecord {
    PersonRecord {
        id: p.id.as_str().to_owned(),
        name: p.name.clone(),
        honorific: p.honorific.clone(),
        position: p.position.clone(),
        affiliation: p.affiliation.clone(),
        email: p.email.as_ref().map(|e| e.as_str().to_owned()),
        meta: meta_record(&p.meta, revision),
    }
}

/// Decodes a record of the `people` tree.
pub fn decode_person(bytes: &[u8]) -> Result<Person, StoreError> {
    let (r, rest): (PersonRecord, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let tail: PersonTail =
        if rest.is_empty() { PersonTail::default() } else { postcard::from_bytes(rest).map_err(corrupt)? };
    Ok(Person {
        id: PersonId::try_from(r.id).map_err(corrupt)?,
        name: r.name,
        honorific: r.honorific,
        position: r.position,
        affiliation: r.affiliation,
        email: r.email.map(|e| Email::try_from(e).map_err(corrupt)).transpose()?,
        time_zone: tail.time_zone.map(|z| TimeZoneName::try_from(z).map_err(corrupt)).transpose()?,
        meta: meta_of(r.meta)?,
    })
}

/// Encodes a secret feed token for the `feed_tokens` tree.
pub fn encode_feed_token(t: &FeedToken) -> Vec<u8> {
    let (scope, id) = match &t.scope {
        FeedScope::Session(id) => (1, id.as_str().to_owned()),
        FeedScope::Person(id) => (2, id.as_str().to_owned()),
        FeedScope::AllSessions => (3, String::new()),
    };
    let rec = FeedTokenRecord {
        token: t.token.clone(),
        scope,
        id,
        description: t.description.clone(),
        create_micros: t.create_time.as_microsecond(),
    };
    postcard::to_stdvec(&rec).expect("encoding to a Vec cannot fail")
}

/// Decodes a record of the `feed_tokens` tree.
pub fn decode_feed_token(bytes: &[u8]) -> Result<FeedToken, StoreError> {
    let r: FeedTokenRecord = postcard::from_bytes(bytes).map_err(corrupt)?;
    let scope = match r.scope {
        1 => FeedScope::Session(SessionId::try_from(r.id).map_err(corrupt)?),
        2 => FeedScope::Person(PersonId::try_from(r.id).map_err(corrupt)?),
        3 => FeedScope::AllSessions,
        c => return Err(StoreError::Corrupt(format!("unknown feed scope code {c}"))),
    };
    Ok(FeedToken {
        token: r.token,
        scope,
        description: r.description,
        create_time: Timestamp::from_microsecond(r.create_micros).map_err(corrupt)?,
    })
}

/// The last message delivered for one (session, slot, person), as stored since invites were
/// first recorded. `method` 0 means none was delivered yet (only a failure is recorded:
/// see [`SentInviteTail`]).
#[derive(Serialize, Deserialize)]
struct SentInviteRecord {
    session: String,
    slot: String,
    person: String,
    /// 0 none, 1 REQUEST, 2 CANCEL.
    method: u8,
    sequence: u32,
    session_created_micros: i64,
}

/// Encoded after a [`SentInviteRecord`]: what the outbox keeps since. Absent in records
/// written before: those read as delivered at an unknown time, in an unknown role, with no
/// failure.
#[derive(Serialize, Deserialize)]
struct SentInviteTail {
    sent_micros: Option<i64>,
    /// The role the delivered message carried: 0 unknown, else a role code.
    role: u8,
    failure: Option<FailureRecord>,
}

#[derive(Serialize, Deserialize)]
struct FailureRecord {
    method: u8,
    sequence: u32,
    micros: i64,
    reason: String,
}

fn method_code(m: InviteMethod) -> u8 {
    match m {
        InviteMethod::Request => 1,
        InviteMethod::Cancel => 2,
    }
}

fn method_of(c: u8) -> Result<InviteMethod, StoreError> {
    match c {
        1 => Ok(InviteMethod::Request),
        2 => Ok(InviteMethod::Cancel),
        c => Err(StoreError::Corrupt(format!("unknown invite method code {c}"))),
    }
}

fn micros(t: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(t).map_err(corrupt)
}

/// Encodes an invite record for the `invites_sent` tree.
pub fn encode_sent_invite(r: &InviteRecord) -> Vec<u8> {
    let rec = SentInviteRecord {
        session: r.session.as_str().to_owned(),
        slot: r.slot.as_str().to_owned(),
        person: r.person.as_str().to_owned(),
        method: r.sent.as_ref().map_or(0, |d| method_code(d.method)),
        sequence: r.sent.as_ref().map_or(0, |d| d.sequence),
        session_created_micros: r.session_created.as_microsecond(),
    };
    let tail = SentInviteTail {
        sent_micros: r.sent.as_ref().and_then(|d| d.time).map(|t| t.as_microsecond()),
        role: r.sent.as_ref().and_then(|d| d.role).map_or(0, role_code),
        failure: r.failed.as_ref().map(|f| FailureRecord {
            method: method_code(f.method),
            sequence: f.sequence,
            micros: f.time.as_microsecond(),
            reason: f.reason.clone(),
        }),
    };
    with_tail(&rec, &tail)
}

/// Decodes a record of the `invites_sent` tree (with or without its tail).
pub fn decode_sent_invite(bytes: &[u8]) -> Result<InviteRecord, StoreError> {
    let (r, rest): (SentInviteRecord, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let tail = if rest.is_empty() {
        SentInviteTail { sent_micros: None, role: 0, failure: None }
    } else {
        postcard::from_bytes(rest).map_err(corrupt)?
    };
    let sent = match r.method {
        0 => None,
        c => Some(Delivery {
            method: method_of(c)?,
            sequence: r.sequence,
            time: tail.sent_micros.map(micros).transpose()?,
            role: match tail.role {
                0 => None,
                c => Some(role_of(c)?),
            },
        }),
    };
    let failed = tail
        .failure
        .map(|f| {
            Ok::<_, StoreError>(Failure {
                method: method_of(f.method)?,
                sequence: f.sequence,
                time: micros(f.micros)?,
                reason: f.reason,
            })
        })
        .transpose()?;
    Ok(InviteRecord {
        session: SessionId::try_from(r.session).map_err(corrupt)?,
        slot: SlotId::try_from(r.slot).map_err(corrupt)?,
        person: PersonId::try_from(r.person).map_err(corrupt)?,
        session_created: micros(r.session_created_micros)?,
        sent,
        failed,
    })
}

/// The kind byte of a log entry of a session: 1 created, 2 updated, 3 deleted; the session
/// record (its last state for a delete) follows.
pub fn change_code(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Created => 1,
        ChangeKind::Updated => 2,
        ChangeKind::Deleted => 3,
    }
}

/// The kind byte of a log entry writing a person; the person record follows.
pub const PUT_PERSON: u8 = 4;
/// The kind byte of a log entry deleting a person; the person id follows.
pub const DELETE_PERSON: u8 = 5;

/// A log entry of the `changes` tree: a session change (watchers see these), or a write of a
/// person (the log is the commit point of every write, people included).
pub enum LogEntry<'a> {
    Session { kind: ChangeKind, record: &'a [u8] },
    PutPerson(&'a [u8]),
    DeletePerson(&'a str),
}

/// A log entry with the record (or id) `body` after the `kind` byte.
pub fn encode_log(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(kind);
    out.extend_from_slice(body);
    out
}

/// Splits a log entry into its kind and body.
pub fn decode_log(bytes: &[u8]) -> Result<LogEntry<'_>, StoreError> {
    let (kind, body) = bytes.split_first().ok_or_else(|| StoreError::Corrupt("empty change record".into()))?;
    let kind = match kind {
        1 => ChangeKind::Created,
        2 => ChangeKind::Updated,
        3 => ChangeKind::Deleted,
        &PUT_PERSON => return Ok(LogEntry::PutPerson(body)),
        &DELETE_PERSON => return Ok(LogEntry::DeletePerson(std::str::from_utf8(body).map_err(corrupt)?)),
        c => return Err(StoreError::Corrupt(format!("unknown change kind {c}"))),
    };
    Ok(LogEntry::Session { kind, record: body })
}

/// The session change of a log entry, `None` for an entry about a person.
pub fn decode_change(revision: u64, bytes: &[u8]) -> Result<Option<Change>, StoreError> {
    match decode_log(bytes)? {
        LogEntry::Session { kind, record } => Ok(Some(Change { revision, kind, session: decode_session(record)? })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_spliced_at_a_revision_is_the_record_encoded_at_it() {
        let demo = include_str!("../../data/demo/fmg-msme-2022-11-17.json");
        let (_, sessions) = crate::transfer::parse(demo).unwrap();
        let mut s = sessions.into_iter().next().unwrap();
        for rev in [1, 127, 128, 300, u64::MAX] {
            s.meta.revision = rev;
            for seq in [0, 200] {
                s.sequence = seq;
                assert_eq!(unrevisioned_session(&s).at(rev, None), encode_session(&s));
            }
        }
        let (people, _) = crate::transfer::parse(demo).unwrap();
        let mut p = people.into_iter().next().unwrap();
        p.meta.revision = 300;
        assert_eq!(unrevisioned_person(&p).at(300, Some(PUT_PERSON))[1..], encode_person(&p));
        p.time_zone = Some(TimeZoneName::parse("America/New_York").unwrap());
        assert_eq!(unrevisioned_person(&p).at(300, Some(PUT_PERSON))[1..], encode_person(&p));
    }

    /// The time zone is a tail after the original record: a record written before it existed
    /// reads as no time zone, and one written with it reads back whole.
    #[test]
    fn a_person_record_without_the_time_zone_tail_reads_as_no_time_zone() {
        let demo = include_str!("../../data/demo/fmg-msme-2022-11-17.json");
        let (people, _) = crate::transfer::parse(demo).unwrap();
        let mut p = people.into_iter().next().unwrap();
        p.meta.revision = 7;
        let old = postcard::to_stdvec(&person_record(&p, 7)).unwrap();
        assert_eq!(decode_person(&old).unwrap(), p);
        p.time_zone = Some(TimeZoneName::parse("Asia/Kolkata").unwrap());
        assert_eq!(decode_person(&encode_person(&p)).unwrap(), p);
        let mut unknown_zone = old.clone();
        unknown_zone.extend(postcard::to_stdvec(&PersonTail { time_zone: Some("Mars/Olympus".into()) }).unwrap());
        assert!(matches!(decode_person(&unknown_zone), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_session_stored_before_per_slot_answers_reads_with_its_participants_answers() {
        use crate::domain::{Participant, ParticipationStatus as P, Role, SlotAnswer};
        let demo = include_str!("../../data/demo/fmg-msme-2022-11-17.json");
        let (_, sessions) = crate::transfer::parse(demo).unwrap();
        let mut s = sessions.into_iter().next().unwrap();
        let moderator = s.slots.iter().find_map(|sl| sl.moderators.first().cloned()).unwrap();
        let speaker = s.slots.iter().find_map(|sl| sl.speakers.first().cloned()).unwrap();
        let participant = |person: &PersonId, status| Participant {
            person: person.clone(),
            role: Role::Speaker,
            group: String::new(),
            status,
        };
        s.participants = vec![participant(&moderator, P::Declined), participant(&speaker, P::NeedsAction)];
        s.slots[0].sequence = 3;
        // The layout before the tail: the record alone, as an older build wrote it.
        let old = postcard::to_stdvec(&session_record(&s, 7)).unwrap();
        let read = decode_session(&old).unwrap();
        for (before, after) in s.slots.iter().zip(&read.slots) {
            let on_slot = before.speakers.contains(&moderator) || before.moderators.contains(&moderator);
            let want: Vec<SlotAnswer> = on_slot
                .then(|| SlotAnswer { person: moderator.clone(), status: P::Declined, sequence: before.sequence })
                .into_iter()
                .collect();
            assert_eq!(after.answers, want, "slot {}", before.id);
            assert_eq!(after.status_of(&moderator) == P::Declined, on_slot);
        }
        // Written again, the answers are the tail's, whatever the participants say later.
        let mut again = read.clone();
        again.meta.revision = 8;
        again.participants.clear();
        let bytes = encode_session(&again);
        assert_eq!(decode_session(&bytes).unwrap(), again);
        assert_eq!(session_doc(&bytes).unwrap().2, Doc::of(&again));
    }

    #[test]
    fn an_invite_record_stored_before_the_outbox_reads_as_sent_at_an_unknown_time() {
        let old = SentInviteRecord {
            session: "s".into(),
            slot: "a".into(),
            person: "ann".into(),
            method: 1,
            sequence: 2,
            session_created_micros: 5,
        };
        let r = decode_sent_invite(&postcard::to_stdvec(&old).unwrap()).unwrap();
        let d = Delivery { method: InviteMethod::Request, sequence: 2, time: None, role: None };
        assert_eq!((r.sent, r.failed, r.session_created.as_microsecond()), (Some(d), None, 5));
        let full = InviteRecord {
            sent: None,
            failed: Some(Failure {
                method: InviteMethod::Cancel,
                sequence: 3,
                time: Timestamp::UNIX_EPOCH,
                reason: "550".into(),
            }),
            ..r
        };
        assert_eq!(decode_sent_invite(&encode_sent_invite(&full)).unwrap(), full);
    }

    #[test]
    fn the_index_fields_read_from_a_record_are_those_of_the_decoded_session() {
        let demo = include_str!("../../data/demo/fmg-msme-2022-11-17.json");
        let (people, sessions) = crate::transfer::parse(demo).unwrap();
        let mut s = sessions.into_iter().next().unwrap();
        s.meta.revision = 42;
        s.tags = vec!["Trade".into(), "MSME".into()];
        // A removed slot and a presenter: every source of index entries.
        let mut gone = s.slots[0].clone();
        gone.id = crate::domain::SlotId::parse("gone").unwrap();
        s.removed_slots.push(crate::domain::RemovedSlot { slot: gone, removed_at: s.meta.update_time });
        s.materials.push(crate::domain::Material {
            title: "Deck".into(),
            url: None,
            kind: crate::domain::MaterialKind::Slides,
            presenter: Some(people[0].id.clone()),
        });
        let bytes = encode_session(&s);
        let (id, revision, doc) = session_doc(&bytes).unwrap();
        assert_eq!((id, revision), (s.id.as_str(), 42));
        assert_eq!(doc, Doc::of(&decode_session(&bytes).unwrap()));
        assert!(doc.slots.iter().any(|e| e.3 == "gone") && doc.people.contains(&people[0].id.as_str().to_owned()));
    }
}
