//! The service's operations: read, apply a domain change, validate, write with an etag check.
//!
//! This is where the API layers (gRPC, HTTP, the command line) meet the domain and the store.
//! It knows nothing of protobuf: requests arrive as domain values, failures leave as
//! [`Error`]. The store is awaited through its contract ([`Store`]); keeping its calls off
//! the reactor is the engine's business, not this module's.
//!
//! Caches and watchers advance on any replica's write: when the store is shared with other
//! processes ([`Store::follow`] gives a stream of revisions), one task per [`Agenda`] moves
//! the durable revision up, invalidates the caches and wakes the watchers for each revision
//! another replica wrote, exactly as this process's own writes do.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::{Arc, OnceLock, Weak};

use tokio::sync::{broadcast, watch};

use crate::domain::{
    Attempt, AttemptResult, Change, FeedScope, FeedToken, InviteMessage, InviteMethod, InviteRecord, Limits, Person,
    PersonCursor, PersonId, PersonSlot, PersonSlotCursor, RecordMeta, Session, SessionCursor, SessionFilter, SessionId,
    SlotId, Timestamp, Violations, role_on,
};
use crate::error::{self, Error, Kind, Reason};
use crate::ics::itip::{self, Reply};
use crate::store::{Expect, Store, StoreError};
use crate::transfer::{ImportMode, ImportOutcome};

/// A store call in flight, as [`Store`]'s methods return it.
type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// How often a read-modify-write without an etag is retried when another write got in
/// between. Each retry re-reads, so this only bounds pathological contention.
const MAX_RETRIES: usize = 16;

/// The operations of the service, over a store.
#[derive(Clone)]
pub struct Agenda {
    store: Arc<dyn Store>,
    limits: Limits,
    shared: Arc<Shared>,
    /// Writes hold it shared; a snapshot (export) holds it exclusively, so what it reads is
    /// one consistent state of the store.
    gate: Arc<tokio::sync::RwLock<()>>,
}

/// State shared by every clone of an [`Agenda`].
struct Shared {
    /// Counts successful writes of sessions and people since start. Caches of rendered data
    /// (the feeds) are valid while it is unchanged: reading it costs one atomic load.
    changes: AtomicU64,
    /// The highest revision known durable: every change up to it may be streamed.
    durable: AtomicU64,
    /// Announces each durable session write's revision to watchers. A broadcast channel:
    /// a slow watcher lags and catches up from the change log, it never blocks writers.
    notify: broadcast::Sender<u64>,
    /// Announces each person this process wrote (created, changed, deleted): people are not in
    /// the change log, and the SMTP sender must see an address added to a blocked speaker.
    people_written: broadcast::Sender<PersonId>,
    /// How many revisions the change log keeps for watchers that reconnect.
    change_log_keep: AtomicU64,
    /// Locks for read-change-write on one record; see [`Stripes`].
    stripes: Stripes,
    /// Read-change-writes that lost the compare-and-write to another write and read again.
    /// In one process the stripes keep it at zero; it counts races with other writers of the
    /// store (another replica, a direct import) and shows on /metrics.
    write_retries: AtomicU64,
    /// The task that follows other replicas' writes (see [`follow_store`]), when the store
    /// has any: aborted when the last clone of the [`Agenda`] goes, which ends the engine's
    /// watch too (it stops once nobody receives).
    follower: OnceLock<tokio::task::AbortHandle>,
}

