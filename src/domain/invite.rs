//! Speaker invites: which iTIP message (RFC 5546) each speaker and moderator should have,
//! and where each of those messages stands in the outbox.
//!
//! Every (slot, person) pair of a session is in one of two wanted states: invited
//! (`REQUEST` at the slot's sequence) while the person is on a scheduled slot of a
//! non-cancelled session, or cancelled (`CANCEL`) once they received a REQUEST and the slot
//! was removed or cancelled, the session cancelled, or they were taken off the slot.
//!
//! Participants are invited to the whole session, when the session says so
//! ([`Session::invite_participants`]): one message per participant with no slot (`slot`
//! `None`), a REQUEST at the session's sequence while they are on the list of a
//! non-cancelled session, a CANCEL once they were sent a REQUEST and were taken off the list,
//! the session was cancelled or stopped inviting. A speaker who is also a participant has
//! both: their slot's event and the session's are two calendar objects (README, "Participant
//! invites").
//!
//! The outbox is those wanted messages, each in a state ([`InviteState`]): sent, failed (with
//! the sender's reason), blocked (no address to send from or to) or pending. What happened is
//! kept per (slot, person) in an [`InviteRecord`]: the last message delivered and the last
//! failure since; [`InviteRecord::apply`] folds one [`Attempt`] in, and is idempotent, so a
//! sender may report the same outcome twice. A session that has ended calls for no new
//! message of either method (a REQUEST would invite to the past, a CANCEL would only rewrite
//! history in a calendar); what was sent or failed stays listed.

use std::collections::{BTreeSet, HashMap};

use super::{PersonId, Role, Session, SessionId, SessionStatus, Slot, SlotId, SlotStatus, Timestamp};

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

/// One message for one person about one slot, or about the whole session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteMessage {
    pub session: SessionId,
    /// The slot; `None` for a participant's invite to the whole session (it sorts before the
    /// slots, so a session's participant messages list first).
    pub slot: Option<SlotId>,
    pub person: PersonId,
    pub method: InviteMethod,
    pub sequence: u32,
}

/// The last message delivered to a person about a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub method: InviteMethod,
    pub sequence: u32,
    /// When it was marked sent; `None` for records kept before times were.
    pub time: Option<Timestamp>,
    /// The role the person had in it (moderator: ROLE=CHAIR, speaker): a later CANCEL carries
    /// the same, though the person is no longer on the slot. `None` when not known (records
    /// kept before roles were).
    pub role: Option<Role>,
}

/// A message the sender could not deliver, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub method: InviteMethod,
    pub sequence: u32,
    pub time: Timestamp,
    pub reason: String,
}

/// What happened to the messages for one person about one slot. `session_created` tells a
/// record of a deleted session from one of a new session that reuses its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRecord {
    pub session: SessionId,
    /// `None`: the participant's invite to the whole session.
    pub slot: Option<SlotId>,
    pub person: PersonId,
    pub session_created: Timestamp,
    pub sent: Option<Delivery>,
    /// The last failure of a message newer than `sent` (dropped once a newer one is sent).
    pub failed: Option<Failure>,
}

/// A sender's report about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub message: InviteMessage,
    pub session_created: Timestamp,
    pub time: Timestamp,
    pub result: AttemptResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// Delivered; `role` is the person's role in a REQUEST (a CANCEL keeps the REQUEST's).
    Sent {
        role: Option<Role>,
    },
    Failed {
        reason: String,
    },
}

