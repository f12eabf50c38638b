//! Reads: linearizable first, a reachable member's local copy when the cluster has no quorum
//! (the store is then stale, see "Quorum loss" in the module documentation), and scans of a
//! prefix at one revision.

use std::time::Duration;

use etcd_client::{GetOptions, GetResponse, KeyValue};

use super::envelope::record;
use super::failover::{ATTEMPT_TIMEOUT, attempt, with_failover, with_failover_within};
use super::layout::end_of;
use super::{EtcdStore, header_revision, rev};
use crate::domain::Session;
use crate::store::StoreError;
use crate::store::records::decode_session;

/// Records read per page when a scan or a list reads a prefix: small enough for etcd's default
/// response size, large enough that a scan is few round trips.
const PAGE: i64 = 500;

/// Since when reads have been stale, and when a linearizable read was last tried meanwhile.
#[derive(Debug, Default)]
pub(super) struct Staleness {
    since: Option<std::time::SystemTime>,
    probed: Option<tokio::time::Instant>,
}

/// While stale, a read tries linearizably again at most this often (a linearizable read on a
/// member without a leader waits out [`ATTEMPT_TIMEOUT`]); the others go straight to the
/// local copy.
const STALE_PROBE_EVERY: Duration = Duration::from_secs(1);

pub(super) fn session_of(kv: &KeyValue) -> Result<Session, StoreError> {
    let mut s = decode_session(record(kv.value()))?;
    s.meta.revision = rev(kv.mod_revision());
    Ok(s)
}

impl EtcdStore {
    /// A range read: linearizable, retried on other members; when the cluster cannot answer
    /// linearizably (no quorum), from a reachable member's local copy, marking the store stale
    /// until a linearizable read succeeds again.
    pub(super) async fn range(&self, key: &[u8], options: GetOptions) -> Result<GetResponse, StoreError> {
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
    pub(super) async fn get(&self, key: Vec<u8>) -> Result<Option<KeyValue>, StoreError> {
        let mut resp = self.range(&key, GetOptions::new()).await?;
        Ok(resp.take_kvs().into_iter().next())
    }

    /// Every key-value whose key starts with `prefix`, in key order, after `after` (a full
    /// key) when given, at most `limit`; pages are read at the first page's revision, so the
    /// result is one consistent snapshot.
    pub(super) async fn scan(
        &self,
        prefix: &[u8],
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        let pages =
            scan_pages(|from, options| async move { self.range(&from, options).await }, prefix, after, limit, 0);
        Ok(pages.await?.0)
    }

    /// Since when reads have been answered from a local copy, while they are.
    pub(super) fn reads_stale_since(&self) -> Option<std::time::SystemTime> {
        self.stale.lock().unwrap_or_else(std::sync::PoisonError::into_inner).since
    }
}

/// Every key-value under `prefix` after `after` (a full key) when given, at most `limit`, in
/// pages that `get` reads at one revision: `at`, or the first page's when `at` is 0. Returns
/// them with that revision.
pub(super) async fn scan_pages<F, Fut>(
    get: F,
    prefix: &[u8],
    after: Option<Vec<u8>>,
    limit: usize,
    mut at: i64,
) -> Result<(Vec<KeyValue>, i64), StoreError>
where
    F: Fn(Vec<u8>, GetOptions) -> Fut,
    Fut: Future<Output = Result<GetResponse, StoreError>>,
{
    let end = end_of(prefix);
    let mut from = after.map_or_else(
        || prefix.to_vec(),
        |mut k| {
            k.push(0);
            k
        },
    );
    let mut out = Vec::new();
    while out.len() < limit {
        let page = PAGE.min(i64::try_from(limit - out.len()).unwrap_or(PAGE));
        let options = GetOptions::new().with_range(end.clone()).with_limit(page).with_revision(at);
        let mut resp = get(from.clone(), options).await?;
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
    Ok((out, at))
}
