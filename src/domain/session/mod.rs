//! Sessions, their agenda slots, materials and participants, and the rules between them.
//!
//! This file holds the types and their validation; [`versions`] the rules between a session
//! and its stored version (what a write takes over, SEQUENCE), [`edits`] the changes one
//! request makes (a slot, a participant, a patch), [`answers`] the answers to invites.

use std::collections::{BTreeSet, HashSet};

use super::{
    Email, FieldPath, LanguageTag, PersonId, RecordMeta, SessionId, SlotId, TimeZoneName, Timestamp, Violations,
    WebUrl, check_text, check_time_range,
};

/// Upper bounds on the size of a session, so that one record, one feed and one response stay
/// bounded. Configurable; the defaults fit a large conference day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_slots: usize,
    pub max_participants: usize,
    pub max_materials: usize,
    pub max_tags: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_slots: 2_000, max_participants: 5_000, max_materials: 100, max_tags: 50 }
    }
}

/// The longest a session may last. Longer is almost certainly a data-entry mistake, and the
/// bound keeps time-window queries cheap (see the store's span bookkeeping).
pub const MAX_SESSION_SECONDS: i64 = 31 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Online,
    InPerson,
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    Public,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialKind {
    Slides,
    Programme,
    ParticipantList,
    Recording,
    Document,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKind {
    Opening,
    Presentation,
    Panel,
    Discussion,
    Break,
    Closing,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotStatus {
    Scheduled,
    Cancelled,
}

/// Why a person takes part in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Organizer,
    Moderator,
    Speaker,
    Participant,
}

/// A participant's answer, as iCalendar's PARTSTAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipationStatus {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
}

/// Who runs a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organizer {
    pub name: String,
    pub short_name: String,
    /// Needed before invites can be sent (it is the iTIP ORGANIZER).
    pub email: Option<Email>,
}

/// An annex: slides, a programme, a participant list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub title: String,
    /// Absent when only the title is known (as for the seed page's annexes).
    pub url: Option<WebUrl>,
    pub kind: MaterialKind,
    pub presenter: Option<PersonId>,
}

/// One item of an agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: SlotId,
    pub start: Timestamp,
    pub end: Timestamp,
    pub title: String,
    pub kind: SlotKind,
    pub description: String,
    /// In the order they speak.
    pub speakers: Vec<PersonId>,
    pub moderators: Vec<PersonId>,
    pub materials: Vec<Material>,
    /// Set for parallel tracks: the slot may overlap others.
    pub allow_overlap: bool,
    pub status: SlotStatus,
    /// The iCalendar SEQUENCE of the slot's event; maintained by [`Session::carry_over`].
    pub sequence: u32,
    /// The speakers' and moderators' answers to this slot's invites (each slot is its own
    /// calendar object, so its answers are its own). Kept by [`Session::carry_over`] for the
    /// people still on the slot; written only by [`Session::record_reply`].
    pub answers: Vec<SlotAnswer>,
}

/// A speaker's or moderator's answer to the invite for one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotAnswer {
    pub person: PersonId,
    pub status: ParticipationStatus,
    /// The SEQUENCE answered. An answer holds for that version of the slot only: once the
    /// slot changes (its sequence grows, and the person gets an updated REQUEST), they show
    /// NEEDS-ACTION again until they answer the new one ([`Slot::status_of`]).
    pub sequence: u32,
}

/// A slot taken off the agenda, kept for a while so that calendars that have it see it
/// cancelled (STATUS:CANCELLED, higher SEQUENCE) instead of it silently vanishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedSlot {
    /// The slot as it was, with status cancelled and its sequence raised.
    pub slot: Slot,
    pub removed_at: Timestamp,
}

/// How long a removed slot is kept (and shown cancelled in feeds): at least this long, until
/// the next change of its session after that.
pub const REMOVED_SLOT_RETENTION_SECONDS: i64 = 30 * 24 * 3600;

