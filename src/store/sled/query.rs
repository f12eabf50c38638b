//! Reads: point reads of records, and the queries (`store/indexed.rs`), which read candidate
//! keys from the in-memory indexes in batches under the read lock and the records from sled
//! outside it. Once a flush failed, each first asks `stopped` whether it may show a write of
//! unknown outcome.

use std::ops::Bound;

use super::SledStore;
use super::stopped::Tree as Hidden;
use crate::domain::{
    FeedToken, InviteRecord, PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session, SessionId,
    SessionQuery,
};
use crate::store::StoreError;
use crate::store::indexed::{self, Records};
use crate::store::keys;
use crate::store::records::{decode_feed_token, decode_person, decode_sent_invite, decode_session};

impl SledStore {
    pub(super) fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.readable(Hidden::Session, id.as_str().as_bytes())?;
        self.session(id.as_str())
    }

    pub(super) fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        self.queryable(&[Hidden::Session, Hidden::Person])?;
        indexed::list_sessions(|| self.read_ix(), self, query, limit)
    }

    pub(super) fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.readable(Hidden::Person, id.as_str().as_bytes())?;
        self.person(id.as_str())
    }

    pub(super) fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        self.queryable(&[Hidden::Person])?;
        indexed::list_people(|| self.read_ix(), self, query, limit)
    }

    pub(super) fn person_slots(&self, query: &PersonSlotQuery, limit: usize) -> Result<Vec<PersonSlot>, StoreError> {
        self.queryable(&[Hidden::Session, Hidden::Person])?;
        indexed::person_slots(|| self.read_ix(), self, query, limit)
    }

    pub(super) fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.readable(Hidden::FeedToken, token.as_bytes())?;
        self.feed_tokens.get(token)?.map(|b| decode_feed_token(&b)).transpose()
    }

    pub(super) fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        self.queryable(&[Hidden::FeedToken])?;
        let lower = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
        self.feed_tokens
            .range::<Vec<u8>, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|item| decode_feed_token(&item?.1))
            .collect()
    }

    pub(super) fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        self.invites_readable(&keys::invites_of(session))?;
        self.invites_sent.scan_prefix(keys::invites_of(session)).map(|item| decode_sent_invite(&item?.1)).collect()
    }
}

/// The records the indexes point at, read from the trees outside the index lock.
impl Records for SledStore {
    fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.sessions.get(id)?.map(|b| decode_session(&b)).transpose()
    }

    fn person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        self.people.get(id)?.map(|b| decode_person(&b)).transpose()
    }
}
