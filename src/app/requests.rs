//! Request ids (Google AIP-155): a create or add made with a `request_id` is made once; a
//! retry with the same id is answered with the first result instead of doing it again.
//!
//! Why: a client that times out cannot tell whether its write was applied, and a create
//! without a client-chosen id (or an AddSlot, an AddParticipant, a CreateFeedToken) applied
//! twice leaves two records. The store keeps the id with the write's result in the same atomic
//! step as the write (`Store::put_session_once` and its kin), on etcd in the same Txn, so the
//! check holds across replicas and crashes: exactly one attempt writes, and every other is
//! answered with what it wrote. The result is kept for a window (`request_id_hours`, 24 by
//! default); a retry after it is a new request. The same id with another request is refused
//! (INVALID_ARGUMENT on `request_id`): its first result is not this request's answer.

use std::sync::atomic::Ordering;

use super::schedule::ConflictPolicy;
use super::{Agenda, now};
use crate::domain::{Conflict, FeedToken, Person, Session, Timestamp};
use crate::error::Error;
use crate::store::{Kept, KeptResult, Once, StoreError};

/// How many kept writes go between two sweeps, and the most one sweep forgets: the sweep
/// forgets up to 16 results per kept write, so it keeps up with any rate of new ones.
const SWEEP_EVERY: u64 = 64;
const SWEEP_LIMIT: usize = 1024;

/// A write's request id, parsed at the edge: the UUID's bytes, and what identifies the
/// request it came with (the API's encoding of the request without its id, after the
/// method's name), which a retry must repeat exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub id: [u8; 16],
    pub fingerprint: Vec<u8>,
}

/// The same request id with another request.
fn reused() -> Error {
    Error::invalid("request_id", "was used with a different request; a retry must repeat its request exactly")
}

impl Kept {
    fn session(self) -> Result<Session, Error> {
        match self.result {
            KeptResult::Session(s) => Ok(s),
            _ => Err(reused()),
        }
    }
}

impl Agenda {
    /// Keeps the first result of each request id for `window` (default 24 hours).
    pub fn with_request_window(self, window: std::time::Duration) -> Self {
        self.shared.request_window.store(window.as_secs().max(1), Ordering::Relaxed);
        self
    }

    /// Results kept before this are past the window.
    fn window_start(&self, t: Timestamp) -> Timestamp {
        let secs = self.shared.request_window.load(Ordering::Relaxed);
        t.checked_sub(jiff::SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX)))
            .unwrap_or(Timestamp::MIN)
    }

    /// What the store keeps for a write under `key`, with `note` (see [`Once::note`]); every
    /// [`SWEEP_EVERY`]th one also starts a sweep of expired results in the background.
    fn once(&self, key: &RequestKey, note: String) -> Once {
        let at = now();
        if self.shared.kept_writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let (store, before) = (std::sync::Arc::clone(&self.store), self.window_start(at));
            tokio::spawn(async move {
                if let Err(e) = store.sweep_kept(before, SWEEP_LIMIT).await {
                    tracing::warn!(error = %e, "sweeping expired request ids failed; it is tried again later");
                }
            });
        }
        Once { id: key.id, fingerprint: key.fingerprint.clone(), at, note, forget_before: self.window_start(at) }
    }

    /// The first result of `key`, when a write kept one within the window; refused when the id
    /// came with another request.
    async fn first_result(&self, key: &RequestKey) -> Result<Option<Kept>, Error> {
        let Some(kept) = self.store.kept(&key.id).await? else { return Ok(None) };
        if kept.at < self.window_start(now()) {
            return Ok(None);
        }
        if kept.fingerprint != key.fingerprint {
            return Err(reused());
        }
        Ok(Some(kept))
    }

    /// The first result after the store refused a write because its id was kept meanwhile
    /// (another attempt with the same id won the race).
    async fn kept_meanwhile(&self, key: &RequestKey) -> Result<Kept, Error> {
        self.first_result(key).await?.ok_or(Error::Store(StoreError::RequestKept))
    }

    /// [`Agenda::create_session`] under a request id: the first result when `key` was used,
    /// and the double bookings the write created (`policy`). A retry answered with the first
    /// result carries none: they were the first answer's, and the write is not made again.
    pub async fn create_session_once(
        &self,
        s: Session,
        key: Option<&RequestKey>,
        policy: ConflictPolicy,
    ) -> Result<(Session, Vec<Conflict>), Error> {
        let Some(key) = key else { return self.create_session_with(s, None, policy).await };
        if let Some(first) = self.first_result(key).await? {
            return Ok((first.session()?, Vec::new()));
        }
        match self.create_session_with(s, Some(self.once(key, String::new())), policy).await {
            Err(Error::Store(StoreError::RequestKept)) => Ok((self.kept_meanwhile(key).await?.session()?, Vec::new())),
            r => r,
        }
    }

    /// [`Agenda::update_session`] under a request id, with `note` kept beside the result
    /// (AddSlot: the slot's id); returns the session, the note of the write that applied, and
    /// the double bookings it created (`policy`; none for a retry answered with the first
    /// result, as [`Agenda::create_session_once`]).
    pub async fn update_session_once(
        &self,
        id: &crate::domain::SessionId,
        etag: Option<&str>,
        key: Option<(&RequestKey, String)>,
        policy: ConflictPolicy,
        change: impl Fn(&mut Session) -> Result<(), crate::domain::Error>,
    ) -> Result<(Session, String, Vec<Conflict>), Error> {
        let Some((key, note)) = key else {
            let (s, conflicts) = self.update_session_with(id, etag, None, policy, change).await?;
            return Ok((s, String::new(), conflicts));
        };
        if let Some(first) = self.first_result(key).await? {
            let note = first.note.clone();
            return Ok((first.session()?, note, Vec::new()));
        }
        match self.update_session_with(id, etag, Some(self.once(key, note.clone())), policy, change).await {
            Err(Error::Store(StoreError::RequestKept)) => {
                let first = self.kept_meanwhile(key).await?;
                let note = first.note.clone();
                Ok((first.session()?, note, Vec::new()))
            }
            r => r.map(|(s, conflicts)| (s, note, conflicts)),
        }
    }

    /// [`Agenda::create_person`] under a request id.
    pub async fn create_person_once(&self, p: Person, key: Option<&RequestKey>) -> Result<Person, Error> {
        let person = |k: Kept| match k.result {
            KeptResult::Person(p) => Ok(p),
            _ => Err(reused()),
        };
        let Some(key) = key else { return self.create_person(p).await };
        if let Some(first) = self.first_result(key).await? {
            return person(first);
        }
        match self.create_person_with(p, Some(self.once(key, String::new()))).await {
            Err(Error::Store(StoreError::RequestKept)) => person(self.kept_meanwhile(key).await?),
            r => r,
        }
    }

    /// [`Agenda::create_feed_token`] under a request id.
    pub async fn create_feed_token_once(
        &self,
        scope: crate::domain::FeedScope,
        description: String,
        key: Option<&RequestKey>,
    ) -> Result<FeedToken, Error> {
        let token = |k: Kept| match k.result {
            KeptResult::FeedToken(t) => Ok(t),
            _ => Err(reused()),
        };
        let Some(key) = key else { return self.create_feed_token(scope, description).await };
        if let Some(first) = self.first_result(key).await? {
            return token(first);
        }
        match self.create_feed_token_with(scope, description, Some(self.once(key, String::new()))).await {
            Err(Error::Store(StoreError::RequestKept)) => token(self.kept_meanwhile(key).await?),
            r => r,
        }
    }
}
