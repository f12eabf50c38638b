//! Storage: the one contract every engine keeps ([`Store`]), the sled engine and, with the
//! cargo feature `etcd`, the etcd engine for clusters.
//!
//! The contract speaks domain types only; an engine's trees, keys and encodings never leave
//! its module ([`sled`]; `etcd` with the feature). The trait is async
//! because a networked engine is (etcd's client awaits every call); an engine whose calls
//! block (sled) moves them to tokio's blocking pool itself, so callers just await.
//!
//! # The contract, for every engine
//!
//! - **Durable.** A write that returns `Ok` survives a crash of the process (`kill -9`) and,
//!   for a cluster, the loss of a minority of its members.
//! - **Atomic; a failed write changes nothing.** A record, its index entries and its change
//!   log entry are written together or not at all. Any `Err` leaves the store exactly as it
//!   was (no record, no revision used up that a reader could see, no log entry).
//! - **Compare-and-write per record.** [`Store::put_session`] and [`Store::put_person`] take an
//!   [`Expect`], checked atomically with the write: `Absent` fails with
//!   [`StoreError::Exists`] when the id is taken; `Revision(r)` fails with
//!   [`StoreError::NotFound`] when the record is gone and with
//!   [`StoreError::RevisionMismatch`] (carrying the current revision) when it is at another
//!   one. Of racing writers expecting the same revision, exactly one wins. Deletes take an
//!   optional expected revision with the same meaning.
//! - **One revision order.** Every successful write of a session or person (create, update,
//!   delete) gets a revision greater than every earlier one, store-wide, in commit order; a
//!   record's revision is its etag. [`Store::revision`] is the last one.
//! - **A change log.** Every session write and delete appears in the log at its revision
//!   (person writes take a revision; an engine may log them too, but [`Store::changes`] never
//!   returns them). [`Store::changes`] returns the session entries
//!   in (after, upto] in revision order, with none missing, for any `after >=
//!   changes_from() - 1`; an older resume point is refused with [`StoreError::Compacted`],
//!   never answered with a silent gap. [`Store::prune_changes`] moves `changes_from` up.
//! - **Referential rules, inside the write.** A session names only people that exist
//!   ([`StoreError::UnknownPerson`]); a person named by a session cannot be deleted
//!   ([`StoreError::PersonInUse`]). Checked in the same atomic step as the write, so no race
//!   between two clients can break them.
//! - **Queries** see only committed writes and return records as stored (with their
//!   revisions), in the order each method states, at most `limit` of them, strictly after the
//!   cursor given: a caller pages by passing the last entry's cursor.
//! - **Which calls may block briefly.** Point reads of a few keys (`get_*`, `revision`,
//!   `changes_from`) may run on the caller's runtime thread when the engine answers them from
//!   memory or the OS page cache in microseconds (sled does); everything else, and anything
//!   that waits on a disk flush or the network, must not hold a runtime thread.
//! - **Once per request id.** A write given a [`Once`] (`put_*_once`) keeps its request id
//!   with its result in the same atomic step: of any number of writes with one id, exactly
//!   one applies and the others are refused with [`StoreError::RequestKept`], touching
//!   nothing; [`Store::kept`] then gives the first result, once durable. A result kept
//!   before the write's [`Once::forget_before`] is replaced; [`Store::sweep_kept`] forgets
//!   old ones in bounded batches.
//! - **A failed flush stops writes.** A write whose flush fails is
//!   [`StoreError::OutcomeUnknown`]: it may or may not be on disk. From then on the engine
//!   refuses writes ([`StoreError::WritesStopped`], [`Store::writes_stopped`] says why) and
//!   no reader sees a write that was not acknowledged: a read that could show one is refused
//!   with [`StoreError::OutcomeUnknown`]. After a restart the store is what its log says.
//! - **Stale reads are said.** An engine that can answer reads from a copy that may lag (etcd
//!   without its quorum) says so through [`Store::stale_since`] while it does, so the server can
//!   mark its answers; writes are then refused with [`StoreError::Unavailable`], not queued.
//! - **One holder per role.** [`Store::lead`] campaigns for a role (the SMTP sender, the reply
//!   mailbox poller) among the processes sharing the store: at most one holds it at a time,
//!   and a holder stops before another can start (it steps down at its lease's TTL minus a
//!   margin, measured from its last renewal). A write given the holder's [`Fence`] is refused
//!   with [`StoreError::Deposed`] once the role has passed on, so a deposed holder's late write
//!   cannot land. An engine that only one process opens (sled) has nothing to elect: `None`.
//! - **Writes by others are followed.** When other processes write the same store (replicas
//!   on one cluster), [`Store::follow`] reports every store revision they reach, so this
//!   process's caches and watchers advance on any replica's write, not only on its own. An
//!   engine that only this process writes (sled: it locks its directory) returns `None`.
//!
//! # How the sled engine keeps it (one line each)
//!
//! - Durable: a write waits for a group-commit flush that started after it.
//! - Atomic: the log entry (with the full record) is the commit point, inserted before the
//!   record; recovery at open replays, in order, every logged write after the watermark the
//!   flusher stores before each flush (a put then a delete must stay deleted). A refused
//!   write fails before it takes a revision, so it leaves nothing.
//! - Compare-and-write, revision order, referential rules: checked and applied under one short
//!   lock (the sequencer) against in-memory revisions and reference counts.
//! - Queries: in-memory indexes (built at open from the records), records read from sled.
//! - Request ids: the `requests` tree, inserted under the sequencer before the log entry; a
//!   crash that cut the write before its log entry leaves an orphan, dropped at open.
//! - A failed flush: the flusher flushes no more; the writes after the last good flush (read
//!   from the log under the sequencer) are hidden from point reads, queries wait for a
//!   restart while any is unknown, and nothing is flushed again, not even at a clean stop.
//!
//! # How the etcd engine keeps it (one line each; `etcd/`, feature `etcd`)
//!
//! - Durable: a put is acknowledged after the Raft quorum has it in its log (fsynced). A
//!   member whose fsync fails exits (etcd's own rule), so a failed flush is a lost member,
//!   not a stopped store: `writes_stopped` stays `None`.
//! - Atomic, compare-and-write: one `Txn` per write, `If mod_revision(key) == expected` (or
//!   `create_revision == 0` for `Absent`) over the record, with its reference keys.
//! - Revision order and etag: etcd revisions; a key's `mod_revision` is the record's etag,
//!   and the store revision is the `mod_revision` of a key every session and person write puts.
//! - Change log: a watch of etcd's history from a revision; etcd's compaction is
//!   `prune_changes`, a watch below it is [`StoreError::Compacted`].
//! - Request ids: the kept result's key in the write's own `Txn`, compared absent (or at the
//!   expired result it replaces), so the check holds across replicas.
//! - Referential rules: the `Txn` also compares the named people's keys (exist) and, to delete
//!   a person, the range of its reference keys (empty).
//! - Queries and point reads of sessions and people: a local copy on every replica (the sled
//!   engine's in-memory indexes and the records' bytes), listed at one revision and kept by a
//!   watch of the store's prefix; a read first waits until the copy has applied the revision
//!   one shared linearizable read names, so it sees every acknowledged write.
//! - Failover: every endpoint is given to the client; a call that a member cannot answer (no
//!   connection, no leader, a timeout) is retried on another until a deadline, and a write keeps
//!   a random request id with what it writes, so a retry recognises its own first attempt.
//! - Quorum loss: reads fall back to one member's local copy (serializable) and
//!   [`Store::stale_since`] says so until a linearizable read succeeds again.
//! - One holder per role: a key per role held by a lease (`etcd/leader.rs`), taken by a Txn
//!   with `create_revision == 0`; the key's create revision is the fencing token that a fenced
//!   `record_invites` Txn compares.
//! - Following: the local copy's one watch of the store's prefix, reconnected from the last
//!   revision applied when it breaks; the copy's applied revision is what `follow` reports.

