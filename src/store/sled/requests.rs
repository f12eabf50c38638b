//! Request ids (AIP-155) on sled: the `requests` tree, which keeps each request id with the
//! first result of the write it made, kept by the sequencer in the same step as the write.
//!
//! Keys of the `requests` tree:
//!
//! | key                          | value                                  |
//! |------------------------------|----------------------------------------|
//! | `i` + id (16 bytes)          | `records::kept`: fingerprint, time, note, the record written |
//! | `r` + revision (u64, big-endian) | the id: which kept result a session or person write made |
//! | `t` + time (µs, big-endian) + id | empty: the sweep's order, oldest first |
//!
//! **Crash safety.** A session or person write inserts its three keys under the sequencer
//! *before* its log entry (the commit point), so whatever a crash leaves is a prefix: a kept
//! result whose log entry survived is complete, and one whose log entry did not is an orphan
//! (its `r` key names a revision after the last logged one), removed at open by
//! [`drop_orphans`]. A retry after a crash therefore finds the first result exactly when the
//! write itself survived. A feed token is written with its keys in one sled transaction.
//!
//! **Not before it is durable.** A retry that finds a kept result whose write may still wait
//! for its flush waits for a flush itself ([`SledStore::kept`]), so it never answers with a
//! write that is not yet acknowledged (and answers `OutcomeUnknown` when that flush fails).

use std::sync::atomic::Ordering;

use sled::Transactional;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::SledStore;
use super::stopped::Tree as Hidden;
use crate::domain::{FeedToken, Timestamp};
use crate::store::records::{KEPT_FEED_TOKEN, decode_kept, encode_feed_token, encode_kept};
use crate::store::{Kept, Once, StoreError};

fn id_key(id: &[u8; 16]) -> Vec<u8> {
    [b"i".as_slice(), id].concat()
}

fn revision_key(revision: u64) -> Vec<u8> {
    [b"r".as_slice(), &revision.to_be_bytes()].concat()
}

fn time_key(at: Timestamp, id: &[u8; 16]) -> Vec<u8> {
    let micros = u64::try_from(at.as_microsecond()).unwrap_or(0);
    [b"t".as_slice(), &micros.to_be_bytes(), id].concat()
}

/// Whether a kept result stored as `bytes` is past the window `once` gives (made before its
/// `forget_before`): its id may be used again.
fn expired(bytes: &[u8], once: &Once) -> Result<bool, StoreError> {
    Ok(decode_kept(bytes)?.at < once.forget_before)
}

impl SledStore {
    /// Refuses, under the sequencer, a write whose request id is kept (and not expired).
    pub(super) fn refuse_if_kept(&self, once: &Once) -> Result<(), StoreError> {
        match self.requests.get(id_key(&once.id))? {
            Some(bytes) if !expired(&bytes, once)? => Err(StoreError::RequestKept),
            _ => Ok(()),
        }
    }

    /// Keeps `once` with the `kind` record `record` written at `revision`: called by the
    /// sequencer before the write's log entry. An expired result under the same id goes.
    pub(super) fn keep(&self, once: &Once, kind: u8, record: &[u8], revision: u64) -> Result<(), StoreError> {
        if let Some(old) = self.requests.get(id_key(&once.id))? {
            let old = decode_kept(&old)?;
            self.requests.remove(time_key(old.at, &once.id))?;
            self.requests.remove(revision_key(old.revision))?;
        }
        self.requests.insert(id_key(&once.id), encode_kept(once, kind, record, revision))?;
        self.requests.insert(revision_key(revision), once.id.as_slice())?;
        self.requests.insert(time_key(once.at, &once.id), &[])?;
        Ok(())
    }

    /// Takes back what [`Self::keep`] inserted for a write at `revision` that failed before
    /// its commit point (best effort: what remains is an orphan, dropped at the next open).
    pub(super) fn unkeep(&self, once: &Once, revision: u64) {
        let _ = self.requests.remove(id_key(&once.id));
        let _ = self.requests.remove(revision_key(revision));
        let _ = self.requests.remove(time_key(once.at, &once.id));
    }

