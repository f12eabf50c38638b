//! The etcd engine (feature `etcd`): the [`Store`] contract on an etcd v3 cluster, for
//! deployments that run several `agenda` servers on one replicated store.
//!
//! # Mapping
//!
//! Every key lives under `<prefix>a1/` (`a1`: the layout's version; the prefix lets several
//! stores share a cluster). Values are the records of `records.rs`, as in the sled engine.
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
//!
//! - **Revisions.** A record's revision (its etag) is its key's `mod_revision`, filled into
//!   `meta.revision` on every read; the stored bytes' own revision is ignored. Every session or
//!   person write also puts `m/rev` in its Txn, so the store revision is that key's
//!   `mod_revision`: the last session or person write, whatever else shares the cluster.
//! - **Each write is one Txn** whose compares carry the contract: `create_revision == 0` for
//!   [`Expect::Absent`], `mod_revision == r` for [`Expect::Revision`], `version > 0` on every
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
//! cannot answer (no connection, no leader, no answer within [`ATTEMPT_TIMEOUT`]) is
//! [`StoreError::Unavailable`] and is retried, with a doubling pause, until
//! [`FAILOVER_DEADLINE`]; the next attempt reaches another member. A failed attempt at a write
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
//! tries linearizably at most once per [`STALE_PROBE_EVERY`] (the others go straight to the
//! local copy, not waiting out a timeout each). Writes need the quorum: they are refused with
//! [`StoreError::Unavailable`] once the deadline passes.
//!
//! # Queries
//!
//! In this first slice the queries (`list_sessions`, `list_people`, `person_slots`) read every
//! record of their kind (a paged range at one revision) and filter and sort in memory, with the
//! contract's orderings. A later step replaces the scan with an in-memory index that follows
//! the watch (the informer pattern), as the sled engine's indexes do on disk.
//!
//! # Limits the cluster must allow
//!
//! A session write is one Txn of `1 + P` compares (the record, each named person) and at most
//! `2 + A + R` operations (record, `m/rev`, references added and removed), where `P` is the
//! number of people it names. etcd refuses a Txn over `--max-txn-ops` (default 128) and a
//! request over `--max-request-bytes` (default 1.5 MiB); [`txn_ops_needed`] gives the bound for
//! a number of people, and a write over the configured [`EtcdOptions::max_txn_ops`] is refused
//! before it is sent, with an error that names the flag.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, GetResponse, KeyValue, KvClient, Txn, TxnOp,
    TxnOpResponse, TxnResponse, WatchOptions,
};

use super::keys::{prefix_end, term};
use super::records::{
    decode_feed_token, decode_person, decode_sent_invite, decode_session, encode_feed_token, encode_person,
    encode_sent_invite, encode_session,
};
use super::{Expect, Store, StoreError, StoreStats};
use crate::domain::{
    Attempt, Change, ChangeKind, FeedToken, InviteRecord, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor,
    Session, SessionCursor, SessionFilter, SessionId, Timestamp,
};
use crate::secret::Secret;

/// Records read per page when a query scans a prefix: small enough for etcd's default
/// response size, large enough that a scan is few round trips.
const PAGE: i64 = 500;

/// The longest pause before the follower opens its watch again after an error.
const FOLLOW_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How long one attempt of a call may take before it counts as failed (and, for a write,
/// ambiguous): long enough for a loaded member's fsync, short enough that a call stuck on a
/// member without a leader moves on to another one.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a call keeps retrying on other members before it reports the store unavailable:
/// an election after a leader is lost takes one to two seconds with etcd's default timings.
const FAILOVER_DEADLINE: Duration = Duration::from_secs(8);

/// The first pause between attempts; it doubles up to [`RETRY_BACKOFF_MAX`].
const RETRY_BACKOFF: Duration = Duration::from_millis(25);
const RETRY_BACKOFF_MAX: Duration = Duration::from_millis(400);

/// The first byte of an enveloped value. Records are postcard structs that open with their
/// id's length, never 0 (ids are not empty), so a bare record from before the envelope never
/// starts with it.
const ENVELOPE: u8 = 0;

/// Bytes of a write's request id.
const REQUEST_ID_LEN: usize = 16;

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
    keys: Keys,
    max_txn_ops: usize,
    /// Whether reads are answered from a member's local copy because the cluster cannot
    /// answer linearizably (quorum lost): see "Quorum loss" in the module documentation.
    stale: std::sync::Mutex<Staleness>,
}

/// Since when reads have been stale, and when a linearizable read was last tried meanwhile.
#[derive(Debug, Default)]
struct Staleness {
    since: Option<std::time::SystemTime>,
    probed: Option<tokio::time::Instant>,
}

