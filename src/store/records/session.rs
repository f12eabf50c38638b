//! The stored form of a session (the `sessions` tree; etcd's `s/` keys), with its slots,
//! materials and participants, its tail (per-slot answers), and [`session_doc`]: the index
//! fields of a stored session read without decoding it.

use serde::{Deserialize, Serialize};

use super::codes::{
    format_code, format_of, material_kind_code, material_kind_of, partstat_code, partstat_of, role_code, role_of,
    session_status_code, session_status_of, slot_kind_code, slot_kind_of, slot_status_code, slot_status_of,
    visibility_code, visibility_of,
};
#[cfg(any(test, feature = "etcd"))]
use super::with_tail;
use super::{
    MetaRecord, StoreError, Unrevisioned, corrupt, encode, ids, meta_of, meta_record, micros, person_ids, secs, url_of,
};
use crate::domain::{
    Email, LanguageTag, Material, Organizer, Participant, PersonId, RemovedSlot, Session, SessionId, Slot, SlotAnswer,
    SlotId, TimeZoneName,
};
use crate::store::memindex::Doc;

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

/// Encoded after a [`SessionTail`]: whether the session invites its participants. Absent in
/// records written before participant invites: those read as not inviting.
#[derive(Serialize, Deserialize)]
struct InviteTail {
    invite_participants: bool,
}

/// Encoded after an [`InviteTail`]: the session's language (BCP 47), for its pages and
/// e-mails when the reader's is not known. Absent in older records: no language.
#[derive(Serialize, Deserialize)]
struct LanguageTail {
    language: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AnswerRecord {
    person: String,
    status: u8,
    sequence: u32,
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

/// Encodes a session at its own revision (the sled engine encodes through [`Unrevisioned`];
/// the etcd engine stores records as they are).
#[cfg(any(test, feature = "etcd"))]
pub fn encode_session(s: &Session) -> Vec<u8> {
    let mut out = with_tail(&session_record(s, s.meta.revision), &session_tail(s));
    out.extend(encode(&invite_tail(s)));
    out.extend(encode(&language_tail(s)));
    out
}

fn invite_tail(s: &Session) -> InviteTail {
    InviteTail { invite_participants: s.invite_participants }
}

fn language_tail(s: &Session) -> LanguageTail {
    LanguageTail { language: s.language.as_ref().map(|l| l.as_str().to_owned()) }
}

/// A session for the `sessions` tree, its revision left to fill in.
pub fn unrevisioned_session(s: &Session) -> Unrevisioned {
    let mut tail = encode(&session_tail(s));
    tail.extend(encode(&invite_tail(s)));
    tail.extend(encode(&language_tail(s)));
    let mut bytes = encode(&session_record(s, 0));
    bytes.extend_from_slice(&tail);
    // `sequence` is the one field after `meta.revision`; the tail follows the record.
    let post_len = encode(&s.sequence).len() + tail.len();
    Unrevisioned::cut(bytes, post_len)
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
    let (tail, rest): (Option<SessionTail>, &[u8]) = if rest.is_empty() {
        (None, rest)
    } else {
        let (tail, rest) = postcard::take_from_bytes(rest).map_err(corrupt)?;
        (Some(tail), rest)
    };
    let (invites, rest): (Option<InviteTail>, &[u8]) = if rest.is_empty() {
        (None, rest)
    } else {
        let (tail, rest) = postcard::take_from_bytes(rest).map_err(corrupt)?;
        (Some(tail), rest)
    };
    let language: Option<LanguageTail> =
        if rest.is_empty() { None } else { Some(postcard::from_bytes(rest).map_err(corrupt)?) };
    let slots = r.slots.into_iter().map(slot_of).collect::<Result<_, StoreError>>()?;
    let removed_slots = r
        .removed_slots
        .into_iter()
        .map(|rs| Ok(RemovedSlot { slot: slot_of(rs.slot)?, removed_at: micros(rs.removed_micros)? }))
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
        invite_participants: invites.is_some_and(|t| t.invite_participants),
        language: language.and_then(|t| t.language).map(|l| LanguageTag::try_from(l).map_err(corrupt)).transpose()?,
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
    let mut people: Vec<&str> = v.participants.iter().map(|p| p.person).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_spliced_at_a_revision_is_the_session_encoded_at_it() {
        let mut s = super::super::demo().1.into_iter().next().unwrap();
        for rev in [1, 127, 128, 300, u64::MAX] {
            s.meta.revision = rev;
            for seq in [0, 200] {
                s.sequence = seq;
                assert_eq!(unrevisioned_session(&s).at(rev), encode_session(&s));
            }
        }
    }

    #[test]
    fn a_session_stored_before_per_slot_answers_reads_with_its_participants_answers() {
        use crate::domain::{Participant, ParticipationStatus as P, Role, SlotAnswer};
        let (_, sessions) = super::super::demo();
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
    fn the_index_fields_read_from_a_record_are_those_of_the_decoded_session() {
        let (people, sessions) = super::super::demo();
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
