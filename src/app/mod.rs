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

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::domain::{Change, Limits, Person, PersonId, RecordMeta, Session, SessionFilter, Timestamp};
use crate::error::{self, Error, Kind, Reason};
use crate::store::{Store, StoreError};

mod feed_tokens;
pub mod import;
mod invites;
mod people;
mod requests;
mod roles;
mod schedule;
mod sessions;
mod state;
mod stripes;

/// A term's fencing token, which the SMTP sender hands back with each mark.
pub use crate::store::Fence;
pub use import::{ImportError, ImportMode, ImportOutcome, ImportSummary};
pub use requests::RequestKey;
pub use roles::{Campaign, Holder, LeaderSettings, Role};
pub use schedule::{ConflictPolicy, ConflictQuery, FreeBusy};
use state::{Shared, follow_store};
use stripes::Stripes;

/// A store call in flight, as [`Store`]'s methods return it.
type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// How often a read-modify-write without an etag is retried when another write got in
/// between. Each retry re-reads, so this only bounds pathological contention.
pub(crate) const MAX_RETRIES: usize = 16;

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
            check_conflicts: std::sync::atomic::AtomicBool::new(true),
            stripes: Stripes::new(),
            write_retries: AtomicU64::new(0),
            follower: OnceLock::new(),
            roles: roles::Roles::default(),
            request_window: AtomicU64::new(24 * 3600),
            kept_writes: AtomicU64::new(0),
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

    /// Brings the store's local copy, when it keeps one (etcd), to every write acknowledged
    /// before this call, and the write counter and durable revision with it, so that a cache
    /// looked up next is as current as a read of the store; see [`Store::catch_up`]. Nothing
    /// to do on sled.
    pub async fn catch_up(&self) -> Result<(), Error> {
        if let Some(revision) = self.store.catch_up().await? {
            self.shared.followed(revision);
        }
        Ok(())
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

    /// Why the store takes no more writes, once a flush failed ([`Store::writes_stopped`]).
    pub fn writes_stopped(&self) -> Option<String> {
        self.store.writes_stopped()
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
        let result = op(self.store.as_ref()).await;
        if let Err(StoreError::OutcomeUnknown(_)) = &result {
            // The store stopped and hides the writes of unknown outcome: answers cached by the
            // write counter (feeds, pages) may show one, so they are dropped before the caller
            // hears of it.
            self.shared.changes.fetch_add(1, Ordering::AcqRel);
        }
        result
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
}
