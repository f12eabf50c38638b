//! The sled implementation of [`Store`].
//!
//! Layout: one sled database directory with these trees (keys per `keys`; `t` is an
//! 8-byte time key, `\0` ends a variable-length part, values are postcard records or
//! 8-byte times):
//!
//! | tree                  | key                                   | value               |
//! |-----------------------|---------------------------------------|---------------------|
//! | `meta`                | `format_version` / `revision` / `max_span` | u32 / u64 / i64, big-endian |
//! | `sessions`            | session id                            | `SessionRecord`     |
//! | `people`              | person id                             | `PersonRecord`      |
//! | `sessions_by_start`   | `t(start) id`                         | `t(end)`            |
//! | `sessions_by_person`  | `person\0 t(start) id`                | `t(end)`            |
//! | `sessions_by_organizer` | `lower(name or short name)\0 t(start) id` | `t(end)`      |
//! | `sessions_by_tag`     | `lower(tag)\0 t(start) id`            | `t(end)`            |
//! | `slots_by_person`     | `person\0 t(slot start) session\0 slot` | `t(slot end) roles` |
//! | `people_by_name`      | `lower(name)\0 id`                    | empty               |
//! | `person_refs`         | person id                             | u64: sessions naming them |
//! | `feed_tokens`         | secret token                          | `FeedTokenRecord`   |
//! | `invites_sent`        | `session\0 slot\0 person`              | `SentInviteRecord`  |
//! | `changes`             | revision (u64, big-endian)            | kind byte + `SessionRecord` |
//!
//! Every write is one sled transaction over all trees it touches, then waits for a group
//! commit flush. Index entries are a pure function of the record (`session_entries`), so a
//! write removes the old record's entries and inserts the new one's (skipping those in both,
//! which stay as they are): indexes can never drift from records.
//!
//! Time-window queries scan an index from `from - max_span`, where `max_span` is the longest
//! session ever stored (kept in `meta`, only grows), so a session that started before the
//! window but still runs in it is found without a second index on end times.

use std::collections::{BTreeSet, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError, TransactionalTree,
};
use sled::{Transactional, Tree};

use super::group_commit::GroupCommit;
use super::keys::{decode_time, key, prefix_end, term, time};
use super::records::{
    decode_change, decode_feed_token, decode_person, decode_sent_invite, decode_session, encode_change,
    encode_feed_token, encode_person, encode_sent_invite, encode_session,
};
use super::{Expect, Store, StoreError, StoreStats};
use crate::domain::{
    Change, ChangeKind, FeedToken, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor, SentInvite, Session,
    SessionCursor, SessionFilter, SessionId, SlotId, Timestamp,
};

/// The stored format this build reads and writes. Bump it (and add a migration at open) for
/// any change to `records` or to the key layout above.
pub const FORMAT_VERSION: u32 = 1;

/// sled's page cache, in bytes of cached pages (sled's own estimate; the heap it takes is
/// larger). sled's default (1 GiB) lets a process reading across a large store grow past a
/// gigabyte; records missing from the cache are read from the file (the OS page cache), so
/// a smaller cache costs little while the hot set (recent sessions, their people) fits.
/// Measured by `scripts/bench` (BENCHMARKS.md: resident memory under load).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

const K_FORMAT: &[u8] = b"format_version";
const K_REVISION: &[u8] = b"revision";
const K_MAX_SPAN: &[u8] = b"max_span";
const K_CHANGES_FROM: &[u8] = b"changes_from";

/// Which index tree an entry belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Ix {
    ByStart,
    ByPerson,
    ByOrganizer,
    ByTag,
    SlotsByPerson,
}

