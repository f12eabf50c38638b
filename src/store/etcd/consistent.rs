//! Consistent reads from the local copy (Kubernetes KEP-2340, "consistent reads from cache"):
//! a read first learns the store's current revision with one linearizable read, shared by
//! every read waiting at that moment, then waits until the copy has applied it (see "Reads"
//! in the module documentation).
//!
//! The shared read works as etcd's own ReadIndex batches: one is in flight at a time; a read
//! that arrives while one is in flight waits for the next one, since the one in flight may
//! have been answered before the write the newcomer must see was acknowledged.

use std::sync::{Mutex, PoisonError};

use etcd_client::GetOptions;
use tokio::sync::Notify;

use super::EtcdStore;
use super::failover::FAILOVER_DEADLINE;
use super::rev;
use crate::store::StoreError;

/// The rounds of the shared linearizable read.
#[derive(Default)]
pub(super) struct Rounds {
    /// A std mutex: held to look at or change the numbers, never across an await.
    state: Mutex<RoundState>,
    /// Woken when a round ends (answered or abandoned).
    ended: Notify,
}

#[derive(Default)]
struct RoundState {
    /// The number of the last round started, and of the last one answered.
    started: u64,
    answered: u64,
    in_flight: bool,
    /// The answer of round `answered`: the store revision, or why it failed.
    outcome: Option<Result<u64, (bool, String)>>,
}

/// Ends the round in flight if its reader goes away before the answer (a cancelled request):
/// the waiting readers then start the next one.
struct Abandon<'a>(&'a Rounds);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner).in_flight = false;
        self.0.ended.notify_waiters();
    }
}

impl EtcdStore {
    /// Waits until the local copy holds every write acknowledged before this call, and returns
    /// the revision it has applied. While the store is stale (no quorum) it returns at once:
    /// the copy is served as it is, marked stale, as every read is then.
    pub(super) async fn catch_up(&self) -> Result<u64, StoreError> {
        let target = self.current_revision().await?;
        if self.reads_stale_since().is_none() && self.copy.applied() < target {
            let mut applied = self.copy.subscribe();
            let reached = tokio::time::timeout(FAILOVER_DEADLINE, applied.wait_for(|at| *at >= target)).await;
            if !matches!(reached, Ok(Ok(_))) {
                return Err(StoreError::Unavailable(format!(
                    "the local copy did not reach revision {target} within {FAILOVER_DEADLINE:?}"
                )));
            }
        }
        Ok(self.copy.applied())
    }

    /// The revision of the last session or person write (`m/rev`'s `mod_revision`), read
    /// linearizably (with the stale fallback of every read) in a round that started after this
    /// call did, shared with every caller waiting for the same round.
    async fn current_revision(&self) -> Result<u64, StoreError> {
        let rounds = &self.rounds;
        let needed = rounds.state.lock().unwrap_or_else(PoisonError::into_inner).started + 1;
        loop {
            let ended = rounds.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let round = {
                let mut st = rounds.state.lock().unwrap_or_else(PoisonError::into_inner);
                if st.answered >= needed {
                    return match st.outcome.clone().expect("an answered round has an outcome") {
                        Ok(at) => Ok(at),
                        Err((true, why)) => Err(StoreError::Unavailable(why)),
                        Err((false, why)) => Err(StoreError::Backend(why)),
                    };
                }
                if st.in_flight {
                    None
                } else {
                    st.in_flight = true;
                    st.started += 1;
                    Some(st.started)
                }
            };
            let Some(round) = round else {
                ended.await;
                continue;
            };
            let abandon = Abandon(rounds);
            let outcome = self.range(&self.keys.revision(), GetOptions::new()).await;
            let outcome = outcome.map(|mut r| r.take_kvs().first().map_or(0, |kv| rev(kv.mod_revision())));
            {
                let mut st = rounds.state.lock().unwrap_or_else(PoisonError::into_inner);
                st.answered = round;
                st.outcome = Some(match &outcome {
                    Ok(at) => Ok(*at),
                    Err(e) => Err((matches!(e, StoreError::Unavailable(_)), e.to_string())),
                });
            }
            drop(abandon);
            return outcome;
        }
    }
}
