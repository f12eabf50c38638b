//! State every clone of an [`Agenda`] shares, and the task that follows other replicas' writes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, Weak};

use tokio::sync::{broadcast, watch};

use super::Stripes;
use crate::domain::PersonId;

/// State shared by every clone of an [`Agenda`].
pub(super) struct Shared {
    /// Counts successful writes of sessions and people since start. Caches of rendered data
    /// (the feeds) are valid while it is unchanged: reading it costs one atomic load.
    pub(super) changes: AtomicU64,
    /// The highest revision known durable: every change up to it may be streamed.
    pub(super) durable: AtomicU64,
    /// Announces each durable session write's revision to watchers. A broadcast channel:
    /// a slow watcher lags and catches up from the change log, it never blocks writers.
    pub(super) notify: broadcast::Sender<u64>,
    /// Announces each person this process wrote (created, changed, deleted): people are not in
    /// the change log, and the SMTP sender must see an address added to a blocked speaker.
    pub(super) people_written: broadcast::Sender<PersonId>,
    /// How many revisions the change log keeps for watchers that reconnect.
    pub(super) change_log_keep: AtomicU64,
    /// Locks for read-change-write on one record; see [`Stripes`].
    pub(super) stripes: Stripes,
    /// Read-change-writes that lost the compare-and-write to another write and read again.
    /// In one process the stripes keep it at zero; it counts races with other writers of the
    /// store (another replica, a direct import) and shows on /metrics.
    pub(super) write_retries: AtomicU64,
    /// The task that follows other replicas' writes (see [`follow_store`]), when the store
    /// has any: aborted when the last clone of the [`Agenda`] goes (the engine's watch ends
    /// with the store).
    pub(super) follower: OnceLock<tokio::task::AbortHandle>,
    /// Whether writes look for the double bookings they create (`schedule.check_conflicts`).
    pub(super) check_conflicts: std::sync::atomic::AtomicBool,
    /// The election settings and each role's holder as last seen ([`super::roles`]).
    pub(super) roles: super::roles::Roles,
    /// How long a request id's first result is kept, in seconds ([`super::requests`]).
    pub(super) request_window: AtomicU64,
    /// Writes kept under a request id since start: every so many start a sweep.
    pub(super) kept_writes: AtomicU64,
}

impl Shared {
    /// A revision the store reached, whoever wrote it: moves `durable` up and, when it moved,
    /// invalidates the caches and wakes the watchers. Idempotent: this process's own write and
    /// the store's report of it may both arrive, in either order, and count once here.
    pub(super) fn followed(&self, revision: u64) {
        if self.durable.fetch_max(revision, Ordering::AcqRel) < revision {
            self.changes.fetch_add(1, Ordering::AcqRel);
            let _ = self.notify.send(revision);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.follower.get() {
            task.abort();
        }
    }
}

/// Applies each revision the store reports to the agenda's shared state, for as long as the
/// agenda exists (the task holds it weakly, so it never keeps it alive).
pub(super) async fn follow_store(shared: Weak<Shared>, mut revisions: watch::Receiver<u64>) {
    while revisions.changed().await.is_ok() {
        let revision = *revisions.borrow_and_update();
        let Some(shared) = shared.upgrade() else { return };
        shared.followed(revision);
    }
}
