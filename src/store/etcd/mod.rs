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
//! - **Reads are linearizable** (etcd's default): a read after a write sees it, on any member;
//!   without a quorum they fall back to a member's local copy (see "Quorum loss").
//! - **Roles** ([`Store::lead`], `leader`): the key `l/<role>` put under the holder's lease by
//!   a Txn with `create_revision == 0`; its create revision is the term's fencing token, which
//!   a fenced `record_invites` compares in its own Txn (refused: [`StoreError::Deposed`]).
//! - **Following the cluster** ([`Store::follow`]): one watch of the `m/rev` key, from the
//!   revision the caller knows, publishes each store revision any replica writes. When the
//!   stream breaks (a member goes away) it is opened again from the last revision seen, after
//!   a short pause that doubles up to a second; when that point was compacted meanwhile, the
//!   current revision is read and published (the revisions in between only matter to the
//!   change log, which a watcher reads anyway). It ends once nobody holds the receiver.
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
//! reachable member's local copy (a serializable read) and the store turns stale
//! ([`Store::stale_since`]) until a linearizable read succeeds again. While stale, a read
//! tries linearizably at most once per `STALE_PROBE_EVERY` (`read`) (the others go straight to the
//! local copy, not waiting out a timeout each). Writes need the quorum: they are refused with
//! [`StoreError::Unavailable`] once the deadline passes.
//!
//! # Queries
//!
//! In this first slice the queries (`list_sessions`, `list_people`, `person_slots`) read every
//! record of their kind (a paged range at one revision) and filter and sort in memory, with the
//! contract's orderings. A later step replaces the scan with an in-memory index that follows
//! the watch (the informer pattern), as the sled engine's indexes (`memindex`) do.
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
//! This file: the options, the type and its connection. `layout` (the keys above),
//! `envelope` (the request id kept with a written value), `failover` (attempts, deadlines,
//! retries), `read` (linearizable reads, the stale fallback, scans at one revision), `write`
//! (one Txn per write, and how a refused one explains itself), `query` (the three queries),
//! `changes` (the change log as etcd's history, compaction), `follow` (the watch of `m/rev`),
//! `leader` (one holder per role: a lease-held key, its fencing token) and `adapter` (the [`Store`] trait, each call with its failover).
//!
//! Where the in-memory index will land: a field of [`EtcdStore`], listed once by `read`'s
//! scan at one revision and kept by a watch from that revision (`follow` shows how to resume
//! one, `changes` how to read each event's record); `query` then reads it instead of
//! scanning, as the sled engine's `query` reads `memindex`.

mod adapter;
mod changes;
mod envelope;
mod failover;
mod follow;
mod layout;
mod leader;
mod query;
mod read;
mod write;

use etcd_client::{Client, ConnectOptions, KvClient};

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
/// (The in-memory index, when it comes, is a field here: see the module documentation.)
pub struct EtcdStore {
    client: Client,
    /// Where each record lives in the cluster.
    keys: Keys,
    /// The cluster's `--max-txn-ops`, which a write is checked against before it is sent.
    max_txn_ops: usize,
    /// Whether reads are answered from a member's local copy because the cluster cannot
    /// answer linearizably (quorum lost): see "Quorum loss" in the module documentation.
    stale: std::sync::Mutex<Staleness>,
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
        let client = Client::connect(endpoints, Some(connect)).await.map_err(backend)?;
        Ok(Self {
            client,
            keys: Keys::new(&options.prefix),
            max_txn_ops: options.max_txn_ops,
            stale: std::sync::Mutex::default(),
        })
    }

    /// The store behind the contract's trait object.
    pub fn shared(self) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self)
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
