//! The sled engine behind the async [`Store`] contract: writes and scans on tokio's blocking
//! pool, point reads in place.

use std::sync::Arc;

use async_trait::async_trait;

use super::SledStore;
use crate::domain::Timestamp;
use crate::domain::{
    Attempt, Change, FeedToken, InviteRecord, PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session,
    SessionId, SessionQuery,
};
use crate::store::memindex::Doc;
use crate::store::{Expect, Fence, Kept, Once, Store, StoreError, StoreStats};

/// Runs `f` on tokio's blocking pool: a sled write waits for its group-commit flush and a scan
/// walks many pages, either of which would stall a runtime thread and every task on it.
async fn blocking<T: Send + 'static>(
    store: &Arc<SledStore>,
    f: impl FnOnce(&SledStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

impl SledStore {
    /// This store behind the [`Store`] contract, as the app takes it; `self` stays at hand
    /// for the synchronous helpers (`flush`, `checkpoint`, `verify`).
    pub fn shared(self: &Arc<Self>) -> Arc<dyn Store> {
        Arc::new(Arc::clone(self))
    }
}

/// The sled engine behind the contract. Implemented on the shared handle because a task on
/// the blocking pool must own what it uses.
///
/// Point reads (`get_*`, `revision`, `changes_from`) run in place on the runtime thread. A
/// sled read of a cached page takes microseconds and of an uncached one a `pread` of the OS
/// page cache; a hop to the blocking pool and back costs about as much (two thread wake-ups:
/// 14% of the CPU of GetSession under load, the reads 20%); in place, GetSession served nearly
/// twice the requests (BENCHMARKS.md, profiles). Writes (which wait for a flush), scans and
/// `stats` (which walks the directory) go to the blocking pool.
#[async_trait]
impl Store for Arc<SledStore> {
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        SledStore::get_session(self, id)
    }

    /// The session is encoded here, on the caller's thread, and only its encoding goes to
    /// the blocking pool (no copy of the session itself).
    async fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError> {
        let (id, prepared) = (session.id.clone(), SledStore::prepare_session(session));
        blocking(self, move |st| st.put_prepared(id.as_str(), &prepared, expect, None, None)).await
    }

    async fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let id = id.clone();
        blocking(self, move |st| st.delete_session(&id, expect)).await
    }

    async fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        let query = query.clone();
        blocking(self, move |st| st.list_sessions(&query, limit)).await
    }

    async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        SledStore::get_person(self, id)
    }

    async fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError> {
        let person = person.clone();
        blocking(self, move |st| st.put_person(&person, expect, None)).await
    }

    async fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let id = id.clone();
        blocking(self, move |st| st.delete_person(&id, expect)).await
    }

    async fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        let query = query.clone();
        blocking(self, move |st| st.list_people(&query, limit)).await
    }

    async fn person_slots(&self, query: &PersonSlotQuery, limit: usize) -> Result<Vec<PersonSlot>, StoreError> {
        let query = query.clone();
        blocking(self, move |st| st.person_slots(&query, limit)).await
    }

    async fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let token = token.clone();
        blocking(self, move |st| st.put_feed_token(&token)).await
    }

    async fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        SledStore::get_feed_token(self, token)
    }

    async fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        let token = token.to_owned();
        blocking(self, move |st| st.delete_feed_token(&token)).await
    }

    async fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let after = after.map(str::to_owned);
        blocking(self, move |st| st.list_feed_tokens(after.as_deref(), limit)).await
    }

    /// One process opens a sled store: every role is its own, so a fence has nothing to check.
    async fn record_invites(&self, attempts: &[Attempt], _fence: Option<&Fence>) -> Result<(), StoreError> {
        let attempts = attempts.to_vec();
        blocking(self, move |st| st.record_invites(&attempts)).await
    }

    async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        let session = session.clone();
        blocking(self, move |st| st.invite_records(&session)).await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        SledStore::revision(self)
    }

    fn settled_revision(&self) -> Option<u64> {
        self.settled()
    }

    fn tracks_settled_revision(&self) -> bool {
        true
    }

    async fn put_session_once(&self, session: &Session, expect: Expect, once: &Once) -> Result<u64, StoreError> {
        let (id, prepared, once) = (session.id.clone(), SledStore::prepare_session(session), once.clone());
        blocking(self, move |st| st.put_prepared(id.as_str(), &prepared, expect, None, Some(&once))).await
    }

    async fn put_session_over(
        &self,
        session: &Session,
        old: &Session,
        expect: Expect,
        once: Option<&Once>,
    ) -> Result<u64, StoreError> {
        // The old record's index fields from the caller's copy, on the caller's thread: only
        // when it is the record `expect` names (otherwise the write reads what is stored).
        let known = (expect == Expect::Revision(old.meta.revision)).then(|| (old.meta.revision, Doc::of(old)));
        let (id, prepared, once) = (session.id.clone(), SledStore::prepare_session(session), once.cloned());
        blocking(self, move |st| st.put_prepared(id.as_str(), &prepared, expect, known, once.as_ref())).await
    }

    async fn put_person_once(&self, person: &Person, expect: Expect, once: &Once) -> Result<u64, StoreError> {
        let (person, once) = (person.clone(), once.clone());
        blocking(self, move |st| st.put_person(&person, expect, Some(&once))).await
    }

    async fn put_feed_token_once(&self, token: &FeedToken, once: &Once) -> Result<(), StoreError> {
        let (token, once) = (token.clone(), once.clone());
        blocking(self, move |st| st.put_feed_token_once(&token, &once)).await
    }

    /// On the blocking pool: a kept result whose write may not be durable yet waits for a flush.
    async fn kept(&self, id: &[u8; 16]) -> Result<Option<Kept>, StoreError> {
        let id = *id;
        blocking(self, move |st| st.kept(&id)).await
    }

    async fn sweep_kept(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        blocking(self, move |st| st.sweep_kept(before, limit)).await
    }

    fn writes_stopped(&self) -> Option<String> {
        SledStore::writes_stopped(self)
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        blocking(self, SledStore::stats).await
    }

    async fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        blocking(self, move |st| st.changes(after, upto, limit)).await
    }

    async fn changes_from(&self) -> Result<u64, StoreError> {
        SledStore::changes_from(self)
    }

    async fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        blocking(self, move |st| st.prune_changes(keep)).await
    }
}
