//! Who is committed when, read from the store: the commitments of a person in a window, the
//! conflicts a write creates (checked before it is written), conflict listings and free/busy.
//!
//! Every read goes through the store's person index (sessions naming a person, overlapping a
//! window: the in-memory index on sled, the local copy on etcd), so checking a write costs in
//! proportion to the commitments of the people it names, never to the store. The check is
//! advisory: it reads, then the write happens, and a write racing with it on another session
//! may add a conflict neither saw. `ListConflicts` finds those afterwards.

use std::collections::BTreeSet;

use super::Agenda;
use crate::domain::{
    Commitment, Conflict, ConflictCursor, PersonId, Session, SessionFilter, SessionId, Timestamp, commitments_of,
    committed_people, conflicts_among, conflicts_created,
};
use crate::error::{Error, Kind};

/// What a write does about the conflicts it would create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Not checked (imports, the demo, writes that commit no one anew).
    Skip,
    /// Written anyway, the conflicts reported with the answer: an organizer may book on purpose.
    Report,
    /// Refused with FAILED_PRECONDITION, the conflicts as details, when there is any.
    Refuse,
}

/// What a ListConflicts asks for: at least one of a person, a session, an organizer or a
/// bounded window (checked by the API), each narrowing the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictQuery {
    pub person: Option<PersonId>,
    pub session: Option<SessionId>,
    /// Organizer name or short name, lower case.
    pub organizer: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// One person's free/busy answer: their merged busy periods, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreeBusy {
    Busy(Vec<(Timestamp, Timestamp)>),
    UnknownPerson,
}

impl Agenda {
    /// Whether writes look for the conflicts they create (`schedule.check_conflicts`).
    pub fn with_conflict_check(self, on: bool) -> Self {
        self.shared.check_conflicts.store(on, std::sync::atomic::Ordering::Relaxed);
        self
    }