impl Shared {
    /// A revision the store reached, whoever wrote it: moves `durable` up and, when it moved,
    /// invalidates the caches and wakes the watchers. Idempotent: this process's own write and
    /// the store's report of it may both arrive, in either order, and count once here.
    fn followed(&self, revision: u64) {
        if self.durable.fetch_max(revision, Ordering::AcqRel) < revision {
            self.changes.fetch_add(1, Ordering::AcqRel);
            let _ = self.notify.send(revision);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.follower.get() {
            task.abort();
        }
    }
}

/// Applies each revision the store reports to the agenda's shared state, for as long as the
/// agenda exists (the task holds it weakly, so it never keeps it alive).
async fn follow_store(shared: Weak<Shared>, mut revisions: watch::Receiver<u64>) {
    while revisions.changed().await.is_ok() {
        let revision = *revisions.borrow_and_update();
        let Some(shared) = shared.upgrade() else { return };
        shared.followed(revision);
    }
}

/// How many stripe locks an [`Agenda`] keeps.
const STRIPES: usize = 64;

/// Locks for read-change-write on one record, chosen by a hash of the record's kind and id.
///
/// Why: an update reads the record, changes it and writes it back with a compare on the
/// revision it read. Without a lock, N concurrent updates of one session all read the same
/// revision, one wins and N-1 read and encode the record again, over and over (each round
/// costs a read, a validation and an encode per loser). With the stripe held from the read to
/// the write they queue instead and each does its work once. Striped, not one lock per id, so
/// memory stays fixed; two ids that share a stripe only wait for each other. The store's
/// compare-and-write still decides between processes: stripes save work, they do not make
/// the update correct.
struct Stripes(Box<[tokio::sync::Mutex<()>]>);

impl Stripes {
    fn new() -> Self {
        Self((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect())
    }

    async fn lock(&self, kind: Kind, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (kind, id).hash(&mut h);
        self.0[(h.finish() % STRIPES as u64) as usize].lock().await
    }
}

/// Capacity of the notification channel; a watcher further behind reads the change log.
const NOTIFY_CAPACITY: usize = 1024;

/// The change log is pruned once every this many revisions.
const PRUNE_EVERY: u64 = 256;

/// Now, at the precision records keep (microseconds), so what a write returns equals what a
/// later read returns.
fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond()).expect("now is in range")
}

/// A stale-etag error when `etag` is given and is not the record's (an etag from elsewhere,
/// or one that does not parse, can never match).
fn check_etag(kind: Kind, id: &str, etag: Option<&str>, meta: &RecordMeta) -> Result<(), Error> {
    match etag {
        Some(e) if e != meta.etag() => Err(Error::stale_etag(kind, id, etag, meta.etag())),
        _ => Ok(()),
    }
}

/// What a failed write of the `kind` record `id` (with the request's `etag`) means to the
/// caller: the one mapping of store refusals to errors. Failures particular to one operation
/// (an unknown person named by a session) are mapped by that operation first.
fn write_failed(kind: Kind, id: &str, etag: Option<&str>, e: StoreError) -> Error {
    match e {
        StoreError::NotFound => Error::not_found(kind, id),
        StoreError::Exists => Error::already_exists(kind, id),
        StoreError::RevisionMismatch { current } => Error::stale_etag(kind, id, etag, current),
        StoreError::PersonInUse { sessions } => Error::refused(
            Reason::PersonInUse,
            format!("person \"{id}\" is named by {sessions} session(s); remove them from those agendas first"),
            [("person_id", id.to_owned()), ("sessions", sessions.to_string())],
        ),
        e => e.into(),
    }
}

/// A read-modify-write without an etag lost the race `MAX_RETRIES` times in a row.
fn contention(kind: Kind, id: &str) -> Error {
    let ids = error::metadata_key(kind).map(|k| (k, id.to_owned()));
    Error::refused(Reason::Contention, format!("{kind} \"{id}\" changed too often to apply the update; retry"), ids)
}

/// A page read with one entry more than `page_size`: the page, and the cursor of its last
/// entry when the extra one shows that another page follows.
fn paginate<T, C>(mut page: Vec<T>, page_size: usize, cursor: impl FnOnce(&T) -> C) -> (Vec<T>, Option<C>) {
    let next = if page.len() > page_size {
        page.truncate(page_size);
        page.last().map(cursor)
    } else {
        None
    };
    (page, next)
}

/// Import files may leave out bookkeeping times (the demo file does): a new record was created
/// now, and last updated when it was created.
fn fill_times(meta: &mut RecordMeta) {
    if meta.create_time == Timestamp::UNIX_EPOCH {
        meta.create_time = now();
    }
    if meta.update_time == Timestamp::UNIX_EPOCH {
        meta.update_time = meta.create_time;
    }
}

