//! The etcd engine (feature `etcd`): the [`Store`] contract on an etcd v3 cluster, for
//! deployments that run several `agenda` servers on one replicated store.
//!
//! # Mapping
//!
//! Every key lives under `<prefix>a1/` (`a1`: the layout's version; the prefix lets several
//! stores share a cluster). Values are the records of `store/records/`, as in the sled engine.
//!
//! | key                              | value                                   |
//! |----------------------------------|-----------------------------------------|
//! | `a1/s/<session>`                 | the session                             |
//! | `a1/p/<person>`                  | the person                              |
//! | `a1/r/<person>\0<session>`       | empty: `session` names `person`         |
//! | `a1/t/<token>`                   | the feed token                          |
//! | `a1/i/<session>\0<slot>\0<person>` | the last invite sent                  |
//! | `a1/m/rev`                       | empty: its `mod_revision` is [`Store::revision`] |
//! | `a1/m/compacted`                 | the revision [`Store::prune_changes`] compacted at |
//! | `a1/l/<role>`                    | the replica holding the role, under its lease (`leader`) |
//! | `a1/q/<request id>`              | a request id's first result (AIP-155, `requests`) |
//! | `a1/qt/<time><request id>`       | empty: the order the kept results are swept in |
//!
//! - **Revisions.** A record's revision (its etag) is its key's `mod_revision`, filled into
//!   `meta.revision` on every read; the stored bytes' own revision is ignored. Every session or
//!   person write also puts `m/rev` in its Txn, so the store revision is that key's
//!   `mod_revision`: the last session or person write, whatever else shares the cluster.
//! - **Each write is one Txn** whose compares carry the contract: `create_revision == 0` for
//!   [`Expect::Absent`](super::Expect::Absent), `mod_revision == r` for [`Expect::Revision`](super::Expect::Revision), `version > 0` on every
//!   person a session names, and, to delete a person, `version == 0` over the key range
//!   `r/<person>\0`: an empty range compares as a zero key-value, so the compare holds exactly
//!   when no session names the person (checked against etcd 3.4 by the contract tests). A Txn
//!   that fails runs its `else` branch, which reads the keys that explain why: a Txn whose
//!   answer matters always carries an operation, so a lagging member cannot answer it.
//! - **The change log is etcd's history**: [`Store::changes`] watches the prefix from
//!   `after + 1` with the previous key-values (a deletion's last state) and stops at the
//!   first event past `upto` or at the store revision, which `m/rev` guarantees an event at.
//!   [`Store::prune_changes`] compacts the cluster; a watch below the compaction point is
//!   cancelled by etcd and answered with [`StoreError::Compacted`]. Compaction is cluster-wide:
//!   stores sharing a cluster share it, and `changes_from` (the point this store compacted at,
//!   kept in `m/compacted`) can then be older than the cluster's; a resume below the cluster's
//!   point is still refused as compacted (naming etcd's point), never answered with a gap.
//! - **Reads see every acknowledged write, on any replica**: records and feed tokens read
//!   from etcd are linearizable reads (etcd's default); sessions and people are read from the
//!   local copy once it has caught up (see "Reads"). Without a quorum both fall back to what
//!   the replica has (see "Quorum loss").
//! - **Roles** ([`Store::lead`], `leader`): the key `l/<role>` put under the holder's lease by
//!   a Txn with `create_revision == 0`; its create revision is the term's fencing token, which
//!   a fenced `record_invites` compares in its own Txn (refused: [`StoreError::Deposed`]).
//! - **Following the cluster** ([`Store::follow`]): the local copy's one watch (see "The local
//!   copy") reports each revision it applies, whichever replica wrote it; there is no other
//!   watch per process but the change log's, which a watcher opens while it reads.
//!
//! # Failover
//!
//! The client is given every endpoint and spreads calls over them. An attempt that a member
//! cannot answer (no connection, no leader, no answer within [`ATTEMPT_TIMEOUT`](failover::ATTEMPT_TIMEOUT)) is
//! [`StoreError::Unavailable`] and is retried, with a doubling pause, until
//! `FAILOVER_DEADLINE` (`failover`); the next attempt reaches another member. A failed attempt at a write
//! is ambiguous (the Txn may have applied), so every write call draws a random request id and
//! keeps it with what it writes: the stored value is an envelope (`0`, the 16-byte id, the
//! record; a bare record from before still reads, since a record never starts with `0`), and
//! `m/rev`'s value is the id of the last session or person write. A retry recognises its own
//! first attempt before writing again: the record (or, for a delete, `m/rev`) holds its id, so
//! it answers with that revision instead of writing twice or reporting `Exists` or a revision
//! mismatch caused by itself. A delete whose first attempt applied and was then followed by
//! another write before the retry reports `NotFound` (the record is gone either way).
//!
//! # Quorum loss
//!
//! A read first tries linearizably; when the cluster cannot answer that way it reads a
//! reachable member's local copy (a serializable read; for sessions and people, the
//! consistent-read check does so and then serves the replica's own copy as it is, without
//! waiting) and the store turns stale
//! ([`Store::stale_since`]) until a linearizable read succeeds again. While stale, a read
//! tries linearizably at most once per `STALE_PROBE_EVERY` (`read`) (the others go straight to the
//! local copy, not waiting out a timeout each). Writes need the quorum: they are refused with
//! [`StoreError::Unavailable`] once the deadline passes.
//!
//! # The local copy (the informer)
//!
//! Every replica keeps the sled engine's in-memory indexes (`memindex::Indexes`, fed the same
//! `memindex::Doc`s) and the stored bytes of every session and person with its revision
//! (`copy`), as Kubernetes' client-go informer keeps its cache (`informer`): at connect, one
//! paginated range read of the sessions and people at one revision; then one watch of the whole
//! store prefix from the next revision, each response applied under one turn of the copy's
//! lock (its puts and deletes: a delete's last state is in the copy already, so the watch needs
//! no previous key-values), the applied revision raised before the lock is left. When the
//! watch breaks it is opened again from the applied revision, after a short pause that doubles
//! up to a second; when that point was compacted meanwhile, etcd cancels the watch and the copy
//! is listed again at the current revision and replaced whole. [`EtcdStore::verify`] compares
//! the copy with a fresh list at its applied revision (the etcd side of `agenda check`).
//!
//! **Record bodies are kept in memory, encoded.** Fetching them by key would cost every page
//! one more etcd round trip (a Range per key, or a Txn of gets, at most `--max-txn-ops` of
//! them) and would read a newer revision than the indexes', so a page would mix two revisions
//! and the settled-revision cache rule (below) would not hold; in memory, a query is answered
//! in one turn of one lock, at exactly the applied revision, without etcd. The price, at the
//! scale preset's 100,000 sessions: the indexes' own estimate is 63.5 MB (BENCHMARKS.md), and a
//! generated session's record is about 2 KB (its protobuf, 1,996 bytes on average; postcard is
//! no larger), so about 200 MB of record bytes plus about 10 MB of map entries: roughly 275 MB
//! per replica, the size of etcd's own copy of the records. Decoded sessions would take about
//! three times that. `agenda_store_index_bytes` reports the copy's estimate (indexes and
//! bytes); `scripts/bench-etcd` printed 26.7 MB for its 10,000 sessions (6.5 MB of indexes,
//! 20.2 MB of records), which scales to about 270 MB (BENCHMARKS.md, "etcd engine").
//!
//! # Reads
//!
//! `list_sessions`, `list_people`, `person_slots`, `get_session` and `get_person` read the copy,
//! by the same functions as the sled engine (`store/indexed.rs`), under one turn of its read
//! lock. First they make sure it holds every write acknowledged before the read began
//! (KEP-2340's consistent reads from cache, `consistent`): one linearizable read of `m/rev`
//! learns the revision of the store's last session or person write, and the read waits until
//! the copy has applied it (the watch delivers an event at it, since that write put `m/rev`;
//! no progress notification is needed, and other prefixes sharing the cluster do not matter).
//! That linearizable read is shared as etcd's ReadIndex batches its own: one is in flight at a
//! time, and every read that arrives meanwhile waits for the next one, which then answers them
//! all. A read therefore costs at most one etcd call (a Range of one key), and under
//! concurrency a fraction of one (`scripts/bench-etcd` counts them); the rest is memory. The
//! read caches (`api/cache.rs`, the pages' `http/cache.rs`) call [`Store::catch_up`] first
//! for the same reason, so a cached answer on one replica is never older than a write
//! acknowledged on another: through a cache, a hit costs that one call and a miss two (the
//! cache's, then the store read's own; both shared with whatever else is waiting). The
//! feeds do not: they are sent with `max-age` (any HTTP cache may serve them that stale), so
//! a replica serves its cached feed as the watch left it, milliseconds behind, from memory. Feed tokens and invite records are not in the copy: they are read from etcd,
//! linearizably, as before.
//!
//! **Settled revision.** The copy's applied revision is what a read of it sees exactly, so it
//! is [`Store::settled_revision`] on etcd too, and the read cache keeps ListSessions pages on
//! etcd under the same rule as on sled.
//!
//! # Limits the cluster must allow
//!
//! A session write is one Txn of `1 + P` compares (the record, each named person) and at most
//! `2 + A + R` operations (record, `m/rev`, references added and removed), where `P` is the
//! number of people it names. etcd refuses a Txn over `--max-txn-ops` (default 128) and a
//! request over `--max-request-bytes` (default 1.5 MiB); [`txn_ops_needed`] gives the bound for
//! a number of people, and a write over the configured [`EtcdOptions::max_txn_ops`] is refused
//! before it is sent, with an error that names the flag.
//!
//! # Where each part lives
//!
//! This file: the options, the type, its connection (which lists the copy and starts the
//! informer) and `verify`. `layout` (the keys above), `envelope` (the request id kept with a
//! written value), `failover` (attempts, deadlines, retries), `read` (linearizable reads, the
//! stale fallback, scans at one revision), `write` (one Txn per write, and how a refused one
//! explains itself), `copy` (the local copy: indexes and record bytes at one revision),
//! `informer` (list, watch, list again), `consistent` (the shared linearizable read a read
//! from the copy waits behind), `query` (the reads answered from the copy), `changes` (the
//! change log as etcd's history, compaction), `leader` (one holder per role: a lease-held
//! key, its fencing token) and `adapter` (the [`Store`] trait, each call with its failover).