    fn checks_conflicts(&self) -> bool {
        self.shared.check_conflicts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every commitment of `person` that overlaps [`from`, `to`), as stored, but those of
    /// the session `skip` (the one being written).
    pub async fn commitments(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        skip: Option<&SessionId>,
    ) -> Result<Vec<Commitment>, Error> {
        let filter = SessionFilter { person: Some(person.clone()), from, to, ..SessionFilter::default() };
        let sessions = self.all_sessions(filter).await?;
        let within = |c: &Commitment| from.is_none_or(|f| c.end > f) && to.is_none_or(|t| c.start < t);
        Ok(sessions
            .iter()
            .filter(|s| Some(&s.id) != skip)
            .flat_map(|s| commitments_of(s, Some(person)))
            .filter(within)
            .collect())
    }

    /// The conflicts writing `new` (over `old`, if it exists) creates, or none when the policy
    /// or the configuration skips the check. With [`ConflictPolicy::Refuse`], an error when
    /// there is any.
    pub(super) async fn check_conflicts(
        &self,
        policy: ConflictPolicy,
        old: Option<&Session>,
        new: &Session,
    ) -> Result<Vec<Conflict>, Error> {
        if policy == ConflictPolicy::Skip || !self.checks_conflicts() {
            return Ok(Vec::new());
        }
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for person in committed_people(new) {
            let mine = commitments_of(new, Some(&person));
            let was = old.map(|o| commitments_of(o, Some(&person))).unwrap_or_default();
            let from = mine.iter().chain(&was).map(|c| c.start).min();
            let to = mine.iter().chain(&was).map(|c| c.end).max();
            let others = self.commitments(&person, from, to, Some(&new.id)).await?;
            before.extend(others.iter().cloned().chain(was));
            after.extend(others.into_iter().chain(mine));
        }
        let created = conflicts_created(&new.id, &before, &after);
        if policy == ConflictPolicy::Refuse && !created.is_empty() {
            return Err(Error::Conflicting { conflicts: created });
        }
        Ok(created)
    }

    /// One page of the conflicts `query` selects, in time order, after `after`, and where the
    /// next page starts.
    pub async fn list_conflicts(
        &self,
        query: &ConflictQuery,
        after: Option<ConflictCursor>,
        page_size: usize,
    ) -> Result<(Vec<Conflict>, Option<ConflictCursor>), Error> {
        // The people whose commitments to read, and the window to read them in.
        let (mut from, mut to) = (query.from, query.to);
        // The organizer's sessions in the window, when the listing by organizer read them.
        let mut ours: Option<BTreeSet<SessionId>> = None;
        let people: BTreeSet<PersonId> = if let Some(person) = &query.person {
            BTreeSet::from([person.clone()])
        } else if let Some(id) = &query.session {
            let s = self.get_session(id).await?;
            from = from.max(Some(s.start));
            to = Some(to.map_or(s.end, |t| t.min(s.end)));
            committed_people(&s).into_iter().collect()
        } else {
            let filter = SessionFilter { from, to, organizer: query.organizer.clone(), ..SessionFilter::default() };
            let sessions = self.all_sessions(filter).await?;
            if query.organizer.is_some() {
                ours = Some(sessions.iter().map(|s| s.id.clone()).collect());
            }
            sessions.iter().flat_map(committed_people).collect()
        };
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            return Ok((Vec::new(), None));
        }
        let mut all = Vec::new();
        for person in &people {
            let commitments = self.commitments(person, from, to, None).await?;
            all.extend(conflicts_among(&commitments).into_iter().filter(|c| {
                let (start, end) = c.overlap();
                from.is_none_or(|f| end > f) && to.is_none_or(|t| start < t)
            }));
        }
        if let Some(id) = &query.session {
            all.retain(|c| c.involves(id));
        }
        if let Some(organizer) = &query.organizer {
            // Both sides are read for each person; a conflict belongs to the organizer's
            // listing when one of its sessions is a side. Listed above unless a person or a
            // session chose the people.
            let ours = match ours {
                Some(ours) => ours,
                None => {
                    let filter =
                        SessionFilter { from, to, organizer: Some(organizer.clone()), ..SessionFilter::default() };
                    self.all_sessions(filter).await?.into_iter().map(|s| s.id).collect()
                }
            };
            all.retain(|c| ours.contains(&c.first.session) || ours.contains(&c.second.session));
        }
        all.sort_by_key(Conflict::cursor);
        all.dedup_by_key(|c| c.cursor());
        if let Some(after) = &after {
            all.retain(|c| &c.cursor() > after);
        }
        Ok(super::paginate(all, page_size, Conflict::cursor))
    }

    /// One person's busy time within [`from`, `to`) for their free/busy feed: the person, the
    /// merged periods, and the last change of what they were computed from (the person and the
    /// sessions read), which dates the body.
    pub async fn busy_time(
        &self,
        person: &PersonId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(crate::domain::Person, Vec<(Timestamp, Timestamp)>, Timestamp), Error> {
        let who = self.get_person(person).await?;
        let filter =
            SessionFilter { person: Some(person.clone()), from: Some(from), to: Some(to), ..SessionFilter::default() };
        let sessions = self.all_sessions(filter).await?;
        let commitments: Vec<Commitment> = sessions.iter().flat_map(|s| commitments_of(s, Some(person))).collect();
        let changed = sessions.iter().map(|s| s.meta.update_time).fold(who.meta.update_time, Timestamp::max);
        Ok((who, crate::domain::busy_periods(&commitments, from, to), changed))
    }

    /// Each of `people`'s busy time within [`from`, `to`), in the order asked.
    pub async fn free_busy(
        &self,
        people: &[PersonId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(PersonId, FreeBusy)>, Error> {
        let mut out = Vec::with_capacity(people.len());
        for person in people {
            let answer = match self.get_person(person).await {
                Ok(_) => {
                    let commitments = self.commitments(person, Some(from), Some(to), None).await?;
                    FreeBusy::Busy(crate::domain::busy_periods(&commitments, from, to))
                }
                Err(Error::Domain(crate::domain::Error::NotFound { kind: Kind::Person, .. })) => {
                    FreeBusy::UnknownPerson
                }
                Err(e) => return Err(e),
            };
            out.push((person.clone(), answer));
        }
        Ok(out)
    }
}
