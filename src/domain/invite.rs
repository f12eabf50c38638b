//! Speaker invites: which iTIP message (RFC 5546) each speaker and moderator should have,
//! and which of those they have not been sent yet.
//!
//! Every (slot, person) pair of a session is in one of two wanted states: invited
//! (`REQUEST` at the slot's sequence) while the person is on a scheduled slot of a
//! non-cancelled session, or cancelled (`CANCEL`) once they received a REQUEST and the slot
//! was removed or cancelled, the session cancelled, or they were taken off the slot. The mail
//! system marks what it sent explicitly, so it can retry without duplicates; what is wanted
//! but not yet marked is pending.

use std::collections::{BTreeSet, HashMap};

use super::{PersonId, Session, SessionId, SessionStatus, Slot, SlotId, SlotStatus, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteMethod {
    Request,
    Cancel,
}

impl InviteMethod {
    /// The iTIP METHOD value.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteMethod::Request => "REQUEST",
            InviteMethod::Cancel => "CANCEL",
        }
    }
}

/// One message for one person about one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteMessage {
    pub session: SessionId,
    pub slot: SlotId,
    pub person: PersonId,
    pub method: InviteMethod,
    pub sequence: u32,
}

/// What the mail system reported as sent. `session_created` tells a record of a deleted
/// session from one of a new session that reuses its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvite {
    pub message: InviteMessage,
    pub session_created: Timestamp,
}

fn people_of(slot: &Slot) -> BTreeSet<&PersonId> {
    slot.speakers.iter().chain(&slot.moderators).collect()
}

/// Every message the agenda calls for now, sent or not, in slot then person order.
pub fn wanted(session: &Session, sent: &[SentInvite]) -> Vec<InviteMessage> {
    let sent: Vec<&InviteMessage> =
        sent.iter().filter(|s| s.session_created == session.meta.create_time).map(|s| &s.message).collect();
    let was_requested = |slot: &SlotId, person: &PersonId| {
        sent.iter().any(|m| &m.slot == slot && &m.person == person && m.method == InviteMethod::Request)
    };
    let mut out = Vec::new();
    let mut covered: BTreeSet<(&SlotId, &PersonId)> = BTreeSet::new();
    let session_on = session.status != SessionStatus::Cancelled;
    for slot in &session.slots {
        let live = session_on && slot.status == SlotStatus::Scheduled;
        for person in people_of(slot) {
            covered.insert((&slot.id, person));
            if live {
                out.push(message(session, &slot.id, person, InviteMethod::Request, slot.sequence));
            } else if was_requested(&slot.id, person) {
                out.push(message(session, &slot.id, person, InviteMethod::Cancel, slot.sequence));
            }
        }
    }
    // Requested earlier, but the slot is gone or the person is no longer on it.
    let sequences: HashMap<&SlotId, u32> = session
        .slots
        .iter()
        .chain(session.removed_slots.iter().map(|r| &r.slot))
        .map(|s| (&s.id, s.sequence))
        .collect();
    for m in sent.iter().filter(|m| m.method == InviteMethod::Request) {
        if covered.insert((&m.slot, &m.person)) {
            let sequence = sequences.get(&m.slot).copied().unwrap_or(0).max(m.sequence + 1);
            out.push(message(session, &m.slot, &m.person, InviteMethod::Cancel, sequence));
        }
    }
    out
}

fn message(s: &Session, slot: &SlotId, person: &PersonId, method: InviteMethod, sequence: u32) -> InviteMessage {
    InviteMessage { session: s.id.clone(), slot: slot.clone(), person: person.clone(), method, sequence }
}