mod adapter;
mod changes;
mod consistent;
mod copy;
mod envelope;
mod failover;
mod informer;
mod layout;
mod leader;
mod query;
mod read;
mod requests;
mod write;

use etcd_client::{Client, ConnectOptions, KvClient};

use self::consistent::Rounds;
use self::copy::LocalCopy;
use self::failover::backend;
use self::layout::Keys;
use self::read::Staleness;
use super::{Store, StoreError};
use crate::secret::Secret;

/// etcd's own default `--max-txn-ops`.
pub const ETCD_DEFAULT_MAX_TXN_OPS: usize = 128;

/// How to reach the cluster and where in it the store lives.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Prepended to every key (then the layout version `a1/`): several stores, or test runs,
    /// can share one cluster.
    pub prefix: String,
    /// The cluster's `--max-txn-ops`: a session write that needs more is refused before it is
    /// sent, with an error that says which flag to raise.
    pub max_txn_ops: usize,
    /// User name and password, for a cluster with authentication on; the password a
    /// [`Secret`], so that `Debug` of the options does not show it.
    pub user: Option<(String, Secret)>,
    /// The CA certificate (PEM) that signed the members' certificates: `https` endpoints.
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self { prefix: String::new(), max_txn_ops: ETCD_DEFAULT_MAX_TXN_OPS, user: None, ca_pem: None }
    }
}