/// A person in a session, with the role and group shown on the event page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub person: PersonId,
    pub role: Role,
    /// e.g. "WTO Missions"; groups are shown in the order they first appear.
    pub group: String,
    /// In a session that invites its participants, their answer to the session's current
    /// version: [`Session::carry_over`] sets it back to NEEDS-ACTION when the session's
    /// sequence grows (they get an updated REQUEST and answer again), and
    /// [`Session::record_participant_reply`] refuses an answer to an older version. Otherwise
    /// what the organizer recorded.
    pub status: ParticipationStatus,
}

/// A meeting session with its agenda and participants: the unit that is stored, versioned
/// and published as one calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub title: String,
    pub description: String,
    pub organizer: Organizer,
    pub format: Format,
    pub location: String,
    pub join_url: Option<WebUrl>,
    pub time_zone: TimeZoneName,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: SessionStatus,
    pub tags: Vec<String>,
    pub recording_url: Option<WebUrl>,
    pub materials: Vec<Material>,
    pub expected_attendance: Option<u32>,
    pub actual_attendance: Option<u32>,
    pub visibility: Visibility,
    /// Always in time order (start, then end, then id) once stored.
    pub slots: Vec<Slot>,
    pub participants: Vec<Participant>,
    /// Whether the participants are invited (an iTIP REQUEST each for the whole session) and
    /// their statuses are their answers. Off by default: a session whose statuses the
    /// organizer types (the demo, a past session) sends participants nothing.
    pub invite_participants: bool,
    /// The language of its pages and e-mails when the reader's is not known (BCP 47); none:
    /// the server's. A person's own language comes first for their e-mails.
    pub language: Option<LanguageTag>,
    /// Slots removed recently; see [`RemovedSlot`]. Maintained by [`Session::carry_over`].
    pub removed_slots: Vec<RemovedSlot>,
    pub meta: RecordMeta,
    /// The iCalendar SEQUENCE of the session's event.
    pub sequence: u32,
}

/// An agenda time: a whole second within the accepted range ([`super::EARLIEST_TIME`] to
/// [`super::END_OF_TIME`]).
fn check_time(v: &mut Violations, field: &str, t: Timestamp) {
    if t.subsec_nanosecond() != 0 {
        v.add(field, "must be a whole second (iCalendar has no finer precision)");
    }
    if let Err(rule) = check_time_range(t) {
        v.add(field, rule);
    }
}

fn check_materials(v: &mut Violations, field: &str, materials: &[Material], limits: &Limits) {
    if materials.len() > limits.max_materials {
        v.add(field, format!("must have at most {} entries", limits.max_materials));
    }
    let mut path = FieldPath::new(field);
    for (i, m) in materials.iter().enumerate() {
        check_text(v, path.index_field(i, "title"), &m.title, 300, true, false);
    }
}

fn check_people(v: &mut Violations, field: &str, people: &[PersonId]) {
    // A slot's speakers or moderators are a few: compared pairwise, they need no set.
    let mut seen = (people.len() > 8).then(|| Seen::with_capacity_and_hasher(people.len(), Default::default()));
    for (i, p) in people.iter().enumerate() {
        let repeated = match &mut seen {
            Some(seen) => !seen.insert(p),
            None => people[..i].contains(p),
        };
        if repeated {
            v.add(format!("{field}[{i}]"), format!("lists {p} twice"));
        }
    }
}

/// The set the validation finds repeats with (slot ids, people, tags), hashed with fxhash and
/// sized once: the keys are short strings, and SipHash with a set grown insert by insert was
/// a visible part of `Session::validate` in the write profile (issue 22); a set's answers do
/// not depend on its hasher.
type Seen<T> = HashSet<T, fxhash::FxBuildHasher>;

impl Slot {
    /// Checks the slot's own rules, with paths under `field`; the rules between slots and
    /// their session are [`Session::validate`]'s.
    pub fn validate(&self, v: &mut Violations, field: &str, limits: &Limits) {
        let mut path = FieldPath::new(field);
        check_text(v, path.field("title"), &self.title, 300, true, false);
        check_text(v, path.field("description"), &self.description, 20_000, false, true);
        check_time(v, path.field("start_time"), self.start);
        check_time(v, path.field("end_time"), self.end);
        if self.end <= self.start {
            v.add(path.field("end_time"), "must be after start_time");
        }
        check_people(v, path.field("speaker_ids"), &self.speakers);
        check_people(v, path.field("moderator_ids"), &self.moderators);
        check_materials(v, path.field("materials"), &self.materials, limits);
    }

