//! The local copy every replica keeps of its store's sessions and people: the sled engine's
//! in-memory indexes (`memindex`, fed the same [`Doc`]s) and each record's stored bytes with
//! its revision, all at one applied revision. [`super::informer`] fills it from a list and
//! keeps it with the watch; the queries and point reads of sessions and people answer from it
//! (see "The local copy" and "Reads" in the module documentation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use etcd_client::{EventType, KeyValue};
use fxhash::FxHashMap;

use super::envelope::record;
use super::layout::Keys;
use super::rev;
use crate::domain::{Person, Session};
use crate::store::StoreError;
use crate::store::indexed::Records;
use crate::store::memindex::{self, Indexes};
use crate::store::records::{decode_person, decode_session, session_doc};

/// A record as etcd holds it: the stored bytes (envelope removed) and its key's
/// `mod_revision`, which is its etag. Kept encoded: about a third of a decoded session's heap
/// (see "The local copy" in the module documentation), decoded only when a read returns it.
struct Body {
    revision: u64,
    bytes: Box<[u8]>,
}

impl Body {
    fn of(kv: &KeyValue) -> Self {
        Self { revision: rev(kv.mod_revision()), bytes: record(kv.value()).into() }
    }
}

/// The records and indexes at one revision.
#[derive(Default)]
pub(super) struct Contents {
    pub(super) ix: Indexes,
    sessions: FxHashMap<Box<str>, Body>,
    people: FxHashMap<Box<str>, Body>,
}

impl Contents {
    /// Builds the contents from a list of every session and person key-value.
    pub(super) fn listed(keys: &Keys, people: &[KeyValue], sessions: &[KeyValue]) -> Result<Self, StoreError> {
        let mut decoded = Vec::with_capacity(people.len());
        let mut bodies = FxHashMap::default();
        for kv in people {
            let Some(id) = id_of(kv.key(), &keys.people()) else { continue };
            let body = Body::of(kv);
            let mut p = decode_person(&body.bytes)?;
            p.meta.revision = body.revision;
            decoded.push(p);
            bodies.insert(id.into(), body);
        }
        let mut docs = Vec::with_capacity(sessions.len());
        let mut session_bodies = FxHashMap::default();
        for kv in sessions {
            let Some(id) = id_of(kv.key(), &keys.sessions()) else { continue };
            let body = Body::of(kv);
            let (_, _, doc) = session_doc(&body.bytes)?;
            docs.push((id, body.revision, doc));
            session_bodies.insert(id.into(), body);
        }
        let ix = memindex::build(&decoded, docs.iter().map(|(id, r, doc)| (*id, *r, doc)));
        Ok(Self { ix, sessions: session_bodies, people: bodies })
    }

    /// Applies one watch event of the store's prefix; whether it was a session's or a
    /// person's (other keys, feed tokens and invite records, change nothing here).
    fn apply(&mut self, keys: &Keys, event: &etcd_client::Event) -> Result<bool, StoreError> {
        let Some(kv) = event.kv() else { return Ok(false) };
        let put = event.event_type() == EventType::Put;
        if let Some(id) = id_of(kv.key(), &keys.sessions()) {
            let old = self.sessions.get(id).map(|b| session_doc(&b.bytes).map(|(_, _, doc)| doc)).transpose()?;
            if put {
                let body = Body::of(kv);
                let (_, _, doc) = session_doc(&body.bytes)?;
                self.ix.put_session(id, body.revision, old.as_ref(), &doc);
                self.sessions.insert(id.into(), body);
            } else if let Some(old) = old {
                self.ix.delete_session(id, &old);
                self.sessions.remove(id);
            }
        } else if let Some(id) = id_of(kv.key(), &keys.people()) {
            if put {
                let body = Body::of(kv);
                let name = decode_person(&body.bytes)?.name;
                self.ix.put_person(id, body.revision, &name);
                self.people.insert(id.into(), body);
            } else {
                self.ix.delete_person(id);
                self.people.remove(id);
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// The indexes' canonical form, and the id and revision of every record held.
    pub(super) fn canonical(&self) -> Canonical {
        let records = self.sessions.iter().map(|(id, b)| format!("s {id} @{}", b.revision));
        let people = self.people.iter().map(|(id, b)| format!("p {id} @{}", b.revision));
        Canonical { ix: self.ix.canonical(), records: records.chain(people).collect() }
    }
}

/// What [`super::EtcdStore::verify`] compares: equal for two copies exactly when they hold
/// the same records at the same revisions, indexed the same way.
pub(super) struct Canonical {
    ix: memindex::Canonical,
    records: std::collections::BTreeSet<String>,
}

impl Canonical {
    /// What `live` holds that `fresh` lacks and the reverse, one line each.
    pub(super) fn differences(live: &Canonical, fresh: &Canonical) -> Vec<String> {
        let mut out = Indexes::differences(&live.ix, &fresh.ix);
        out.extend(live.records.difference(&fresh.records).map(|r| format!("record the store lacks: {r}")));
        out.extend(fresh.records.difference(&live.records).map(|r| format!("record the copy lacks: {r}")));
        out
    }
}

impl Records for Contents {
    fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let Some(body) = self.sessions.get(id) else { return Ok(None) };
        let mut s = decode_session(&body.bytes)?;
        s.meta.revision = body.revision;
        Ok(Some(s))
    }

    fn person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        let Some(body) = self.people.get(id) else { return Ok(None) };
        let mut p = decode_person(&body.bytes)?;
        p.meta.revision = body.revision;
        Ok(Some(p))
    }
}

/// The id in a record's key, when `key` is `prefix` then an id.
fn id_of<'k>(key: &'k [u8], prefix: &[u8]) -> Option<&'k str> {
    key.strip_prefix(prefix).and_then(|id| std::str::from_utf8(id).ok())
}