/// The most Txn operations (or compares) a session write naming `people` people needs: the
/// record and `m/rev`, plus one reference per person added and removed, in the worst case
/// all of them replaced.
pub fn txn_ops_needed(people: usize) -> usize {
    2 + 2 * people
}

/// The etcd engine. Cheap to clone clients are taken per call: tonic channels multiplex.
pub struct EtcdStore {
    client: Client,
    /// Where each record lives in the cluster.
    keys: Keys,
    /// The cluster's `--max-txn-ops`, which a write is checked against before it is sent.
    max_txn_ops: usize,
    /// Whether reads are answered from a member's local copy because the cluster cannot
    /// answer linearizably (quorum lost): see "Quorum loss" in the module documentation.
    stale: std::sync::Mutex<Staleness>,
    /// The sessions and people with their indexes, kept by the informer: the queries and point
    /// reads of sessions and people answer from it (see "The local copy" and "Reads").
    copy: std::sync::Arc<LocalCopy>,
    /// The shared linearizable read a read from the copy waits behind (`consistent`).
    rounds: Rounds,
    /// The informer's task, which ends with the store.
    informer: tokio::task::AbortHandle,
    /// Writes of sessions and people since connect, for the crash hook (`store::crash`): on
    /// etcd only its `after-flush` step exists, after the quorum acknowledged the write and
    /// before it is answered.
    writes: std::sync::atomic::AtomicU64,
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        self.informer.abort();
    }
}

