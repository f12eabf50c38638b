//! One holder per role ([`Store::lead`](crate::store::Store::lead)): the SMTP sender and the
//! reply-mailbox poller each run on one replica at a time.
//!
//! A role is the key `a1/l/<role>`, put under a lease by a Txn that holds only while the key is
//! absent (`create_revision == 0`); its value is the holder's replica name, and the revision
//! that created it is the term's fencing token ([`Fence`]). A fenced write compares that key's
//! `create_revision` with the token in its own Txn (`write.rs`), so once the key has expired or
//! been taken by another replica the write is refused whatever the deposed holder believes.
//!
//! Why a lease-held key and not etcd's election API (Campaign / Proclaim / Observe): a role
//! needs no queue of candidates, and every step here is a plain KV or lease call with this
//! engine's attempt timeout, whose effect and fencing token are visible in the Txn's answer.
//! The election API's Campaign is one long blocking call, during which the member itself keeps
//! the candidate's lease alive, and it gives the same token (the key's revision) in the end.
//!
//! A lease alone is no mutual exclusion (etcd's own warning): the old holder may still be
//! acting when its lease expires. So a holder steps down on its own clock, earlier than etcd
//! can expire the lease: each renewal (a keep-alive, every TTL / 3) is timed from the moment it
//! was *sent*, and etcd restarts the lease's TTL no earlier than it receives it, so the lease
//! lives at least until `sent + TTL`. The holder publishes the loss at `sent + TTL - margin`
//! (the margin, TTL / 4, covers a late timer and the two clocks' rates), and the sender cuts a
//! message in flight at that moment. A successor can only create the key after etcd deleted it
//! (lease expired or revoked). etcd has been seen to extend leases across a leader change
//! (issues 9395, 9888, 17132), which only delays a successor, and the fence covers the rest.
//!
//! A replica that does not hold the role watches the key and tries again when it is deleted
//! (and at least once per TTL, should a watch event be missed). A holder that resigns revokes
//! its lease, so the next one starts at once; one killed outright is replaced within a TTL.

use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, EventType, PutOptions, Txn, TxnOp, TxnOpResponse, WatchOptions};
use tokio::sync::watch;
use tokio::time::Instant;

use super::failover::{ATTEMPT_TIMEOUT, attempt, backend};
use super::{header_revision, rev, wire};
use crate::store::{Fence, Lead, Leadership, StoreError};

/// The longest pause between two campaigns after an error (the store unreachable).
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Starts the campaign for `role` (its key `key`) as `replica`, by leases of `ttl`.
pub(super) fn spawn(client: Client, key: Vec<u8>, role: &str, replica: &str, ttl: Duration) -> Lead {
    let (tx, rx) = watch::channel(Leadership::Unknown);
    let campaign = Campaign { client, key, role: role.to_owned(), replica: replica.to_owned(), ttl, tx };
    Lead::new(rx, tokio::spawn(campaign.run()))
}

/// One role's campaign, as long as anyone watches its state.
struct Campaign {
    client: Client,
    key: Vec<u8>,
    role: String,
    replica: String,
    /// The lease's TTL asked for (etcd may raise it to its minimum; the granted one is used).
    ttl: Duration,
    tx: watch::Sender<Leadership>,
}

/// How a term ended.
enum Ended {
    /// Nobody watches any more: the campaign is over.
    Resigned,
    /// Lost, or never won: campaign again.
    Again,
}