/// A sled database holding sessions and people.
pub struct SledStore {
    db: sled::Db,
    meta: Tree,
    sessions: Tree,
    people: Tree,
    by_start: Tree,
    by_person: Tree,
    by_organizer: Tree,
    by_tag: Tree,
    slots_by_person: Tree,
    people_by_name: Tree,
    person_refs: Tree,
    feed_tokens: Tree,
    invites_sent: Tree,
    changes: Tree,
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

/// The transaction's view of the trees, by name.
struct Tx<'a> {
    meta: &'a TransactionalTree,
    sessions: &'a TransactionalTree,
    people: &'a TransactionalTree,
    by_start: &'a TransactionalTree,
    by_person: &'a TransactionalTree,
    by_organizer: &'a TransactionalTree,
    by_tag: &'a TransactionalTree,
    slots_by_person: &'a TransactionalTree,
    people_by_name: &'a TransactionalTree,
    person_refs: &'a TransactionalTree,
    feed_tokens: &'a TransactionalTree,
    changes: &'a TransactionalTree,
}

type TxResult<T> = ConflictableTransactionResult<T, StoreError>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn u64_of(v: Option<sled::IVec>) -> u64 {
    v.and_then(|b| b.as_ref().try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

impl Tx<'_> {
    fn index(&self, ix: Ix) -> &TransactionalTree {
        match ix {
            Ix::ByStart => self.by_start,
            Ix::ByPerson => self.by_person,
            Ix::ByOrganizer => self.by_organizer,
            Ix::ByTag => self.by_tag,
            Ix::SlotsByPerson => self.slots_by_person,
        }
    }

    /// The next store-wide revision, taken inside the transaction so revisions follow
    /// commit order.
    fn next_revision(&self) -> TxResult<u64> {
        let rev = u64_of(self.meta.get(K_REVISION)?) + 1;
        self.meta.insert(K_REVISION, &rev.to_be_bytes())?;
        Ok(rev)
    }

    fn add_ref(&self, person: &PersonId, delta: i64) -> TxResult<()> {
        let k = person.as_str().as_bytes();
        let n = u64_of(self.person_refs.get(k)?).saturating_add_signed(delta);
        if n == 0 {
            self.person_refs.remove(k)?;
        } else {
            self.person_refs.insert(k, &n.to_be_bytes())?;
        }
        Ok(())
    }

    fn session(&self, id: &[u8]) -> TxResult<Option<Session>> {
        match self.sessions.get(id)? {
            None => Ok(None),
            Some(b) => decode_session(&b).map(Some).map_err(ConflictableTransactionError::Abort),
        }
    }
}

/// Checks a write's expectation against the stored revision.
fn check_expect(current: Option<u64>, expect: Expect) -> Result<(), StoreError> {
    match (current, expect) {
        (Some(_), Expect::Absent) => Err(StoreError::Exists),
        (None, Expect::Revision(_)) => Err(StoreError::NotFound),
        (Some(cur), Expect::Revision(r)) if cur != r => Err(StoreError::RevisionMismatch { current: cur }),
        _ => Ok(()),
    }
}

/// An index entry: its tree, key and value.
type Entry = (Ix, Vec<u8>, Vec<u8>);

/// Every index entry of a session: a pure function of the record.
fn session_entries(s: &Session) -> Vec<Entry> {
    let id = s.id.as_str().as_bytes();
    let (start, end) = (time(s.start), time(s.end));
    let mut out = vec![(Ix::ByStart, key(&[&start, id]), end.to_vec())];
    for p in s.referenced_people() {
        out.push((Ix::ByPerson, key(&[&term(p.as_str()), &start, id]), end.to_vec()));
    }
    let organizers: BTreeSet<String> = [&s.organizer.name, &s.organizer.short_name]
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|n| n.to_lowercase())
        .collect();
    for o in organizers {
        out.push((Ix::ByOrganizer, key(&[&term(&o), &start, id]), end.to_vec()));
    }
    let tags: BTreeSet<String> = s.tags.iter().map(|t| t.to_lowercase()).collect();
    for t in tags {
        out.push((Ix::ByTag, key(&[&term(&t), &start, id]), end.to_vec()));
    }
    let session_term = term(s.id.as_str());
    // Removed slots too, so a person's feed can show them cancelled.
    for slot in s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot)) {
        let people: BTreeSet<&PersonId> = slot.speakers.iter().chain(&slot.moderators).collect();
        for p in people {
            let roles = u8::from(slot.speakers.contains(p)) | (u8::from(slot.moderators.contains(p)) << 1);
            let k = key(&[&term(p.as_str()), &time(slot.start), &session_term, slot.id.as_str().as_bytes()]);
            let mut v = time(slot.end).to_vec();
            v.push(roles);
            out.push((Ix::SlotsByPerson, k, v));
        }
    }
    out
}