impl InviteRecord {
    /// The record after `attempt`, or `None` when it changes nothing: marking a message sent
    /// twice, or a message older than the one recorded, or reporting the failure of a message
    /// already delivered (or of an older one) is a no-op. A record of another incarnation of
    /// the session (`session_created` differs) is replaced.
    pub fn apply(stored: Option<&InviteRecord>, attempt: &Attempt) -> Option<InviteRecord> {
        let m = &attempt.message;
        let base = stored.filter(|r| r.session_created == attempt.session_created);
        let mut out = base.cloned().unwrap_or_else(|| InviteRecord {
            session: m.session.clone(),
            slot: m.slot.clone(),
            person: m.person.clone(),
            session_created: attempt.session_created,
            sent: None,
            failed: None,
        });
        let sent = out.sent.as_ref();
        // Sequences only grow from one message to the next for a (slot, person).
        let covered = sent.is_some_and(|d| d.sequence > m.sequence || (d.sequence, d.method) == (m.sequence, m.method));
        match &attempt.result {
            AttemptResult::Sent { .. } | AttemptResult::Failed { .. } if covered => return None,
            AttemptResult::Sent { role } => {
                let role = match m.method {
                    InviteMethod::Request => role.or(sent.and_then(|d| d.role)),
                    InviteMethod::Cancel => sent.and_then(|d| d.role).or(*role),
                };
                out.sent = Some(Delivery { method: m.method, sequence: m.sequence, time: Some(attempt.time), role });
                out.failed = out.failed.filter(|f| f.sequence > m.sequence);
            }
            AttemptResult::Failed { reason } => {
                if let Some(f) = &out.failed
                    && (f.sequence > m.sequence
                        || ((f.sequence, f.method) == (m.sequence, m.method) && &f.reason == reason))
                {
                    return None;
                }
                out.failed = Some(Failure {
                    method: m.method,
                    sequence: m.sequence,
                    time: attempt.time,
                    reason: reason.clone(),
                });
            }
        }
        (Some(&out) != stored).then_some(out)
    }

    /// The attempts that rebuild this record on an empty store (`agenda migrate` copies
    /// records this way, through [`InviteRecord::apply`]).
    pub fn attempts(&self) -> Vec<Attempt> {
        let message = |method, sequence| InviteMessage {
            session: self.session.clone(),
            slot: self.slot.clone(),
            person: self.person.clone(),
            method,
            sequence,
        };
        let mut out = Vec::new();
        if let Some(d) = &self.sent {
            out.push(Attempt {
                message: message(d.method, d.sequence),
                session_created: self.session_created,
                time: d.time.unwrap_or(self.session_created),
                result: AttemptResult::Sent { role: d.role },
            });
        }
        if let Some(f) = &self.failed {
            out.push(Attempt {
                message: message(f.method, f.sequence),
                session_created: self.session_created,
                time: f.time,
                result: AttemptResult::Failed { reason: f.reason.clone() },
            });
        }
        out
    }
}

/// Why a message cannot be sent until someone adds an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockedBy {
    /// The person has no e-mail address.
    PersonHasNoEmail,
    /// The session's organizer has none: it is the iTIP ORGANIZER, where replies go.
    OrganizerHasNoEmail,
}

/// Where one wanted message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteState {
    Pending,
    Sent { time: Option<Timestamp> },
    Failed { time: Timestamp, reason: String },
    Blocked(BlockedBy),
}

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub message: InviteMessage,
    pub state: InviteState,
    /// The person's role in it: on the slot for a REQUEST; for a CANCEL, the one the REQUEST
    /// they hold carried.
    pub role: Role,
    /// When the agenda called for it, at the latest: the session's last change (the store
    /// keeps no time per slot), or the slot's removal.
    pub due_since: Timestamp,
}

fn people_of(slot: &Slot) -> BTreeSet<&PersonId> {
    slot.speakers.iter().chain(&slot.moderators).collect()
}

/// The role a participant's invite carries: the one on the participant list.
pub fn participant_role(session: &Session, person: &PersonId) -> Option<Role> {
    session.participants.iter().find(|p| &p.person == person).map(|p| p.role)
}

/// The role a slot gives a person: moderator (ROLE=CHAIR) wins over speaker.
pub fn role_on(slot: &Slot, person: &PersonId) -> Role {
    if slot.moderators.contains(person) { Role::Moderator } else { Role::Speaker }
}

/// The records of this incarnation of the session.
fn current<'a>(session: &Session, records: &'a [InviteRecord]) -> impl Iterator<Item = &'a InviteRecord> {
    let created = session.meta.create_time;
    records.iter().filter(move |r| r.session_created == created)
}

