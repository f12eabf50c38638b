//! After a failed flush: the store stops taking writes and hides the writes whose outcome is
//! unknown, until a restart recovers from what the log on disk says.
//!
//! Why stop: after a failed fsync the kernel may have dropped the pages it was asked to write
//! and marked them clean, so a later fsync that succeeds proves nothing about them (PostgreSQL
//! stops for the same reason). Going on would acknowledge writes on top of a prefix that may
//! have a hole in it.
//!
//! Why hide, and how. A write is visible from its insert (under the sequencer) and
//! acknowledged after its flush: in between, readers may see it, which is harmless while the
//! flush then succeeds (the write was linearized between its call and its answer). When the
//! flush fails, the write is neither acknowledged nor known to be undone, so from then on no
//! reader may see it. Making writes visible only after their flush would move the record
//! insert and the index update out of the sequencer (the hot path), and undoing them in
//! place would need every write's previous record, which the log does not keep. So the store
//! hides instead: under the sequencer (no write between its log entry and its index update),
//! [`SledStore::stop`] reads the log entries after the last good flush, which name every
//! session and person whose stored state may not be durable, and refuses from then on
//! ([`StoreError::OutcomeUnknown`]) a point read of one of them, and every query (its answer
//! could include one, or miss the durable version of one) while there is any. Everything
//! else is read as before: each other record's stored state was covered by a good flush.
//! Feed-token and invite writes (one small transaction each, no log entry) hide the keys
//! they wrote themselves before they answer.
//!
//! Nothing is written back: the trees stay exactly as the log describes them, so whatever
//! sled still writes on its own (its periodic flush, its flush when dropped) is a prefix of
//! the writes that recovery makes whole at the next open. A write of unknown outcome can
//! therefore be on disk after the restart or not; the log says which, and a client learns it
//! by reading (or by retrying with its `request_id`).

use std::collections::HashSet;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use super::{SledStore, revision_key};
use crate::store::StoreError;
use crate::store::records::LogEntry;

/// Which tree a hidden key is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Tree {
    Session,
    Person,
    FeedToken,
    Invite,
}

/// What the store knows once a flush failed.
pub(super) struct Stopped {
    /// The flush's error, as the health check and every refused write report it.
    why: String,
    /// The keys whose stored state may not be durable: writes of unknown outcome touched them.
    unknown: HashSet<(Tree, Vec<u8>)>,
}

impl Stopped {
    fn has(&self, tree: Tree) -> bool {
        self.unknown.iter().any(|(t, _)| *t == tree)
    }
}

impl SledStore {
    /// Stops the store after a flush failed with `why`, hiding `touched` (the caller's keys;
    /// a session or person write's are read from the log), and returns what the writer whose
    /// flush failed is told: [`StoreError::OutcomeUnknown`]. Called by that writer before it
    /// answers, so its client hears of the failure only once its write is hidden.
    pub(super) fn stop(&self, why: String, touched: impl IntoIterator<Item = (Tree, Vec<u8>)>) -> StoreError {
        // The sequencer: no session or person write is half applied while the log is read,
        // and none begins after (each checks `stopped` under it).
        let ix = self.write_ix();
        let mut stopped = self.stopped.write().unwrap_or_else(PoisonError::into_inner);
        let state = stopped.get_or_insert_with(|| {
            let flushed = self.flushed.load(Ordering::Acquire);
            tracing::error!(
                error = %why,
                durable_revision = flushed,
                applied_revision = self.revision.load(Ordering::Acquire),
                "a flush failed: the store takes no more writes; writes after the last good flush are of unknown \
                 outcome and hidden until a restart recovers from the log"
            );
            Stopped { why: why.clone(), unknown: self.logged_after(flushed) }
        });
        state.unknown.extend(touched);
        self.halted.store(true, Ordering::Release);
        drop(ix);
        StoreError::OutcomeUnknown(why)
    }

