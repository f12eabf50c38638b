//! Encoded gRPC answers, cached like the feeds are: GetSession, GetPerson and ListSessions
//! pages send protobuf bytes encoded once, for as long as no write could have changed them.
//!
//! **Validity.** An entry is filed under the value of [`Agenda::changes`] read *before* the
//! store was read to build it, and is served only while that counter still has that value.
//! Every write of this process bumps the counter before it is acknowledged, and every write of
//! another replica bumps it when its watch event arrives (`Store::follow`), so a read that
//! starts after a write's acknowledgement (or its event) never hits an entry built before it.
//! The rule is the feed cache's (`http/feeds.rs`): coarse (any write empties the cache), but it
//! costs one atomic load to check and cannot miss a dependency — a GetSession answer depends
//! on the session and on every person it names, which a per-record key would have to track.
//!
//! **Monotonic.** The counter above is bumped only after a write's records are visible: a miss
//! that read the store in between would file an answer the counter does not invalidate, older
//! than one someone already got. Ordering answers by their records' highest revision does not
//! close that for pages (a delete takes a session out of one) nor, under load, for GetSession
//! (its session and people are read one after the other: two answers can each hold a newer
//! record than the other; `cache::interleaved_writes_and_reads_never_return_an_older_etag_than_one_already_returned`
//! caught it). So on an engine that tracks it (both do), every answer is also tagged with the
//! store's settled revision ([`Agenda::settled_revision`]: every write up to it visible, no
//! later one begun), read before the store read and again after it; the answer is filed only
//! if it did not move (no write overlapped the read, so the answer is exactly that revision)
//! and served only while it has not moved (a write raises it before any of its records can be
//! read). On sled it is the applied revision while no write is in flight; on etcd the revision
//! the replica's local copy has applied, which every read there answers from (a watch
//! response is applied under one lock, and the revision raised before the lock is left). An
//! engine that cannot tell has no settled revision: its pages are not cached, and its
//! GetSession / GetPerson answers fall back to ordering by revision (an entry is replaced only
//! by an answer whose highest record revision is at least as high), which leaves the narrow
//! window above open there. A page's key is the request's encoding (filter, view, page size,
//! page token).
//!
//! **Current on every replica.** Before looking up an answer the cache calls
//! [`Agenda::catch_up`]: on etcd that waits until the local copy has every write acknowledged
//! anywhere (one shared linearizable read, then the watch), and moves the write counter with
//! it, so a hit on one replica is never older than a write acknowledged on another. On sled it
//! costs nothing.
//!
//! **What else the bytes depend on.** The feed URLs come from the server's public base URL
//! (one per server, like the cache); neither answer depends on the caller's token (the guard
//! decides whether it may read at all); the `agenda-stale` marker is a header the guard adds
//! to every answer, hit or miss. So an answer is the same for every caller of one server.
//!
//! **Bounded.** At most `max_entries` answers and `max_bytes` of them; past either, the oldest
//! entries go first (insertion order: a hit costs no bookkeeping). The sizes are on /metrics.
//!
//! How the bytes reach the wire is `codec.rs`'s concern.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tonic::Status;

use super::codec::Encoded;
use crate::app::Agenda;
use crate::metrics::Metrics;

/// The bounds of a [`ReadCache`] (configuration: `[cache]` `read_entries`, `read_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// Which answer an entry is: the method's kind and the record's id, or a page's request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Session(Box<str>),
    Person(Box<str>),
    /// A ListSessions request, as encoded.
    Sessions(Box<[u8]>),
}

/// One cached answer.
struct Entry {
    bytes: Bytes,
    /// The highest revision among the records the answer shows: a newer answer replaces an
    /// older one, never the reverse.
    revision: u64,
    /// Its place in the eviction queue; a queued key whose number differs was replaced since.
    seq: u64,
    /// A page's: the settled revision it shows, served only while the store's is that one.
    settled: Option<u64>,
}

/// The entries of one generation.
#[derive(Default)]
struct Inner {
    /// The value of [`Agenda::changes`] every entry was built under.
    generation: u64,
    entries: HashMap<Key, Entry>,
    /// Keys in insertion order, for eviction (oldest first).
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    next_seq: u64,
}

