//! The queries and the point reads of sessions and people, answered from the local copy
//! (`copy`) once it holds every acknowledged write (`consistent`), by the same functions as
//! the sled engine's (`store/indexed.rs`), under one turn of the copy's lock.

use super::EtcdStore;
use crate::domain::{PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session, SessionId, SessionQuery};
use crate::store::StoreError;
use crate::store::indexed::{self, Records};

impl EtcdStore {
    pub(super) async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.catch_up().await?;
        self.copy.read().session(id.as_str())
    }

    pub(super) async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.catch_up().await?;
        self.copy.read().person(id.as_str())
    }

    pub(super) async fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        self.catch_up().await?;
        let copy = self.copy.read();
        indexed::list_sessions(|| &copy.ix, &*copy, query, limit)
    }

    pub(super) async fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        self.catch_up().await?;
        let copy = self.copy.read();
        indexed::list_people(|| &copy.ix, &*copy, query, limit)
    }

    pub(super) async fn person_slots(
        &self,
        query: &PersonSlotQuery,
        limit: usize,
    ) -> Result<Vec<PersonSlot>, StoreError> {
        self.catch_up().await?;
        let copy = self.copy.read();
        indexed::person_slots(|| &copy.ix, &*copy, query, limit)
    }
}
