//! The etcd engine behind the [`Store`] contract: which file answers each call, and with which
//! retries (reads and idempotent writes with failover, read-then-Txn writes until applied).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;

use super::EtcdStore;
use super::envelope::{RequestId, record};
use super::failover::{attempt, until_applied, with_failover};
use super::{leader, rev};
use crate::domain::Timestamp;
use crate::domain::{
    Attempt, Change, FeedToken, InviteRecord, PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session,
    SessionId, SessionQuery,
};
use crate::store::records::{decode_feed_token, decode_sent_invite, encode_feed_token, encode_person};
use crate::store::{Expect, Fence, Kept, Lead, Once, Store, StoreError, StoreStats};

#[async_trait]
impl Store for EtcdStore {
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        EtcdStore::get_session(self, id).await
    }

    async fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError> {
        let request = RequestId::new();
        self.acknowledged(until_applied(|| self.try_put_session(session, expect, request, None)).await)
    }

    async fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let request = RequestId::new();
        self.acknowledged(until_applied(|| self.try_delete_session(id, expect, request)).await)
    }

    async fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError> {
        EtcdStore::list_sessions(self, query, limit).await
    }

    async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        EtcdStore::get_person(self, id).await
    }

    async fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError> {
        let request = RequestId::new();
        let value = request.wrap(encode_person(person));
        self.acknowledged(with_failover(|| self.try_put_person(&person.id, &value, expect, request, None)).await)
    }

    async fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let request = RequestId::new();
        self.acknowledged(with_failover(|| self.try_delete_person(id, expect, request)).await)
    }

    async fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError> {
        EtcdStore::list_people(self, query, limit).await
    }

    async fn person_slots(&self, query: &PersonSlotQuery, limit: usize) -> Result<Vec<PersonSlot>, StoreError> {
        EtcdStore::person_slots(self, query, limit).await
    }

    async fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let request = RequestId::new();
        let value = request.wrap(encode_feed_token(token));
        with_failover(|| self.try_put_feed_token(&token.token, &value, request, None)).await
    }

    async fn put_session_once(&self, session: &Session, expect: Expect, once: &Once) -> Result<u64, StoreError> {
        let request = RequestId::new();
        self.acknowledged(until_applied(|| self.try_put_session(session, expect, request, Some(once))).await)
    }

    async fn put_person_once(&self, person: &Person, expect: Expect, once: &Once) -> Result<u64, StoreError> {
        let request = RequestId::new();
        let value = request.wrap(encode_person(person));
        self.acknowledged(with_failover(|| self.try_put_person(&person.id, &value, expect, request, Some(once))).await)
    }

    async fn put_feed_token_once(&self, token: &FeedToken, once: &Once) -> Result<(), StoreError> {
        let request = RequestId::new();
        let value = request.wrap(encode_feed_token(token));
        with_failover(|| self.try_put_feed_token(&token.token, &value, request, Some(once))).await
    }

    async fn kept(&self, id: &[u8; 16]) -> Result<Option<Kept>, StoreError> {
        EtcdStore::kept(self, id).await
    }

    async fn sweep_kept(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        EtcdStore::sweep_kept(self, before, limit).await
    }

    async fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.get(self.keys.token(token)).await?.map(|kv| decode_feed_token(record(kv.value()))).transpose()
    }

    async fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        // After an attempt whose answer was lost, a token found gone counts as revoked by it:
        // a revocation is the same whoever made it.
        let ambiguous = AtomicBool::new(false);
        with_failover(|| self.try_delete_feed_token(token, &ambiguous)).await
    }

    async fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let kvs = self.scan(&self.keys.tokens(), after.map(|t| self.keys.token(t)), limit).await?;
        kvs.iter().map(|kv| decode_feed_token(record(kv.value()))).collect()
    }

    async fn record_invites(&self, attempts: &[Attempt], fence: Option<&Fence>) -> Result<(), StoreError> {
        let mut by_key: BTreeMap<Vec<u8>, Vec<&Attempt>> = BTreeMap::new();
        for a in attempts {
            by_key.entry(self.keys.invite(a)).or_default().push(a);
        }
        // Every try reads the stored records again and applying is idempotent, so repeating
        // one is harmless.
        with_failover(|| self.try_record_invites(&by_key, fence)).await
    }

    async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        let kvs = self.scan(&self.keys.invites_of(session), None, usize::MAX).await?;
        kvs.iter().map(|kv| decode_sent_invite(kv.value())).collect()
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.get(self.keys.revision()).await?.map_or(0, |kv| rev(kv.mod_revision())))
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let status = with_failover(|| async { attempt(self.client.maintenance_client().status()).await }).await?;
        let revision = self.revision().await?;
        // The local copy is the engine's whole heap: indexes and record bytes together.
        let (ix, records) = self.copy.approx_bytes();
        Ok(StoreStats {
            size_bytes: rev(status.db_size()),
            revision,
            index_bytes: ix + records,
            ..StoreStats::default()
        })
    }

    async fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let last = upto.min(self.revision().await?);
        with_failover(|| self.try_changes(after, last, limit)).await
    }

    async fn changes_from(&self) -> Result<u64, StoreError> {
        self.compaction_point().await
    }

    async fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        let point = (self.revision().await? + 1).saturating_sub(keep);
        if point <= self.compaction_point().await? {
            return Ok(());
        }
        with_failover(|| self.try_compact(point)).await
    }

    async fn catch_up(&self) -> Result<Option<u64>, StoreError> {
        Ok(Some(EtcdStore::catch_up(self).await?))
    }

    /// The copy's applied revision: etcd delivers a replica's own write and every other
    /// replica's through the informer's one watch.
    fn settled_revision(&self) -> Option<u64> {
        Some(self.copy.applied())
    }

    fn tracks_settled_revision(&self) -> bool {
        true
    }

    async fn follow(&self, _after: u64) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        Ok(Some(self.copy.subscribe()))
    }

    async fn lead(&self, role: &str, replica: &str, ttl: std::time::Duration) -> Result<Option<Lead>, StoreError> {
        Ok(Some(leader::spawn(self.client.clone(), self.keys.leader(role), role, replica, ttl)))
    }

    fn stale_since(&self) -> Option<std::time::SystemTime> {
        self.reads_stale_since()
    }
}