fn unknown_person(s: &Session, p: &PersonId) -> Error {
    Error::invalid(s.field_naming(p), format!("names person \"{p}\", who does not exist"))
}

impl Agenda {
    /// The operations over `store`, as it is now: everything it holds at open is durable.
    /// From then on it follows the writes of other processes sharing the store, if any.
    pub async fn new(store: Arc<dyn Store>, limits: Limits) -> Result<Self, Error> {
        let durable = store.revision().await?;
        // From the revision just read: a write by another replica in between is reported.
        let follow = store.follow(durable).await?;
        let (notify, _) = broadcast::channel(NOTIFY_CAPACITY);
        let (people_written, _) = broadcast::channel(NOTIFY_CAPACITY);
        let shared = Shared {
            changes: AtomicU64::new(0),
            durable: AtomicU64::new(durable),
            notify,
            people_written,
            change_log_keep: AtomicU64::new(100_000),
            stripes: Stripes::new(),
            write_retries: AtomicU64::new(0),
            follower: OnceLock::new(),
        };
        let shared = Arc::new(shared);
        if let Some(revisions) = follow {
            let task = tokio::spawn(follow_store(Arc::downgrade(&shared), revisions));
            let _ = shared.follower.set(task.abort_handle());
        }
        Ok(Self { store, limits, shared, gate: Arc::new(tokio::sync::RwLock::new(())) })
    }

    /// Keeps the last `keep` revisions in the change log (default 100,000).
    pub fn with_change_log(self, keep: u64) -> Self {
        self.shared.change_log_keep.store(keep.max(1), Ordering::Relaxed);
        self
    }

    /// The number of writes since start; see the field's comment.
    pub fn changes(&self) -> u64 {
        self.shared.changes.load(Ordering::Acquire)
    }

    /// Read-change-writes retried after losing a compare-and-write; see the field's comment.
    pub fn write_retries(&self) -> u64 {
        self.shared.write_retries.load(Ordering::Relaxed)
    }

