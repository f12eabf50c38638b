//! WatchSessions: the change stream.
//!
//! Each watcher is one task that reads the store's change log in commit order and sends
//! into a small bounded channel. New writes wake it through a broadcast of revisions (this
//! process's writes, and on a cluster every replica's, which the agenda follows); a
//! watcher that falls behind skips notifications and catches up from the log, so a slow
//! consumer never blocks writers and never grows memory beyond its channel. The task ends
//! when the client goes away or the server shuts down (tonic's graceful shutdown would wait
//! for open streams forever).
//!
//! Revisions are the store's, so on a cluster they are the same on every replica: a client
//! that read up to revision r on one replica resumes on another with `after_revision = r`,
//! without gaps or repeats.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert as c;
use crate::app::Agenda;
use crate::domain::{Change, ChangeKind, PersonId, SessionFilter, SessionId};
use crate::error::Reason;
use crate::links::FeedLinks;
use crate::metrics::Metrics;
use crate::pb;

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchSessionsResponse, Status>> + Send>>;

/// Messages buffered per watcher before the producer waits for the client.
const CHANNEL: usize = 64;
/// Change log entries read at once.
const BATCH: usize = 256;

/// Which changes a watcher wants.
#[derive(Debug)]
pub struct WatchFilter {
    pub session: Option<SessionId>,
    pub organizer: Option<String>,
    pub person: Option<PersonId>,
}

impl WatchFilter {
    fn matches(&self, c: &Change) -> bool {
        if self.session.as_ref().is_some_and(|id| id != &c.session.id) {
            return false;
        }
        let f = SessionFilter {
            organizer: self.organizer.clone(),
            person: self.person.clone(),
            ..SessionFilter::default()
        };
        f.matches(&c.session, |_| None)
    }
}

/// Refuses a resume point the change log no longer keeps (`from` is its oldest revision).
pub fn out_of_range(after: u64, from: u64) -> Status {
    let oldest = from.saturating_sub(1);
    super::status::refusal(
        Reason::RevisionCompacted,
        format!(
            "revision {after} is older than the change log keeps (it starts after {oldest}); list the sessions again and watch from now"
        ),
        [("after_revision", after.to_string()), ("oldest_revision", oldest.to_string())],
    )
}

/// Refuses a watcher past the server's limit of open streams.
pub fn too_many_watchers() -> Status {
    super::status::refusal(Reason::TooManyWatchers, "too many open watch streams; retry later", [])
}

/// Starts a watcher; the stream is ready to return to tonic.
pub fn start(
    permit: OwnedSemaphorePermit,
    agenda: Agenda,
    links: FeedLinks,
    metrics: Arc<Metrics>,
    filter: WatchFilter,
    after: Option<u64>,
    shutdown: watch::Receiver<bool>,
) -> WatchStream {
    let (tx, rx) = mpsc::channel(CHANNEL);
    // Subscribe before reading where to start, so no write falls between the two.
    let notifications = agenda.subscribe();
    tokio::spawn(async move {
        metrics.watch_subscribers_add(1);
        if let Err(status) = run(&agenda, &links, &filter, after, notifications, shutdown, &tx).await {
            let _ = tx.send(Err(status)).await;
        }
        metrics.watch_subscribers_add(-1);
        drop(permit);
    });
    Box::pin(ReceiverStream::new(rx))
}

async fn run(
    agenda: &Agenda,
    links: &FeedLinks,
    filter: &WatchFilter,
    after: Option<u64>,
    mut notifications: broadcast::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
    tx: &mpsc::Sender<Result<pb::WatchSessionsResponse, Status>>,
) -> Result<(), Status> {
    let mut last = match after {
        Some(a) => a,
        None => agenda.durable_revision(),
    };
    loop {
        // Catch up with everything durable. Only durable revisions are streamed, so a client
        // never sees a change that a crash could take back.
        let upto = agenda.durable_revision();
        while last < upto {
            let from = agenda.changes_from().await?;
            if last + 1 < from {
                return Err(out_of_range(last, from));
            }
            let batch = agenda.changes_between(last, upto, BATCH).await?;
            // Pruning marks its cut before deleting: re-check, so a gap is never silent.
            let from_after = agenda.changes_from().await?;
            if last + 1 < from_after {
                return Err(out_of_range(last, from_after));
            }
            if batch.is_empty() {
                last = upto;
                break;
            }
            for change in batch {
                last = change.revision;
                if filter.matches(&change) {
                    let kind = match change.kind {
                        ChangeKind::Created => pb::ChangeType::Created,
                        ChangeKind::Updated => pb::ChangeType::Updated,
                        ChangeKind::Deleted => pb::ChangeType::Deleted,
                    };
                    let msg = pb::WatchSessionsResponse {
                        revision: change.revision,
                        change_type: kind as i32,
                        session_id: change.session.id.to_string(),
                        session: Some(c::session_out(&change.session, links)),
                    };
                    if tx.send(Ok(msg)).await.is_err() {
                        return Ok(()); // the client went away
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            () = tx.closed() => return Ok(()),
            r = notifications.recv() => match r {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}
