//! The sled engine: the [`Store`](super::Store) contract on one sled database directory,
//! which one server process holds.
//!
//! Layout (format 2): one sled database directory with these trees (values are postcard
//! records, see `records`):
//!
//! | tree           | key                                   | value                          |
//! |----------------|---------------------------------------|--------------------------------|
//! | `meta`         | `format_version` / `revision` / `changes_from` | u32 / u64 / u64, big-endian |
//! | `sessions`     | session id                            | `SessionRecord` + `SessionTail` |
//! | `people`       | person id                             | `PersonRecord`                 |
//! | `changes`      | revision (u64, big-endian)            | `LogEntry`: tag byte + record (or person id) |
//! | `feed_tokens`  | secret token                          | `FeedTokenRecord`              |
//! | `invites_sent` | `session\0 slot\0 person`             | `SentInviteRecord` + tail (outbox) |
//! | `requests`     | `i`/`r`/`t` + request id, revision, time (`requests`) | a request id's first result (AIP-155) |
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
//! **Indexes live in memory** (`memindex`, the informer pattern): built at open, then
//! maintained by the write path under the sequencer. Queries read candidate keys there, in
//! batches under a read lock, and the records from sled outside it. At open they are read from
//! the index file that the last clean stop wrote (`index_file`: trusted only while the store's
//! revision and last log entry are still the ones it names), or else listed from the records
//! (a new store, a crash, writes after the file, a damaged file). Listing every record through
//! sled leaves about 180 MB resident at 100,000 sessions that its cache setting does not
//! bound; the file avoids it.
//!
//! # Where each part lives
//!
//! This file: the type, [`SledStore::open`] and the helpers around a whole store (flush,
//! checkpoint, figures). `write` (the sequencer and every write), `query` (reads and the
//! index-driven queries), `changes` (the change log: reading, pruning), `recovery` (finishing
//! the writes a crash cut short), `index_file` (the indexes written at a clean stop, read at
//! open), `migrate_v1` (format 1 to 2), `verify` (`agenda check`) and
//! `requests` (request ids and their first results, AIP-155), `stopped` (after a failed flush: writes refused, writes of unknown outcome hidden) and
//! `adapter` (the async `Store` on the blocking pool).

mod adapter;
mod changes;
mod index_file;
mod migrate_v1;
mod query;
mod recovery;
mod requests;
mod stopped;
mod verify;
mod write;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sled::Tree;

use super::crash;
use super::group_commit::GroupCommit;
use super::memindex::Indexes;
use super::records::{decode_person, session_doc};
use super::{StoreError, StoreStats};
use index_file::Header;
pub use index_file::{IndexFileError, IndexSource};

/// The stored format this build reads and writes. Bump it (and add a migration at open) for
/// any change to `records` or to the layout above.
const FORMAT_VERSION: u32 = 2;

/// sled's page cache, in bytes of cached pages (sled's own estimate; the heap it takes is
/// larger). sled's default (1 GiB) lets a process reading across a large store grow past a
/// gigabyte; records missing from the cache are read from the file (the OS page cache), so
/// a smaller cache costs little while the hot set (recent sessions, their people) fits.
/// sled 0.34 does not keep to it: listing the 100,000-session store at open leaves about
/// 180 MB resident whether it is 1, 8 or 64 MiB; under the read sweep 8 MiB peaked about
/// 13 MB lower than 64 MiB (BENCHMARKS.md: resident memory under load). The default of the
/// `cache.sled_bytes` setting ([`SledStore::DEFAULT_CACHE_BYTES`]).
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

