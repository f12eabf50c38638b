//! The write path: the sequencer (the log entry is the commit point, see the module
//! documentation), the writes of sessions and people through it, and the small
//! transactional writes of feed tokens and invites.

use std::sync::RwLockWriteGuard;
use std::sync::atomic::Ordering;

use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::SledStore;
use super::stopped::Tree as Hidden;
use crate::domain::{Attempt, ChangeKind, FeedToken, InviteRecord, Person, PersonId, Session, SessionId};
use crate::store::crash::{self, Step};
use crate::store::memindex::{Doc, Indexes};
use crate::store::records::{KEPT_PERSON, KEPT_SESSION};
use crate::store::records::{
    LogEntry, Unrevisioned, decode_sent_invite, encode_feed_token, encode_sent_invite, session_doc,
    unrevisioned_person, unrevisioned_session,
};
use crate::store::{Expect, Once, StoreError, check_delete, keys};

/// A session ready for the sequencer: its index fields and its record without a revision.
pub(super) struct PreparedSession {
    doc: Doc,
    enc: Unrevisioned,
}

/// A write of a session or person as the sequencer applies it: the record it stores (at the
/// write's revision, known only under the sequencer) or removes, and so its log entry.
enum Write<'a> {
    /// A session created or updated (`kind`).
    PutSession(ChangeKind, &'a Unrevisioned),
    /// A session deleted, with its last stored record (the log entry keeps it for watchers).
    DeleteSession(&'a [u8]),
    PutPerson(&'a Unrevisioned),
    DeletePerson,
}

impl SledStore {
    /// The stored session and its index fields, read outside the sequencer: the write path
    /// removes the old record's index entries, which the indexes do not keep per session.
    fn current_session(&self, id: &str) -> Result<Option<(sled::IVec, u64, Doc)>, StoreError> {
        let Some(bytes) = self.sessions.get(id)? else { return Ok(None) };
        let (_, revision, doc) = session_doc(&bytes)?;
        Ok(Some((bytes, revision, doc)))
    }

    /// Encodes `s` for [`Self::put_prepared`]: the record before its revision and its index
    /// fields. Done on the caller's thread, before the hop to the blocking pool, so the hop
    /// carries these instead of a deep copy of the session (issue 22: the copy was a stage of
    /// its own in the write's profile).
    pub(super) fn prepare_session(s: &Session) -> PreparedSession {
        PreparedSession { doc: Doc::of(s), enc: unrevisioned_session(s) }
    }

    /// Writes the session `id` as [`Self::prepare_session`] encoded it, per `expect`; with
    /// `once`, at most once per request id (kept with it). `known` is the stored record's
    /// revision and index fields when the caller has them (`Store::put_session_over`): the
    /// first attempt then reads nothing; if the record changed since, the check under the
    /// sequencer sees it, as it sees a write between its own read and the lock.
    pub(super) fn put_prepared(
        &self,
        id: &str,
        p: &PreparedSession,
        expect: Expect,
        mut known: Option<(u64, Doc)>,
        once: Option<&Once>,
    ) -> Result<u64, StoreError> {
        let PreparedSession { doc, enc } = p;
        loop {
            let old = match (expect, known.take()) {
                (Expect::Absent, _) => None,
                (Expect::Revision(_), Some(known)) => Some(known),
                (Expect::Revision(_), None) => self.current_session(id)?.map(|(_, revision, doc)| (revision, doc)),
            };
            let mut ix = self.write_ix();
            self.refuse_if_stopped()?;
            once.map(|o| self.refuse_if_kept(o)).transpose()?;
            let current = ix.session_revision(id);
            expect.check(current)?;
            if current != old.as_ref().map(|o| o.0) {
                continue; // written between the read and the lock: read again
            }
            if let Some(p) = ix.missing_person(doc) {
                let p = PersonId::try_from(p.to_owned()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                return Err(StoreError::UnknownPerson(p));
            }
            let kind = if old.is_some() { ChangeKind::Updated } else { ChangeKind::Created };
            let (rev, n) = self.sequence(id, Write::PutSession(kind, enc), once.map(|o| (o, KEPT_SESSION)))?;
            ix.put_session(id, rev, old.as_ref().map(|o| &o.1), doc);
            return self.publish(ix, rev, n);
        }
    }

    pub(super) fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let id = id.as_str();
        loop {
            let old = self.current_session(id)?;
            let mut ix = self.write_ix();
            self.refuse_if_stopped()?;
            let current = ix.session_revision(id);
            if current != old.as_ref().map(|o| o.1) {
                continue;
            }
            let Some((last, cur, doc)) = old else { return Err(StoreError::NotFound) };
            check_delete(expect, cur)?;
            let (rev, n) = self.sequence(id, Write::DeleteSession(&last), None)?;
            ix.delete_session(id, &doc);
            return self.publish(ix, rev, n);
        }
    }

    /// Writes a person per `expect`; with `once`, at most once per request id.
    pub(super) fn put_person(&self, p: &Person, expect: Expect, once: Option<&Once>) -> Result<u64, StoreError> {
        let id = p.id.as_str();
        let enc = unrevisioned_person(p);
        let mut ix = self.write_ix();
        self.refuse_if_stopped()?;
        once.map(|o| self.refuse_if_kept(o)).transpose()?;
        expect.check(ix.person_revision(id))?;
        let (rev, n) = self.sequence(id, Write::PutPerson(&enc), once.map(|o| (o, KEPT_PERSON)))?;
        ix.put_person(id, rev, &p.name);
        self.publish(ix, rev, n)
    }

    pub(super) fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let id = id.as_str();
        let mut ix = self.write_ix();
        self.refuse_if_stopped()?;
        let current = ix.person_revision(id).ok_or(StoreError::NotFound)?;
        check_delete(expect, current)?;
        let refs = ix.refs(id);
        if refs > 0 {
            return Err(StoreError::PersonInUse { sessions: refs });
        }
        let (rev, n) = self.sequence(id, Write::DeletePerson, None)?;
        ix.delete_person(id);
        self.publish(ix, rev, n).map(drop)
    }

    pub(super) fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let key = token.token.as_bytes();
        let value = encode_feed_token(token);
        self.write_one(&self.feed_tokens, [(Hidden::FeedToken, key.to_vec())], |tx| {
            if tx.get(key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Exists));
            }
            tx.insert(key, value.as_slice())?;
            Ok(())
        })
    }

    pub(super) fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        let hidden = [(Hidden::FeedToken, token.as_bytes().to_vec())];
        self.write_one(&self.feed_tokens, hidden, |tx| match tx.remove(token.as_bytes())? {
            Some(_) => Ok(()),
            None => Err(ConflictableTransactionError::Abort(StoreError::NotFound)),
        })
    }

    pub(super) fn record_invites(&self, attempts: &[Attempt]) -> Result<(), StoreError> {
        let keyed: Vec<(Vec<u8>, &Attempt)> = attempts.iter().map(|a| (keys::invite(a), a)).collect();
        // Its own small transaction: one tree, no index to keep in step.
        let hidden: Vec<_> = keyed.iter().map(|(k, _)| (Hidden::Invite, k.clone())).collect();
        self.write_one(&self.invites_sent, hidden, |tx| {
            for (k, a) in &keyed {
                let stored = tx.get(k)?.map(|b| decode_sent_invite(&b)).transpose();
                let stored = stored.map_err(ConflictableTransactionError::Abort)?;
                if let Some(record) = InviteRecord::apply(stored.as_ref(), a) {
                    tx.insert(k.as_slice(), encode_sent_invite(&record))?;
                }
            }
            Ok(())
        })
    }

    /// The sequencer's part of a write; the caller holds the write lock and, once this
    /// returns, updates the indexes and then calls [`Self::publish`].
    /// Takes the next revision, inserts the log entry (with the record at that revision, or
    /// what a delete logs), then puts or removes the record under `id`. Returns the revision
    /// and the write's number for the crash hook. With `keep`, the request id and the record
    /// go into the `requests` tree first, before the commit point (see `requests`).
    fn sequence(&self, id: &str, write: Write<'_>, keep: Option<(&Once, u8)>) -> Result<(u64, u64), StoreError> {
        let rev = self.revision.load(Ordering::Relaxed) + 1;
        let n = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        // Before anything of the write can be read: a cached answer tagged with an older
        // revision stops being served from here on (a failed write leaves it raised, so the
        // store counts as unsettled until the next write publishes).
        self.begun.store(rev, Ordering::SeqCst);
        // A put's entry is the tag and then the record, built once: the record's tree stores
        // `entry[1..]` (sled copies both into its own buffers anyway).
        let (tree, entry, put) = match write {
            Write::PutSession(kind, enc) => (&self.sessions, LogEntry::put_at(Some(kind), enc, rev), true),
            Write::DeleteSession(last) => {
                (&self.sessions, LogEntry::Session { kind: ChangeKind::Deleted, record: last }.encode(), false)
            }
            Write::PutPerson(enc) => (&self.people, LogEntry::put_at(None, enc, rev), true),
            Write::DeletePerson => (&self.people, LogEntry::DeletePerson(id).encode(), false),
        };
        // A write that fails before its log entry (or its record) leaves no kept id behind.
        let unkeep = || keep.map(|(once, _)| self.unkeep(once, rev));
        if let Some((once, kind)) = keep {
            let stored: &[u8] = if put { &entry[1..] } else { &[] };
            if let Err(e) = self.keep(once, kind, stored, rev) {
                unkeep();
                return Err(e);
            }
            self.crash_point(Step::BeforeLog, n);
        }
        if let Err(e) = self.changes.insert(rev.to_be_bytes(), entry.as_slice()) {
            unkeep();
            return Err(e.into());
        }
        self.crash_point(Step::AfterLog, n);
        let applied = if put { tree.insert(id, &entry[1..]).map(drop) } else { tree.remove(id).map(drop) };
        if let Err(e) = applied {
            // Unwritten record: the entry goes too, so recovery will not finish this write.
            let _ = self.changes.remove(rev.to_be_bytes());
            unkeep();
            return Err(e.into());
        }
        self.crash_point(Step::AfterRecord, n);
        Ok((rev, n))
    }

    /// The end of write `n` at `rev`, whose indexes the caller has updated under `ix` (the
    /// sequencer): publishes `rev` as applied, leaves the sequencer, then waits outside it
    /// until the write is durable. Returns `rev`.
    fn publish(&self, ix: RwLockWriteGuard<'_, Indexes>, rev: u64, n: u64) -> Result<u64, StoreError> {
        self.revision.store(rev, Ordering::Release);
        drop(ix);
        self.crash_point(Step::BeforeFlushWait, n);
        // A failed flush stops the store; the log names this write among those it hides.
        self.commit.wait_durable().map_err(|e| self.stop(e, []))?;
        self.crash_point(Step::AfterFlush, n);
        Ok(rev)
    }

    fn crash_point(&self, step: Step, n: u64) {
        crash::at(step, n, || {
            let _ = self.db.flush();
        });
    }

    /// Runs `f` as one serializable transaction over `tree` (feed tokens, invites: small
    /// writes off the hot path), then waits until it is durable. When that flush fails, the
    /// keys in `hidden` (what `f` may write) are hidden before the error is returned.
    fn write_one<T>(
        &self,
        tree: &Tree,
        hidden: impl IntoIterator<Item = (Hidden, Vec<u8>)>,
        f: impl Fn(&sled::transaction::TransactionalTree) -> Result<T, ConflictableTransactionError<StoreError>>,
    ) -> Result<T, StoreError> {
        self.refuse_if_stopped()?;
        let out = tree.transaction(f).map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })?;
        self.commit.wait_durable().map_err(|e| self.stop(e, hidden))?;
        Ok(out)
    }
}