/// Every message the agenda calls for now, sent or not, in slot then person order.
pub fn wanted(session: &Session, records: &[InviteRecord]) -> Vec<InviteMessage> {
    wanted_with_roles(session, records).into_iter().map(|(m, _)| m).collect()
}

fn wanted_with_roles(session: &Session, records: &[InviteRecord]) -> Vec<(InviteMessage, Role)> {
    // What each person was last sent: a REQUEST calls for a CANCEL once they are off the
    // slot (or the list), and a CANCEL sent stays the message they should have (listed as sent).
    let held: HashMap<(Option<&SlotId>, &PersonId), &Delivery> =
        current(session, records).filter_map(|r| Some(((r.slot.as_ref(), &r.person), r.sent.as_ref()?))).collect();
    let mut out = Vec::new();
    let mut covered: BTreeSet<(Option<&SlotId>, &PersonId)> = BTreeSet::new();
    let session_on = session.status != SessionStatus::Cancelled;
    if session.invite_participants {
        for p in &session.participants {
            covered.insert((None, &p.person));
            if session_on {
                out.push((message(session, None, &p.person, InviteMethod::Request, session.sequence), p.role));
            } else if let Some(d) = held.get(&(None, &p.person)) {
                let sequence = session.sequence.max(d.sequence);
                out.push((message(session, None, &p.person, InviteMethod::Cancel, sequence), d.role.unwrap_or(p.role)));
            }
        }
    }
    for slot in &session.slots {
        let live = session_on && slot.status == SlotStatus::Scheduled;
        for person in people_of(slot) {
            covered.insert((Some(&slot.id), person));
            let role = role_on(slot, person);
            if live {
                out.push((message(session, Some(&slot.id), person, InviteMethod::Request, slot.sequence), role));
            } else if let Some(d) = held.get(&(Some(&slot.id), person)) {
                let sequence = slot.sequence.max(d.sequence);
                out.push((
                    message(session, Some(&slot.id), person, InviteMethod::Cancel, sequence),
                    d.role.unwrap_or(role),
                ));
            }
        }
    }
    // Requested earlier, but the slot is gone or the person is no longer on it (or no longer
    // a participant of a session that invites them).
    let sequences: HashMap<&SlotId, u32> = session
        .slots
        .iter()
        .chain(session.removed_slots.iter().map(|r| &r.slot))
        .map(|s| (&s.id, s.sequence))
        .collect();
    let mut gone: Vec<_> = held.iter().filter(|(k, _)| !covered.contains(*k)).collect();
    gone.sort_by_key(|(k, _)| *k);
    for ((slot, person), d) in gone {
        // A CANCEL goes past the REQUEST it cancels; one already sent keeps its sequence.
        let after = d.sequence + u32::from(d.method == InviteMethod::Request);
        let (current, role) = match slot {
            Some(slot) => (sequences.get(slot).copied().unwrap_or(0), Role::Speaker),
            None => (session.sequence, Role::Participant),
        };
        out.push((message(session, *slot, person, InviteMethod::Cancel, current.max(after)), d.role.unwrap_or(role)));
    }
    out
}

fn message(
    s: &Session,
    slot: Option<&SlotId>,
    person: &PersonId,
    method: InviteMethod,
    sequence: u32,
) -> InviteMessage {
    InviteMessage { session: s.id.clone(), slot: slot.cloned(), person: person.clone(), method, sequence }
}

/// Whether `delivered` already gives the person what `wanted` says: the same method, and for
/// a REQUEST the same or a newer sequence.
fn delivers(delivered: &Delivery, wanted: &InviteMessage) -> bool {
    delivered.method == wanted.method
        && (wanted.method == InviteMethod::Cancel || delivered.sequence >= wanted.sequence)
}

