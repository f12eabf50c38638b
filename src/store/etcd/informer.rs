//! The informer (Kubernetes client-go's pattern): list the store's sessions and people at one
//! revision into the local copy, then follow one watch of the whole store prefix from the next
//! revision, applying each event; list again when the watch's resume point was compacted. The
//! copy's applied revision is what [`crate::store::Store::follow`] reports: the process's one
//! watch (see "Following the cluster" in the module documentation).

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, GetOptions, KeyValue, WatchOptions};

use super::copy::{Contents, LocalCopy};
use super::failover::{attempt, backend, with_failover};
use super::layout::{Keys, end_of};
use super::read::scan_pages;
use super::wire;
use crate::store::StoreError;

/// The longest pause before the informer opens its watch again after an error.
const WATCH_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Lists every session and person at one revision (linearizable, with failover): the contents
/// and that revision.
pub(super) async fn list(client: &Client, keys: &Keys) -> Result<(Contents, u64), StoreError> {
    loop {
        match list_at(client, keys, 0).await {
            // The revision of the first scan was compacted before the second finished.
            Err(StoreError::Compacted { .. }) => continue,
            other => return other,
        }
    }
}

/// [`list`] at revision `at` (0: the current one); [`StoreError::Compacted`] when `at` was.
pub(super) async fn list_at(client: &Client, keys: &Keys, at: u64) -> Result<(Contents, u64), StoreError> {
    {
        let (people, at) = scan_at(client, &keys.people(), wire(at)).await?;
        let (sessions, _) = scan_at(client, &keys.sessions(), at).await?;
        Ok((Contents::listed(keys, &people, &sessions)?, super::rev(at)))
    }
}

/// Every key-value under `prefix` at revision `at` (0: the current one), read linearizably in
/// pages; the revision read. A compacted `at` is [`StoreError::Compacted`].
async fn scan_at(client: &Client, prefix: &[u8], at: i64) -> Result<(Vec<KeyValue>, i64), StoreError> {
    let get = |from: Vec<u8>, options: GetOptions| async move {
        with_failover(|| async { attempt(client.kv_client().get(from.clone(), Some(options.clone()))).await }).await
    };
    match scan_pages(get, prefix, None, usize::MAX, at).await {
        Err(e) if at > 0 && e.to_string().contains("compacted") => {
            Err(StoreError::Compacted { after: u64::try_from(at).unwrap_or(0), oldest: 0 })
        }
        other => other,
    }
}

/// Keeps `copy` following the store until the task is aborted (when the store is dropped).
pub(super) async fn follow(client: Client, keys: Keys, copy: Arc<LocalCopy>) {
    let mut pause = Duration::from_millis(50);
    loop {
        match watch(&client, &keys, &copy).await {
            Ok(()) => match list(&client, &keys).await {
                Ok((contents, at)) => {
                    tracing::info!(revision = at, "listed the etcd store again after a compaction");
                    copy.replace(contents, at);
                    pause = Duration::from_millis(50);
                    continue;
                }
                Err(e) => tracing::warn!(error = %e, "listing the etcd store again failed; trying again"),
            },
            Err(e) => {
                tracing::warn!(error = %e, after = copy.applied(), "following the etcd store failed; watching again");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(WATCH_BACKOFF_MAX);
    }
}

/// One watch of the store prefix from the copy's applied revision + 1, applying each response.
/// Returns `Ok` when the resume point was compacted (list again), `Err` when the watch broke.
async fn watch(client: &Client, keys: &Keys, copy: &LocalCopy) -> Result<(), StoreError> {
    let options = WatchOptions::new().with_range(end_of(&keys.root)).with_start_revision(wire(copy.applied() + 1));
    let mut stream = client.watch_client().watch(keys.root.clone(), Some(options)).await.map_err(backend)?;
    while let Some(resp) = stream.message().await.map_err(backend)? {
        if resp.canceled() {
            if resp.compact_revision() > 0 {
                return Ok(());
            }
            return Err(StoreError::Backend(format!("etcd cancelled the watch: {}", resp.cancel_reason())));
        }
        copy.apply(keys, resp.events())?;
    }
    Err(StoreError::Backend("etcd closed the watch".into()))
}