    /// The people the slot names, each with the roles they have in it.
    pub fn roles_of(&self, person: &PersonId) -> Vec<Role> {
        let mut roles = Vec::new();
        if self.speakers.contains(person) {
            roles.push(Role::Speaker);
        }
        if self.moderators.contains(person) {
            roles.push(Role::Moderator);
        }
        roles
    }

    /// `person`'s answer to the current version of the slot: NEEDS-ACTION without one, or
    /// when the answer was to an older sequence (see [`SlotAnswer::sequence`]).
    pub fn status_of(&self, person: &PersonId) -> ParticipationStatus {
        self.answers
            .iter()
            .find(|a| &a.person == person && a.sequence >= self.sequence)
            .map_or(ParticipationStatus::NeedsAction, |a| a.status)
    }
}

impl Session {
    /// Checks every rule of a session; all violations are reported, with field paths relative
    /// to the session (`slots[2].end_time`).
    pub fn validate(&self, limits: &Limits) -> Result<(), Violations> {
        let mut v = Violations::new("");
        check_text(&mut v, "title", &self.title, 300, true, false);
        check_text(&mut v, "description", &self.description, 20_000, false, true);
        check_text(&mut v, "organizer.name", &self.organizer.name, 200, true, false);
        check_text(&mut v, "organizer.short_name", &self.organizer.short_name, 50, false, false);
        check_text(&mut v, "location", &self.location, 500, false, false);
        check_time(&mut v, "start_time", self.start);
        check_time(&mut v, "end_time", self.end);
        if self.end <= self.start {
            v.add("end_time", "must be after start_time");
        } else if self.end.as_second() - self.start.as_second() > MAX_SESSION_SECONDS {
            v.add("end_time", "must be at most 31 days after start_time");
        }
        if self.tags.len() > limits.max_tags {
            v.add("tags", format!("must have at most {} entries", limits.max_tags));
        }
        let mut tags = Seen::with_capacity_and_hasher(self.tags.len(), Default::default());
        let mut path = FieldPath::new("tags");
        for (i, t) in self.tags.iter().enumerate() {
            check_text(&mut v, path.index(i), t, 64, true, false);
            if !tags.insert(t.to_lowercase()) {
                v.add(format!("tags[{i}]"), "repeats an earlier tag");
            }
        }
        check_materials(&mut v, "materials", &self.materials, limits);

        if self.slots.len() > limits.max_slots {
            v.add("slots", format!("must have at most {} entries", limits.max_slots));
        }
        let mut ids = Seen::with_capacity_and_hasher(self.slots.len(), Default::default());
        let mut path = FieldPath::new("slots");
        for (i, s) in self.slots.iter().enumerate() {
            let f = path.index(i);
            s.validate(&mut v, f, limits);
            if !ids.insert(&s.id) {
                v.add(format!("{f}.id"), format!("repeats slot id {}", s.id));
            }
            if s.end > s.start && (s.start < self.start || s.end > self.end) {
                v.add(format!("{f}.start_time"), "slot must lie within the session's start_time and end_time");
            }
        }
        self.check_overlaps(&mut v);

        if self.participants.len() > limits.max_participants {
            v.add("participants", format!("must have at most {} entries", limits.max_participants));
        }
        let mut people = Seen::with_capacity_and_hasher(self.participants.len(), Default::default());
        let mut path = FieldPath::new("participants");
        for (i, p) in self.participants.iter().enumerate() {
            // An empty group (most participants) passes `check_text` as optional text: its
            // path is made only for a group there is something to check in.
            if !p.group.is_empty() {
                check_text(&mut v, path.index_field(i, "group"), &p.group, 100, false, false);
            }
            if !people.insert(&p.person) {
                v.add(format!("participants[{i}].person_id"), format!("lists {} twice", p.person));
            }
        }
        v.into_result()
    }