mod crash;
#[cfg(feature = "etcd")]
mod etcd;
mod group_commit;
mod indexed;
mod keys;
mod memindex;
pub mod migrate;
/// Also read by the CalDAV person calendars (`http/caldav`), so both list a person's slots alike.
pub(crate) mod person_slots;
mod records;
mod sled;

use async_trait::async_trait;

#[cfg(feature = "etcd")]
pub use self::etcd::{ETCD_DEFAULT_MAX_TXN_OPS, EtcdOptions, EtcdStore, txn_ops_needed};
pub use self::sled::{IndexFileError, IndexSource, SledStore};

use crate::domain::{
    Attempt, Change, FeedToken, InviteRecord, PeopleQuery, Person, PersonId, PersonSlot, PersonSlotQuery, Session,
    SessionId, SessionQuery,
};

/// What a write expects to find, checked atomically with the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No record with this id: a create.
    Absent,
    /// The record exists at exactly this revision: an update read-modify-write.
    Revision(u64),
}

impl Expect {
    /// Checks this expectation against the record's current revision (`None`: no record),
    /// failing as the contract says a refused write fails.
    fn check(self, current: Option<u64>) -> Result<(), StoreError> {
        match (current, self) {
            (Some(_), Expect::Absent) => Err(StoreError::Exists),
            (None, Expect::Revision(_)) => Err(StoreError::NotFound),
            (Some(cur), Expect::Revision(r)) if cur != r => Err(StoreError::RevisionMismatch { current: cur }),
            _ => Ok(()),
        }
    }
}