impl Campaign {
    async fn run(self) {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.term().await {
                Ok(Ended::Resigned) => return,
                Ok(Ended::Again) => pause = Duration::from_millis(100),
                Err(e) => {
                    self.tx.send_replace(Leadership::Unknown);
                    tracing::warn!(role = %self.role, error = %e, "campaigning for the role failed; trying again");
                    tokio::select! {
                        () = self.tx.closed() => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// One try at the role: holds it until lost, or waits until its holder lets it go.
    async fn term(&self) -> Result<Ended, StoreError> {
        let sent = Instant::now();
        let lease = attempt(self.client.lease_client().grant(whole_seconds(self.ttl), None)).await?;
        let (id, ttl) = (lease.id(), Duration::from_secs(u64::try_from(lease.ttl()).unwrap_or(0)));
        let take = Txn::new()
            .when([Compare::create_revision(self.key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(self.key.clone(), self.replica.as_bytes(), Some(PutOptions::new().with_lease(id)))])
            .or_else([TxnOp::get(self.key.clone(), None)]);
        let taken = match attempt(self.client.kv_client().txn(take)).await {
            Ok(r) => r,
            Err(e) => {
                self.revoke(id).await;
                return Err(e);
            }
        };
        if !taken.succeeded() {
            self.revoke(id).await;
            let holder = match taken.op_responses().into_iter().next() {
                Some(TxnOpResponse::Get(g)) => {
                    g.kvs().first().map(|kv| String::from_utf8_lossy(kv.value()).into_owned())
                }
                _ => None,
            };
            tracing::debug!(role = %self.role, holder = ?holder, "another replica holds the role");
            self.tx.send_replace(holder.map_or(Leadership::Unknown, Leadership::Other));
            return self.wait_released(header_revision(taken.header())).await;
        }
        let fence = Fence { role: self.role.clone(), revision: header_revision(taken.header()) };
        tracing::info!(role = %self.role, replica = %self.replica, fence = fence.revision, ttl_seconds = ttl.as_secs(), "this replica holds the role");
        self.tx.send_replace(Leadership::Held(fence));
        let ended = self.hold(id, ttl, sent).await;
        // Stopped first (published), then released: a successor starts only after the revoke.
        self.tx.send_replace(Leadership::Unknown);
        self.revoke(id).await;
        Ok(ended)
    }

    /// Keeps lease `id` (granted `ttl`, its grant sent at `sent`) alive until it is lost or
    /// nobody watches; publishes nothing (the caller does).
    async fn hold(&self, id: i64, ttl: Duration, sent: Instant) -> Ended {
        let margin = ttl / 4;
        let renew_every = ttl / 3;
        let mut deadline = sent + ttl.saturating_sub(margin);
        let mut next_renewal = sent + renew_every;
        loop {
            let at = next_renewal;
            let renewal = async move {
                tokio::time::sleep_until(at).await;
                let sent = Instant::now();
                (sent, self.keep_alive(id).await)
            };
            tokio::select! {
                () = self.tx.closed() => return Ended::Resigned,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(role = %self.role, "the role's lease was not renewed in time; this replica stops acting for it");
                    return Ended::Again;
                }
                (sent, renewed) = renewal => match renewed {
                    Ok(true) => {
                        deadline = deadline.max(sent + ttl.saturating_sub(margin));
                        next_renewal = sent + renew_every;
                    }
                    Ok(false) => {
                        tracing::warn!(role = %self.role, "the role's lease is gone (expired or revoked); this replica stops acting for it");
                        return Ended::Again;
                    }
                    Err(e) => {
                        tracing::debug!(role = %self.role, error = %e, "renewing the role's lease failed; trying again");
                        next_renewal = Instant::now() + renew_every / 2;
                    }
                },
            }
        }
    }

    /// One keep-alive of lease `id`: whether the lease is still there (etcd then restarted its
    /// TTL, the one it granted). Opening the stream sends the first keep-alive and reads its
    /// answer, which is all a renewal needs; the stream is dropped after it.
    async fn keep_alive(&self, id: i64) -> Result<bool, StoreError> {
        let mut leases = self.client.lease_client();
        match tokio::time::timeout(ATTEMPT_TIMEOUT, leases.keep_alive(id)).await {
            Ok(Ok(_)) => Ok(true),
            // The crate's answer to a TTL of 0: the lease expired or was revoked.
            Ok(Err(etcd_client::Error::LeaseKeepAliveError(_))) => Ok(false),
            Ok(Err(e)) => Err(backend(e)),
            Err(_) => Err(StoreError::Unavailable(format!("etcd did not answer within {ATTEMPT_TIMEOUT:?}"))),
        }
    }

    /// Waits until the role's key is deleted after revision `seen` (its holder resigned or its
    /// lease expired), or a TTL passes, or nobody watches.
    async fn wait_released(&self, seen: u64) -> Result<Ended, StoreError> {
        let options = WatchOptions::new().with_start_revision(wire(seen + 1));
        let deleted = async {
            let mut stream =
                self.client.watch_client().watch(self.key.clone(), Some(options)).await.map_err(backend)?;
            while let Some(resp) = stream.message().await.map_err(backend)? {
                if resp.canceled() || resp.events().iter().any(|e| e.event_type() == EventType::Delete) {
                    return Ok(());
                }
            }
            Err(StoreError::Unavailable("etcd closed the watch of a role".into()))
        };
        tokio::select! {
            () = self.tx.closed() => Ok(Ended::Resigned),
            r = deleted => r.map(|()| Ended::Again),
            () = tokio::time::sleep(self.ttl) => Ok(Ended::Again),
        }
    }

    /// Gives lease `id` back, so its key goes at once; on failure it expires by itself.
    async fn revoke(&self, id: i64) {
        if let Err(e) = attempt(self.client.lease_client().revoke(id)).await {
            tracing::debug!(role = %self.role, error = %e, "revoking a lease failed; it expires by itself");
        }
    }
}

/// A TTL in etcd's whole seconds, at least one.
fn whole_seconds(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

/// The compare that holds while `fence`'s term still holds its role (`key`).
pub(super) fn fenced(key: Vec<u8>, fence: &Fence) -> Compare {
    Compare::create_revision(key, CompareOp::Equal, wire(fence.revision))
}

/// Whether a role's key, as read, still belongs to `fence`'s term.
pub(super) fn still_held(read: Option<&etcd_client::KeyValue>, fence: &Fence) -> bool {
    read.is_some_and(|kv| rev(kv.create_revision()) == fence.revision)
}