    /// The first result of request `id`, once durable (see the module documentation).
    pub(super) fn kept(&self, id: &[u8; 16]) -> Result<Option<Kept>, StoreError> {
        let Some(bytes) = self.requests.get(id_key(id))? else { return Ok(None) };
        let kept = Kept::decode(&bytes, None)?;
        let revision = match &kept.result {
            crate::store::KeptResult::Session(s) => s.meta.revision,
            crate::store::KeptResult::Person(p) => p.meta.revision,
            crate::store::KeptResult::FeedToken(_) => u64::MAX,
        };
        if revision > self.flushed.load(Ordering::Acquire) {
            // Its write may still wait for its flush: a flush that starts now covers it.
            self.commit.wait_durable().map_err(|e| self.stop(e, []))?;
        }
        Ok(Some(kept))
    }

    /// A new feed token kept under `once`, in one transaction with its request keys.
    pub(super) fn put_feed_token_once(&self, token: &FeedToken, once: &Once) -> Result<(), StoreError> {
        self.refuse_if_stopped()?;
        let key = token.token.as_bytes();
        let value = encode_feed_token(token);
        let kept = encode_kept(once, KEPT_FEED_TOKEN, &value, 0);
        let (ik, tk) = (id_key(&once.id), time_key(once.at, &once.id));
        let result = (&self.feed_tokens, &self.requests).transaction(|(tokens, requests)| {
            if let Some(old) = requests.get(ik.as_slice())? {
                let old = decode_kept(&old).map_err(ConflictableTransactionError::Abort)?;
                if old.at >= once.forget_before {
                    return Err(ConflictableTransactionError::Abort(StoreError::RequestKept));
                }
                requests.remove(time_key(old.at, &once.id))?;
            }
            if tokens.get(key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Exists));
            }
            tokens.insert(key, value.as_slice())?;
            requests.insert(ik.as_slice(), kept.as_slice())?;
            requests.insert(tk.as_slice(), &[])?;
            Ok(())
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })?;
        let hidden = [(Hidden::FeedToken, key.to_vec())];
        self.commit.wait_durable().map_err(|e| self.stop(e, hidden))
    }

    /// Forgets up to `limit` kept results made before `before`, oldest first.
    pub(super) fn sweep_kept(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.refuse_if_stopped()?;
        let end = time_key(before, &[0; 16]);
        let mut swept = 0;
        for item in self.requests.range(b"t".to_vec()..end).keys().take(limit) {
            let tk = item?;
            let id: [u8; 16] = tk[9..].try_into().map_err(|_| StoreError::Corrupt("request time key".into()))?;
            // The id's result, unless the id was used again since (then only this key goes).
            if let Some(bytes) = self.requests.get(id_key(&id))? {
                let kept = decode_kept(&bytes)?;
                if time_key(kept.at, &id) == tk.as_ref() {
                    self.requests.remove(id_key(&id))?;
                    self.requests.remove(revision_key(kept.revision))?;
                }
            }
            self.requests.remove(tk)?;
            swept += 1;
        }
        Ok(swept)
    }
}

/// Removes the kept results whose write never reached the log (revision after
/// `last_logged`): a crash cut them before their commit point.
pub(super) fn drop_orphans(requests: &Tree, last_logged: u64) -> Result<usize, StoreError> {
    let mut dropped = 0;
    for item in requests.range(revision_key(last_logged + 1)..revision_key(u64::MAX)) {
        let (rk, id) = item?;
        let id: [u8; 16] = id.as_ref().try_into().map_err(|_| StoreError::Corrupt("request revision key".into()))?;
        if let Some(bytes) = requests.get(id_key(&id))? {
            requests.remove(time_key(decode_kept(&bytes)?.at, &id))?;
            requests.remove(id_key(&id))?;
        }
        requests.remove(rk)?;
        dropped += 1;
    }
    Ok(dropped)
}