/// While stale, a read tries linearizably again at most this often (a linearizable read on a
/// member without a leader waits out [`ATTEMPT_TIMEOUT`]); the others go straight to the
/// local copy.
const STALE_PROBE_EVERY: Duration = Duration::from_secs(1);

/// The key layout (see the module documentation).
#[derive(Debug, Clone)]
struct Keys {
    /// `<prefix>a1/`.
    root: Vec<u8>,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self { root: format!("{prefix}a1/").into_bytes() }
    }

    fn key(&self, kind: &str, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = self.root.clone();
        k.extend_from_slice(kind.as_bytes());
        k.push(b'/');
        for p in parts {
            k.extend_from_slice(p);
        }
        k
    }

    fn session(&self, id: &SessionId) -> Vec<u8> {
        self.key("s", &[id.as_str().as_bytes()])
    }

    fn person(&self, id: &PersonId) -> Vec<u8> {
        self.key("p", &[id.as_str().as_bytes()])
    }

    fn reference(&self, person: &PersonId, session: &SessionId) -> Vec<u8> {
        self.key("r", &[&term(person.as_str()), session.as_str().as_bytes()])
    }

    /// Every reference to `person`: the range the in-use compare runs over.
    fn references_of(&self, person: &PersonId) -> Vec<u8> {
        self.key("r", &[&term(person.as_str())])
    }

    fn token(&self, token: &str) -> Vec<u8> {
        self.key("t", &[token.as_bytes()])
    }

    fn invite(&self, attempt: &Attempt) -> Vec<u8> {
        let m = &attempt.message;
        self.key("i", &[&term(m.session.as_str()), &term(m.slot.as_str()), m.person.as_str().as_bytes()])
    }

    fn invites_of(&self, session: &SessionId) -> Vec<u8> {
        self.key("i", &[&term(session.as_str())])
    }

    fn revision(&self) -> Vec<u8> {
        self.key("m", &[b"rev"])
    }

    fn compacted(&self) -> Vec<u8> {
        self.key("m", &[b"compacted"])
    }
}

/// The end of the range of keys starting with `prefix` (ours never end in 0xff bytes only).
fn end_of(prefix: &[u8]) -> Vec<u8> {
    prefix_end(prefix).unwrap_or_else(|| vec![0])
}

/// An etcd error as the contract's: what another member may answer differently (no
/// connection, no leader, a timeout) is [`StoreError::Unavailable`], which [`EtcdStore`]
/// retries; anything else is the cluster's final answer.
fn backend(e: etcd_client::Error) -> StoreError {
    use tonic::Code;
    let retryable = match &e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Aborted
        ),
        _ => false,
    };
    if retryable { StoreError::Unavailable(format!("etcd: {e}")) } else { StoreError::Backend(format!("etcd: {e}")) }
}

/// One attempt of an etcd call, bounded by [`ATTEMPT_TIMEOUT`].
async fn attempt<T>(call: impl Future<Output = Result<T, etcd_client::Error>>) -> Result<T, StoreError> {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, call).await {
        Ok(result) => result.map_err(backend),
        Err(_) => Err(StoreError::Unavailable(format!("etcd did not answer within {ATTEMPT_TIMEOUT:?}"))),
    }
}

/// Runs `call` until it gives an answer other than [`StoreError::Unavailable`] or
/// [`FAILOVER_DEADLINE`] passes, pausing with a doubling backoff in between: the client's
/// channel spreads attempts over every endpoint, so a retry reaches another member. `call`
/// must be safe to repeat (reads are; writes check their request id first).
async fn with_failover<T, F, Fut>(call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    with_failover_within(FAILOVER_DEADLINE, call).await
}

/// [`with_failover`] with its own deadline (an attempt under way when it passes still runs).
async fn with_failover_within<T, F, Fut>(budget: Duration, mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + budget;
    let mut pause = RETRY_BACKOFF;
    loop {
        match call().await {
            Err(StoreError::Unavailable(why)) if tokio::time::Instant::now() + pause < deadline => {
                tracing::debug!(error = %why, "etcd call failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_BACKOFF_MAX);
            }
            other => return other,
        }
    }
}

/// Repeats a read-then-Txn `attempt` until it applies (`Some(revision)`: `None` means the
/// record changed between its read and its Txn), with failover around it.
async fn until_applied<F, Fut>(attempt: F) -> Result<u64, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<u64>, StoreError>>,
{
    let attempt = &attempt;
    with_failover(move || async move {
        loop {
            if let Some(revision) = attempt().await? {
                return Ok(revision);
            }
        }
    })
    .await
}

/// The random id of one write call, kept with what it writes so that a retry after an
/// ambiguous failure can tell whether the first attempt applied.
#[derive(Clone, Copy, PartialEq, Eq)]
struct RequestId([u8; REQUEST_ID_LEN]);

impl RequestId {
    fn new() -> Self {
        let mut bytes = [0; REQUEST_ID_LEN];
        getrandom::fill(&mut bytes).expect("the OS random generator is available");
        Self(bytes)
    }

    /// `record` in its envelope: [`ENVELOPE`], this id, the record.
    fn wrap(self, record: Vec<u8>) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + REQUEST_ID_LEN + record.len());
        v.push(ENVELOPE);
        v.extend_from_slice(&self.0);
        v.extend(record);
        v
    }

    /// Whether `value` (an enveloped record, or `m/rev`'s value) was written by this request.
    fn wrote(self, value: &[u8]) -> bool {
        value.get(1..=REQUEST_ID_LEN) == Some(&self.0[..]) && value.first() == Some(&ENVELOPE)
    }

    /// The value of `m/rev` a write puts: the envelope with no record.
    fn marker(self) -> Vec<u8> {
        self.wrap(Vec::new())
    }
}

