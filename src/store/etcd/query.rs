//! The queries, for now over every record of their kind read at one revision, filtered and
//! sorted in memory with the contract's orderings. The in-memory index replaces the scans here
//! (see "Where the in-memory index will land" in the module documentation).

use std::collections::BTreeMap;

use super::EtcdStore;
use crate::domain::{PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session, SessionQuery};
use crate::store::{StoreError, person_slots};

impl EtcdStore {
    pub(super) async fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        let (filter, after) = (&query.filter, query.after.as_ref());
        let names: BTreeMap<PersonId, String> = match &filter.text {
            Some(_) => self.all_people().await?.into_iter().map(|p| (p.id, p.name)).collect(),
            None => BTreeMap::new(),
        };
        let mut found: Vec<Session> = self
            .all_sessions()
            .await?
            .into_iter()
            .filter(|s| after.is_none_or(|c| (s.start, &s.id) > (c.start, &c.id)))
            .filter(|s| filter.matches(s, |p| names.get(p).cloned()))
            .collect();
        found.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        found.truncate(limit);
        Ok(found)
    }

    pub(super) async fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        let (text, after) = (query.text.as_str(), query.after.as_ref());
        let mut found: Vec<(String, Person)> = self
            .all_people()
            .await?
            .into_iter()
            .filter(|p| text.is_empty() || p.matches_text(text))
            .map(|p| (p.name.to_lowercase(), p))
            .filter(|(name, p)| after.is_none_or(|c| (name, &p.id) > (&c.name, &c.id)))
            .collect();
        found.sort_by(|(a, p), (b, q)| (a, &p.id).cmp(&(b, &q.id)));
        Ok(found.into_iter().take(limit).map(|(_, p)| p).collect())
    }

    pub(super) async fn person_slots(
        &self,
        query: &PersonSlotQuery,
        limit: usize,
    ) -> Result<Vec<PersonSlot>, StoreError> {
        let PersonSlotQuery { person, from, to, after, include_removed } = query;
        let (from, to, after, include_removed) = (*from, *to, after.as_ref(), *include_removed);
        let mut found = Vec::new();
        for session in self.all_sessions().await? {
            for (slot, removed) in person_slots::slots_of(&session, include_removed) {
                let in_window = from.is_none_or(|f| slot.end > f) && to.is_none_or(|t| slot.start < t);
                let past = after.is_none_or(|c| (slot.start, &session.id, &slot.id) > (c.start, &c.session, &c.slot));
                if in_window && past {
                    found.extend(person_slots::entry(&session, slot, removed, person));
                }
            }
        }
        found.sort_by(|a, b| (a.slot.start, &a.session_id, &a.slot.id).cmp(&(b.slot.start, &b.session_id, &b.slot.id)));
        found.truncate(limit);
        Ok(found)
    }
}
