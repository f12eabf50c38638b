//! The three queries answered from the in-memory indexes (`memindex`), the same in every
//! engine that keeps them: candidate keys from the indexes in batches, the records from the
//! engine's own [`Records`] (sled: its trees, read outside the index lock; etcd: the bodies of
//! its local copy, under the same lock as the indexes, so the answer is one revision's).

use std::ops::{Bound, Deref};
use std::sync::Arc;

use crate::domain::{PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session, SessionQuery, SlotId};
use crate::store::memindex::{Indexes, Ix, Sid};
use crate::store::{StoreError, person_slots};

/// Index keys a query reads per turn of the index lock: sled reads the records outside it.
const BATCH: usize = 64;

/// Where an engine keeps the records the indexes point at.
pub trait Records {
    fn session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    fn person(&self, id: &str) -> Result<Option<Person>, StoreError>;
    /// A person's name, for a text filter (`None` when unknown or unreadable).
    fn person_name(&self, id: &PersonId) -> Option<String> {
        self.person(id.as_str()).ok().flatten().map(|p| p.name)
    }
}

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

/// [`crate::store::Store::list_sessions`]: `ix` gives the indexes for one batch.
pub fn list_sessions<G: Deref<Target = Indexes>>(
    ix: impl Fn() -> G,
    records: &impl Records,
    query: &SessionQuery,
    limit: usize,
) -> Result<Vec<Session>, StoreError> {
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
    let mut lower = scan_start(from, ix().max_span(), |t| (t, Sid::from("")), after);
    let mut out = Vec::new();
    while out.len() < limit {
        let batch = ix().sessions_range(index, term, lower, to, BATCH);
        for (start, id, end) in &batch {
            if from.zip(*end).is_some_and(|(from, end)| end <= from) {
                continue;
            }
            let Some(s) = records.session(id)? else { continue };
            // A concurrent write may have moved the session; it is listed at its new place.
            if s.start.as_second() == *start && filter.matches(&s, |p| records.person_name(p)) {
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

/// [`crate::store::Store::list_people`].
pub fn list_people<G: Deref<Target = Indexes>>(
    ix: impl Fn() -> G,
    records: &impl Records,
    query: &PeopleQuery,
    limit: usize,
) -> Result<Vec<Person>, StoreError> {
    let (text, after) = (query.text.as_str(), query.after.as_ref());
    let mut after = after.map(|c| (c.name.clone(), c.id.as_str().to_owned()));
    let mut out = Vec::new();
    while out.len() < limit {
        let batch = ix().people_range(after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())), BATCH);
        for id in &batch {
            let Some(p) = records.person(id)? else { continue };
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

/// [`crate::store::Store::person_slots`].
pub fn person_slots<G: Deref<Target = Indexes>>(
    ix: impl Fn() -> G,
    records: &impl Records,
    query: &PersonSlotQuery,
    limit: usize,
) -> Result<Vec<PersonSlot>, StoreError> {
    let PersonSlotQuery { person, from, to, after, include_removed } = query;
    let (from, to, after, include_removed) = (*from, *to, after.as_ref(), *include_removed);
    let (from, to) = (from.map(|t| t.as_second()), to.map(|t| t.as_second()));
    let after = after.map(|c| (c.start.as_second(), Sid::from(c.session.as_str()), Arc::from(c.slot.as_str())));
    let at = |t| (t, Sid::from(""), Arc::<str>::from(""));
    let mut lower = scan_start(from, ix().max_span(), at, after);
    let mut out = Vec::new();
    let mut cached: Option<Session> = None;
    while out.len() < limit {
        let batch = ix().slots_range(person.as_str(), lower, to, BATCH);
        for (_, session_id, slot_id) in &batch {
            if cached.as_ref().is_none_or(|s| s.id.as_str() != &**session_id) {
                cached = match records.session(session_id)? {
                    Some(s) => Some(s),
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
