//! The sled implementation of [`Store`].
//!
//! Layout (format 2): one sled database directory with these trees (values are postcard
//! records, see `records`):
//!
//! | tree           | key                                   | value                          |
//! |----------------|---------------------------------------|--------------------------------|
//! | `meta`         | `format_version` / `revision` / `changes_from` | u32 / u64 / u64, big-endian |
//! | `sessions`     | session id                            | `SessionRecord` + `SessionTail` |
//! | `people`       | person id                             | `PersonRecord`                 |
//! | `changes`      | revision (u64, big-endian)            | kind byte + record (or person id) |
//! | `feed_tokens`  | secret token                          | `FeedTokenRecord`              |
//! | `invites_sent` | `session\0 slot\0 person`             | `SentInviteRecord` + tail (outbox) |
//!
//! **The log is the commit point.** A write of a session or person checks its expectation
//! and the referential rules against the in-memory state, then, under one short lock (the
//! sequencer), takes the next revision, inserts the log entry (with the full record), inserts
//! or removes the record, and updates the in-memory indexes. Plain inserts only: sled 0.34
//! runs every transaction and batch behind one process-wide lock that a flush holds through
//! its fsync, plain inserts are not serialized. Both inserts under the sequencer keep sled's
//! operation order equal to revision order, so whatever survives a crash is a prefix of the
//! writes: a flush that covers revision r covers every revision before it. The writer then
//! waits, outside the lock, for the group-commit flush that makes it durable.
//!
//! **Recovery at open.** `meta/revision` is a watermark: every write up to it is applied (the
//! flusher stores it before each flush, `flush` at a clean stop). Log entries after it are
//! replayed in order: a write whose record is older than its entry is finished (the put or
//! delete re-applied from the entry), a newer record is left alone. A write cut before its log
//! entry never happened.
//!
//! **Indexes live in memory** (`memindex`, the informer pattern): listed from the records at
//! open, then maintained by the write path under the sequencer. Queries read candidate keys
//! there, in batches under a read lock, and the records from sled outside it.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::crash::{self, Step};
use super::group_commit::GroupCommit;
use super::keys::{key, term};
use super::memindex::{self, Doc, Indexes, Ix, Sid};
use super::records::{
    DELETE_PERSON, LogEntry, PUT_PERSON, Unrevisioned, change_code, decode_change, decode_feed_token, decode_log,
    decode_person, decode_sent_invite, decode_session, encode_feed_token, encode_log, encode_sent_invite, session_doc,
    unrevisioned_person, unrevisioned_session,
};
use super::{Expect, Store, StoreError, StoreStats};
use crate::domain::{
    Attempt, Change, ChangeKind, FeedToken, InviteRecord, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor,
    Session, SessionCursor, SessionFilter, SessionId, SlotId, Timestamp,
};

/// The stored format this build reads and writes. Bump it (and add a migration at open) for
/// any change to `records` or to the layout above.
pub const FORMAT_VERSION: u32 = 2;

/// The index trees format 1 kept on disk; format 2 derives them in memory.
const V1_INDEX_TREES: [&str; 7] = [
    "sessions_by_start",
    "sessions_by_person",
    "sessions_by_organizer",
    "sessions_by_tag",
    "slots_by_person",
    "people_by_name",
    "person_refs",
];

/// sled's page cache, in bytes of cached pages (sled's own estimate; the heap it takes is
/// larger). sled's default (1 GiB) lets a process reading across a large store grow past a
/// gigabyte; records missing from the cache are read from the file (the OS page cache), so
/// a smaller cache costs little while the hot set (recent sessions, their people) fits.
/// sled 0.34 does not keep to it: listing the 100,000-session store at open leaves about
/// 180 MB resident whether it is 1, 8 or 64 MiB; under the read sweep 8 MiB peaked about
/// 13 MB lower than 64 MiB (BENCHMARKS.md: resident memory under load). The default of the
/// `cache.sled_bytes` setting ([`SledStore::DEFAULT_CACHE_BYTES`]).
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Index keys a query reads per turn of the read lock: the records are read outside it.
const BATCH: usize = 64;

const K_FORMAT: &[u8] = b"format_version";
/// The recovery watermark: every write up to this revision is applied.
const K_REVISION: &[u8] = b"revision";
const K_MAX_SPAN: &[u8] = b"max_span";
const K_CHANGES_FROM: &[u8] = b"changes_from";