/// Checks a delete's optional expected revision against the record's `current` one: any
/// revision will do without one.
fn check_delete(expect: Option<u64>, current: u64) -> Result<(), StoreError> {
    Expect::Revision(expect.unwrap_or(current)).check(Some(current))
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("record already exists")]
    Exists,
    /// The record was changed by another write since it was read.
    #[error("record is at revision {current}, not the expected one")]
    RevisionMismatch { current: u64 },
    /// The session names a person who does not exist.
    #[error("person {0} does not exist")]
    UnknownPerson(PersonId),
    /// The person is named by `sessions` sessions.
    #[error("person is named by {sessions} session(s)")]
    PersonInUse { sessions: u64 },
    #[error("the store's format version is {found}, this build reads version {supported}: {hint}")]
    UnsupportedFormat { found: u32, supported: u32, hint: &'static str },
    /// The change log no longer holds the entries after this resume point: they were pruned.
    /// `oldest` is the earliest revision it still holds.
    #[error("the change log starts at revision {oldest}; revision {after} was pruned")]
    Compacted { after: u64, oldest: u64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The store could not be reached within its deadline (a cluster without quorum, every
    /// member down): nothing was changed, and the caller may try again later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A fenced write ([`Fence`]) by a process that no longer holds the role: another took it
    /// over (or nobody holds it now). Nothing was written.
    #[error("this replica no longer holds the {role} role (it passed on after its term began); the write was refused")]
    Deposed { role: String },
    /// The flush that would have made this write durable failed: it may or may not have been
    /// applied, and the log decides at the next open. Also what a read of a record such a
    /// write touched answers while the store is stopped (see [`Store::writes_stopped`]).
    #[error("the outcome of a write is unknown: the flush that would have made it durable failed ({0})")]
    OutcomeUnknown(String),
    /// A write given a [`Once`] whose request id is kept already (by an earlier attempt, or
    /// another request): nothing was written; [`Store::kept`] has the first result.
    #[error("the request id was used already")]
    RequestKept,
    /// The store takes no more writes since a flush failed ([`Store::writes_stopped`]):
    /// nothing was changed.
    #[error("the store takes no writes since a flush failed ({0}); nothing was changed")]
    WritesStopped(String),
}

/// Who holds a role among the processes sharing a store, as this process last saw it
/// ([`Store::lead`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// Not known yet, or between two terms (this process just lost the role, or cannot reach
    /// the store).
    Unknown,
    /// Another process holds it: its replica name.
    Other(String),
    /// This process holds it, with the term's fencing token.
    Held(Fence),
}

/// The fencing token of one term of a role: a write given it applies only while the role is
/// still held by that term (etcd: the revision that created the role's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub role: String,
    pub revision: u64,
}

