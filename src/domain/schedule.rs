//! Who is committed when: a person's commitments, the conflicts between two of them, and the
//! busy periods they add up to. Pure functions over sessions; the app gathers the sessions.
//!
//! A commitment is a speaker's or moderator's slot, or a session a participant accepted (the
//! seed's "confirmed participants"). Cancelled slots and sessions commit no one, nor do slots
//! taken off the agenda. Two commitments of one person conflict when their intervals share an
//! instant: `[start, end)` intervals, so one that ends when the next starts does not overlap it,
//! and instants are compared as such (UTC), whatever the sessions' zones. Within one session, a
//! participant's attendance and a slot of theirs are one meeting, not two; two slots of one
//! person in one session do conflict (parallel tracks, `allow_overlap`).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::{
    ParticipationStatus, PersonId, Role, Session, SessionId, SessionStatus, SlotId, SlotStatus, TimeZoneName,
    Timestamp, Visibility,
};

/// What a person is committed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Engagement {
    /// A slot where they speak or moderate (their roles in it, speaker first).
    Slot { slot: SlotId, title: String, roles: Vec<Role> },
    /// A session they accepted to attend, in this role.
    Attendance { role: Role },
}

/// One person's commitment, with enough of its session to show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Commitment {
    pub person: PersonId,
    pub session: SessionId,
    pub session_title: String,
    pub time_zone: TimeZoneName,
    pub visibility: Visibility,
    pub start: Timestamp,
    pub end: Timestamp,
    pub engagement: Engagement,
}

impl Commitment {
    /// What tells two commitments of one person apart: the session, then the slot.
    fn key(&self) -> (&str, Option<&str>) {
        let slot = match &self.engagement {
            Engagement::Slot { slot, .. } => Some(slot.as_str()),
            Engagement::Attendance { .. } => None,
        };
        (self.session.as_str(), slot)
    }

    /// Time order, then session and slot: the order conflicts and listings use.
    fn order(&self, other: &Commitment) -> Ordering {
        (self.start, self.end, self.key()).cmp(&(other.start, other.end, other.key()))
    }

    /// Whether the two share an instant and are two meetings (see the module's header).
    pub fn conflicts_with(&self, other: &Commitment) -> bool {
        let overlap = self.start < other.end && other.start < self.end;
        let same_meeting = self.session == other.session
            && (matches!(self.engagement, Engagement::Attendance { .. })
                || matches!(other.engagement, Engagement::Attendance { .. })
                || self.key() == other.key());
        self.person == other.person && overlap && !same_meeting
    }
}

/// Every commitment `s` makes, for everyone it names (of `only`, when given).
pub fn commitments_of(s: &Session, only: Option<&PersonId>) -> Vec<Commitment> {
    let mut out = Vec::new();
    if s.status == SessionStatus::Cancelled {
        return out;
    }
    let wanted = |p: &PersonId| only.is_none_or(|o| o == p);
    let base = |person: &PersonId, start, end, engagement| Commitment {
        person: person.clone(),
        session: s.id.clone(),
        session_title: s.title.clone(),
        time_zone: s.time_zone.clone(),
        visibility: s.visibility,
        start,
        end,
        engagement,
    };
    for slot in s.slots.iter().filter(|slot| slot.status != SlotStatus::Cancelled) {
        let mut people: Vec<(&PersonId, Role)> = slot.speakers.iter().map(|p| (p, Role::Speaker)).collect();
        people.extend(slot.moderators.iter().map(|p| (p, Role::Moderator)));
        people.sort_by(|a, b| a.0.cmp(b.0));
        for group in people.chunk_by(|a, b| a.0 == b.0) {
            let person = group[0].0;
            if wanted(person) {
                let roles = group.iter().map(|(_, r)| *r).collect();
                let engagement = Engagement::Slot { slot: slot.id.clone(), title: slot.title.clone(), roles };
                out.push(base(person, slot.start, slot.end, engagement));
            }
        }
    }
    for p in &s.participants {
        if p.status == ParticipationStatus::Accepted && wanted(&p.person) {
            out.push(base(&p.person, s.start, s.end, Engagement::Attendance { role: p.role }));
        }
    }
    out
}

