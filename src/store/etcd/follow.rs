//! Following the cluster: one watch of `m/rev`, reopened when it breaks, publishing every store
//! revision any replica reaches (see "Following the cluster" in the module documentation).

use std::time::Duration;

use etcd_client::{Client, WatchOptions};

use super::failover::backend;
use super::{rev, wire};
use crate::store::StoreError;

/// The longest pause before the follower opens its watch again after an error.
const FOLLOW_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A receiver of every store revision after `after`, as the watch of `key` (`m/rev`) brings
/// them; the task that follows it ends once nobody holds the receiver.
pub(super) fn spawn(client: Client, key: Vec<u8>, after: u64) -> tokio::sync::watch::Receiver<u64> {
    let (tx, rx) = tokio::sync::watch::channel(after);
    tokio::spawn(follow_revisions(client, key, after, tx));
    rx
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