impl SledStore {
    /// Opens (or creates) the store in `path`. Fails clearly when another process holds the
    /// directory or when it holds a format this build does not know.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open().map_err(|e| match e {
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
            Some(v) => {
                let found = v.as_ref().try_into().map(u32::from_be_bytes).map_err(backend)?;
                if found != FORMAT_VERSION {
                    return Err(StoreError::UnsupportedFormat {
                        found,
                        supported: FORMAT_VERSION,
                        hint: "use the agenda release that wrote it to `agenda export`, then import here",
                    });
                }
            }
        }
        let flusher_db = db.clone();
        let commit = GroupCommit::start(Box::new(move || flusher_db.flush().map(drop).map_err(|e| e.to_string())));
        Ok(Self {
            sessions: db.open_tree("sessions")?,
            people: db.open_tree("people")?,
            by_start: db.open_tree("sessions_by_start")?,
            by_person: db.open_tree("sessions_by_person")?,
            by_organizer: db.open_tree("sessions_by_organizer")?,
            by_tag: db.open_tree("sessions_by_tag")?,
            slots_by_person: db.open_tree("slots_by_person")?,
            people_by_name: db.open_tree("people_by_name")?,
            person_refs: db.open_tree("person_refs")?,
            feed_tokens: db.open_tree("feed_tokens")?,
            invites_sent: db.open_tree("invites_sent")?,
            changes: db.open_tree("changes")?,
            meta,
            db,
            path: path.to_owned(),
            commit,
        })
    }

    /// Runs `f` as one serializable transaction over every tree, then waits until it is
    /// durable.
    fn write<T>(&self, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        let trees = (
            &self.meta,
            &self.sessions,
            &self.people,
            &self.by_start,
            &self.by_person,
            &self.by_organizer,
            &self.by_tag,
            &self.slots_by_person,
            &self.people_by_name,
            &self.person_refs,
            &self.feed_tokens,
            &self.changes,
        );
        let out = trees
            .transaction(
                |(
                    meta,
                    sessions,
                    people,
                    by_start,
                    by_person,
                    by_organizer,
                    by_tag,
                    slots_by_person,
                    people_by_name,
                    person_refs,
                    feed_tokens,
                    changes,
                )| {
                    f(&Tx {
                        meta,
                        sessions,
                        people,
                        by_start,
                        by_person,
                        by_organizer,
                        by_tag,
                        slots_by_person,
                        people_by_name,
                        person_refs,
                        feed_tokens,
                        changes,
                    })
                },
            )
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::from(e),
            })?;
        self.commit.wait_durable().map_err(StoreError::Backend)?;
        Ok(out)
    }

    fn max_span(&self) -> Result<i64, StoreError> {
        Ok(self.meta.get(K_MAX_SPAN)?.and_then(|b| b.as_ref().try_into().ok()).map(i64::from_be_bytes).unwrap_or(0))
    }

    /// Recomputes every index from the records and compares: the list of differences, empty
    /// when indexes and records agree (after any crash, they must). Reads the whole store.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        use std::collections::{BTreeMap, BTreeSet};
        let mut problems = Vec::new();
        type Entries = BTreeSet<(Vec<u8>, Vec<u8>)>;
        let mut wanted: BTreeMap<&'static str, Entries> = BTreeMap::new();
        let names = |ix: Ix| match ix {
            Ix::ByStart => "sessions_by_start",
            Ix::ByPerson => "sessions_by_person",
            Ix::ByOrganizer => "sessions_by_organizer",
            Ix::ByTag => "sessions_by_tag",
            Ix::SlotsByPerson => "slots_by_person",
        };
        let mut refs: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let s = decode_session(&v)?;
            if k.as_ref() != s.id.as_str().as_bytes() {
                problems.push(format!("session record under key {:?} has id {}", String::from_utf8_lossy(&k), s.id));
            }
            for (ix, key, value) in session_entries(&s) {
                wanted.entry(names(ix)).or_default().insert((key, value));
            }
            for p in s.referenced_people() {
                *refs.entry(p.as_str().as_bytes().to_vec()).or_default() += 1;
                if self.people.get(p.as_str())?.is_none() {
                    problems.push(format!("session {} names missing person {p}", s.id));
                }
            }
        }
        let trees = [
            ("sessions_by_start", &self.by_start),
            ("sessions_by_person", &self.by_person),
            ("sessions_by_organizer", &self.by_organizer),
            ("sessions_by_tag", &self.by_tag),
            ("slots_by_person", &self.slots_by_person),
        ];
        for (name, tree) in trees {
            let actual: BTreeSet<(Vec<u8>, Vec<u8>)> =
                tree.iter().map(|i| i.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect::<Result<_, _>>()?;
            let expected = wanted.remove(name).unwrap_or_default();
            for extra in actual.difference(&expected) {
                problems
                    .push(format!("{name} has an entry no record explains: {:?}", String::from_utf8_lossy(&extra.0)));
            }
            for missing in expected.difference(&actual) {
                problems.push(format!("{name} lacks an entry: {:?}", String::from_utf8_lossy(&missing.0)));
            }
        }
        let actual_refs: BTreeMap<Vec<u8>, u64> =
            self.person_refs.iter().map(|i| i.map(|(k, v)| (k.to_vec(), u64_of(Some(v))))).collect::<Result<_, _>>()?;
        if actual_refs != refs {
            problems.push("person_refs differ from the people the sessions name".into());
        }
        let mut by_name = BTreeSet::new();
        for item in self.people.iter() {
            let (_, v) = item?;
            let p = decode_person(&v)?;
            by_name.insert(key(&[&term(&p.name.to_lowercase()), p.id.as_str().as_bytes()]));
        }
        let actual_names: BTreeSet<Vec<u8>> =
            self.people_by_name.iter().keys().map(|k| k.map(|k| k.to_vec())).collect::<Result<_, _>>()?;
        if actual_names != by_name {
            problems.push("people_by_name differs from the people records".into());
        }
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

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Flushes everything (used at shutdown; writes are already durable when acknowledged).
    pub fn flush(&self) -> Result<(), StoreError> {
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
        let path = self.path.clone();
        drop(self);
        drop(Self::open(&path)?);
        Ok(())
    }

    fn person_name(&self, id: &PersonId) -> Option<String> {
        let bytes = self.people.get(id.as_str()).ok()??;
        decode_person(&bytes).ok().map(|p| p.name)
    }

    /// Scans an index in time order: entries under `prefix` whose 8-byte time follows the
    /// prefix, from `from - max_span` (or after `after`) to before `to`. Calls `visit` with the
    /// time, the rest of the key after the time, and the value; stops when `visit` says so.
    fn scan(
        &self,
        tree: &Tree,
        prefix: &[u8],
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<Vec<u8>>,
        mut visit: impl FnMut(Timestamp, &[u8], &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut lower = Bound::Included(prefix.to_vec());
        if let Some(from) = from {
            let earliest =
                Timestamp::from_second(from.as_second().saturating_sub(self.max_span()?)).unwrap_or(Timestamp::MIN);
            lower = Bound::Included(key(&[prefix, &time(earliest)]));
        }
        if let Some(after) = after {
            let past = match &lower {
                Bound::Included(l) => after >= *l,
                _ => true,
            };
            if past {
                lower = Bound::Excluded(after);
            }
        }
        let upper = match to {
            Some(to) => Bound::Excluded(key(&[prefix, &time(to)])),
            None => prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded),
        };
        for item in tree.range::<Vec<u8>, _>((lower, upper)) {
            let (k, v) = item?;
            let rest = &k[prefix.len()..];
            let t = decode_time(rest).ok_or_else(|| StoreError::Corrupt("short index key".into()))?;
            if !visit(t, &rest[8..], &v)? {
                break;
            }
        }
        Ok(())
    }
}

