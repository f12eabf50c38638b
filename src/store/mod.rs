//! Storage: the narrow interface the service needs, and its sled implementation.
//!
//! The interface ([`Store`]) speaks domain types only; sled's trees, keys and encodings never
//! leave [`sled_store`]. A second backend (a distributed store for multi-replica deployments)
//! implements the same trait. Its contract, which every backend keeps:
//!
//! - A write that returns `Ok` is durable: it survives a crash of the process (`kill -9`).
//! - Every write is atomic: a record and all of its index entries change together or not at
//!   all, and a failed write changes nothing.
//! - Writes are compare-and-swap on the record's revision ([`Expect`]), and every successful
//!   write gets a revision greater than every earlier one, store-wide.
//! - A session may name only people that exist, and a person named by a session cannot be
//!   deleted: both checked inside the write, so no race between two clients can break them.
//!
//! The methods block (sled is synchronous); async callers run them with `spawn_blocking`.

mod group_commit;
mod keys;
mod records;
mod sled_store;

pub use sled_store::SledStore;

use crate::domain::{
    Change, FeedToken, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor, SentInvite, Session,
    SessionCursor, SessionFilter, SessionId, Timestamp,
};

/// What a write expects to find, checked atomically with the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No record with this id: a create.
    Absent,
    /// The record exists at exactly this revision: an update read-modify-write.
    Revision(u64),
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
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// Figures for operators (metrics).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreStats {
    pub size_bytes: u64,
    pub revision: u64,
    /// Durable writes and flushes since open: their ratio shows group commit at work.
    pub writes: u64,
    pub flushes: u64,
}

/// Operations on sessions and people. See the module documentation for the guarantees.
pub trait Store: Send + Sync + 'static {
    fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// Writes `session` (creating or replacing it per `expect`), with its indexes, and
    /// returns the revision it was stored at.
    /// Every session write also appends to the change log, in the same transaction.
    fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError>;
    /// Deletes a session; with `Some(revision)`, only at that revision. Returns the revision
    /// of the deletion.
    fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError>;
    /// Up to `limit` sessions matching `filter`, in (start, id) order, after `after`.
    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError>;

    fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError>;
    fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError>;
    /// Deletes a person; refused with [`StoreError::PersonInUse`] while a session names them.
    fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError>;
    /// Up to `limit` people in (lower-case name, id) order whose name or affiliation contains
    /// `text` (lower case; empty for all).
    fn list_people(&self, text: &str, after: Option<&PersonCursor>, limit: usize) -> Result<Vec<Person>, StoreError>;
    /// Up to `limit` slots where `person` speaks or moderates, overlapping [from, to), in
    /// (start, session, slot) order, after `after`; recently removed slots too when
    /// `include_removed`.
    fn person_slots(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<&PersonSlotCursor>,
        limit: usize,
        include_removed: bool,
    ) -> Result<Vec<PersonSlot>, StoreError>;

    /// Stores a new secret feed token.
    fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError>;
    fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError>;
    /// Revokes a token: its feed answers 404 from then on.
    fn delete_feed_token(&self, token: &str) -> Result<(), StoreError>;
    /// Up to `limit` tokens in token order, after `after`.
    fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError>;

    /// Records invites as sent (one transaction). A record with a lower sequence than the one
    /// stored for the same session, slot and person does not replace it.
    fn mark_invites_sent(&self, sent: &[SentInvite]) -> Result<(), StoreError>;
    /// The last invite recorded for each slot and person of a session.
    fn sent_invites(&self, session: &SessionId) -> Result<Vec<SentInvite>, StoreError>;

    /// The revision of the last write.
    fn revision(&self) -> Result<u64, StoreError>;
    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Up to `limit` session changes with revisions in (after, upto], in commit order.
    fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError>;
    /// The oldest revision the change log can still replay from: a watcher may resume after
    /// any revision >= this one minus one.
    fn changes_from(&self) -> Result<u64, StoreError>;
    /// Drops the change log entries older than the last `keep` revisions.
    fn prune_changes(&self, keep: u64) -> Result<(), StoreError>;
}