/// The record inside a stored value, with or without its envelope.
fn record(value: &[u8]) -> &[u8] {
    match value.first() {
        Some(&ENVELOPE) => value.get(1 + REQUEST_ID_LEN..).unwrap_or_default(),
        _ => value,
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

/// The compare that holds when `key` is as it was read: absent, or at that mod revision.
fn unchanged(key: &[u8], read: Option<&KeyValue>) -> Compare {
    match read {
        Some(kv) => Compare::mod_revision(key.to_vec(), CompareOp::Equal, kv.mod_revision()),
        None => Compare::create_revision(key.to_vec(), CompareOp::Equal, 0),
    }
}

/// The compare of an [`Expect`] on `key`.
fn expected(key: &[u8], expect: Expect) -> Compare {
    match expect {
        Expect::Absent => Compare::create_revision(key.to_vec(), CompareOp::Equal, 0),
        Expect::Revision(r) => Compare::mod_revision(key.to_vec(), CompareOp::Equal, wire(r)),
    }
}

/// Why a record at `current` (its mod revision, `None` when absent) fails `expect`, if it does.
fn refusal(current: Option<u64>, expect: Expect) -> Option<StoreError> {
    match (current, expect) {
        (Some(_), Expect::Absent) => Some(StoreError::Exists),
        (None, Expect::Revision(_)) => Some(StoreError::NotFound),
        (Some(cur), Expect::Revision(r)) if cur != r => Some(StoreError::RevisionMismatch { current: cur }),
        _ => None,
    }
}

/// The key-values the `i`-th operation of a Txn branch read.
fn read_of(resp: &TxnResponse, i: usize) -> Vec<KeyValue> {
    match resp.op_responses().into_iter().nth(i) {
        Some(TxnOpResponse::Get(mut g)) => g.take_kvs(),
        _ => Vec::new(),
    }
}

/// The count the `i`-th operation of a Txn branch read.
fn count_of(resp: &TxnResponse, i: usize) -> u64 {
    match resp.op_responses().into_iter().nth(i) {
        Some(TxnOpResponse::Get(g)) => rev(g.count()),
        _ => 0,
    }
}

fn session_of(kv: &KeyValue) -> Result<Session, StoreError> {
    let mut s = decode_session(record(kv.value()))?;
    s.meta.revision = rev(kv.mod_revision());
    Ok(s)
}

fn person_of(kv: &KeyValue) -> Result<Person, StoreError> {
    let mut p = decode_person(record(kv.value()))?;
    p.meta.revision = rev(kv.mod_revision());
    Ok(p)
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

    /// One attempt at a Txn: the caller retries, checking its request id first.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        attempt(self.kv().txn(txn)).await
    }

    /// A range read: linearizable, retried on other members; when the cluster cannot answer
    /// linearizably (no quorum), from a reachable member's local copy, marking the store stale
    /// until a linearizable read succeeds again.
    async fn range(&self, key: &[u8], options: GetOptions) -> Result<GetResponse, StoreError> {
        // One member down is not a lost quorum: the linearizable read is retried on the others
        // (for about one attempt's time) before the local copy is settled for.
        let linearizable = || async { attempt(self.kv().get(key.to_vec(), Some(options.clone()))).await };
        if self.probe_due() {
            match with_failover_within(ATTEMPT_TIMEOUT, linearizable).await {
                Ok(resp) => {
                    self.set_stale(false);
                    return Ok(resp);
                }
                Err(StoreError::Unavailable(why)) => {
                    tracing::debug!(error = %why, "a linearizable etcd read failed; reading a local copy");
                }
                Err(e) => return Err(e),
            }
        }
        let local = with_failover(|| async {
            attempt(self.kv().get(key.to_vec(), Some(options.clone().with_serializable()))).await
        })
        .await?;
        // A local copy answered where the quorum did not: the store is stale (unless a
        // linearizable read succeeded meanwhile, which the next probe notices).
        self.set_stale(true);
        Ok(local)
    }

    /// Whether a read should try linearizably: always while fresh, once per
    /// [`STALE_PROBE_EVERY`] while stale.
    fn probe_due(&self) -> bool {
        let mut stale = self.stale.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stale.since.is_none() {
            return true;
        }
        let now = tokio::time::Instant::now();
        if stale.probed.is_some_and(|at| now < at + STALE_PROBE_EVERY) {
            return false;
        }
        stale.probed = Some(now);
        true
    }

    fn set_stale(&self, on: bool) {
        let mut stale = self.stale.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match (on, stale.since.is_some()) {
            (true, false) => {
                tracing::warn!("etcd cannot answer linearizable reads (no quorum): serving stale reads");
                stale.since = Some(std::time::SystemTime::now());
                stale.probed = Some(tokio::time::Instant::now());
            }
            (false, true) => {
                tracing::info!("etcd answers linearizable reads again: reads are current");
                *stale = Staleness::default();
            }
            _ => {}
        }
    }

    /// The key-value at `key` (see [`Self::range`]).
    async fn get(&self, key: Vec<u8>) -> Result<Option<KeyValue>, StoreError> {
        let mut resp = self.range(&key, GetOptions::new()).await?;
        Ok(resp.take_kvs().into_iter().next())
    }

    /// Whether `m/rev` holds `request`'s marker: the last session or person write was this
    /// request's, so its first, ambiguous attempt applied.
    async fn applied(&self, request: RequestId) -> Result<Option<u64>, StoreError> {
        let now = self.get(self.keys.revision()).await?;
        Ok(now.filter(|kv| request.wrote(kv.value())).map(|kv| rev(kv.mod_revision())))
    }

    /// Every key-value whose key starts with `prefix`, in key order, after `after` (a full
    /// key) when given, at most `limit`; pages are read at the first page's revision, so the
    /// result is one consistent snapshot.
    async fn scan(&self, prefix: &[u8], after: Option<Vec<u8>>, limit: usize) -> Result<Vec<KeyValue>, StoreError> {
        let end = end_of(prefix);
        let mut from = after.map_or_else(
            || prefix.to_vec(),
            |mut k| {
                k.push(0);
                k
            },
        );
        let mut at = 0;
        let mut out = Vec::new();
        while out.len() < limit {
            let page = PAGE.min(i64::try_from(limit - out.len()).unwrap_or(PAGE));
            let options = GetOptions::new().with_range(end.clone()).with_limit(page).with_revision(at);
            let mut resp = self.range(&from, options).await?;
            at = i64::try_from(header_revision(resp.header())).unwrap_or(0);
            let more = resp.more();
            let kvs = resp.take_kvs();
            let Some(last) = kvs.last() else { break };
            from = last.key().to_vec();
            from.push(0);
            out.extend(kvs);
            if !more {
                break;
            }
        }
        Ok(out)
    }

    async fn all_sessions(&self) -> Result<Vec<Session>, StoreError> {
        let kvs = self.scan(&self.keys.key("s", &[]), None, usize::MAX).await?;
        kvs.iter().map(session_of).collect()
    }

    async fn all_people(&self) -> Result<Vec<Person>, StoreError> {
        let kvs = self.scan(&self.keys.key("p", &[]), None, usize::MAX).await?;
        kvs.iter().map(person_of).collect()
    }

    /// Refuses a Txn of `ops` operations or compares that the cluster would refuse.
    fn fits(&self, ops: usize) -> Result<(), StoreError> {
        if ops > self.max_txn_ops {
            return Err(StoreError::Backend(format!(
                "the write needs {ops} etcd txn operations, over the {} configured: raise etcd's --max-txn-ops \
                 and agenda's etcd max_txn_ops",
                self.max_txn_ops
            )));
        }
        Ok(())
    }

    /// One attempt at a session write; `Ok(None)` when the record changed since it was read
    /// (the caller reads again).
    async fn try_put_session(
        &self,
        s: &Session,
        expect: Expect,
        request: RequestId,
    ) -> Result<Option<u64>, StoreError> {
        let key = self.keys.session(&s.id);
        let old = self.get(key.clone()).await?;
        if let Some(ours) = old.as_ref().filter(|kv| request.wrote(kv.value())) {
            // An earlier attempt of this call applied (its answer was lost): that is the answer.
            return Ok(Some(rev(ours.mod_revision())));
        }
        if let Some(e) = refusal(old.as_ref().map(|kv| rev(kv.mod_revision())), expect) {
            return Err(e);
        }
        let before = match &old {
            Some(kv) => decode_session(record(kv.value()))?.referenced_people(),
            None => BTreeSet::new(),
        };
        let named = s.referenced_people();
        let added: Vec<&PersonId> = named.difference(&before).collect();
        let removed: Vec<&PersonId> = before.difference(&named).collect();
        self.fits(1 + named.len())?;
        self.fits(2 + added.len() + removed.len())?;

        let mut compares = vec![unchanged(&key, old.as_ref())];
        compares.extend(named.iter().map(|p| Compare::version(self.keys.person(p), CompareOp::Greater, 0)));
        let mut ops = vec![
            TxnOp::put(key.clone(), request.wrap(encode_session(s)), None),
            TxnOp::put(self.keys.revision(), request.marker(), None),
        ];
        ops.extend(added.iter().map(|p| TxnOp::put(self.keys.reference(p, &s.id), [], None)));
        ops.extend(removed.iter().map(|p| TxnOp::delete(self.keys.reference(p, &s.id), None)));
        // Why it failed: the record as it is now, and which named people exist.
        let mut reads = vec![TxnOp::get(key, None)];
        reads.extend(named.iter().map(|p| TxnOp::get(self.keys.person(p), Some(GetOptions::new().with_count_only()))));
        let resp = self.txn(Txn::new().when(compares).and_then(ops).or_else(reads)).await?;
        if resp.succeeded() {
            return Ok(Some(header_revision(resp.header())));
        }
        let now = read_of(&resp, 0).into_iter().next();
        if let Some(ours) = now.as_ref().filter(|kv| request.wrote(kv.value())) {
            return Ok(Some(rev(ours.mod_revision())));
        }
        if now.as_ref().map(KeyValue::mod_revision) != old.as_ref().map(KeyValue::mod_revision) {
            return Ok(None);
        }
        match named.iter().enumerate().find(|(i, _)| count_of(&resp, i + 1) == 0) {
            Some((_, missing)) => Err(StoreError::UnknownPerson(missing.clone())),
            None => Ok(None),
        }
    }

    /// One attempt at a session delete; `Ok(None)` when the record changed since it was read.
    async fn try_delete_session(
        &self,
        id: &SessionId,
        expect: Option<u64>,
        request: RequestId,
    ) -> Result<Option<u64>, StoreError> {
        let key = self.keys.session(id);
        let Some(old) = self.get(key.clone()).await? else {
            // Gone: perhaps by an earlier attempt of this call whose answer was lost.
            return match self.applied(request).await? {
                Some(revision) => Ok(Some(revision)),
                None => Err(StoreError::NotFound),
            };
        };
        if let Some(e) = expect.and_then(|r| refusal(Some(rev(old.mod_revision())), Expect::Revision(r))) {
            return Err(e);
        }
        let named = decode_session(record(old.value()))?.referenced_people();
        self.fits(2 + named.len())?;
        let mut ops = vec![TxnOp::delete(key.clone(), None), TxnOp::put(self.keys.revision(), request.marker(), None)];
        ops.extend(named.iter().map(|p| TxnOp::delete(self.keys.reference(p, id), None)));
        let txn = Txn::new().when([unchanged(&key, Some(&old))]).and_then(ops).or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        Ok(resp.succeeded().then(|| header_revision(resp.header())))
    }

    /// One attempt at a person delete; a retry that finds the person gone by this request's
    /// earlier attempt succeeds.
    async fn try_delete_person(
        &self,
        id: &PersonId,
        expect: Option<u64>,
        request: RequestId,
    ) -> Result<(), StoreError> {
        let key = self.keys.person(id);
        let refs = self.keys.references_of(id);
        let exists = match expect {
            Some(r) => Compare::mod_revision(key.clone(), CompareOp::Equal, wire(r)),
            None => Compare::version(key.clone(), CompareOp::Greater, 0),
        };
        // An empty range compares as a zero key-value: version 0 holds iff no reference exists.
        let unused = Compare::version(refs.clone(), CompareOp::Equal, 0).with_range(end_of(&refs));
        let txn = Txn::new()
            .when([exists, unused])
            .and_then([TxnOp::delete(key.clone(), None), TxnOp::put(self.keys.revision(), request.marker(), None)])
            .or_else([
                TxnOp::get(key, None),
                TxnOp::get(refs.clone(), Some(GetOptions::new().with_range(end_of(&refs)).with_count_only())),
            ]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            return Ok(());
        }
        let Some(current) = read_of(&resp, 0).first().map(|kv| rev(kv.mod_revision())) else {
            return match self.applied(request).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            };
        };
        if let Some(e) = expect.and_then(|r| refusal(Some(current), Expect::Revision(r))) {
            return Err(e);
        }
        Err(StoreError::PersonInUse { sessions: count_of(&resp, 1) })
    }

    /// One attempt at recording invite attempts: `by_key` holds a batch's attempts per key,
    /// in the order given.
    async fn try_record_invites(&self, by_key: &BTreeMap<Vec<u8>, Vec<&Attempt>>) -> Result<(), StoreError> {
        loop {
            let mut compares = Vec::new();
            let mut ops = Vec::new();
            for (key, attempts) in by_key {
                let stored = self.get(key.clone()).await?;
                let before = stored.as_ref().map(|kv| decode_sent_invite(kv.value())).transpose()?;
                let after = attempts.iter().fold(before.clone(), |r, a| InviteRecord::apply(r.as_ref(), a).or(r));
                let Some(record) = after.filter(|r| Some(r) != before.as_ref()) else {
                    continue;
                };
                compares.push(unchanged(key, stored.as_ref()));
                ops.push(TxnOp::put(key.clone(), encode_sent_invite(&record), None));
            }
            if ops.is_empty() {
                return Ok(());
            }
            self.fits(ops.len())?;
            let txn = Txn::new().when(compares).and_then(ops).or_else([TxnOp::get(self.keys.revision(), None)]);
            if self.txn(txn).await?.succeeded() {
                return Ok(());
            }
            // Another writer marked one of them in between: read them again.
        }
    }

    /// One attempt at reading the change log in (after, last] (see [`Store::changes`]).
    async fn try_changes(&self, after: u64, last: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let mut out = Vec::new();
        if after >= last || limit == 0 {
            return Ok(out);
        }
        let options = WatchOptions::new()
            .with_range(end_of(&self.keys.root))
            .with_start_revision(wire(after + 1))
            .with_prev_key();
        let mut stream = attempt(self.client.watch_client().watch(self.keys.root.clone(), Some(options))).await?;
        // `m/rev` changed at `last` (in the Txn that wrote it): an event at `last` comes. The
        // events of one revision arrive in one response.
        while let Some(resp) = stream.message().await.map_err(backend)? {
            if resp.canceled() {
                if resp.compact_revision() > 0 {
                    return Err(StoreError::Compacted { after, oldest: rev(resp.compact_revision()) });
                }
                return Err(StoreError::Backend(format!("etcd cancelled the watch: {}", resp.cancel_reason())));
            }
            let mut reached = false;
            for event in resp.events() {
                let at = event.kv().map_or(0, |kv| rev(kv.mod_revision()));
                reached |= at >= last;
                if at > last {
                    break;
                }
                if let Some(change) = self.change_of(event)? {
                    out.push(change);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if reached {
                return Ok(out);
            }
        }
        Err(StoreError::Backend("etcd closed the watch before the store revision".into()))
    }

    /// The change a watch event on a session key stands for.
    fn change_of(&self, event: &etcd_client::Event) -> Result<Option<Change>, StoreError> {
        let sessions = self.keys.key("s", &[]);
        let Some(kv) = event.kv().filter(|kv| kv.key().starts_with(&sessions)) else { return Ok(None) };
        let revision = rev(kv.mod_revision());
        let (kind, session) = match event.event_type() {
            EventType::Put if kv.version() == 1 => (ChangeKind::Created, session_of(kv)?),
            EventType::Put => (ChangeKind::Updated, session_of(kv)?),
            EventType::Delete => {
                let last =
                    event.prev_kv().ok_or_else(|| StoreError::Corrupt("a deletion without its last state".into()))?;
                (ChangeKind::Deleted, session_of(last)?)
            }
        };
        Ok(Some(Change { revision, kind, session }))
    }
}

/// Publishes into `tx` every revision of `key` (`m/rev`) after `last`, until every receiver is
/// gone; see "Following the cluster" in the module documentation.
async fn follow_revisions(client: Client, key: Vec<u8>, mut last: u64, tx: tokio::sync::watch::Sender<u64>) {
    let mut pause = Duration::from_millis(50);
    loop {
        let outcome = tokio::select! {
            () = tx.closed() => return,
            r = watch_revisions(&client, &key, &mut last, &tx) => r,
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, after = last, "following the etcd cluster failed; watching again");
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(FOLLOW_BACKOFF_MAX);
        } else {
            pause = Duration::from_millis(50);
        }
    }
}

/// One watch of `key` from `last + 1`: publishes each revision it brings. Returns `Ok` when
/// the watch must be opened again from a `last` it moved up (compaction), `Err` when it broke.
async fn watch_revisions(
    client: &Client,
    key: &[u8],
    last: &mut u64,
    tx: &tokio::sync::watch::Sender<u64>,
) -> Result<(), StoreError> {
    let publish = |at: u64| {
        tx.send_if_modified(|latest| {
            let newer = at > *latest;
            *latest = (*latest).max(at);
            newer
        })
    };
    let options = WatchOptions::new().with_start_revision(wire(*last + 1));
    let mut stream = client.watch_client().watch(key.to_vec(), Some(options)).await.map_err(backend)?;
    while let Some(resp) = stream.message().await.map_err(backend)? {
        if resp.canceled() {
            if resp.compact_revision() > 0 {
                let mut now = client.kv_client().get(key.to_vec(), None).await.map_err(backend)?;
                let at = now.take_kvs().first().map_or(0, |kv| rev(kv.mod_revision()));
                publish(at);
                // Watch again from the compaction point at the earliest: below it etcd refuses.
                *last = (*last).max(at).max(rev(resp.compact_revision()).saturating_sub(1));
                return Ok(());
            }
            return Err(StoreError::Backend(format!("etcd cancelled the watch: {}", resp.cancel_reason())));
        }
        for event in resp.events() {
            let at = event.kv().map_or(0, |kv| rev(kv.mod_revision()));
            if at > *last {
                *last = at;
                publish(at);
            }
        }
    }
    Err(StoreError::Backend("etcd closed the watch".into()))
}

#[async_trait]
impl Store for EtcdStore {
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.get(self.keys.session(id)).await?.as_ref().map(session_of).transpose()
    }

    async fn put_session(&self, session: &Session, expect: Expect) -> Result<u64, StoreError> {
        let request = RequestId::new();
        until_applied(|| self.try_put_session(session, expect, request)).await
    }

    async fn delete_session(&self, id: &SessionId, expect: Option<u64>) -> Result<u64, StoreError> {
        let request = RequestId::new();
        until_applied(|| self.try_delete_session(id, expect, request)).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let names: BTreeMap<PersonId, String> = match &filter.text {
            Some(_) => self.all_people().await?.into_iter().map(|p| (p.id, p.name)).collect(),
            None => BTreeMap::new(),
        };
        let mut found: Vec<Session> = self
            .all_sessions()
            .await?
            .into_iter()
            .filter(|s| after.is_none_or(|c| (s.start, &s.id) > (c.start, &c.id)))
            .filter(|s| filter.matches(s, |p| names.get(p).cloned()))
            .collect();
        found.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn get_person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.get(self.keys.person(id)).await?.as_ref().map(person_of).transpose()
    }

    async fn put_person(&self, person: &Person, expect: Expect) -> Result<u64, StoreError> {
        let request = RequestId::new();
        let key = self.keys.person(&person.id);
        let value = request.wrap(encode_person(person));
        with_failover(|| async {
            let txn = Txn::new()
                .when([expected(&key, expect)])
                .and_then([
                    TxnOp::put(key.clone(), value.clone(), None),
                    TxnOp::put(self.keys.revision(), request.marker(), None),
                ])
                .or_else([TxnOp::get(key.clone(), None)]);
            let resp = self.txn(txn).await?;
            if resp.succeeded() {
                return Ok(header_revision(resp.header()));
            }
            let current = read_of(&resp, 0).into_iter().next();
            if let Some(ours) = current.as_ref().filter(|kv| request.wrote(kv.value())) {
                // An earlier attempt of this call applied (its answer was lost).
                return Ok(rev(ours.mod_revision()));
            }
            let current = current.map(|kv| rev(kv.mod_revision()));
            Err(refusal(current, expect)
                .unwrap_or_else(|| StoreError::Backend("etcd refused a compare that holds".into())))
        })
        .await
    }

    async fn delete_person(&self, id: &PersonId, expect: Option<u64>) -> Result<(), StoreError> {
        let request = RequestId::new();
        with_failover(|| self.try_delete_person(id, expect, request)).await
    }

    async fn list_people(
        &self,
        text: &str,
        after: Option<&PersonCursor>,
        limit: usize,
    ) -> Result<Vec<Person>, StoreError> {
        let mut found: Vec<(String, Person)> = self
            .all_people()
            .await?
            .into_iter()
            .filter(|p| text.is_empty() || p.matches_text(text))
            .map(|p| (p.name.to_lowercase(), p))
            .filter(|(name, p)| after.is_none_or(|c| (name, &p.id) > (&c.name, &c.id)))
            .collect();
        found.sort_by(|(a, p), (b, q)| (a, &p.id).cmp(&(b, &q.id)));
        Ok(found.into_iter().take(limit).map(|(_, p)| p).collect())
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
        let mut found = Vec::new();
        for session in self.all_sessions().await? {
            let current = session.slots.iter().map(|s| (s, false));
            let removed = session.removed_slots.iter().map(|r| (&r.slot, true)).filter(|_| include_removed);
            for (slot, removed) in current.chain(removed) {
                let roles = slot.roles_of(person);
                let in_window = from.is_none_or(|f| slot.end > f) && to.is_none_or(|t| slot.start < t);
                let past = after.is_none_or(|c| (slot.start, &session.id, &slot.id) > (c.start, &c.session, &c.slot));
                if roles.is_empty() || !in_window || !past {
                    continue;
                }
                found.push(PersonSlot {
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
        found.sort_by(|a, b| (a.slot.start, &a.session_id, &a.slot.id).cmp(&(b.slot.start, &b.session_id, &b.slot.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn put_feed_token(&self, token: &FeedToken) -> Result<(), StoreError> {
        let request = RequestId::new();
        let key = self.keys.token(&token.token);
        let value = request.wrap(encode_feed_token(token));
        with_failover(|| async {
            let txn = Txn::new()
                .when([expected(&key, Expect::Absent)])
                .and_then([TxnOp::put(key.clone(), value.clone(), None)])
                .or_else([TxnOp::get(key.clone(), None)]);
            let resp = self.txn(txn).await?;
            // Taken by this call's own earlier attempt (its answer lost) is not taken.
            let ours = read_of(&resp, 0).first().is_some_and(|kv| request.wrote(kv.value()));
            if resp.succeeded() || ours { Ok(()) } else { Err(StoreError::Exists) }
        })
        .await
    }

    async fn get_feed_token(&self, token: &str) -> Result<Option<FeedToken>, StoreError> {
        self.get(self.keys.token(token)).await?.map(|kv| decode_feed_token(record(kv.value()))).transpose()
    }

    async fn delete_feed_token(&self, token: &str) -> Result<(), StoreError> {
        // After an attempt whose answer was lost, a token found gone counts as revoked by it:
        // a revocation is the same whoever made it.
        let ambiguous = std::sync::atomic::AtomicBool::new(false);
        with_failover(|| async {
            let deleted = match attempt(self.kv().delete(self.keys.token(token), None)).await {
                Ok(resp) => resp.deleted(),
                Err(e) => {
                    ambiguous.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(e);
                }
            };
            if deleted == 0 && !ambiguous.load(std::sync::atomic::Ordering::Relaxed) {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn list_feed_tokens(&self, after: Option<&str>, limit: usize) -> Result<Vec<FeedToken>, StoreError> {
        let kvs = self.scan(&self.keys.key("t", &[]), after.map(|t| self.keys.token(t)), limit).await?;
        kvs.iter().map(|kv| decode_feed_token(record(kv.value()))).collect()
    }

    async fn record_invites(&self, attempts: &[Attempt]) -> Result<(), StoreError> {
        let mut by_key: BTreeMap<Vec<u8>, Vec<&Attempt>> = BTreeMap::new();
        for a in attempts {
            by_key.entry(self.keys.invite(a)).or_default().push(a);
        }
        // Every try reads the stored records again and applying is idempotent, so repeating
        // one is harmless.
        with_failover(|| self.try_record_invites(&by_key)).await
    }

    async fn invite_records(&self, session: &SessionId) -> Result<Vec<InviteRecord>, StoreError> {
        let kvs = self.scan(&self.keys.invites_of(session), None, usize::MAX).await?;
        kvs.iter().map(|kv| decode_sent_invite(kv.value())).collect()
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.get(self.keys.revision()).await?.map_or(0, |kv| rev(kv.mod_revision())))
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let status = with_failover(|| async { attempt(self.client.maintenance_client().status()).await }).await?;
        let revision = self.revision().await?;
        Ok(StoreStats { size_bytes: rev(status.db_size()), revision, ..StoreStats::default() })
    }

    async fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let last = upto.min(self.revision().await?);
        with_failover(|| self.try_changes(after, last, limit)).await
    }

    async fn changes_from(&self) -> Result<u64, StoreError> {
        let Some(kv) = self.get(self.keys.compacted()).await? else { return Ok(1) };
        let text = std::str::from_utf8(kv.value()).ok().and_then(|t| t.parse::<u64>().ok());
        text.ok_or_else(|| StoreError::Corrupt("the compaction point is not a number".into()))
    }

    async fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        let point = (self.revision().await? + 1).saturating_sub(keep);
        if point <= self.changes_from().await? {
            return Ok(());
        }
        with_failover(|| async {
            match attempt(self.kv().compact(wire(point), None)).await {
                // Another store on the cluster compacted past it already (or an earlier attempt
                // did): nothing older is left.
                Err(e) if e.to_string().contains("compacted") => {}
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            attempt(self.kv().put(self.keys.compacted(), point.to_string(), None)).await.map(|_| ())
        })
        .await
    }

    async fn follow(&self, after: u64) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        let (tx, rx) = tokio::sync::watch::channel(after);
        tokio::spawn(follow_revisions(self.client.clone(), self.keys.revision(), after, tx));
        Ok(Some(rx))
    }

    fn stale_since(&self) -> Option<std::time::SystemTime> {
        self.stale.lock().unwrap_or_else(std::sync::PoisonError::into_inner).since
    }
}