    /// Scheduled slots must not overlap unless one of them allows it (parallel tracks).
    /// Cancelled slots stay on the agenda for subscribers but take no time.
    fn check_overlaps(&self, v: &mut Violations) {
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                let s = &self.slots[i];
                s.status == SlotStatus::Scheduled && !s.allow_overlap && s.end > s.start
            })
            .collect();
        order.sort_by_key(|&i| (self.slots[i].start, self.slots[i].end));
        for pair in order.windows(2) {
            let (a, b) = (&self.slots[pair[0]], &self.slots[pair[1]]);
            if b.start < a.end {
                v.add(
                    format!("slots[{}].start_time", pair[1]),
                    format!("slots {} and {} overlap (set allow_overlap for parallel tracks)", a.id, b.id),
                );
            }
        }
    }

    /// Puts the slots in time order, the order the agenda is always kept in.
    pub fn sort_slots(&mut self) {
        self.slots.sort_by(|a, b| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
    }

    /// Every person the session names: speakers, moderators, participants and presenters.
    pub fn referenced_people(&self) -> BTreeSet<PersonId> {
        self.named_people().cloned().collect()
    }

    /// [`Session::referenced_people`] borrowed, repeats and all: for a caller that collects
    /// what it needs of them (the store's index fields) without copying each id first.
    pub fn named_people(&self) -> impl Iterator<Item = &PersonId> {
        let materials = self.materials.iter().chain(self.slots.iter().flat_map(|s| &s.materials));
        let roles = self.slots.iter().flat_map(|s| s.speakers.iter().chain(&s.moderators));
        materials.filter_map(|m| m.presenter.as_ref()).chain(roles).chain(self.participants.iter().map(|p| &p.person))
    }

    /// The request path of the first place `person` is named, for error messages.
    pub fn field_naming(&self, person: &PersonId) -> String {
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(j) = s.speakers.iter().position(|p| p == person) {
                return format!("slots[{i}].speaker_ids[{j}]");
            }
            if let Some(j) = s.moderators.iter().position(|p| p == person) {
                return format!("slots[{i}].moderator_ids[{j}]");
            }
            if let Some(j) = s.materials.iter().position(|m| m.presenter.as_ref() == Some(person)) {
                return format!("slots[{i}].materials[{j}].presenter_id");
            }
        }
        if let Some(i) = self.participants.iter().position(|p| &p.person == person) {
            return format!("participants[{i}].person_id");
        }
        if let Some(i) = self.materials.iter().position(|m| m.presenter.as_ref() == Some(person)) {
            return format!("materials[{i}].presenter_id");
        }
        String::new()
    }
}

mod answers;
mod edits;
mod versions;

