//! The change log: etcd's history, read by a watch from a revision, and compacted by
//! `prune_changes` (see "Mapping" in the module documentation).

use etcd_client::{EventType, WatchOptions};

use super::failover::{attempt, backend};
use super::layout::end_of;
use super::read::session_of;
use super::{EtcdStore, rev, wire};
use crate::domain::{Change, ChangeKind};
use crate::store::StoreError;

impl EtcdStore {
    /// One attempt at reading the change log in (after, last] (see [`crate::store::Store::changes`]).
    pub(super) async fn try_changes(&self, after: u64, last: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
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
        let sessions = self.keys.sessions();
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

    /// The point this store compacted at (`m/compacted`), 1 before it ever did.
    pub(super) async fn compaction_point(&self) -> Result<u64, StoreError> {
        let Some(kv) = self.get(self.keys.compacted()).await? else { return Ok(1) };
        let text = std::str::from_utf8(kv.value()).ok().and_then(|t| t.parse::<u64>().ok());
        text.ok_or_else(|| StoreError::Corrupt("the compaction point is not a number".into()))
    }

    /// One attempt at compacting the cluster at `point` and keeping it in `m/compacted`.
    pub(super) async fn try_compact(&self, point: u64) -> Result<(), StoreError> {
        match attempt(self.kv().compact(wire(point), None)).await {
            // Another store on the cluster compacted past it already (or an earlier attempt
            // did): nothing older is left.
            Err(e) if e.to_string().contains("compacted") => {}
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        attempt(self.kv().put(self.keys.compacted(), point.to_string(), None)).await.map(|_| ())
    }
}