/// The copy, and the revision it has applied: every write of the store's prefix up to it is
/// in `contents`, none after it.
pub(super) struct LocalCopy {
    /// A std lock: held to apply one watch response or to answer one read, never across an
    /// await. A query holds it for its whole answer, so the answer is one revision's.
    contents: RwLock<Contents>,
    /// Written only under the write lock of `contents`, after the change it stands for: a
    /// reader that loads it before and after its read and finds it unchanged read exactly
    /// that revision (the settled-revision rule of `api/cache.rs`).
    applied: AtomicU64,
    /// The applied revision for those who wait for it (the consistent read, `follow`).
    published: tokio::sync::watch::Sender<u64>,
}

impl LocalCopy {
    pub(super) fn new(contents: Contents, at: u64) -> Self {
        let (published, _) = tokio::sync::watch::channel(at);
        Self { contents: RwLock::new(contents), applied: AtomicU64::new(at), published }
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Contents> {
        self.contents.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Contents> {
        self.contents.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn applied(&self) -> u64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// A receiver of the applied revision as it moves up.
    pub(super) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Applies the events of one watch response (whole revisions: etcd never splits one), all
    /// under one turn of the lock; returns the applied revision. Only a session or person
    /// event moves it: a feed token or an invite record written meanwhile changes nothing a
    /// read of the copy shows, so it must not invalidate the caches tagged with it (the SMTP
    /// sender writes invite records all day). Every session or person write puts `m/rev` in
    /// the same Txn, so the revision the consistent read waits for is always one that moves it.
    pub(super) fn apply(&self, keys: &Keys, events: &[etcd_client::Event]) -> Result<u64, StoreError> {
        let mut contents = self.write();
        // Events at or below the applied revision are already in (a watch opened again from
        // it); the several events of one revision (one Txn) all count.
        let before = self.applied();
        let mut at = before;
        for event in events {
            let Some(kv) = event.kv() else { continue };
            if rev(kv.mod_revision()) <= before {
                continue;
            }
            if contents.apply(keys, event)? {
                at = rev(kv.mod_revision());
            }
        }
        self.advance(contents, at);
        Ok(at)
    }

    /// Replaces the whole contents with a fresh list at revision `at` (after a compaction
    /// took the watch's resume point).
    pub(super) fn replace(&self, fresh: Contents, at: u64) {
        let mut contents = self.write();
        *contents = fresh;
        self.advance(contents, at);
    }

    fn advance(&self, contents: RwLockWriteGuard<'_, Contents>, at: u64) {
        if at > self.applied() {
            self.applied.store(at, Ordering::SeqCst);
        }
        drop(contents);
        self.published.send_if_modified(|p| {
            let newer = at > *p;
            *p = (*p).max(at);
            newer
        });
    }

    /// The applied revision and the canonical form of the copy at it (indexes, then each
    /// record's id and revision), for a comparison with a fresh list at that revision.
    pub(super) fn canonical(&self) -> (u64, Canonical) {
        let contents = self.read();
        (self.applied(), contents.canonical())
    }

    /// The estimated heap of the indexes and of the record bytes held.
    pub(super) fn approx_bytes(&self) -> (u64, u64) {
        let contents = self.read();
        let entry = std::mem::size_of::<(Box<str>, Body)>() as u64 * 2;
        let bodies = |m: &FxHashMap<Box<str>, Body>| -> u64 {
            m.iter().map(|(k, b)| k.len() as u64 + b.bytes.len() as u64 + entry).sum()
        };
        (contents.ix.approx_bytes(), bodies(&contents.sessions) + bodies(&contents.people))
    }
}