/// A sled database holding sessions and people.
pub struct SledStore {
    db: sled::Db,
    meta: Tree,
    sessions: Tree,
    people: Tree,
    feed_tokens: Tree,
    invites_sent: Tree,
    changes: Tree,
    /// The indexes, and the sequencer: a write of a session or person holds the write lock
    /// while it takes its revision, inserts its log entry and record, and updates the indexes,
    /// so revisions, sled's operation order and the indexes all follow one order.
    ix: RwLock<Indexes>,
    /// The last revision applied (entry, record and indexes); shared with the flusher, which
    /// stores it as the recovery watermark.
    revision: Arc<AtomicU64>,
    /// The last revision a write began to apply (taken before its log entry is inserted):
    /// equal to `revision` while no write is in flight. With it a reader can tell that
    /// nothing it read came from a write not yet published (see `settled_revision`).
    begun: AtomicU64,
    /// Writes of sessions and people since open, for the crash hook.
    writes: AtomicU64,
    /// Where it lives, for [`SledStore::checkpoint`].
    path: std::path::PathBuf,
    /// Declared last so it is dropped first: its final flush runs while the trees are open.
    commit: GroupCommit,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
            e => backend(e),
        }
    }
}

fn u64_of(v: Option<sled::IVec>) -> u64 {
    v.and_then(|b| b.as_ref().try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

fn revision_key(k: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(k.try_into().map_err(|_| StoreError::Corrupt("change key".into()))?))
}

/// Checks a write's expectation against the current revision.
fn check_expect(current: Option<u64>, expect: Expect) -> Result<(), StoreError> {
    match (current, expect) {
        (Some(_), Expect::Absent) => Err(StoreError::Exists),
        (None, Expect::Revision(_)) => Err(StoreError::NotFound),
        (Some(cur), Expect::Revision(r)) if cur != r => Err(StoreError::RevisionMismatch { current: cur }),
        _ => Ok(()),
    }
}

/// The lower bound of a time-ordered scan: `from - max_span` (a session that started before
/// the window may still run in it), or just after the cursor when that is further on.
fn scan_start<K: Ord>(from: Option<i64>, max_span: i64, at: impl Fn(i64) -> K, after: Option<K>) -> Bound<K> {
    let lower = from.map(|f| at(f.saturating_sub(max_span)));
    match (lower, after) {
        (Some(l), Some(a)) if a < l => Bound::Included(l),
        (_, Some(a)) => Bound::Excluded(a),
        (Some(l), None) => Bound::Included(l),
        (None, None) => Bound::Unbounded,
    }
}

/// A write's record as the sequencer stores it.
enum Record<'a> {
    Put(&'a Unrevisioned),
    Delete,
}

impl SledStore {
    /// sled's cache capacity unless configured otherwise (see [`CACHE_BYTES`]).
    pub const DEFAULT_CACHE_BYTES: u64 = CACHE_BYTES;

    /// Opens (or creates) the store in `path`: migrates a format-1 store, finishes the writes
    /// a crash cut short, builds the indexes. Fails clearly when another process holds the
    /// directory or when it holds a format this build does not know.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(path, CACHE_BYTES)
    }

    /// [`SledStore::open`] with sled's cache capacity set to `cache_bytes`.
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        crash::arm_from_env();
        let db = sled::Config::new().path(path).cache_capacity(cache_bytes).open().map_err(|e| match e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") => {
                StoreError::Backend(format!(
                    "store directory {} is locked by another process (is another agenda running on it?): {io}",
                    path.display()
                ))
            }
            e => StoreError::from(e),
        })?;
        let meta = db.open_tree("meta")?;
        match meta.get(K_FORMAT)? {
            None => {
                meta.insert(K_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            Some(v) => match v.as_ref().try_into().map(u32::from_be_bytes).map_err(backend)? {
                FORMAT_VERSION => {}
                1 => migrate_v1(&db, &meta)?,
                found => {
                    return Err(StoreError::UnsupportedFormat {
                        found,
                        supported: FORMAT_VERSION,
                        hint: "use the agenda release that wrote it to `agenda export`, then import here",
                    });
                }
            },
        }
        let (sessions, people, changes) =
            (db.open_tree("sessions")?, db.open_tree("people")?, db.open_tree("changes")?);
        let watermark = u64_of(meta.get(K_REVISION)?);
        let finished = recover(&sessions, &people, &changes, watermark)?;
        if finished > 0 {
            tracing::info!(finished, after = watermark, "finished writes a crash cut short");
        }
        let last_logged = match changes.last()? {
            Some((k, _)) => revision_key(&k)?,
            None => 0,
        };
        let started = std::time::Instant::now();
        let ix = load_indexes(&sessions, &people)?;
        tracing::info!(
            sessions = ix.session_count(),
            bytes = ix.approx_bytes(),
            seconds = started.elapsed().as_secs_f64(),
            "indexes built from the records"
        );
        let revision = Arc::new(AtomicU64::new(watermark.max(last_logged)));
        let (flusher_db, flusher_meta, applied) = (db.clone(), meta.clone(), Arc::clone(&revision));
        let commit = GroupCommit::start(Box::new(move || {
            let watermark = applied.load(Ordering::Acquire).to_be_bytes();
            flusher_meta.insert(K_REVISION, &watermark).map_err(|e| e.to_string())?;
            flusher_db.flush().map(drop).map_err(|e| e.to_string())
        }));
        Ok(Self {
            feed_tokens: db.open_tree("feed_tokens")?,
            invites_sent: db.open_tree("invites_sent")?,
            sessions,
            people,
            changes,
            meta,
            db,
            ix: RwLock::new(ix),
            begun: AtomicU64::new(revision.load(Ordering::Acquire)),
            revision,
            writes: AtomicU64::new(0),
            path: path.to_owned(),
            commit,
        })
    }

    fn read_ix(&self) -> RwLockReadGuard<'_, Indexes> {
        self.ix.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_ix(&self) -> RwLockWriteGuard<'_, Indexes> {
        self.ix.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sequencer's part of a write; the caller holds the write lock and, once this
    /// returns, updates the indexes and then publishes the revision with [`Self::applied`].
    /// Takes the next revision, inserts the log entry `kind` + `body` (the record at that
    /// revision when `body` is `None`), then puts or removes the record. Returns the revision
    /// and the write's number for the crash hook.
    fn sequence(
        &self,
        tree: &Tree,
        id: &str,
        kind: u8,
        body: Option<&[u8]>,
        record: Record<'_>,
    ) -> Result<(u64, u64), StoreError> {
        let rev = self.revision.load(Ordering::Relaxed) + 1;
        let n = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        // Before anything of the write can be read: a cached answer tagged with an older
        // revision stops being served from here on (a failed write leaves it raised, so the
        // store counts as unsettled until the next write publishes).
        self.begun.store(rev, Ordering::SeqCst);
        let (entry, stored) = match (body, record) {
            (Some(b), Record::Delete) => (encode_log(kind, b), None),
            (_, Record::Put(enc)) => (enc.at(rev, Some(kind)), Some(enc.at(rev, None))),
            (None, Record::Delete) => unreachable!("a delete's log entry has a body"),
        };
        self.changes.insert(rev.to_be_bytes(), entry)?;
        self.crash_point(Step::AfterLog, n);
        let applied = match stored {
            Some(record) => tree.insert(id, record).map(drop),
            None => tree.remove(id).map(drop),
        };
        if let Err(e) = applied {
            // Unwritten record: the entry goes too, so recovery will not finish this write.
            let _ = self.changes.remove(rev.to_be_bytes());
            return Err(e.into());
        }
        self.crash_point(Step::AfterRecord, n);
        Ok((rev, n))
    }

    /// Publishes `rev` as applied (the caller has updated the indexes, still under the lock).
    fn applied(&self, rev: u64) {
        self.revision.store(rev, Ordering::Release);
    }

    /// Waits, outside the sequencer, until write `n` is durable.
    fn durable(&self, n: u64) -> Result<(), StoreError> {
        self.crash_point(Step::BeforeFlushWait, n);
        self.commit.wait_durable().map_err(StoreError::Backend)?;
        self.crash_point(Step::AfterFlush, n);
        Ok(())
    }

    fn crash_point(&self, step: Step, n: u64) {
        crash::at(step, n, || {
            let _ = self.db.flush();
        });
    }

    /// Runs `f` as one serializable transaction over `tree` (feed tokens, invites: small
    /// writes off the hot path), then waits until it is durable.
    fn write_one<T>(
        &self,
        tree: &Tree,
        f: impl Fn(&sled::transaction::TransactionalTree) -> Result<T, ConflictableTransactionError<StoreError>>,
    ) -> Result<T, StoreError> {
        let out = tree.transaction(f).map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })?;
        self.commit.wait_durable().map_err(StoreError::Backend)?;
        Ok(out)
    }

    /// Checks the whole store: every record decodes under its own id at a revision no later
    /// than the store's, the last log entry's write is applied, every person a session names
    /// exists, and the in-memory indexes (reference counts included) equal a recomputation
    /// from the records. The list of problems, empty when all holds. Reads the whole store,
    /// holding writes off meanwhile.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let live = self.read_ix();
        let store_rev = self.revision.load(Ordering::Acquire);
        let mut problems = Vec::new();
        let mut people = Vec::new();
        for item in self.people.iter() {
            let (k, v) = item?;
            let p = decode_person(&v)?;
            if k.as_ref() != p.id.as_str().as_bytes() {
                problems.push(format!("person record under key {:?} has id {}", String::from_utf8_lossy(&k), p.id));
            }
            if p.meta.revision > store_rev {
                problems
                    .push(format!("person {} is at revision {}, after the store's {store_rev}", p.id, p.meta.revision));
            }
            people.push(p);
        }
        let mut sessions = Vec::new();
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let s = decode_session(&v)?;
            if k.as_ref() != s.id.as_str().as_bytes() {
                problems.push(format!("session record under key {:?} has id {}", String::from_utf8_lossy(&k), s.id));
            }
            if s.meta.revision > store_rev {
                problems.push(format!(
                    "session {} is at revision {}, after the store's {store_rev}",
                    s.id, s.meta.revision
                ));
            }
            let doc = Doc::of(&s);
            sessions.push((s, doc));
        }
        if let Some((k, v)) = self.changes.last()? {
            let rev = revision_key(&k)?;
            if let Some(problem) = unapplied(&self.sessions, &self.people, rev, &v)? {
                problems.push(problem);
            }
        }
        let recomputed =
            memindex::build(&people, sessions.iter().map(|(s, doc)| (s.id.as_str(), s.meta.revision, doc)));
        for (s, doc) in &sessions {
            if let Some(p) = recomputed.missing_person(doc) {
                problems.push(format!("session {} names missing person {p}", s.id));
            }
        }
        problems.extend(Indexes::differences(&live.canonical(), &recomputed.canonical()));
        Ok(problems)
    }

    /// The bench-only write floor (feature `bench-floor`, issue 12): one plain insert into a
    /// tree of its own, then the same group-commit wait as every write. It is what a durable
    /// write costs with no transaction, index, record or validation around it, so the
    /// benchmarks can compare CreateSession and UpdateSlot with it (BENCHMARKS.md).
    #[cfg(feature = "bench-floor")]
    pub fn floor_insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        // A lookup under a read lock once the tree exists: no field for a bench-only tree.
        self.db.open_tree("bench_floor")?.insert(key, value)?;
        self.commit.wait_durable().map_err(StoreError::Backend)
    }

    /// Writes made and flushes run since open: how well group commit batches.
    pub fn commit_stats(&self) -> (u64, u64) {
        self.commit.stats()
    }

    /// (estimated heap bytes of the in-memory indexes, sessions indexed).
    pub fn index_size(&self) -> (u64, usize) {
        let ix = self.read_ix();
        (ix.approx_bytes(), ix.session_count())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Flushes everything with the recovery watermark, so the next open replays nothing (used
    /// at shutdown; writes are already durable when acknowledged).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.meta.insert(K_REVISION, &self.revision.load(Ordering::Acquire).to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Closes the store and opens it once more, so that sled writes its recovery snapshot.
    ///
    /// Why: sled 0.34 writes that snapshot only while opening a store, and an open replays
    /// the log written since the last one. A store written for a long time by one process (a
    /// server's uptime, an import) would replay all of it at its next start: 6.3 s for the
    /// 100,000-session store of BENCHMARKS.md, against 0.8 s once it has been reopened. So
    /// `agenda serve` (after a clean stop) and `agenda import` pay that replay on their way
    /// out, not the next start. After a crash the next start still pays it.
    pub fn checkpoint(self) -> Result<(), StoreError> {
        self.flush()?;
        let path = self.path.clone();
        drop(self);
        drop(Self::open(&path)?);
        Ok(())
    }

    fn person_name(&self, id: &PersonId) -> Option<String> {
        let bytes = self.people.get(id.as_str()).ok()??;
        decode_person(&bytes).ok().map(|p| p.name)
    }
}

/// Format 1 kept seven index trees on disk, written in the same transaction as each record
/// (so every record is applied and `meta/revision` is its last revision). Format 2 derives
/// them in memory: drop them, and the longest-span key that went with them.
fn migrate_v1(db: &sled::Db, meta: &Tree) -> Result<(), StoreError> {
    for name in V1_INDEX_TREES {
        db.drop_tree(name)?;
    }
    meta.remove(K_MAX_SPAN)?;
    meta.insert(K_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
    db.flush()?;
    tracing::info!(
        from = 1,
        to = FORMAT_VERSION,
        dropped = V1_INDEX_TREES.len(),
        "migrated the store: index trees dropped, indexes are now kept in memory"
    );
    Ok(())
}

/// The revision of the record stored under `id` in `tree`, if any.
fn stored_revision(tree: &Tree, id: &str, person: bool) -> Result<Option<u64>, StoreError> {
    let Some(bytes) = tree.get(id)? else { return Ok(None) };
    Ok(Some(if person { decode_person(&bytes)?.meta.revision } else { decode_session(&bytes)?.meta.revision }))
}

/// What a log entry writes: (person?, id, the record for a put).
fn entry_write(entry: LogEntry<'_>) -> Result<(bool, String, Option<&[u8]>), StoreError> {
    Ok(match entry {
        LogEntry::Session { kind, record } => {
            let id = decode_session(record)?.id.as_str().to_owned();
            (false, id, (kind != ChangeKind::Deleted).then_some(record))
        }
        LogEntry::PutPerson(record) => (true, decode_person(record)?.id.as_str().to_owned(), Some(record)),
        LogEntry::DeletePerson(id) => (true, id.to_owned(), None),
    })
}

/// Replays the log after `watermark` in revision order: a write whose record is older than its
/// entry is finished from the entry. Returns how many writes it finished.
fn recover(sessions: &Tree, people: &Tree, changes: &Tree, watermark: u64) -> Result<usize, StoreError> {
    let mut finished = 0;
    for item in changes.range((watermark + 1).to_be_bytes()..) {
        let (k, v) = item?;
        let rev = revision_key(&k)?;
        let (person, id, put) = entry_write(decode_log(&v)?)?;
        let tree = if person { people } else { sessions };
        let current = stored_revision(tree, &id, person)?;
        if current.is_some_and(|c| c >= rev) {
            continue;
        }
        match put {
            Some(record) => drop(tree.insert(id.as_bytes(), record)?),
            None if current.is_some() => drop(tree.remove(id.as_bytes())?),
            None => continue,
        }
        finished += 1;
    }
    if finished > 0 {
        sessions.flush()?;
    }
    Ok(finished)
}

/// Why the write of the log entry at `rev` is not applied, if it is not.
fn unapplied(sessions: &Tree, people: &Tree, rev: u64, entry: &[u8]) -> Result<Option<String>, StoreError> {
    let (person, id, put) = entry_write(decode_log(entry)?)?;
    let current = stored_revision(if person { people } else { sessions }, &id, person)?;
    let applied = match put {
        Some(_) => current == Some(rev),
        None => current.is_none(),
    };
    Ok((!applied).then(|| format!("the last logged write (revision {rev}, {id}) is not applied")))
}

/// Lists every record into fresh indexes, reading of each session only its index fields.
fn load_indexes(sessions: &Tree, people: &Tree) -> Result<Indexes, StoreError> {
    let mut ix = Indexes::default();
    for item in people.iter() {
        let p = decode_person(&item?.1)?;
        ix.put_person(p.id.as_str(), p.meta.revision, &p.name);
    }
    for item in sessions.iter() {
        let (_, bytes) = item?;
        let (id, revision, doc) = session_doc(&bytes)?;
        ix.load_session(id, revision, &doc);
    }
    ix.finish_load();
    Ok(ix)
}

/// The operations of the contract, synchronous: sled blocks. `impl Store for Arc<SledStore>`
/// (below) runs them, on the blocking pool or in place.
impl SledStore {
    fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions.get(id.as_str())?.map(|b| decode_session(&b)).transpose()
    }

    /// The stored session and its index fields, read outside the sequencer: the write path
    /// removes the old record's index entries, which the indexes do not keep per session.
    fn current_session(&self, id: &str) -> Result<Option<(sled::IVec, u64, Doc)>, StoreError> {
        let Some(bytes) = self.sessions.get(id)? else { return Ok(None) };
        let (_, revision, doc) = session_doc(&bytes)?;
        Ok(Some((bytes, revision, doc)))
    }

    fn put_session(&self, s: &Session, expect: Expect) -> Result<u64, StoreError> {
        let id = s.id.as_str();
        let doc = Doc::of(s);
        let enc = unrevisioned_session(s);
        loop {
            let old = match expect {
                Expect::Absent => None,
                Expect::Revision(_) => self.current_session(id)?,
            };
            let mut ix = self.write_ix();
            let current = ix.session_revision(id);
            check_expect(current, expect)?;
            if current != old.as_ref().map(|o| o.1) {
                continue; // written between the read and the lock: read again
            }
            if let Some(p) = ix.missing_person(&doc) {
                let p = s.referenced_people().into_iter().find(|q| q.as_str() == p).expect("named by the session");
                return Err(StoreError::UnknownPerson(p));
            }
            let kind = change_code(if old.is_some() { ChangeKind::Updated } else { ChangeKind::Created });
            let (rev, n) = self.sequence(&self.sessions, id, kind, None, Record::Put(&enc))?;
            ix.put_session(id, rev, old.as_ref().map(|o| &o.2), &doc);
            self.applied(rev);
            drop(ix);
            self.durable(n)?;
            return Ok(rev);
        }
    }

    fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let id = id.as_str();
        loop {
            let old = self.current_session(id)?;
            let mut ix = self.write_ix();
            let current = ix.session_revision(id);
            if current != old.as_ref().map(|o| o.1) {
                continue;
            }
            let Some((last, cur, doc)) = old else { return Err(StoreError::NotFound) };
            check_expect(Some(cur), Expect::Revision(expect.unwrap_or(cur)))?;
            let kind = change_code(ChangeKind::Deleted);
            let (rev, n) = self.sequence(&self.sessions, id, kind, Some(&last), Record::Delete)?;
            ix.delete_session(id, &doc);
            self.applied(rev);
            drop(ix);
            self.durable(n)?;
            return Ok(rev);
        }
    }

    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        // The most selective index the filter allows; the rest is checked on the records.
        let (index, term) = if let Some(p) = &filter.person {
            (Ix::Person, Some(p.as_str()))
        } else if let Some(t) = &filter.tag {
            (Ix::Tag, Some(t.as_str()))
        } else if let Some(o) = &filter.organizer {
            (Ix::Organizer, Some(o.as_str()))
        } else {
            (Ix::Start, None)
        };
        let (from, to) = (filter.from.map(|t| t.as_second()), filter.to.map(|t| t.as_second()));
        let after = after.map(|c| (c.start.as_second(), Sid::from(c.id.as_str())));
        let mut lower = scan_start(from, self.read_ix().max_span(), |t| (t, Sid::from("")), after);
        let mut out = Vec::new();
        while out.len() < limit {
            let batch = self.read_ix().sessions_range(index, term, lower, to, BATCH);
            for (start, id, end) in &batch {
                if from.zip(*end).is_some_and(|(from, end)| end <= from) {
                    continue;
                }
                let Some(bytes) = self.sessions.get(&**id)? else { continue };
                let s = decode_session(&bytes)?;
                // A concurrent write may have moved the session; it is listed at its new place.
                if s.start.as_second() == *start && filter.matches(&s, |p| self.person_name(p)) {
                    out.push(s);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            match batch.last() {
                Some((start, id, _)) if batch.len() == BATCH => lower = Bound::Excluded((*start, Arc::clone(id))),
                _ => break,
            }
        }
        Ok(out)
    }

    fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.people.get(id.as_str())?.map(|b| decode_person(&b)).transpose()
    }

    fn put_person(&self, p: &Person, expect: Expect) -> Result<u64, StoreError> {
        let id = p.id.as_str();
        let enc = unrevisioned_person(p);
        let mut ix = self.write_ix();
        check_expect(ix.person_revision(id), expect)?;
        let (rev, n) = self.sequence(&self.people, id, PUT_PERSON, None, Record::Put(&enc))?;
        ix.put_person(id, rev, &p.name);
        self.applied(rev);
        drop(ix);
        self.durable(n)?;
        Ok(rev)
    }

    fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let id = id.as_str();
        let mut ix = self.write_ix();
        let current = ix.person_revision(id).ok_or(StoreError::NotFound)?;
        check_expect(Some(current), Expect::Revision(expect.unwrap_or(current)))?;
        let refs = ix.refs(id);
        if refs > 0 {
            return Err(StoreError::PersonInUse { sessions: refs });
        }
        let (rev, n) = self.sequence(&self.people, id, DELETE_PERSON, Some(id.as_bytes()), Record::Delete)?;
        ix.delete_person(id);
        self.applied(rev);
        drop(ix);
        self.durable(n)
    }

    fn list_people(&self, text: &str, after: Option<&PersonCursor>, limit: usize) -> Result<Vec<Person>, StoreError> {
        let mut after = after.map(|c| (c.name.clone(), c.id.as_str().to_owned()));
        let mut out = Vec::new();
        while out.len() < limit {
            let batch = self.read_ix().people_range(after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())), BATCH);
            for id in &batch {
                let Some(bytes) = self.people.get(&**id)? else { continue };
                let p = decode_person(&bytes)?;
                after = Some((p.name.to_lowercase(), p.id.as_str().to_owned()));
                if text.is_empty() || p.matches_text(text) {
                    out.push(p);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            if batch.len() < BATCH {
                break;
            }
        }
        Ok(out)
    }

    fn person_slots(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<&PersonSlotCursor>,
        limit: usize,
        include_removed: bool,
    ) -> Result<Vec<PersonSlot>, StoreError> {
        let (from, to) = (from.map(|t| t.as_second()), to.map(|t| t.as_second()));
        let after = after.map(|c| (c.start.as_second(), Sid::from(c.session.as_str()), Arc::from(c.slot.as_str())));
        let at = |t| (t, Sid::from(""), Arc::<str>::from(""));
        let mut lower = scan_start(from, self.read_ix().max_span(), at, after);
        let mut out = Vec::new();
        let mut cached: Option<Session> = None;
        while out.len() < limit {
            let batch = self.read_ix().slots_range(person.as_str(), lower, to, BATCH);
            for (_, session_id, slot_id) in &batch {
                if cached.as_ref().is_none_or(|s| s.id.as_str() != &**session_id) {
                    cached = match self.sessions.get(&**session_id)? {
                        Some(b) => Some(decode_session(&b)?),
                        None => continue,
                    };
                }
                let session = cached.as_ref().expect("loaded above");
                let Ok(slot_id) = SlotId::parse(slot_id) else { continue };
                let current = session.slots.iter().map(|s| (s, false));
                let removed = session.removed_slots.iter().map(|r| (&r.slot, true)).filter(|_| include_removed);
                let Some((slot, removed)) = current.chain(removed).find(|(s, _)| s.id == slot_id) else { continue };
                if from.is_some_and(|from| slot.end.as_second() <= from) {
                    continue;
                }
                let roles = slot.roles_of(person);
                if !roles.is_empty() {
                    out.push(PersonSlot {
                        session_id: session.id.clone(),
                        session_title: session.title.clone(),
                        time_zone: session.time_zone.clone(),
                        session_status: session.status,
                        session_visibility: session.visibility,
                        slot: slot.clone(),
                        roles,
                        removed,
                    });
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            match batch.last() {
                Some((start, sid, slot)) if batch.len() == BATCH => {
                    lower = Bound::Excluded((*start, Arc::clone(sid), Arc::clone(slot)))
                }
                _ => break,
            }
        }
        Ok(out)
    }

    fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let key = token.token.as_bytes();
        let value = encode_feed_token(token);
        self.write_one(&self.feed_tokens, |tx| {
            if tx.get(key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Exists));
            }
            tx.insert(key, value.as_slice())?;
            Ok(())
        })
    }

    fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.feed_tokens.get(token)?.map(|b| decode_feed_token(&b)).transpose()
    }

    fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        self.write_one(&self.feed_tokens, |tx| match tx.remove(token.as_bytes())? {
            Some(_) => Ok(()),
            None => Err(ConflictableTransactionError::Abort(StoreError::NotFound)),
        })
    }

    fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let lower = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
        self.feed_tokens
            .range::<Vec<u8>, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|item| decode_feed_token(&item?.1))
            .collect()
    }

    fn record_invites(&self, attempts: &[Attempt]) -> Result<(), StoreError> {
        let keyed: Vec<(Vec<u8>, &Attempt)> = attempts
            .iter()
            .map(|a| {
                let m = &a.message;
                (key(&[&term(m.session.as_str()), &term(m.slot.as_str()), m.person.as_str().as_bytes()]), a)
            })
            .collect();
        // Its own small transaction: one tree, no index to keep in step.
        self.write_one(&self.invites_sent, |tx| {
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

    fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        self.invites_sent.scan_prefix(term(session.as_str())).map(|item| decode_sent_invite(&item?.1)).collect()
    }

    fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.revision.load(Ordering::Acquire))
    }

    /// The applied revision when no write is in flight; see [`Store::settled_revision`].
    fn settled(&self) -> Option<u64> {
        let begun = self.begun.load(Ordering::SeqCst);
        (self.revision.load(Ordering::SeqCst) == begun).then_some(begun)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let (writes, flushes) = self.commit.stats();
        Ok(StoreStats {
            size_bytes: self.db.size_on_disk()?,
            revision: self.revision()?,
            writes,
            flushes,
            index_bytes: self.index_size().0,
        })
    }

    fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.check_resume(after)?;
        if upto <= after {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for item in self.changes.range((after + 1).to_be_bytes()..=upto.to_be_bytes()) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            // People's entries are the log's too (it commits every write); watchers see sessions.
            out.extend(decode_change(revision_key(&k)?, &v)?);
        }
        // Pruning moves `changes_from` before it deletes: checked again, so a prune that ran
        // during the read shows as a refusal, never as a silent gap.
        self.check_resume(after)?;
        Ok(out)
    }

    /// Refuses a resume point whose following entries were pruned.
    fn check_resume(&self, after: u64) -> Result<(), StoreError> {
        let oldest = self.changes_from()?;
        if after.saturating_add(1) < oldest {
            return Err(StoreError::Compacted { after, oldest });
        }
        Ok(())
    }

    fn changes_from(&self) -> Result<u64, StoreError> {
        Ok(u64_of(self.meta.get(K_CHANGES_FROM)?).max(1))
    }

    fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        let applied = self.revision()?;
        let cut = applied.saturating_sub(keep);
        if cut < self.changes_from()? {
            return Ok(());
        }
        // Watchers are told first, then the entries go: a watcher never reads a silent gap.
        // The watermark goes first of all: recovery never needs an entry at or before it.
        self.meta.insert(K_REVISION, &applied.to_be_bytes())?;
        self.meta.insert(K_CHANGES_FROM, &(cut + 1).to_be_bytes())?;
        for key in self.changes.range(..=cut.to_be_bytes()).keys() {
            self.changes.remove(key?)?;
        }
        Ok(())
    }
}