/// The wanted messages that have not been sent: a REQUEST whose sequence the person has not
/// received (or after a CANCEL), a CANCEL for a person still holding a REQUEST.
pub fn pending(session: &Session, sent: &[SentInvite]) -> Vec<InviteMessage> {
    let last: HashMap<(&SlotId, &PersonId), &InviteMessage> = sent
        .iter()
        .filter(|s| s.session_created == session.meta.create_time)
        .map(|s| ((&s.message.slot, &s.message.person), &s.message))
        .collect();
    wanted(session, sent)
        .into_iter()
        .filter(|w| match last.get(&(&w.slot, &w.person)) {
            None => w.method == InviteMethod::Request,
            Some(m) => m.method != w.method || (w.method == InviteMethod::Request && m.sequence < w.sequence),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Format, Organizer, RecordMeta, SlotKind, TimeZoneName, Visibility};

    fn id<T: TryFrom<String>>(s: &str) -> T
    where
        T::Error: std::fmt::Debug,
    {
        T::try_from(s.to_owned()).unwrap()
    }

    fn session() -> Session {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let slot = |sid: &str, who: &str| Slot {
            id: id(sid),
            start: t("2026-01-01T10:00:00Z"),
            end: t("2026-01-01T11:00:00Z"),
            title: sid.into(),
            kind: SlotKind::Presentation,
            description: String::new(),
            speakers: vec![id(who)],
            moderators: vec![id("mod")],
            materials: vec![],
            allow_overlap: true,
            status: SlotStatus::Scheduled,
            sequence: 0,
        };
        Session {
            id: id("s"),
            title: "S".into(),
            description: String::new(),
            organizer: Organizer { name: "O".into(), short_name: String::new(), email: None },
            format: Format::Online,
            location: String::new(),
            join_url: None,
            time_zone: TimeZoneName::utc(),
            start: t("2026-01-01T10:00:00Z"),
            end: t("2026-01-01T12:00:00Z"),
            status: SessionStatus::Scheduled,
            tags: vec![],
            recording_url: None,
            materials: vec![],
            expected_attendance: None,
            actual_attendance: None,
            visibility: Visibility::Public,
            slots: vec![slot("a", "ann"), slot("b", "bob")],
            participants: vec![],
            removed_slots: vec![],
            meta: RecordMeta::default(),
            sequence: 0,
        }
    }

    fn sent_all(s: &Session, msgs: &[InviteMessage]) -> Vec<SentInvite> {
        msgs.iter().map(|m| SentInvite { message: m.clone(), session_created: s.meta.create_time }).collect()
    }

    fn names(msgs: &[InviteMessage]) -> Vec<String> {
        msgs.iter().map(|m| format!("{} {} {} {}", m.method.as_str(), m.slot, m.person, m.sequence)).collect()
    }

    #[test]
    fn everyone_on_a_slot_is_pending_until_marked_sent() {
        let s = session();
        assert_eq!(
            names(&pending(&s, &[])),
            ["REQUEST a ann 0", "REQUEST a mod 0", "REQUEST b bob 0", "REQUEST b mod 0"]
        );
        let sent = sent_all(&s, &pending(&s, &[]));
        assert!(pending(&s, &sent).is_empty());
    }

    #[test]
    fn a_moved_slot_a_removed_speaker_and_a_removed_slot_call_for_new_messages() {
        let s = session();
        let sent = sent_all(&s, &pending(&s, &[]));
        let mut moved = s.clone();
        moved.slots[0].start = "2026-01-01T10:30:00Z".parse().unwrap();
        moved.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(names(&pending(&moved, &sent)), ["REQUEST a ann 1", "REQUEST a mod 1"]);

        let mut off = s.clone();
        off.slots[1].speakers.clear();
        off.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(names(&pending(&off, &sent)), ["REQUEST b mod 1", "CANCEL b bob 1"]);

        let mut removed = s.clone();
        removed.slots.remove(0);
        removed.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(names(&pending(&removed, &sent)), ["CANCEL a ann 1", "CANCEL a mod 1"]);
        let done = [sent.clone(), sent_all(&removed, &pending(&removed, &sent))].concat();
        assert!(pending(&removed, &done).is_empty());
    }

    #[test]
    fn a_cancelled_session_cancels_only_what_was_requested() {
        let s = session();
        let sent = sent_all(&s, &pending(&s, &[])[..1]);
        let mut cancelled = s.clone();
        cancelled.status = SessionStatus::Cancelled;
        cancelled.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(names(&pending(&cancelled, &sent)), ["CANCEL a ann 1"]);
    }

    #[test]
    fn records_of_a_deleted_session_with_the_same_id_do_not_count() {
        let s = session();
        let mut stale = sent_all(&s, &pending(&s, &[]));
        for r in &mut stale {
            r.session_created = "2020-01-01T00:00:00Z".parse().unwrap();
        }
        assert_eq!(pending(&s, &stale).len(), 4);
    }
}