/// A campaign for a role ([`Store::lead`]): who holds it, as it changes; [`Lead::resign`]
/// gives it up at once (a campaign merely dropped ends too, its lease then expiring by itself).
pub struct Lead {
    /// The holder as the campaign sees it, each change published.
    pub state: tokio::sync::watch::Receiver<Leadership>,
    /// The task that campaigns, renews and, once `state` is dropped, releases the role.
    task: tokio::task::JoinHandle<()>,
}

impl Lead {
    /// A campaign run by `task`, publishing into the sender of `state`.
    #[cfg_attr(not(feature = "etcd"), allow(dead_code))]
    fn new(state: tokio::sync::watch::Receiver<Leadership>, task: tokio::task::JoinHandle<()>) -> Self {
        Self { state, task }
    }

    /// Gives the role up (the task releases it as soon as nobody watches), waiting a moment
    /// for that, so a successor need not wait out the lease.
    pub async fn resign(self) {
        drop(self.state);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), self.task).await;
    }
}

/// A write made at most once per request id (Google AIP-155): the store keeps the id with
/// the write's result, in the same atomic step as the write, so a retry with the same id is
/// answered with the first result instead of writing again, on any replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Once {
    /// The request id: a UUID's 16 bytes.
    pub id: [u8; 16],
    /// What the request was (the API's encoding of it, its id left out): the same id with
    /// another request is refused, not answered with a result that is not its own.
    pub fingerprint: Vec<u8>,
    /// When the write was made; the result is kept for a window from then.
    pub at: crate::domain::Timestamp,
    /// What the answer needs beyond the record (AddSlot: the id of the slot it added).
    pub note: String,
    /// Results kept before this are past their window (`at` minus the window): their id may
    /// be used again, by this write.
    pub forget_before: crate::domain::Timestamp,
}

/// The first result of a request id ([`Store::kept`]), with what [`Once`] recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// [`Once::fingerprint`] of the write that kept it.
    pub fingerprint: Vec<u8>,
    /// When that write was made.
    pub at: crate::domain::Timestamp,
    /// [`Once::note`] of that write.
    pub note: String,
    pub result: KeptResult,
}

/// The record a kept write left, as it was right after that write (its revision the write's).
/// Unboxed: one is made per retry, and a session is what it holds most often.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum KeptResult {
    Session(Session),
    Person(Person),
    FeedToken(FeedToken),
}

impl Kept {
    /// Decodes a kept result stored under `id`; `revision` (etcd: the key's mod revision)
    /// replaces the stored one when given.
    fn decode(bytes: &[u8], revision: Option<u64>) -> Result<Kept, StoreError> {
        let k = records::decode_kept(bytes)?;
        let revision = revision.unwrap_or(k.revision);
        let result = match k.kind {
            records::KEPT_SESSION => {
                let mut s = records::decode_session(&k.record)?;
                s.meta.revision = revision;
                KeptResult::Session(s)
            }
            records::KEPT_PERSON => {
                let mut p = records::decode_person(&k.record)?;
                p.meta.revision = revision;
                KeptResult::Person(p)
            }
            records::KEPT_FEED_TOKEN => KeptResult::FeedToken(records::decode_feed_token(&k.record)?),
            other => return Err(StoreError::Corrupt(format!("unknown kept result kind {other}"))),
        };
        Ok(Kept { fingerprint: k.fingerprint, at: k.at, note: k.note, result })
    }
}

/// Figures for operators (metrics).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreStats {
    pub size_bytes: u64,
    pub revision: u64,
    /// Durable writes and flushes since open: their ratio shows group commit at work.
    pub writes: u64,
    pub flushes: u64,
    /// Estimated heap of an engine's in-memory indexes (0 for an engine without any); on etcd
    /// the whole local copy, indexes and record bytes.
    pub index_bytes: u64,
    /// Whether the open read the indexes from a file written at the last clean stop instead
    /// of listing every record (sled's index file; false for an engine without one).
    pub index_from_file: bool,
}