const K_FORMAT: &[u8] = b"format_version";
/// The recovery watermark: every write up to this revision is applied.
const K_REVISION: &[u8] = b"revision";
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
    /// Request ids with their first results (`requests`).
    requests: Tree,
    /// The indexes, and the sequencer: a write of a session or person holds the write lock
    /// while it takes its revision, inserts its log entry and record, and updates the indexes,
    /// so revisions, sled's operation order and the indexes all follow one order.
    ix: RwLock<Indexes>,
    /// Where the open took the indexes from (`index_file`).
    index_source: IndexSource,
    /// The last revision applied (entry, record and indexes); shared with the flusher, which
    /// stores it as the recovery watermark.
    revision: Arc<AtomicU64>,
    /// The last revision a write began to apply (taken before its log entry is inserted):
    /// equal to `revision` while no write is in flight. With it a reader can tell that
    /// nothing it read came from a write not yet published (see `settled_revision`).
    begun: AtomicU64,
    /// Writes of sessions and people since open, for the crash hook.
    writes: AtomicU64,
    /// The watermark the last successful flush stored: every write up to it is durable.
    /// Shared with the flusher, which raises it.
    flushed: Arc<AtomicU64>,
    /// Set once a flush failed (`stopped`): what is hidden and why. Read only while `halted`.
    stopped: RwLock<Option<stopped::Stopped>>,
    /// Whether `stopped` is set: one atomic load on each read and write until then.
    halted: AtomicBool,
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
                1 => migrate_v1::migrate(&db, &meta)?,
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
        let finished = recovery::recover(&sessions, &people, &changes, watermark)?;
        if finished > 0 {
            tracing::info!(finished, after = watermark, "finished writes a crash cut short");
        }
        let last_logged = match changes.last()? {
            Some((k, _)) => revision_key(&k)?,
            None => 0,
        };
        let requests = db.open_tree("requests")?;
        let orphans = requests::drop_orphans(&requests, last_logged)?;
        if orphans > 0 {
            tracing::info!(orphans, "dropped request ids whose write a crash cut before its log entry");
        }
        let revision = watermark.max(last_logged);
        let started = std::time::Instant::now();
        let (ix, index_source) = match index_file::read(path, Header::of(revision, &changes)?) {
            Ok(ix) => (ix, IndexSource::File),
            Err(why) => (load_indexes(&sessions, &people)?, IndexSource::Records(why)),
        };
        let (sessions_indexed, bytes, seconds) =
            (ix.session_count(), ix.approx_bytes(), started.elapsed().as_secs_f64());
        match &index_source {
            IndexSource::File => {
                tracing::info!(sessions = sessions_indexed, bytes, seconds, "indexes read from the index file")
            }
            IndexSource::Records(why) => {
                tracing::info!(sessions = sessions_indexed, bytes, seconds, why = %why, "indexes built from the records")
            }
        }
        let revision = Arc::new(AtomicU64::new(revision));
        let flushed = Arc::new(AtomicU64::new(revision.load(Ordering::Acquire)));
        let (flusher_db, flusher_meta, applied) = (db.clone(), meta.clone(), Arc::clone(&revision));
        let good = Arc::clone(&flushed);
        let commit = GroupCommit::start(Box::new(move || {
            if let Some(injected) = crash::injected_flush_failure() {
                return Err(injected);
            }
            let watermark = applied.load(Ordering::Acquire);
            flusher_meta.insert(K_REVISION, &watermark.to_be_bytes()).map_err(|e| e.to_string())?;
            flusher_db.flush().map_err(|e| e.to_string())?;
            good.fetch_max(watermark, Ordering::AcqRel);
            Ok(())
        }));
        Ok(Self {
            feed_tokens: db.open_tree("feed_tokens")?,
            invites_sent: db.open_tree("invites_sent")?,
            sessions,
            people,
            changes,
            requests,
            meta,
            db,
            ix: RwLock::new(ix),
            index_source,
            begun: AtomicU64::new(revision.load(Ordering::Acquire)),
            revision,
            writes: AtomicU64::new(0),
            flushed,
            stopped: RwLock::new(None),
            halted: AtomicBool::new(false),
            path: path.to_owned(),
            commit,
        })
    }

    /// The indexes, for a query.
    fn read_ix(&self) -> RwLockReadGuard<'_, Indexes> {
        self.ix.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The indexes, for a writer: taking this lock is entering the sequencer.
    fn write_ix(&self) -> RwLockWriteGuard<'_, Indexes> {
        self.ix.write().unwrap_or_else(PoisonError::into_inner)
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
    /// at shutdown; writes are already durable when acknowledged). Refused once a flush has
    /// failed (`stopped`): no flush after a failed one, the next open recovers from the log.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.refuse_if_stopped()?;
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
    ///
    /// It also writes the index file (`index_file`), so the next open reads the indexes from
    /// it instead of listing every record; when that fails the next open lists them, as after
    /// a crash.
    pub fn checkpoint(self) -> Result<(), StoreError> {
        self.flush()?;
        if let Err(e) = self.save_index() {
            tracing::warn!(error = %e, "writing the index file failed; the next start lists every record");
        }
        let path = self.path.clone();
        drop(self);
        drop(Self::open(&path)?);
        Ok(())
    }

    /// Writes the index file as of now (see `index_file`), holding writes off meanwhile so the
    /// indexes, the revision and the last log entry it names agree. Returns its size in bytes.
    /// [`SledStore::checkpoint`] calls it; a process that cannot checkpoint (the store still
    /// shared) may call it after its last write. A write after it makes the file stale, which
    /// the next open sees.
    pub fn save_index(&self) -> Result<u64, IndexFileError> {
        let ix = self.read_ix();
        self.refuse_if_stopped()?;
        let header = Header::of(self.revision.load(Ordering::Acquire), &self.changes)?;
        let started = std::time::Instant::now();
        let bytes = index_file::write(&self.path, header, &ix)?;
        tracing::info!(
            bytes,
            revision = header.revision,
            seconds = started.elapsed().as_secs_f64(),
            "index file written"
        );
        Ok(bytes)
    }

    /// Where this open took the indexes from: the index file, or every record (and why).
    pub fn index_source(&self) -> &IndexSource {
        &self.index_source
    }

    pub(super) fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.revision.load(Ordering::Acquire))
    }

    /// The applied revision when no write is in flight; see [`super::Store::settled_revision`].
    pub(super) fn settled(&self) -> Option<u64> {
        if self.halted.load(Ordering::Acquire) {
            return None; // Cached answers may show hidden writes: none is served or filed.
        }
        let begun = self.begun.load(Ordering::SeqCst);
        (self.revision.load(Ordering::SeqCst) == begun).then_some(begun)
    }

    pub(super) fn stats(&self) -> Result<StoreStats, StoreError> {
        let (writes, flushes) = self.commit.stats();
        Ok(StoreStats {
            size_bytes: self.db.size_on_disk()?,
            revision: self.revision()?,
            writes,
            flushes,
            index_bytes: self.index_size().0,
            index_from_file: matches!(self.index_source, IndexSource::File),
        })
    }
}

/// Lists every record into fresh indexes, reading of each session only its index fields: the
/// open's way when the index file cannot be used.
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
