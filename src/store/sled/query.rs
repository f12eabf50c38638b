//! Reads: point reads of records, and the queries, which read candidate keys from the
//! in-memory indexes in batches under the read lock and the records from sled outside it.

use std::ops::Bound;
use std::sync::Arc;

use super::SledStore;
use crate::domain::{
    FeedToken, InviteRecord, PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session, SessionId,
    SessionQuery, SlotId,
};
use crate::store::memindex::{Ix, Sid};
use crate::store::records::{decode_feed_token, decode_person, decode_sent_invite, decode_session};
use crate::store::{StoreError, keys, person_slots};

/// Index keys a query reads per turn of the read lock: the records are read outside it.
const BATCH: usize = 64;

/// The lower bound of a time-ordered scan: `from - max_span` (a session that started before
/// the window may still run in it), or just after the cursor when that is further on.
fn scan_start<K: Ord>(from: Option<i64>, max_span: i64, at: impl Fn(i64) -> K, after: Option<K>) -> Bound<K> {
    let lower = from.map(|f| at(f.saturating_sub(max_span)));
    match (lower, after) {
        (Some(l), Some(a)) if a < l => Bound::Included(l),
        (_, Some(a)) => Bound::Excluded(a),
        (Some(l), None) => Bound::Included(l),
        (None, None) => Bound::Unbounded,
    }
}

impl SledStore {
    pub(super) fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions.get(id.as_str())?.map(|b| decode_session(&b)).transpose()
    }

    pub(super) fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        let (filter, after) = (&query.filter, query.after.as_ref());
        // The most selective index the filter allows; the rest is checked on the records.
        let (index, term) = if let Some(p) = &filter.person {
            (Ix::Person, Some(p.as_str()))
        } else if let Some(t) = &filter.tag {
            (Ix::Tag, Some(t.as_str()))
        } else if let Some(o) = &filter.organizer {
            (Ix::Organizer, Some(o.as_str()))
        } else {
            (Ix::Start, None)
        };
        let (from, to) = (filter.from.map(|t| t.as_second()), filter.to.map(|t| t.as_second()));
        let after = after.map(|c| (c.start.as_second(), Sid::from(c.id.as_str())));
        let mut lower = scan_start(from, self.read_ix().max_span(), |t| (t, Sid::from("")), after);
        let mut out = Vec::new();
        while out.len() < limit {
            let batch = self.read_ix().sessions_range(index, term, lower, to, BATCH);
            for (start, id, end) in &batch {
                if from.zip(*end).is_some_and(|(from, end)| end <= from) {
                    continue;
                }
                let Some(bytes) = self.sessions.get(&**id)? else { continue };
                let s = decode_session(&bytes)?;
                // A concurrent write may have moved the session; it is listed at its new place.
                if s.start.as_second() == *start && filter.matches(&s, |p| self.person_name(p)) {
                    out.push(s);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            match batch.last() {
                Some((start, id, _)) if batch.len() == BATCH => lower = Bound::Excluded((*start, Arc::clone(id))),
                _ => break,
            }
        }
        Ok(out)
    }

    pub(super) fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.people.get(id.as_str())?.map(|b| decode_person(&b)).transpose()
    }

    pub(super) fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        let (text, after) = (query.text.as_str(), query.after.as_ref());
        let mut after = after.map(|c| (c.name.clone(), c.id.as_str().to_owned()));
        let mut out = Vec::new();
        while out.len() < limit {
            let batch = self.read_ix().people_range(after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())), BATCH);
            for id in &batch {
                let Some(bytes) = self.people.get(&**id)? else { continue };
                let p = decode_person(&bytes)?;
                after = Some((p.name.to_lowercase(), p.id.as_str().to_owned()));
                if text.is_empty() || p.matches_text(text) {
                    out.push(p);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            if batch.len() < BATCH {
                break;
            }
        }
        Ok(out)
    }

    pub(super) fn person_slots(&self, query: &PersonSlotQuery, limit: usize) -> Result<Vec<PersonSlot>, StoreError> {
        let PersonSlotQuery { person, from, to, after, include_removed } = query;
        let (from, to, after, include_removed) = (*from, *to, after.as_ref(), *include_removed);
        let (from, to) = (from.map(|t| t.as_second()), to.map(|t| t.as_second()));
        let after = after.map(|c| (c.start.as_second(), Sid::from(c.session.as_str()), Arc::from(c.slot.as_str())));
        let at = |t| (t, Sid::from(""), Arc::<str>::from(""));
        let mut lower = scan_start(from, self.read_ix().max_span(), at, after);
        let mut out = Vec::new();
        let mut cached: Option<Session> = None;
        while out.len() < limit {
            let batch = self.read_ix().slots_range(person.as_str(), lower, to, BATCH);
            for (_, session_id, slot_id) in &batch {
                if cached.as_ref().is_none_or(|s| s.id.as_str() != &**session_id) {
                    cached = match self.sessions.get(&**session_id)? {
                        Some(b) => Some(decode_session(&b)?),
                        None => continue,
                    };
                }
                let session = cached.as_ref().expect("loaded above");
                let Ok(slot_id) = SlotId::parse(slot_id) else { continue };
                let mut slots = person_slots::slots_of(session, include_removed);
                let Some((slot, removed)) = slots.find(|(s, _)| s.id == slot_id) else { continue };
                if from.is_some_and(|from| slot.end.as_second() <= from) {
                    continue;
                }
                if let Some(entry) = person_slots::entry(session, slot, removed, person) {
                    out.push(entry);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            match batch.last() {
                Some((start, sid, slot)) if batch.len() == BATCH => {
                    lower = Bound::Excluded((*start, Arc::clone(sid), Arc::clone(slot)))
                }
                _ => break,
            }
        }
        Ok(out)
    }

    pub(super) fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.feed_tokens.get(token)?.map(|b| decode_feed_token(&b)).transpose()
    }

    pub(super) fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let lower = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
        self.feed_tokens
            .range::<Vec<u8>, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|item| decode_feed_token(&item?.1))
            .collect()
    }

    pub(super) fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        self.invites_sent.scan_prefix(keys::invites_of(session)).map(|item| decode_sent_invite(&item?.1)).collect()
    }

    fn person_name(&self, id: &PersonId) -> Option<String> {
        let bytes = self.people.get(id.as_str()).ok()??;
        decode_person(&bytes).ok().map(|p| p.name)
    }
}