/// Runs `f` on tokio's blocking pool: a sled write waits for its group-commit flush and a scan
/// walks many pages, either of which would stall a runtime thread and every task on it.
async fn blocking<T: Send + 'static>(
    store: &Arc<SledStore>,
    f: impl FnOnce(&SledStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

impl SledStore {
    /// This store behind the [`Store`] contract, as the app takes it; `self` stays at hand
    /// for the synchronous helpers (`flush`, `checkpoint`, `verify`).
    pub fn shared(self: &Arc<Self>) -> Arc<dyn Store> {
        Arc::new(Arc::clone(self))
    }
}

/// The sled engine behind the contract. Implemented on the shared handle because a task on
/// the blocking pool must own what it uses.
///
/// Point reads (`get_*`, `revision`, `changes_from`) run in place on the runtime thread. A
/// sled read of a cached page takes microseconds and of an uncached one a `pread` of the OS
/// page cache; a hop to the blocking pool and back costs about as much (two thread wake-ups:
/// 14% of the CPU of GetSession under load, the reads 20%); in place, GetSession served nearly
/// twice the requests (BENCHMARKS.md, profiles). Writes (which wait for a flush), scans and
/// `stats` (which walks the directory) go to the blocking pool.
#[async_trait]
impl Store for Arc<SledStore> {
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        SledStore::get_session(self, id)
    }

    async fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError> {
        let session = session.clone();
        blocking(self, move |st| st.put_session(&session, expect)).await
    }

    async fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let id = id.clone();
        blocking(self, move |st| st.delete_session(&id, expect)).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let (filter, after) = (filter.clone(), after.cloned());
        blocking(self, move |st| st.list_sessions(&filter, after.as_ref(), limit)).await
    }

    async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        SledStore::get_person(self, id)
    }

    async fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError> {
        let person = person.clone();
        blocking(self, move |st| st.put_person(&person, expect)).await
    }

    async fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let id = id.clone();
        blocking(self, move |st| st.delete_person(&id, expect)).await
    }

    async fn list_people(
        &self,
        text: &str,
        after: Option<&PersonCursor>,
        limit: usize,
    ) -> Result<Vec<Person>, StoreError> {
        let (text, after) = (text.to_owned(), after.cloned());
        blocking(self, move |st| st.list_people(&text, after.as_ref(), limit)).await
    }

    async fn person_slots(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<&PersonSlotCursor>,
        limit: usize,
        include_removed: bool,
    ) -> Result<Vec<PersonSlot>, StoreError> {
        let (person, after) = (person.clone(), after.cloned());
        blocking(self, move |st| st.person_slots(&person, from, to, after.as_ref(), limit, include_removed)).await
    }

    async fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let token = token.clone();
        blocking(self, move |st| st.put_feed_token(&token)).await
    }

    async fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        SledStore::get_feed_token(self, token)
    }

    async fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        let token = token.to_owned();
        blocking(self, move |st| st.delete_feed_token(&token)).await
    }

    async fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let after = after.map(str::to_owned);
        blocking(self, move |st| st.list_feed_tokens(after.as_deref(), limit)).await
    }

    async fn record_invites(&self, attempts: &[Attempt]) -> Result<(), StoreError> {
        let attempts = attempts.to_vec();
        blocking(self, move |st| st.record_invites(&attempts)).await
    }

    async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        let session = session.clone();
        blocking(self, move |st| st.invite_records(&session)).await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        SledStore::revision(self)
    }

    fn settled_revision(&self) -> Option<u64> {
        self.settled()
    }

    fn tracks_settled_revision(&self) -> bool {
        true
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        blocking(self, SledStore::stats).await
    }

    async fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        blocking(self, move |st| st.changes(after, upto, limit)).await
    }

    async fn changes_from(&self) -> Result<u64, StoreError> {
        SledStore::changes_from(self)
    }

    async fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        blocking(self, move |st| st.prune_changes(keep)).await
    }
}