/// The outbox of one session at `now`: every wanted message with its state, in (slot,
/// person) order. `has_email` says whether a person has an address. After the session's end,
/// only messages already sent or failed are listed (see the module documentation); `now`
/// `None` lists as if the session had not ended (a preview of what it calls for).
pub fn outbox(
    session: &Session,
    records: &[InviteRecord],
    now: Option<Timestamp>,
    has_email: impl Fn(&PersonId) -> bool,
) -> Vec<OutboxEntry> {
    let by_key: HashMap<(Option<&SlotId>, &PersonId), &InviteRecord> =
        current(session, records).map(|r| ((r.slot.as_ref(), &r.person), r)).collect();
    let ended = now.is_some_and(|now| session.end <= now);
    let removed_at: HashMap<&SlotId, Timestamp> =
        session.removed_slots.iter().map(|r| (&r.slot.id, r.removed_at)).collect();
    let mut out: Vec<OutboxEntry> = wanted_with_roles(session, records)
        .into_iter()
        .filter_map(|(message, role)| {
            let record = by_key.get(&(message.slot.as_ref(), &message.person));
            let state = match record {
                Some(InviteRecord { sent: Some(d), .. }) if delivers(d, &message) => InviteState::Sent { time: d.time },
                Some(InviteRecord { failed: Some(f), .. })
                    if (f.method, f.sequence) == (message.method, message.sequence) =>
                {
                    InviteState::Failed { time: f.time, reason: f.reason.clone() }
                }
                _ if ended => return None,
                _ if session.organizer.email.is_none() => InviteState::Blocked(BlockedBy::OrganizerHasNoEmail),
                _ if !has_email(&message.person) => InviteState::Blocked(BlockedBy::PersonHasNoEmail),
                _ => InviteState::Pending,
            };
            let removed = message.slot.as_ref().and_then(|slot| removed_at.get(slot));
            let due_since = removed.copied().unwrap_or(session.meta.update_time);
            Some(OutboxEntry { message, state, role, due_since })
        })
        .collect();
    out.sort_by(|a, b| (&a.message.slot, &a.message.person).cmp(&(&b.message.slot, &b.message.person)));
    out
}