/// The operations of the contract, synchronous: sled blocks. `impl Store for Arc<SledStore>`
/// (below) runs them, on the blocking pool or in place.
impl SledStore {
    fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions.get(id.as_str())?.map(|b| decode_session(&b)).transpose()
    }

    fn put_session(&self, s: &Session, expect: Expect) -> Result<u64, StoreError> {
        let id = s.id.as_str().as_bytes();
        let entries = session_entries(s);
        let people = s.referenced_people();
        let span = s.end.as_second() - s.start.as_second();
        self.write(|tx| {
            let old = tx.session(id)?;
            if let Err(e) = check_expect(old.as_ref().map(|o| o.meta.revision), expect) {
                return abort(e);
            }
            let old_people = old.as_ref().map(Session::referenced_people).unwrap_or_default();
            for p in people.difference(&old_people) {
                if tx.people.get(p.as_str())?.is_none() {
                    return abort(StoreError::UnknownPerson(p.clone()));
                }
                tx.add_ref(p, 1)?;
            }
            for p in old_people.difference(&people) {
                tx.add_ref(p, -1)?;
            }
            // Only the entries that change: an update that leaves an entry as it was (a new
            // title, a moved participant) neither removes nor re-inserts it. The indexes end
            // up exactly as "remove every old entry, insert every new one" would leave them.
            let old_entries = old.as_ref().map(session_entries).unwrap_or_default();
            let (old_set, new_set): (HashSet<&Entry>, HashSet<&Entry>) =
                (old_entries.iter().collect(), entries.iter().collect());
            for e @ (ix, k, _) in &old_entries {
                if !new_set.contains(e) {
                    tx.index(*ix).remove(k.as_slice())?;
                }
            }
            for e @ (ix, k, v) in &entries {
                if !old_set.contains(e) {
                    tx.index(*ix).insert(k.as_slice(), v.as_slice())?;
                }
            }
            let max_span = tx.meta.get(K_MAX_SPAN)?.and_then(|b| b.as_ref().try_into().ok()).map(i64::from_be_bytes);
            if max_span.is_none_or(|m| m < span) {
                tx.meta.insert(K_MAX_SPAN, &span.to_be_bytes())?;
            }
            let rev = tx.next_revision()?;
            let mut stored = s.clone();
            stored.meta.revision = rev;
            let record = encode_session(&stored);
            let kind = if old.is_some() { ChangeKind::Updated } else { ChangeKind::Created };
            tx.changes.insert(&rev.to_be_bytes(), encode_change(kind, &record))?;
            tx.sessions.insert(id, record)?;
            Ok(rev)
        })
    }

    fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let id = id.as_str().as_bytes();
        self.write(|tx| {
            let Some(old) = tx.session(id)? else { return abort(StoreError::NotFound) };
            if let Err(e) = check_expect(
                Some(old.meta.revision),
                expect.map_or(Expect::Revision(old.meta.revision), Expect::Revision),
            ) {
                return abort(e);
            }
            for p in old.referenced_people() {
                tx.add_ref(&p, -1)?;
            }
            for (ix, k, _) in session_entries(&old) {
                tx.index(ix).remove(k)?;
            }
            let last = tx.sessions.remove(id)?.expect("read above in this transaction");
            let rev = tx.next_revision()?;
            tx.changes.insert(&rev.to_be_bytes(), encode_change(ChangeKind::Deleted, &last))?;
            Ok(rev)
        })
    }

    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        // The most selective index the filter allows; the rest is checked on the records.
        let (tree, prefix) = if let Some(p) = &filter.person {
            (&self.by_person, term(p.as_str()))
        } else if let Some(t) = &filter.tag {
            (&self.by_tag, term(t))
        } else if let Some(o) = &filter.organizer {
            (&self.by_organizer, term(o))
        } else {
            (&self.by_start, Vec::new())
        };
        let after = after.map(|c| key(&[&prefix, &time(c.start), c.id.as_str().as_bytes()]));
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.scan(tree, &prefix, filter.from, filter.to, after, |start, id, end| {
            if filter.from.is_some_and(|from| decode_time(end).is_some_and(|end| end <= from)) {
                return Ok(true);
            }
            let Some(bytes) = self.sessions.get(id)? else { return Ok(true) };
            let s = decode_session(&bytes)?;
            // A concurrent write may have moved the session; it is listed at its new place.
            if s.start == start && filter.matches(&s, |p| self.person_name(p)) {
                out.push(s);
            }
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.people.get(id.as_str())?.map(|b| decode_person(&b)).transpose()
    }

    fn put_person(&self, p: &Person, expect: Expect) -> Result<u64, StoreError> {
        let id = p.id.as_str().as_bytes();
        let name_key = key(&[&term(&p.name.to_lowercase()), id]);
        self.write(|tx| {
            let old = match tx.people.get(id)? {
                Some(b) => Some(decode_person(&b).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            if let Err(e) = check_expect(old.as_ref().map(|o| o.meta.revision), expect) {
                return abort(e);
            }
            if let Some(old) = &old {
                tx.people_by_name.remove(key(&[&term(&old.name.to_lowercase()), id]))?;
            }
            tx.people_by_name.insert(name_key.as_slice(), &[])?;
            let rev = tx.next_revision()?;
            let mut stored = p.clone();
            stored.meta.revision = rev;
            tx.people.insert(id, encode_person(&stored))?;
            Ok(rev)
        })
    }

    fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let id_bytes = id.as_str().as_bytes();
        self.write(|tx| {
            let Some(bytes) = tx.people.get(id_bytes)? else { return abort(StoreError::NotFound) };
            let old = decode_person(&bytes).map_err(ConflictableTransactionError::Abort)?;
            if let Some(r) = expect
                && r != old.meta.revision
            {
                return abort(StoreError::RevisionMismatch { current: old.meta.revision });
            }
            let refs = u64_of(tx.person_refs.get(id_bytes)?);
            if refs > 0 {
                return abort(StoreError::PersonInUse { sessions: refs });
            }
            tx.people_by_name.remove(key(&[&term(&old.name.to_lowercase()), id_bytes]))?;
            tx.people.remove(id_bytes)?;
            tx.next_revision()?;
            Ok(())
        })
    }

    fn list_people(&self, text: &str, after: Option<&PersonCursor>, limit: usize) -> Result<Vec<Person>, StoreError> {
        let lower = match after {
            Some(c) => Bound::Excluded(key(&[&term(&c.name), c.id.as_str().as_bytes()])),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for item in self.people_by_name.range::<Vec<u8>, _>((lower, Bound::Unbounded)) {
            if out.len() >= limit {
                break;
            }
            let (k, _) = item?;
            let id = k.rsplit(|&b| b == 0).next().unwrap_or_default();
            let Some(bytes) = self.people.get(id)? else { continue };
            let p = decode_person(&bytes)?;
            if text.is_empty() || p.matches_text(text) {
                out.push(p);
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
        let prefix = term(person.as_str());
        let after =
            after.map(|c| key(&[&prefix, &time(c.start), &term(c.session.as_str()), c.slot.as_str().as_bytes()]));
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut cached: Option<Session> = None;
        self.scan(&self.slots_by_person, &prefix, from, to, after, |_, rest, value| {
            if from.is_some_and(|from| decode_time(value).is_some_and(|end| end <= from)) {
                return Ok(true);
            }
            let mut parts = rest.splitn(2, |&b| b == 0);
            let (Some(session_id), Some(slot_id)) = (parts.next(), parts.next()) else {
                return Err(StoreError::Corrupt("malformed slots_by_person key".into()));
            };
            if cached.as_ref().is_none_or(|s| s.id.as_str().as_bytes() != session_id) {
                cached = match self.sessions.get(session_id)? {
                    Some(b) => Some(decode_session(&b)?),
                    None => return Ok(true),
                };
            }
            let session = cached.as_ref().expect("loaded above");
            let slot_id = std::str::from_utf8(slot_id).ok().and_then(|s| SlotId::parse(s).ok());
            let current = session.slots.iter().map(|s| (s, false));
            let removed = session.removed_slots.iter().map(|r| (&r.slot, true)).filter(|_| include_removed);
            let found = slot_id.and_then(|id| current.chain(removed).find(|(s, _)| s.id == id));
            if let Some((slot, removed)) = found {
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
                }
            }
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let key = token.token.as_bytes();
        let value = encode_feed_token(token);
        self.write(|tx| {
            if tx.feed_tokens.get(key)?.is_some() {
                return abort(StoreError::Exists);
            }
            tx.feed_tokens.insert(key, value.as_slice())?;
            Ok(())
        })
    }

    fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.feed_tokens.get(token)?.map(|b| decode_feed_token(&b)).transpose()
    }

    fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        self.write(|tx| match tx.feed_tokens.remove(token.as_bytes())? {
            Some(_) => Ok(()),
            None => abort(StoreError::NotFound),
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

    fn mark_invites_sent(&self, sent: &[SentInvite]) -> Result<(), StoreError> {
        let records: Vec<(Vec<u8>, &SentInvite)> = sent
            .iter()
            .map(|s| {
                let m = &s.message;
                (key(&[&term(m.session.as_str()), &term(m.slot.as_str()), m.person.as_str().as_bytes()]), s)
            })
            .collect();
        // Its own small transaction: one tree, no index to keep in step.
        let out = self
            .invites_sent
            .transaction(|tx| {
                for (k, s) in &records {
                    let keep_stored = match tx.get(k)? {
                        Some(b) => decode_sent_invite(&b).map_err(ConflictableTransactionError::Abort)?,
                        None => {
                            tx.insert(k.as_slice(), encode_sent_invite(s))?;
                            continue;
                        }
                    };
                    let newer = keep_stored.session_created != s.session_created
                        || keep_stored.message.sequence <= s.message.sequence;
                    if newer {
                        tx.insert(k.as_slice(), encode_sent_invite(s))?;
                    }
                }
                Ok(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::from(e),
            });
        out?;
        self.commit.wait_durable().map_err(StoreError::Backend)
    }

    fn sent_invites(&self, session: &SessionId) -> Result<Vec<SentInvite>, StoreError> {
        self.invites_sent.scan_prefix(term(session.as_str())).map(|item| decode_sent_invite(&item?.1)).collect()
    }

    fn revision(&self) -> Result<u64, StoreError> {
        Ok(u64_of(self.meta.get(K_REVISION)?))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let (writes, flushes) = self.commit.stats();
        Ok(StoreStats { size_bytes: self.db.size_on_disk()?, revision: self.revision()?, writes, flushes })
    }

    fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.check_resume(after)?;
        if upto <= after {
            return Ok(Vec::new());
        }
        let range = (after + 1).to_be_bytes()..=upto.to_be_bytes();
        let out = self
            .changes
            .range(range)
            .take(limit)
            .map(|item| {
                let (k, v) = item?;
                let rev =
                    u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::Corrupt("change key".into()))?);
                decode_change(rev, &v)
            })
            .collect::<Result<Vec<_>, _>>()?;
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
        let cut = self.revision()?.saturating_sub(keep);
        if cut < self.changes_from()? {
            return Ok(());
        }
        // Watchers are told first, then the entries go: a watcher never reads a silent gap.
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

    async fn mark_invites_sent(&self, sent: &[SentInvite]) -> Result<(), StoreError> {
        let sent = sent.to_vec();
        blocking(self, move |st| st.mark_invites_sent(&sent)).await
    }

    async fn sent_invites(&self, session: &SessionId) -> Result<Vec<SentInvite>, StoreError> {
        let session = session.clone();
        blocking(self, move |st| st.sent_invites(&session)).await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        SledStore::revision(self)
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