    /// The session and person keys of the log entries after revision `flushed`.
    fn logged_after(&self, flushed: u64) -> HashSet<(Tree, Vec<u8>)> {
        let mut keys = HashSet::new();
        if self.changes_from().map_or(true, |from| from > flushed + 1) {
            // The log was pruned past the last good flush (a tiny `change_log_revisions`): it
            // no longer names every write of unknown outcome, so every session and person is.
            keys.insert((Tree::Session, Vec::new()));
            keys.insert((Tree::Person, Vec::new()));
        }
        for item in self.changes.range((flushed + 1).to_be_bytes()..) {
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    // Unreadable: hide everything the indexes can serve rather than guess.
                    tracing::error!(error = %e, "reading the log after a failed flush");
                    keys.insert((Tree::Session, Vec::new()));
                    keys.insert((Tree::Person, Vec::new()));
                    break;
                }
            };
            let (tree, id) = match LogEntry::decode(&v) {
                Ok(LogEntry::Session { record, .. }) => {
                    (Tree::Session, crate::store::records::session_doc(record).map(|(id, ..)| id.as_bytes().to_vec()))
                }
                Ok(LogEntry::PutPerson(record)) => (
                    Tree::Person,
                    crate::store::records::decode_person(record).map(|p| p.id.as_str().as_bytes().to_vec()),
                ),
                Ok(LogEntry::DeletePerson(id)) => (Tree::Person, Ok(id.as_bytes().to_vec())),
                Err(e) => (Tree::Session, Err(e)),
            };
            match id {
                Ok(id) => keys.insert((tree, id)),
                Err(e) => {
                    tracing::error!(error = %e, revision = ?revision_key(&k), "an undecodable log entry after a failed flush");
                    keys.insert((Tree::Person, Vec::new()));
                    keys.insert((tree, Vec::new()))
                }
            };
        }
        keys
    }

    /// Why the store takes no writes, once stopped.
    pub(super) fn writes_stopped(&self) -> Option<String> {
        if !self.halted.load(Ordering::Acquire) {
            return None;
        }
        self.stopped.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|s| s.why.clone())
    }

    /// Refuses a write once the store is stopped: checked under the sequencer (and before a
    /// feed-token or invite transaction), so no write begins after [`Self::stop`].
    pub(super) fn refuse_if_stopped(&self) -> Result<(), StoreError> {
        match self.writes_stopped() {
            Some(why) => Err(StoreError::WritesStopped(why)),
            None => Ok(()),
        }
    }

    /// Whether a store is stopped at all: one atomic load, the only cost on a read path.
    fn halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// Refuses a point read of `key` in `tree` while a write of unknown outcome touched it.
    pub(super) fn readable(&self, tree: Tree, key: &[u8]) -> Result<(), StoreError> {
        if !self.halted() {
            return Ok(());
        }
        let stopped = self.stopped.read().unwrap_or_else(PoisonError::into_inner);
        let Some(s) = stopped.as_ref() else { return Ok(()) };
        let hidden = s.unknown.contains(&(tree, key.to_vec())) || s.unknown.contains(&(tree, Vec::new()));
        if hidden {
            return Err(StoreError::OutcomeUnknown(format!(
                "the last write of this record may or may not have been applied ({}); a restart tells",
                s.why
            )));
        }
        Ok(())
    }

    /// Refuses a query over `trees` (or a listing) while any write of unknown outcome touched
    /// one of them: its answer could show that write, or miss the durable version of a record
    /// it changed.
    pub(super) fn queryable(&self, trees: &[Tree]) -> Result<(), StoreError> {
        if !self.halted() {
            return Ok(());
        }
        let stopped = self.stopped.read().unwrap_or_else(PoisonError::into_inner);
        match stopped.as_ref() {
            Some(s) if trees.iter().any(|t| s.has(*t)) => Err(StoreError::OutcomeUnknown(format!(
                "writes of unknown outcome are hidden until a restart ({}), and this query could show one",
                s.why
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses the invite records of a session (its keys start with `prefix`) while a write
    /// of unknown outcome touched one of them.
    pub(super) fn invites_readable(&self, prefix: &[u8]) -> Result<(), StoreError> {
        if !self.halted() {
            return Ok(());
        }
        let stopped = self.stopped.read().unwrap_or_else(PoisonError::into_inner);
        match stopped.as_ref() {
            Some(s) if s.unknown.iter().any(|(t, k)| *t == Tree::Invite && k.starts_with(prefix)) => {
                Err(StoreError::OutcomeUnknown(format!("an invite write of unknown outcome ({})", s.why)))
            }
            _ => Ok(()),
        }
    }

    /// The last revision readers may see in the change log: once stopped, the last one a good
    /// flush covered.
    pub(super) fn readable_upto(&self, upto: u64) -> u64 {
        if self.halted() { upto.min(self.flushed.load(Ordering::Acquire)) } else { upto }
    }
}