/// Operations on sessions and people. See the module documentation for the contract every
/// engine keeps; `tests/it/store_contract.rs` checks it, engine by engine.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// Writes `session` (creating or replacing it per `expect`), with its indexes and its
    /// change log entry, and returns the revision it was stored at (its new etag).
    async fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError>;
    /// Deletes a session; with `Some(revision)`, only at that revision. Returns the revision
    /// of the deletion, which the change log holds with the last state of the session.
    async fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError>;
    /// Up to `limit` sessions of `query` (a session overlapping [from, to) when its filter
    /// gives a time window), in (start, id) order.
    async fn list_sessions(&self, query: &SessionQuery, limit: usize) -> Result<Vec<Session>, StoreError>;

    async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError>;
    /// Writes `person` per `expect`; returns its new revision (its etag).
    async fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError>;
    /// Deletes a person; refused with [`StoreError::PersonInUse`] while a session names them.
    async fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError>;
    /// Up to `limit` people of `query`, in (lower-case name, id) order.
    async fn list_people(&self, query: &PeopleQuery, limit: usize) -> Result<Vec<Person>, StoreError>;
    /// Up to `limit` of the slots `query` asks for ([`PersonSlotQuery`]).
    async fn person_slots(&self, query: &PersonSlotQuery, limit: usize) -> Result<Vec<PersonSlot>, StoreError>;

    /// Stores a new secret feed token ([`StoreError::Exists`] if the token is taken).
    async fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError>;
    async fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError>;
    /// Revokes a token: its feed answers 404 from then on.
    async fn delete_feed_token(&self, token: &str) -> Result<(), StoreError>;
    /// Up to `limit` tokens in token order, after `after`.
    async fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError>;

    /// Folds senders' reports into the invite records of their (session, slot, person), all
    /// at once, each through [`InviteRecord::apply`] against the record as stored at the
    /// write (so reporting twice, or an older message, changes nothing).
    ///
    /// With a `fence` (the term of a role from [`Store::lead`]), refused with
    /// [`StoreError::Deposed`] unless that term still holds the role, checked in the same
    /// atomic step.
    async fn record_invites(&self, attempts: &[Attempt], fence: Option<&Fence>) -> Result<(), StoreError>;
    /// The invite record of each slot and person of a session, in (slot, person) order.
    async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError>;

    /// The revision of the last write (0 for an empty store).
    async fn revision(&self) -> Result<u64, StoreError>;
    /// The revision a read starting now sees exactly, when the engine can tell without a
    /// round trip: every write up to it is visible and no later write has begun to be.
    /// `None` while a write is being applied (sled), and always for an engine that cannot
    /// tell (the default). On etcd it is the revision the local copy has applied, which a
    /// read sees exactly; [`Store::catch_up`] first brings it to every acknowledged write. The
    /// read cache files a ListSessions page under it and serves it while it holds
    /// (`api/cache.rs`).
    fn settled_revision(&self) -> Option<u64> {
        None
    }
    /// Whether [`Store::settled_revision`] can ever be `Some`: an engine that tracks it (sled,
    /// etcd) says so, so that a reader can tell "a write is in flight" from "cannot tell".
    fn tracks_settled_revision(&self) -> bool {
        false
    }
    /// For an engine that answers reads from a local copy which follows writes made elsewhere
    /// (etcd): waits until the copy holds every write acknowledged, by any process, before this
    /// call, and returns the revision it has applied (while the store is stale, at once: the
    /// copy as it is). A cache in front of the store calls it before looking up an answer, so
    /// a hit is as current as a read of the store. `None` (the default) when every read is
    /// current as it is (sled).
    async fn catch_up(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    async fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Up to `limit` session changes with revisions in (after, upto], in revision order;
    /// [`StoreError::Compacted`] when entries after `after` were pruned.
    async fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError>;
    /// The oldest revision the change log can still replay from: a watcher may resume after
    /// any revision >= this one minus one.
    async fn changes_from(&self) -> Result<u64, StoreError>;
    /// Drops the change log entries older than the last `keep` revisions.
    async fn prune_changes(&self, keep: u64) -> Result<(), StoreError>;

    /// The latest store revision, as writes by anyone (this process or another sharing the
    /// store) reach it after `after`: the receiver holds `after` at first, then each newer
    /// revision the engine sees, in increasing order (a reader that looks late sees only the
    /// latest; that is all a cache or a watcher needs, the change log has the rest). It follows
    /// until every receiver or the store is dropped, surviving connection errors meanwhile.
    ///
    /// `None` (the default) when this process is the store's only writer, so its own writes
    /// are all there is to know: sled, which locks its directory.
    async fn follow(&self, after: u64) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        let _ = after;
        Ok(None)
    }

    /// Campaigns for `role` as `replica` among the processes sharing this store, holding it
    /// by a lease of `ttl` (see "One holder per role" above): the campaign runs until the
    /// [`Lead`] is resigned or dropped, taking the role again whenever it is free.
    ///
    /// `None` (the default) when this process is the store's only user (sled): every role is
    /// held, and no write needs a fence.
    async fn lead(&self, role: &str, replica: &str, ttl: std::time::Duration) -> Result<Option<Lead>, StoreError> {
        let _ = (role, replica, ttl);
        Ok(None)
    }

    /// [`Store::put_session`], made at most once per request id: refused with
    /// [`StoreError::RequestKept`] when `once.id` is kept already, checked and kept in the
    /// same atomic step as the write.
    async fn put_session_once(&self, session: &Session, expect: Expect, once: &Once) -> Result<u64, StoreError>;
    /// [`Store::put_session`] (with `once`, [`Store::put_session_once`]) of an update whose
    /// caller read `old`, the record at the revision `expect` names. An engine that needs the
    /// stored record's index fields may take them from `old` instead of reading and decoding
    /// the record again (sled: that second read was a tenth of an UpdateSlot's instructions,
    /// issue 22); the revision is still checked atomically with the write, so an `old` that
    /// is no longer stored is refused as a stale `expect` is. By default, the plain write.
    async fn put_session_over(
        &self,
        session: &Session,
        old: &Session,
        expect: Expect,
        once: Option<&Once>,
    ) -> Result<u64, StoreError> {
        let _ = old;
        match once {
            Some(once) => self.put_session_once(session, expect, once).await,
            None => self.put_session(session, expect).await,
        }
    }
    /// [`Store::put_person`], made at most once per request id (as `put_session_once`).
    async fn put_person_once(&self, person: &Person, expect: Expect, once: &Once) -> Result<u64, StoreError>;
    /// [`Store::put_feed_token`], made at most once per request id (as `put_session_once`).
    async fn put_feed_token_once(&self, token: &FeedToken, once: &Once) -> Result<(), StoreError>;
    /// The first result of request id `id`, once the write that kept it is durable; `None`
    /// when no write kept it (or it was swept).
    async fn kept(&self, id: &[u8; 16]) -> Result<Option<Kept>, StoreError>;
    /// Forgets up to `limit` kept results made before `before`, oldest first (bounded work
    /// per call); returns how many went.
    async fn sweep_kept(&self, before: crate::domain::Timestamp, limit: usize) -> Result<usize, StoreError>;

    /// Since when reads have been answered from a copy that may lag behind the store's
    /// committed writes (etcd without its quorum: a member's local copy); `None` while reads
    /// are current. The default: an engine whose reads are always current (sled).
    fn stale_since(&self) -> Option<std::time::SystemTime> {
        None
    }

    /// Why the store takes no more writes, once a flush has failed (sled): after a failed
    /// fsync the kernel may have dropped what it was asked to write, and a later flush that
    /// succeeds proves nothing about it (PostgreSQL's lesson), so the engine stops writing
    /// until a restart recovers from what the log on disk says. Reads go on, of what is known
    /// durable only. `None` while writes are taken (the default: an engine that never stops).
    fn writes_stopped(&self) -> Option<String> {
        None
    }
}