/// The people `s` commits (each once, sorted).
pub fn committed_people(s: &Session) -> Vec<PersonId> {
    let mut people: Vec<PersonId> = commitments_of(s, None).into_iter().map(|c| c.person).collect();
    people.sort();
    people.dedup();
    people
}

/// Two commitments of one person that overlap: `first` is the one that comes first in time
/// order (then session, then slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Conflict {
    pub first: Commitment,
    pub second: Commitment,
}

impl Conflict {
    /// The conflict of `a` and `b`, in its canonical order, if they conflict.
    pub fn between(a: &Commitment, b: &Commitment) -> Option<Conflict> {
        if !a.conflicts_with(b) {
            return None;
        }
        let (first, second) = if a.order(b) == Ordering::Greater { (b, a) } else { (a, b) };
        Some(Conflict { first: first.clone(), second: second.clone() })
    }

    pub fn person(&self) -> &PersonId {
        &self.first.person
    }

    /// The instants both sides share.
    pub fn overlap(&self) -> (Timestamp, Timestamp) {
        (self.first.start.max(self.second.start), self.first.end.min(self.second.end))
    }

    /// Where a listing of conflicts resumes after this one.
    pub fn cursor(&self) -> ConflictCursor {
        let side = |c: &Commitment| (c.session.to_string(), c.key().1.map(str::to_owned));
        ConflictCursor {
            start: self.first.start,
            second_start: self.second.start,
            person: self.person().clone(),
            first: side(&self.first),
            second: side(&self.second),
        }
    }

    /// Whether `s` is one of its sides' sessions.
    pub fn involves(&self, s: &SessionId) -> bool {
        &self.first.session == s || &self.second.session == s
    }
}

/// The order of a conflict listing, and where a page of it resumes: the first side's start,
/// the second's, the person, then both sides' (session, slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConflictCursor {
    pub start: Timestamp,
    pub second_start: Timestamp,
    pub person: PersonId,
    pub first: (String, Option<String>),
    pub second: (String, Option<String>),
}

/// Every conflict among `commitments` (of any people), each once, in listing order. A sweep
/// over each person's commitments sorted by start: a commitment is compared with those still
/// running when it starts, so the work follows the commitments and the conflicts, not their
/// square.
pub fn conflicts_among(commitments: &[Commitment]) -> Vec<Conflict> {
    let mut sorted: Vec<&Commitment> = commitments.iter().collect();
    sorted.sort_by(|a, b| a.person.cmp(&b.person).then_with(|| a.order(b)));
    sorted.dedup_by(|a, b| a.person == b.person && a.key() == b.key());
    let mut out = Vec::new();
    for person in sorted.chunk_by(|a, b| a.person == b.person) {
        let mut running: Vec<&Commitment> = Vec::new();
        for c in person {
            running.retain(|r| r.end > c.start);
            out.extend(running.iter().filter_map(|r| Conflict::between(r, c)));
            running.push(c);
        }
    }
    out.sort_by_key(Conflict::cursor);
    out
}

/// The conflicts a write creates: those among `after` (the people's commitments with the
/// session as written) that involve `session` and were not among `before` (with the session
/// as it was).
pub fn conflicts_created(session: &SessionId, before: &[Commitment], after: &[Commitment]) -> Vec<Conflict> {
    let old: std::collections::HashSet<ConflictCursor> =
        conflicts_among(before).iter().filter(|c| c.involves(session)).map(Conflict::cursor).collect();
    conflicts_among(after).into_iter().filter(|c| c.involves(session) && !old.contains(&c.cursor())).collect()
}