pub use edits::{SessionPatch, SlotPatch};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Error;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slot(id: &str, start: &str, end: &str) -> Slot {
        Slot {
            id: SlotId::parse(id).unwrap(),
            start: t(start),
            end: t(end),
            title: format!("slot {id}"),
            kind: SlotKind::Presentation,
            description: String::new(),
            speakers: vec![],
            moderators: vec![],
            materials: vec![],
            allow_overlap: false,
            status: SlotStatus::Scheduled,
            sequence: 0,
            answers: vec![],
        }
    }

    fn session() -> Session {
        Session {
            id: SessionId::parse("s").unwrap(),
            title: "Integration of MSMEs within the MTS".into(),
            description: String::new(),
            organizer: Organizer {
                name: "Friends of Multilateralism Group".into(),
                short_name: "FMG".into(),
                email: None,
            },
            format: Format::Online,
            location: String::new(),
            join_url: None,
            time_zone: TimeZoneName::parse("Europe/Zurich").unwrap(),
            start: t("2022-11-17T14:00:00Z"),
            end: t("2022-11-17T15:30:00Z"),
            status: SessionStatus::Scheduled,
            tags: vec![],
            recording_url: None,
            materials: vec![],
            expected_attendance: None,
            actual_attendance: None,
            visibility: Visibility::Public,
            slots: vec![
                slot("a", "2022-11-17T14:00:00Z", "2022-11-17T14:05:00Z"),
                slot("b", "2022-11-17T14:05:00Z", "2022-11-17T14:15:00Z"),
            ],
            participants: vec![],
            invite_participants: false,
            language: None,
            removed_slots: vec![],
            meta: RecordMeta::default(),
            sequence: 0,
        }
    }

    fn fields(r: Result<(), Violations>) -> Vec<String> {
        r.err().map(|v| v.violations().iter().map(|f| f.field.clone()).collect()).unwrap_or_default()
    }

    #[test]
    fn a_valid_session_passes() {
        assert_eq!(fields(session().validate(&Limits::default())), Vec::<String>::new());
    }

    #[test]
    fn end_before_start_and_slot_outside_are_reported_together() {
        let mut s = session();
        s.slots[1].end = t("2022-11-17T16:00:00Z");
        s.title.clear();
        assert_eq!(fields(s.validate(&Limits::default())), ["title", "slots[1].start_time"]);
        let mut s = session();
        std::mem::swap(&mut s.start, &mut s.end);
        assert!(fields(s.validate(&Limits::default())).contains(&"end_time".to_owned()));
    }

    #[test]
    fn overlapping_slots_are_refused_unless_parallel() {
        let mut s = session();
        s.slots.push(slot("c", "2022-11-17T14:10:00Z", "2022-11-17T14:20:00Z"));
        assert_eq!(fields(s.validate(&Limits::default())), ["slots[2].start_time"]);
        s.slots[2].allow_overlap = true;
        assert!(s.validate(&Limits::default()).is_ok());
        s.slots[2].allow_overlap = false;
        s.slots[2].status = SlotStatus::Cancelled;
        assert!(s.validate(&Limits::default()).is_ok());
    }

    #[test]
    fn too_many_slots_is_a_violation() {
        let s = session();
        let limits = Limits { max_slots: 1, ..Limits::default() };
        assert_eq!(fields(s.validate(&limits)), ["slots"]);
    }

    #[test]
    fn sequence_grows_on_time_place_and_status_changes_only() {
        let old = session();
        let mut new = old.clone();
        new.title = "Renamed".into();
        new.carry_over(&old, now());
        assert_eq!((new.sequence, new.slots[0].sequence), (0, 0));

        let mut moved = old.clone();
        moved.slots[1].end = t("2022-11-17T14:20:00Z");
        moved.carry_over(&old, now());
        assert_eq!((moved.sequence, moved.slots[0].sequence, moved.slots[1].sequence), (0, 0, 1));

        let mut cancelled = moved.clone();
        cancelled.status = SessionStatus::Cancelled;
        cancelled.carry_over(&moved, now());
        assert_eq!((cancelled.sequence, cancelled.slots[0].sequence, cancelled.slots[1].sequence), (1, 1, 2));
    }

    fn now() -> Timestamp {
        t("2026-01-01T00:00:00Z")
    }

    #[test]
    fn a_removed_slot_is_kept_cancelled_with_a_higher_sequence_then_dropped() {
        let old = session();
        let mut new = old.clone();
        new.remove_slot(&SlotId::parse("b").unwrap()).unwrap();
        new.carry_over(&old, now());
        assert_eq!(new.removed_slots.len(), 1);
        let gone = &new.removed_slots[0].slot;
        assert_eq!((gone.id.as_str(), gone.status, gone.sequence), ("b", SlotStatus::Cancelled, 1));

        // Re-added: it continues its sequence.
        let mut back = new.clone();
        back.add_slot(slot("b", "2022-11-17T14:05:00Z", "2022-11-17T14:15:00Z")).unwrap();
        back.carry_over(&new, now());
        assert!(back.removed_slots.is_empty());
        assert_eq!(back.slots.iter().find(|s| s.id.as_str() == "b").unwrap().sequence, 2);

        // Past the retention, the next write drops it.
        let mut later = new.clone();
        later.title = "later".into();
        later.carry_over(&new, t("2026-03-01T00:00:00Z"));
        assert!(later.removed_slots.is_empty());
    }

    #[test]
    fn a_replacement_never_lowers_a_sequence_and_an_identical_one_changes_nothing() {
        let mut stored = session();
        stored.sequence = 3;
        stored.slots[0].sequence = 2;
        stored.slots[1].sequence = 5;
        stored.slots[1].status = SlotStatus::Cancelled;
        stored.meta.revision = 9;

        // The file: sequence numbers 0, slot b scheduled again, slot a gone, slot c new.
        let mut file = session();
        file.slots.remove(0);
        file.slots.push(slot("c", "2022-11-17T14:20:00Z", "2022-11-17T14:30:00Z"));
        assert!(file.replace_over(&stored, now()));
        assert_eq!(file.sequence, 4);
        assert_eq!((file.slots[0].id.as_str(), file.slots[0].sequence), ("b", 6));
        assert_eq!((file.slots[1].id.as_str(), file.slots[1].sequence), ("c", 0));
        let gone = &file.removed_slots[0].slot;
        assert_eq!((gone.id.as_str(), gone.status, gone.sequence), ("a", SlotStatus::Cancelled, 3));
        assert_eq!((file.meta.revision, file.meta.update_time), (9, now()));

        // The same file again: nothing to write.
        let replaced = file.clone();
        let mut again = session();
        again.slots.remove(0);
        again.slots.push(slot("c", "2022-11-17T14:20:00Z", "2022-11-17T14:30:00Z"));
        assert!(!again.replace_over(&replaced, now()));
        assert_eq!(again, replaced);
    }

    #[test]
    fn an_answer_belongs_to_its_slot_and_lapses_when_the_slot_moves() {
        let ann = PersonId::parse("ann").unwrap();
        let mut s = session();
        for sl in &mut s.slots {
            sl.speakers = vec![ann.clone()];
        }
        s.participants = vec![Participant {
            person: ann.clone(),
            role: Role::Speaker,
            group: String::new(),
            status: ParticipationStatus::Accepted,
        }];
        let (a, b) = (SlotId::parse("a").unwrap(), SlotId::parse("b").unwrap());
        s.record_reply(&a, &ann, 0, ParticipationStatus::Declined).unwrap();
        assert_eq!(s.slot(&a).unwrap().status_of(&ann), ParticipationStatus::Declined);
        assert_eq!(s.slot(&b).unwrap().status_of(&ann), ParticipationStatus::NeedsAction);
        assert_eq!(s.participants[0].status, ParticipationStatus::Accepted);

        let mut moved = s.clone();
        moved.slots[0].end = t("2022-11-17T14:04:00Z");
        moved.carry_over(&s, now());
        assert_eq!(moved.slot(&a).unwrap().status_of(&ann), ParticipationStatus::NeedsAction);
        moved.record_reply(&a, &ann, 1, ParticipationStatus::Accepted).unwrap();
        assert_eq!(moved.slot(&a).unwrap().status_of(&ann), ParticipationStatus::Accepted);

        let mut off = moved.clone();
        off.slots[0].speakers.clear();
        off.carry_over(&moved, now());
        assert!(off.slot(&a).unwrap().answers.is_empty());
    }

    #[test]
    fn reorder_keeps_the_group_in_place() {
        let mut s = session();
        let p = |id: &str, group: &str| Participant {
            person: PersonId::parse(id).unwrap(),
            role: Role::Participant,
            group: group.into(),
            status: ParticipationStatus::Accepted,
        };
        s.participants = vec![p("a", "FMG"), p("x", "WTO Missions"), p("b", "FMG")];
        let order = [PersonId::parse("b").unwrap(), PersonId::parse("a").unwrap()];
        s.reorder_participants("FMG", &order).unwrap();
        let ids: Vec<&str> = s.participants.iter().map(|p| p.person.as_str()).collect();
        assert_eq!(ids, ["b", "x", "a"]);
        assert!(matches!(s.reorder_participants("FMG", &order[..1]), Err(Error::Invalid(_))));
        s.add_participant(p("c", "FMG"), Some(0)).unwrap();
        let ids: Vec<&str> = s.participants.iter().map(|p| p.person.as_str()).collect();
        assert_eq!(ids, ["c", "b", "x", "a"]);
    }
}