impl EtcdStore {
    /// Connects to the cluster at `endpoints` (`host:port`, or `http(s)://host:port`).
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<Self, StoreError> {
        let mut connect = ConnectOptions::new();
        if let Some((user, password)) = &options.user {
            connect = connect.with_user(user.clone(), password.expose().to_owned());
        }
        if let Some(ca) = &options.ca_pem {
            let tls = etcd_client::TlsOptions::new().ca_certificate(etcd_client::Certificate::from_pem(ca));
            connect = connect.with_tls(tls);
        }
        super::crash::arm_from_env();
        let client = Client::connect(endpoints, Some(connect)).await.map_err(backend)?;
        let keys = Keys::new(&options.prefix);
        let (contents, at) = informer::list(&client, &keys).await?;
        let copy = std::sync::Arc::new(LocalCopy::new(contents, at));
        let task = tokio::spawn(informer::follow(client.clone(), keys.clone(), std::sync::Arc::clone(&copy)));
        Ok(Self {
            client,
            keys,
            max_txn_ops: options.max_txn_ops,
            stale: std::sync::Mutex::default(),
            copy,
            rounds: Rounds::default(),
            informer: task.abort_handle(),
            writes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Compares the local copy (its indexes and records) with a fresh list of the store at the
    /// revision the copy has applied, after catching up: one line per difference, none when
    /// the copy is what a recomputation gives (the etcd side of `agenda check`'s index check).
    pub async fn verify(&self) -> Result<Vec<String>, StoreError> {
        self.catch_up().await?;
        let (at, live) = self.copy.canonical();
        let (fresh, _) = informer::list_at(&self.client, &self.keys, at).await?;
        Ok(copy::Canonical::differences(&live, &fresh.canonical()))
    }

    /// The store behind the contract's trait object.
    pub fn shared(self) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self)
    }

    /// Passes a write's result through the crash hook's `after-flush` step: the write is in
    /// the quorum's log, its caller not yet answered.
    fn acknowledged<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_ok() {
            let n = self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            super::crash::at(super::crash::Step::AfterFlush, n, || {});
        }
        result
    }

    fn kv(&self) -> KvClient {
        self.client.kv_client()
    }
}

/// etcd revisions are `i64` on the wire and never negative.
fn rev(r: i64) -> u64 {
    u64::try_from(r).unwrap_or(0)
}

fn wire(r: u64) -> i64 {
    i64::try_from(r).unwrap_or(i64::MAX)
}

/// The store revision of a response header (etcd always sends one).
fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> u64 {
    header.map_or(0, |h| rev(h.revision()))
}