/// A person's busy time within `[from, to)`: their commitments clipped to the window, merged
/// where they overlap or touch, in time order.
pub fn busy_periods(commitments: &[Commitment], from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut periods: Vec<(Timestamp, Timestamp)> =
        commitments.iter().map(|c| (c.start.max(from), c.end.min(to))).filter(|(start, end)| start < end).collect();
    periods.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(periods.len());
    for (start, end) in periods {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slot(person: &str, session: &str, slot: &str, start: &str, end: &str) -> Commitment {
        Commitment {
            person: PersonId::parse(person).unwrap(),
            session: SessionId::parse(session).unwrap(),
            session_title: session.into(),
            time_zone: TimeZoneName::parse("Europe/Zurich").unwrap(),
            visibility: Visibility::Public,
            start: t(start),
            end: t(end),
            engagement: Engagement::Slot {
                slot: SlotId::parse(slot).unwrap(),
                title: slot.into(),
                roles: vec![Role::Speaker],
            },
        }
    }

    fn attends(person: &str, session: &str, start: &str, end: &str) -> Commitment {
        Commitment {
            engagement: Engagement::Attendance { role: Role::Participant },
            ..slot(person, session, "x", start, end)
        }
    }

    #[test]
    fn touching_intervals_do_not_overlap_and_a_shared_minute_does() {
        let a = slot("low", "s1", "a", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        let touching = slot("low", "s2", "b", "2030-01-01T11:00:00Z", "2030-01-01T12:00:00Z");
        let sharing = slot("low", "s2", "b", "2030-01-01T10:59:00Z", "2030-01-01T12:00:00Z");
        assert!(!a.conflicts_with(&touching));
        assert!(a.conflicts_with(&sharing));
        assert_eq!(conflicts_among(&[a.clone(), touching]).len(), 0);
        assert_eq!(conflicts_among(&[sharing.clone(), a.clone()]), vec![Conflict { first: a, second: sharing }]);
    }

    #[test]
    fn attendance_and_a_slot_of_one_session_are_one_meeting_but_two_slots_are_two() {
        let whole = attends("low", "s1", "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z");
        let a = slot("low", "s1", "a", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        let parallel = slot("low", "s1", "b", "2030-01-01T10:30:00Z", "2030-01-01T11:30:00Z");
        assert!(!whole.conflicts_with(&a));
        assert!(a.conflicts_with(&parallel));
        assert_eq!(conflicts_among(&[whole, a, parallel]).len(), 1);
    }

    #[test]
    fn other_peoples_commitments_never_conflict() {
        let a = slot("low", "s1", "a", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        let b = slot("rollo", "s2", "b", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        assert!(conflicts_among(&[a, b]).is_empty());
    }

    #[test]
    fn the_sweep_finds_every_pair_in_time_order() {
        let long = slot("low", "s1", "a", "2030-01-01T08:00:00Z", "2030-01-01T18:00:00Z");
        let morning = slot("low", "s2", "b", "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z");
        let noon = slot("low", "s3", "c", "2030-01-01T12:00:00Z", "2030-01-01T13:00:00Z");
        let found = conflicts_among(&[noon.clone(), morning.clone(), long.clone()]);
        let pairs: Vec<(&str, &str)> =
            found.iter().map(|c| (c.first.session.as_str(), c.second.session.as_str())).collect();
        assert_eq!(pairs, [("s1", "s2"), ("s1", "s3")]);
    }

    #[test]
    fn a_write_reports_only_the_conflicts_it_creates() {
        let other = slot("low", "s2", "b", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
        let third = slot("low", "s3", "c", "2030-01-01T12:00:00Z", "2030-01-01T13:00:00Z");
        let before = slot("low", "s1", "a", "2030-01-01T10:30:00Z", "2030-01-01T11:30:00Z");
        let after = slot("low", "s1", "a", "2030-01-01T10:30:00Z", "2030-01-01T12:30:00Z");
        let s1 = SessionId::parse("s1").unwrap();
        let created =
            conflicts_created(&s1, &[before, other.clone(), third.clone()], &[after.clone(), other, third.clone()]);
        assert_eq!(created, vec![Conflict { first: after, second: third }]);
    }

    #[test]
    fn busy_periods_are_clipped_to_the_window_and_merged_where_they_touch() {
        let c = [
            slot("low", "s1", "a", "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"),
            slot("low", "s2", "b", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"),
            slot("low", "s3", "c", "2030-01-01T10:30:00Z", "2030-01-01T10:45:00Z"),
            slot("low", "s4", "d", "2030-01-01T13:00:00Z", "2030-01-01T15:00:00Z"),
            slot("low", "s5", "e", "2030-01-02T13:00:00Z", "2030-01-02T15:00:00Z"),
        ];
        let busy = busy_periods(&c, t("2030-01-01T09:30:00Z"), t("2030-01-01T14:00:00Z"));
        assert_eq!(
            busy,
            [
                (t("2030-01-01T09:30:00Z"), t("2030-01-01T11:00:00Z")),
                (t("2030-01-01T13:00:00Z"), t("2030-01-01T14:00:00Z"))
            ]
        );
    }
}