    /// Counts a read-change-write that lost its compare-and-write and goes round again.
    fn retried(&self) {
        self.shared.write_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The revision the store's reads see exactly right now, if it can tell; see
    /// [`Store::settled_revision`].
    pub fn settled_revision(&self) -> Option<u64> {
        self.store.settled_revision()
    }

    /// Whether the store tracks a settled revision at all ([`Store::tracks_settled_revision`]).
    pub fn tracks_settled_revision(&self) -> bool {
        self.store.tracks_settled_revision()
    }

    /// The highest durable revision.
    pub fn durable_revision(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// Notifications of durable session writes (their revisions).
    pub fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.shared.notify.subscribe()
    }

    /// The ids of the people this process writes from now on (not other replicas' writes); a
    /// receiver that lags has missed some.
    pub fn subscribe_people(&self) -> broadcast::Receiver<PersonId> {
        self.shared.people_written.subscribe()
    }

    /// Session changes with revisions in (after, upto], at most `limit`.
    pub async fn changes_between(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, Error> {
        match self.store.changes(after, upto, limit).await {
            Err(StoreError::Compacted { after, oldest }) => Err(Error::refused(
                Reason::RevisionCompacted,
                format!("the change log no longer holds revision {after}; it starts at {oldest}"),
                [("after_revision", after.to_string()), ("oldest_revision", oldest.saturating_sub(1).to_string())],
            )),
            r => Ok(r?),
        }
    }

    /// Since when the store's reads may lag behind its committed writes (an etcd cluster
    /// without quorum), `None` while they are current: answers say so (see `server.rs`).
    pub fn stale_since(&self) -> Option<std::time::SystemTime> {
        self.store.stale_since()
    }

    /// Reads the store's revision, which is how an engine notices that it went stale or
    /// became current again without waiting for a client's read (the health check's probe).
    pub async fn probe_store(&self) -> Result<u64, Error> {
        Ok(self.store.revision().await?)
    }

    /// Store figures for the metrics endpoint.
    pub async fn store_stats(&self) -> Result<crate::store::StoreStats, Error> {
        Ok(self.store.stats().await?)
    }

    /// The oldest revision the change log can replay from.
    pub async fn changes_from(&self) -> Result<u64, Error> {
        Ok(self.store.changes_from().await?)
    }

    /// Passes a write of `person` through, counting and announcing it when it succeeded.
    fn counted<T>(&self, person: &PersonId, r: Result<T, Error>) -> Result<T, Error> {
        if r.is_ok() {
            self.shared.changes.fetch_add(1, Ordering::AcqRel);
            let _ = self.shared.people_written.send(person.clone());
        }
        r
    }

    /// Counts a durable session write at `revision` and tells the watchers.
    fn committed(&self, revision: u64) {
        self.shared.changes.fetch_add(1, Ordering::AcqRel);
        self.shared.durable.fetch_max(revision, Ordering::AcqRel);
        let _ = self.shared.notify.send(revision);
        if revision.is_multiple_of(PRUNE_EVERY) {
            let store = Arc::clone(&self.store);
            let keep = self.shared.change_log_keep.load(Ordering::Relaxed);
            tokio::spawn(async move {
                if let Err(e) = store.prune_changes(keep).await {
                    tracing::warn!(error = %e, "pruning the change log failed; it is retried later");
                }
            });
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs a store write, admitted by the snapshot gate. `op` makes the write's future only
    /// once the gate is passed, whatever the engine does before its first poll.
    async fn write<'a, T>(&'a self, op: impl FnOnce(&'a dyn Store) -> StoreFuture<'a, T>) -> Result<T, StoreError> {
        let _shared = self.gate.read().await;
        op(self.store.as_ref()).await
    }

    /// Every person and session as of one revision: writes wait meanwhile.
    pub async fn snapshot(&self) -> Result<(Vec<Person>, Vec<Session>, u64), Error> {
        let _exclusive = self.gate.write().await;
        let revision = self.store.revision().await?;
        let mut people = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.list_people(String::new(), after, 1000).await?;
            people.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let sessions = self.all_sessions(SessionFilter::default()).await?;
        Ok((people, sessions, revision))
    }

    // ----- sessions -----

    /// Creates a session. Its id must be new; the people it names must exist.
    pub async fn create_session(&self, mut s: Session) -> Result<Session, Error> {
        s.validate(&self.limits)?;
        s.sort_slots();
        let t = now();
        s.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        s.sequence = 0;
        s.removed_slots.clear();
        for slot in &mut s.slots {
            slot.sequence = 0;
            slot.answers.clear();
        }
        let rev = self.write(|st| st.put_session(&s, Expect::Absent)).await.map_err(|e| match e {
            StoreError::UnknownPerson(p) => unknown_person(&s, &p),
            e => write_failed(Kind::Session, s.id.as_str(), None, e),
        })?;
        s.meta.revision = rev;
        self.committed(rev);
        Ok(s)
    }

    /// Writes a session as loaded from an import file. A new id is created as given (times,
    /// sequence numbers; times missing from the file are now). A stored one is left exactly
    /// as it is with [`ImportMode::SkipExisting`]; with [`ImportMode::Replace`] it is replaced
    /// as an edit would be ([`Session::replace_over`]: sequences only go up, slots the file
    /// lacks become removed slots), or left alone when the file holds the same session.
    pub async fn import_session(&self, mut s: Session, mode: ImportMode) -> Result<ImportOutcome, Error> {
        s.validate(&self.limits)?;
        s.sort_slots();
        let current = self.store.get_session(&s.id).await?;
        let (expect, outcome) = match (&current, mode) {
            (None, _) => {
                fill_times(&mut s.meta);
                (Expect::Absent, ImportOutcome::Created)
            }
            (Some(_), ImportMode::SkipExisting) => return Ok(ImportOutcome::Skipped),
            (Some(old), ImportMode::Replace) => {
                if !s.replace_over(old, now()) {
                    return Ok(ImportOutcome::Unchanged);
                }
                (Expect::Revision(old.meta.revision), ImportOutcome::Replaced)
            }
        };
        let rev = self.write(|st| st.put_session(&s, expect)).await.map_err(|e| match e {
            StoreError::UnknownPerson(p) => unknown_person(&s, &p),
            e => e.into(),
        })?;
        self.committed(rev);
        Ok(outcome)
    }

    pub async fn get_session(&self, id: &SessionId) -> Result<Session, Error> {
        self.store.get_session(id).await?.ok_or_else(|| Error::not_found(Kind::Session, id))
    }

    /// The people a session names, in the order they first appear in it.
    pub async fn people_of(&self, s: &Session) -> Result<Vec<Person>, Error> {
        let mut people = Vec::new();
        for id in s.referenced_people() {
            people.extend(self.store.get_person(&id).await?);
        }
        Ok(people)
    }

    /// Changes a session by `change`, checking `etag` when given. Without an etag a write
    /// that raced with another is retried on the fresh record; with one, it is refused.
    pub async fn update_session(
        &self,
        id: &SessionId,
        etag: Option<&str>,
        change: impl Fn(&mut Session) -> Result<(), crate::domain::Error>,
    ) -> Result<Session, Error> {
        let _stripe = self.shared.stripes.lock(Kind::Session, id.as_str()).await;
        for _ in 0..MAX_RETRIES {
            let old = self.get_session(id).await?;
            check_etag(Kind::Session, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new)?;
            new.validate(&self.limits)?;
            new.sort_slots();
            let t = now();
            new.carry_over(&old, t);
            if new == old {
                return Ok(old);
            }
            new.meta.update_time = t;
            let expect = Expect::Revision(old.meta.revision);
            match self.write(|st| st.put_session(&new, expect)).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    self.committed(rev);
                    return Ok(new);
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => self.retried(),
                Err(StoreError::UnknownPerson(p)) => return Err(unknown_person(&new, &p)),
                Err(e) => return Err(write_failed(Kind::Session, id.as_str(), etag, e)),
            }
        }
        Err(contention(Kind::Session, id.as_str()))
    }

    pub async fn delete_session(&self, id: &SessionId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let rev = self
            .write(|st| st.delete_session(id, expect))
            .await
            .map_err(|e| write_failed(Kind::Session, id.as_str(), etag, e))?;
        self.committed(rev);
        Ok(())
    }

    /// One page of sessions, and where the next page starts (if there may be one).
    pub async fn list_sessions(
        &self,
        filter: SessionFilter,
        after: Option<SessionCursor>,
        page_size: usize,
    ) -> Result<(Vec<Session>, Option<SessionCursor>), Error> {
        let page = self.store.list_sessions(&filter, after.as_ref(), page_size + 1).await?;
        Ok(paginate(page, page_size, |s| SessionCursor { start: s.start, id: s.id.clone() }))
    }

    /// Every session matching `filter`, page by page.
    pub async fn all_sessions(&self, filter: SessionFilter) -> Result<Vec<Session>, Error> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.list_sessions(filter.clone(), after, 1000).await?;
            out.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    // ----- people -----

    pub async fn create_person(&self, mut p: Person) -> Result<Person, Error> {
        p.validate()?;
        let t = now();
        p.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        let rev = self
            .write(|st| st.put_person(&p, Expect::Absent))
            .await
            .map_err(|e| write_failed(Kind::Person, p.id.as_str(), None, e))?;
        p.meta.revision = rev;
        self.counted(&p.id.clone(), Ok(p))
    }

    /// Writes a person as loaded from an import file, by the same rules as
    /// [`Agenda::import_session`]: a replaced person keeps its creation time and is updated now.
    pub async fn import_person(&self, mut p: Person, mode: ImportMode) -> Result<ImportOutcome, Error> {
        p.validate()?;
        let current = self.store.get_person(&p.id).await?;
        let (expect, outcome) = match (&current, mode) {
            (None, _) => {
                fill_times(&mut p.meta);
                (Expect::Absent, ImportOutcome::Created)
            }
            (Some(_), ImportMode::SkipExisting) => return Ok(ImportOutcome::Skipped),
            (Some(old), ImportMode::Replace) => {
                p.meta = old.meta;
                if p == *old {
                    return Ok(ImportOutcome::Unchanged);
                }
                p.meta.update_time = now();
                (Expect::Revision(old.meta.revision), ImportOutcome::Replaced)
            }
        };
        let r = self.write(|st| st.put_person(&p, expect)).await.map_err(Error::from);
        self.counted(&p.id, r).map(|_| outcome)
    }

    pub async fn get_person(&self, id: &PersonId) -> Result<Person, Error> {
        self.store.get_person(id).await?.ok_or_else(|| Error::not_found(Kind::Person, id))
    }

    pub async fn update_person(
        &self,
        id: &PersonId,
        etag: Option<&str>,
        change: impl Fn(&mut Person),
    ) -> Result<Person, Error> {
        let _stripe = self.shared.stripes.lock(Kind::Person, id.as_str()).await;
        for _ in 0..MAX_RETRIES {
            let old = self.get_person(id).await?;
            check_etag(Kind::Person, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new);
            new.validate()?;
            if new == old {
                return Ok(old);
            }
            new.meta.update_time = now();
            let expect = Expect::Revision(old.meta.revision);
            match self.write(|st| st.put_person(&new, expect)).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    return self.counted(id, Ok(new));
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => self.retried(),
                Err(e) => return Err(write_failed(Kind::Person, id.as_str(), etag, e)),
            }
        }
        Err(contention(Kind::Person, id.as_str()))
    }

    pub async fn delete_person(&self, id: &PersonId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let r = self
            .write(|st| st.delete_person(id, expect))
            .await
            .map_err(|e| write_failed(Kind::Person, id.as_str(), etag, e));
        self.counted(id, r)
    }

    pub async fn list_people(
        &self,
        text: String,
        after: Option<PersonCursor>,
        page_size: usize,
    ) -> Result<(Vec<Person>, Option<PersonCursor>), Error> {
        let page = self.store.list_people(&text, after.as_ref(), page_size + 1).await?;
        Ok(paginate(page, page_size, |p| PersonCursor { name: p.name.to_lowercase(), id: p.id.clone() }))
    }

    pub async fn person_slots(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<PersonSlotCursor>,
        page_size: usize,
        include_removed: bool,
    ) -> Result<(Vec<PersonSlot>, Option<PersonSlotCursor>), Error> {
        self.get_person(person).await?;
        let page = self.store.person_slots(person, from, to, after.as_ref(), page_size + 1, include_removed).await?;
        Ok(paginate(page, page_size, |p| PersonSlotCursor {
            start: p.slot.start,
            session: p.session_id.clone(),
            slot: p.slot.id.clone(),
        }))
    }

    // ----- secret feed tokens -----

    /// Makes a secret feed address for `scope`, whose session or person must exist.
    pub async fn create_feed_token(&self, scope: FeedScope, description: String) -> Result<FeedToken, Error> {
        let mut v = crate::domain::Violations::new("");
        crate::domain::check_text(&mut v, "description", &description, 200, false, false);
        v.into_result()?;
        match &scope {
            FeedScope::Session(id) => drop(self.get_session(id).await?),
            FeedScope::Person(id) => drop(self.get_person(id).await?),
            FeedScope::AllSessions => {}
        }
        let token = FeedToken { token: FeedToken::generate_secret(), scope, description, create_time: now() };
        self.write(|st| st.put_feed_token(&token)).await?;
        Ok(token)
    }

    /// The token, when it exists (malformed ones are not looked up).
    pub async fn feed_token(&self, token: &str) -> Result<Option<FeedToken>, Error> {
        if !FeedToken::is_well_formed(token) {
            return Ok(None);
        }
        Ok(self.store.get_feed_token(token).await?)
    }

    pub async fn revoke_feed_token(&self, token: &str) -> Result<(), Error> {
        // The token is the secret: errors name it only as a secret.
        let secret = "(secret)";
        if !FeedToken::is_well_formed(token) {
            return Err(Error::not_found(Kind::FeedToken, secret));
        }
        self.write(|st| st.delete_feed_token(token)).await.map_err(|e| write_failed(Kind::FeedToken, secret, None, e))
    }

    pub async fn list_feed_tokens(
        &self,
        after: Option<String>,
        page_size: usize,
    ) -> Result<(Vec<FeedToken>, Option<String>), Error> {
        let page = self.store.list_feed_tokens(after.as_deref(), page_size + 1).await?;
        Ok(paginate(page, page_size, |t| t.token.clone()))
    }

    // ----- invites -----

    /// What was sent and what failed, for each slot and person of a session.
    pub async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, Error> {
        Ok(self.store.invite_records(session).await?)
    }

    /// Records messages as sent (idempotent: marking twice, or a message older than one
    /// recorded, changes nothing); every session named must exist. A REQUEST keeps the role
    /// the person has on the slot, for the CANCEL that may follow.
    pub async fn mark_invites_sent(&self, messages: Vec<InviteMessage>) -> Result<(), Error> {
        self.record_invites(messages.into_iter().map(|m| (m, None)).collect()).await
    }

    /// Records messages the sender could not deliver, each with its reason (kept until that
    /// message or a newer one is sent).
    pub async fn mark_invites_failed(&self, failures: Vec<(InviteMessage, String)>) -> Result<(), Error> {
        self.record_invites(failures.into_iter().map(|(m, reason)| (m, Some(reason))).collect()).await
    }

    /// Records what happened to messages: sent (`None`) or failed with a reason; all or none.
    async fn record_invites(&self, reports: Vec<(InviteMessage, Option<String>)>) -> Result<(), Error> {
        let mut sessions: HashMap<SessionId, Session> = HashMap::new();
        let mut attempts = Vec::with_capacity(reports.len());
        let time = now();
        for (message, failure) in reports {
            if !sessions.contains_key(&message.session) {
                let s = self.get_session(&message.session).await?;
                sessions.insert(s.id.clone(), s);
            }
            let s = &sessions[&message.session];
            let result = match failure {
                Some(reason) => AttemptResult::Failed { reason },
                None => {
                    let slot = s.slots.iter().find(|sl| sl.id == message.slot);
                    let role =
                        slot.filter(|_| message.method == InviteMethod::Request).map(|sl| role_on(sl, &message.person));
                    AttemptResult::Sent { role }
                }
            };
            attempts.push(Attempt { message, session_created: s.meta.create_time, time, result });
        }
        self.write(|st| st.record_invites(&attempts)).await?;
        Ok(())
    }

    /// Applies a speaker's answer to the invite for `slot`: the person on the slot whose
    /// address is the reply's attendee gets its status as their answer on that slot. Refused
    /// (the store untouched) when the reply breaks a rule that needs the session
    /// (`itip::check_reply`: a SEQUENCE never sent, another organizer), when the address is
    /// not an attendee's, or when the answer is to an older version of the slot.
    pub async fn apply_reply(
        &self,
        session: &SessionId,
        slot: &SlotId,
        reply: &Reply,
    ) -> Result<(Session, PersonId), Error> {
        let (email, sequence, status) = (reply.attendee.as_str(), reply.sequence, reply.status);
        let current = self.get_session(session).await?;
        itip::check_reply(reply, &current, current.slot(slot)?).map_err(|e| {
            let mut v = Violations::new("");
            v.add("ics", e.to_string());
            Error::from(crate::domain::Error::Invalid(v))
        })?;
        let people = self.people_of(&current).await?;
        let on_slot = current.slot(slot)?;
        let person = people
            .iter()
            .filter(|p| on_slot.speakers.contains(&p.id) || on_slot.moderators.contains(&p.id))
            .find(|p| p.email.as_ref().is_some_and(|e| e.as_str().eq_ignore_ascii_case(email)))
            .map(|p| p.id.clone())
            .ok_or_else(|| {
                Error::refused(
                    Reason::NotAnAttendee,
                    format!("{email} is not the address of a speaker or moderator of slot \"{slot}\""),
                    [("session_id", session.to_string()), ("slot_id", slot.to_string())],
                )
            })?;
        let updated = self.update_session(session, None, |s| s.record_reply(slot, &person, sequence, status)).await?;
        Ok((updated, person))
    }
}