impl Inner {
    fn clear(&mut self, generation: u64) {
        self.generation = generation;
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

/// Encoded answers of GetSession and GetPerson, shared by both services of one server.
#[derive(Clone)]
pub struct ReadCache {
    agenda: Agenda,
    bounds: Bounds,
    metrics: Arc<Metrics>,
    /// A std mutex: held for a map lookup or insert, never across an await.
    inner: Arc<Mutex<Inner>>,
}

/// What a miss needs to file its answer: the generation read before the store was.
#[derive(Debug, Clone, Copy)]
struct Ticket(u64);

impl ReadCache {
    pub fn new(agenda: Agenda, bounds: Bounds, metrics: Arc<Metrics>) -> Self {
        let inner = Inner { generation: agenda.changes(), ..Inner::default() };
        Self { agenda, bounds, metrics, inner: Arc::new(Mutex::new(inner)) }
    }

    /// The cached answer for `key` if it is still valid; otherwise the ticket to file the
    /// answer the caller builds next (read before the store is).
    /// `settled` is the store's settled revision for a page's key (`None` for the others).
    fn get(&self, key: &Key, settled: Option<u64>) -> Result<Encoded, Ticket> {
        let now = self.agenda.changes();
        let mut inner = self.inner.lock().expect("read cache lock");
        if inner.generation == now {
            if let Some(e) = inner.entries.get(key).filter(|e| e.settled == settled) {
                self.metrics.read_cache_hit();
                return Ok(Encoded(e.bytes.clone()));
            }
        } else if inner.generation < now {
            // A write happened: nothing here can be served again, so the memory goes now.
            inner.clear(now);
            self.metrics.read_cache_size(0, 0);
        }
        drop(inner);
        self.metrics.read_cache_miss();
        Err(Ticket(now))
    }

    /// Files an answer built after `ticket` was taken, whose records' highest revision is
    /// `revision`, unless a write happened since (then it may already be stale) or an answer
    /// at least as new is there.
    fn put(&self, ticket: Ticket, key: Key, revision: u64, settled: Option<u64>, answer: &Encoded) {
        let size = answer.0.len();
        if size > self.bounds.max_bytes || self.bounds.max_entries == 0 {
            return;
        }
        let mut inner = self.inner.lock().expect("read cache lock");
        if ticket.0 < inner.generation || ticket.0 != self.agenda.changes() {
            return;
        }
        if ticket.0 > inner.generation {
            inner.clear(ticket.0);
        }
        if inner.entries.get(&key).is_some_and(|e| e.revision > revision) {
            return;
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if let Some(old) = inner.entries.insert(key.clone(), Entry { bytes: answer.0.clone(), revision, seq, settled })
        {
            inner.bytes -= old.bytes.len();
        }
        inner.bytes += size;
        inner.order.push_back((key, seq));
        while inner.bytes > self.bounds.max_bytes || inner.entries.len() > self.bounds.max_entries {
            let Some((k, s)) = inner.order.pop_front() else { break };
            if inner.entries.get(&k).is_some_and(|e| e.seq == s) {
                let gone = inner.entries.remove(&k).expect("present");
                inner.bytes -= gone.bytes.len();
            }
        }
        // Replaced keys leave stale queue items behind; keep the queue within the bound.
        if inner.order.len() > 2 * self.bounds.max_entries {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
        self.metrics.read_cache_size(inner.entries.len(), inner.bytes);
    }

    /// The answer for `key`: the cached bytes while valid, else what `build` makes (the
    /// message and the highest revision among its records), encoded once and filed. `build`
    /// is a future not yet polled, so it reads the store after the ticket is taken. On an
    /// engine with a settled revision the answer is filed and served by it, as a page is
    /// (the module's comment says why); elsewhere by the write counter and the revision.
    pub async fn answer<M: prost::Message>(
        &self,
        key: Key,
        build: impl Future<Output = Result<(M, u64), Status>>,
    ) -> Result<Encoded, Status> {
        self.agenda.catch_up().await?;
        if self.agenda.tracks_settled_revision() {
            return self.settled(key, async { Ok(build.await?.0) }).await;
        }
        let ticket = match self.get(&key, None) {
            Ok(hit) => return Ok(hit),
            Err(ticket) => ticket,
        };
        let (message, revision) = build.await?;
        let encoded = Encoded::of(&message);
        self.put(ticket, key, revision, None, &encoded);
        Ok(encoded)
    }

    /// A page's answer for `key`, as [`Self::answer`] but always by the store's settled
    /// revision: not cached on an engine that cannot tell.
    pub async fn page<M: prost::Message>(
        &self,
        key: Key,
        build: impl Future<Output = Result<M, Status>>,
    ) -> Result<Encoded, Status> {
        self.agenda.catch_up().await?;
        self.settled(key, build).await
    }

    /// The answer for `key` valid by the store's settled revision: read before `build` reads
    /// the store and again after; filed only if unchanged (no write overlapped the read, so
    /// the answer is exactly that revision), under it, and served only while it holds. Not
    /// cached while a write is in flight or when the store cannot tell.
    async fn settled<M: prost::Message>(
        &self,
        key: Key,
        build: impl Future<Output = Result<M, Status>>,
    ) -> Result<Encoded, Status> {
        let Some(settled) = self.agenda.settled_revision() else {
            self.metrics.read_cache_miss();
            return Ok(Encoded::of(&build.await?));
        };
        let ticket = match self.get(&key, Some(settled)) {
            Ok(hit) => return Ok(hit),
            Err(ticket) => ticket,
        };
        let encoded = Encoded::of(&build.await?);
        if self.agenda.settled_revision() == Some(settled) {
            self.put(ticket, key, settled, Some(settled), &encoded);
        }
        Ok(encoded)
    }
}