/// The wanted messages that have not been sent: a REQUEST whose sequence the person has not
/// received (or after a CANCEL), a CANCEL for a person still holding a REQUEST. Blocked and
/// failed ones included; the session's end is not considered (see [`outbox`] for both).
pub fn pending(session: &Session, records: &[InviteRecord]) -> Vec<InviteMessage> {
    let last: HashMap<(Option<&SlotId>, &PersonId), &Delivery> =
        current(session, records).filter_map(|r| Some(((r.slot.as_ref(), &r.person), r.sent.as_ref()?))).collect();
    wanted(session, records)
        .into_iter()
        .filter(|w| last.get(&(w.slot.as_ref(), &w.person)).is_none_or(|d| !delivers(d, w)))
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
            answers: vec![],
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
            invite_participants: false,
            language: None,
            removed_slots: vec![],
            meta: RecordMeta::default(),
            sequence: 0,
        }
    }

    fn attempt(s: &Session, m: &InviteMessage, result: AttemptResult) -> Attempt {
        Attempt { message: m.clone(), session_created: s.meta.create_time, time: Timestamp::UNIX_EPOCH, result }
    }

    /// `records` after each of `msgs` was marked sent.
    fn mark(s: &Session, records: &[InviteRecord], msgs: &[InviteMessage]) -> Vec<InviteRecord> {
        let mut out = records.to_vec();
        for m in msgs {
            let role = match &m.slot {
                Some(slot) => s.slots.iter().find(|sl| &sl.id == slot).map(|sl| role_on(sl, &m.person)),
                None => participant_role(s, &m.person),
            };
            let a = attempt(s, m, AttemptResult::Sent { role });
            let at = out.iter().position(|r| (&r.slot, &r.person) == (&m.slot, &m.person));
            if let Some(new) = InviteRecord::apply(at.map(|i| &out[i]), &a) {
                match at {
                    Some(i) => out[i] = new,
                    None => out.push(new),
                }
            }
        }
        out
    }

    fn sent_all(s: &Session, msgs: &[InviteMessage]) -> Vec<InviteRecord> {
        mark(s, &[], msgs)
    }

    fn names(msgs: &[InviteMessage]) -> Vec<String> {
        msgs.iter()
            .map(|m| {
                let slot = m.slot.as_ref().map_or("session", |s| s.as_str());
                format!("{} {} {} {}", m.method.as_str(), slot, m.person, m.sequence)
            })
            .collect()
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

    #[test]
    fn marking_twice_or_an_older_sequence_changes_nothing() {
        let s = session();
        let first = pending(&s, &[]).remove(0);
        let records = sent_all(&s, std::slice::from_ref(&first));
        let sent = AttemptResult::Sent { role: Some(Role::Speaker) };
        assert_eq!(InviteRecord::apply(Some(&records[0]), &attempt(&s, &first, sent.clone())), None);
        let newer = InviteMessage { sequence: 3, ..first.clone() };
        let updated = InviteRecord::apply(Some(&records[0]), &attempt(&s, &newer, sent.clone())).unwrap();
        assert_eq!(InviteRecord::apply(Some(&updated), &attempt(&s, &first, sent)), None);
        let failed = AttemptResult::Failed { reason: "550 no such user".into() };
        assert_eq!(InviteRecord::apply(Some(&updated), &attempt(&s, &first, failed)), None);
    }

    #[test]
    fn a_failure_is_kept_until_that_message_or_a_newer_one_is_sent() {
        let s = session();
        let first = pending(&s, &[]).remove(0);
        let failed = AttemptResult::Failed { reason: "550 no such user".into() };
        let record = InviteRecord::apply(None, &attempt(&s, &first, failed.clone())).unwrap();
        assert_eq!(InviteRecord::apply(Some(&record), &attempt(&s, &first, failed)), None);
        let entries = outbox(&s, std::slice::from_ref(&record), None, |_| true);
        let entry = entries.iter().find(|e| e.message == first).unwrap();
        assert_eq!(entry.state, InviteState::Failed { time: Timestamp::UNIX_EPOCH, reason: "550 no such user".into() });
        let sent =
            InviteRecord::apply(Some(&record), &attempt(&s, &first, AttemptResult::Sent { role: None })).unwrap();
        assert_eq!(sent.failed, None);
        assert_eq!(
            sent.attempts().iter().fold(None, |r: Option<InviteRecord>, a| InviteRecord::apply(r.as_ref(), a).or(r)),
            Some(sent)
        );
    }

    #[test]
    fn people_without_an_address_are_blocked_and_an_ended_session_calls_for_nothing_new() {
        let mut s = session();
        s.organizer.email = Some(crate::domain::Email::parse("o@example.org").unwrap());
        let ann: PersonId = id("ann");
        let states: Vec<(String, InviteState)> =
            outbox(&s, &[], None, |p| p != &ann).into_iter().map(|e| (e.message.person.to_string(), e.state)).collect();
        assert_eq!(states[0], ("ann".into(), InviteState::Blocked(BlockedBy::PersonHasNoEmail)));
        assert!(states[1..].iter().all(|(_, st)| st == &InviteState::Pending));
        s.organizer.email = None;
        assert!(
            outbox(&s, &[], None, |_| true)
                .iter()
                .all(|e| e.state == InviteState::Blocked(BlockedBy::OrganizerHasNoEmail))
        );

        let records = sent_all(&s, &pending(&s, &[])[..1]);
        let after_end = s.end;
        let left = outbox(&s, &records, Some(after_end), |_| true);
        assert_eq!(left.len(), 1);
        assert!(matches!(left[0].state, InviteState::Sent { .. }));
    }

    #[test]
    fn a_moderator_taken_off_a_slot_is_cancelled_as_the_chair_they_were() {
        let s = session();
        let records = sent_all(&s, &pending(&s, &[]));
        let mut off = s.clone();
        off.slots[0].moderators.clear();
        off.carry_over(&s, Timestamp::UNIX_EPOCH);
        let cancel: Vec<OutboxEntry> = outbox(&off, &records, None, |_| true)
            .into_iter()
            .filter(|e| e.message.method == InviteMethod::Cancel)
            .collect();
        assert_eq!(cancel.len(), 1);
        assert_eq!((cancel[0].message.person.as_str(), cancel[0].role), ("mod", Role::Moderator));
    }

    fn with_participants(invite: bool) -> Session {
        let mut s = session();
        let p = |who: &str, role| crate::domain::Participant {
            person: id(who),
            role,
            group: "FMG".into(),
            status: crate::domain::ParticipationStatus::NeedsAction,
        };
        s.participants = vec![p("ann", Role::Speaker), p("cy", Role::Participant), p("dee", Role::Participant)];
        s.invite_participants = invite;
        s
    }

    fn of_session(msgs: Vec<InviteMessage>) -> Vec<String> {
        names(&msgs.into_iter().filter(|m| m.slot.is_none()).collect::<Vec<_>>())
    }

    #[test]
    fn participants_get_one_request_for_the_session_only_when_it_invites_them() {
        assert!(of_session(pending(&with_participants(false), &[])).is_empty());
        let s = with_participants(true);
        let all = pending(&s, &[]);
        assert_eq!(of_session(all.clone()), ["REQUEST session ann 0", "REQUEST session cy 0", "REQUEST session dee 0"]);
        // Beside the speaker's own slot invites: the participant ones list first.
        assert_eq!(names(&all[3..]), names(&pending(&with_participants(false), &[])));
        let sent = sent_all(&s, &all);
        assert!(pending(&s, &sent).is_empty());
        assert_eq!(sent.iter().find(|r| r.slot.is_none()).and_then(|r| r.sent.as_ref()?.role), Some(Role::Speaker));
    }

    #[test]
    fn a_moved_session_asks_again_a_removed_participant_and_a_cancelled_session_get_a_cancel() {
        let s = with_participants(true);
        let sent = sent_all(&s, &pending(&s, &[]));
        let mut answered = s.clone();
        answered.record_participant_reply(&id("cy"), 0, crate::domain::ParticipationStatus::Accepted).unwrap();

        let mut moved = answered.clone();
        moved.start = "2026-01-01T09:00:00Z".parse().unwrap();
        moved.carry_over(&answered, Timestamp::UNIX_EPOCH);
        assert_eq!(
            of_session(pending(&moved, &sent)),
            ["REQUEST session ann 1", "REQUEST session cy 1", "REQUEST session dee 1"]
        );
        assert_eq!(moved.participants[1].status, crate::domain::ParticipationStatus::NeedsAction);
        let stale = moved.clone().record_participant_reply(&id("cy"), 0, crate::domain::ParticipationStatus::Accepted);
        assert!(matches!(stale, Err(crate::domain::Error::StaleSessionReply { answered: 0, current: 1, .. })));

        let mut off = s.clone();
        off.remove_participant(&id("dee")).unwrap();
        off.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(of_session(pending(&off, &sent)), ["CANCEL session dee 1"]);
        let entries = outbox(&off, &sent, None, |_| true);
        let entry = entries.iter().find(|e| e.message.slot.is_none() && e.message.person.as_str() == "dee").unwrap();
        assert_eq!(
            (entry.message.method, entry.role, &entry.state),
            (InviteMethod::Cancel, Role::Participant, &InviteState::Blocked(BlockedBy::OrganizerHasNoEmail))
        );

        let mut cancelled = s.clone();
        cancelled.status = SessionStatus::Cancelled;
        cancelled.carry_over(&s, Timestamp::UNIX_EPOCH);
        assert_eq!(
            of_session(pending(&cancelled, &sent)),
            ["CANCEL session ann 1", "CANCEL session cy 1", "CANCEL session dee 1"]
        );
        // Never invited, never cancelled.
        assert!(of_session(pending(&cancelled, &[])).is_empty());
    }
}
