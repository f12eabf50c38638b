//! What the sender knows of the outbox between two full looks ([`SessionTracker`]): which
//! sessions to look at, so that its work follows the writes, not the store's size.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::app::Agenda;
use crate::domain::{InviteMessage, PersonId, SessionId, Timestamp};
use crate::error::Error;
use crate::ics::feed::CalendarSettings;
use crate::invites::{self, Examined, OutboxStats, RenderedInvite};
use crate::metrics::Metrics;

/// Change log entries read at once.
const CHANGES_BATCH: usize = 256;

/// What the sender knows of the outbox between two full looks: the sessions that may have
/// pending or blocked messages, with their figures as last examined, and what the writes
/// since touched. A hint: the store stays the truth (each session is read again before its
/// messages are sent), and a crash loses nothing, since a full look starts each run.
///
/// The figures (pending, blocked, oldest pending) are kept from the examinations and the
/// sender's own outcomes, without a look at the whole store: between two full looks they miss
/// what this process was not told of (a person changed through another replica), and the
/// oldest pending time of a session stays that of its oldest message until the session is
/// examined again or has nothing pending.
pub(super) struct SessionTracker {
    /// Sessions with pending or blocked messages as last examined; none ended.
    sessions: HashMap<SessionId, Known>,
    /// Sessions a write touched since they were examined.
    touched: HashSet<SessionId>,
    /// People written since, whose sessions are still to be looked up.
    people: Vec<PersonId>,
    /// The change log is read up to this revision.
    revision: u64,
    /// Durable session writes (as watchers get them): only a wake-up, the change log says what.
    writes: broadcast::Receiver<u64>,
    /// The people this process writes.
    people_written: broadcast::Receiver<PersonId>,
    /// When the next full look is due; now when something was missed (a lagging channel, a
    /// change log pruned past our revision).
    next_scan: Instant,
    rescan: Duration,
}

/// One session's figures, and when it ends (then it leaves the tracker).
struct Known {
    end: Timestamp,
    stats: OutboxStats,
}

/// Keeps the figures of an examined session, or forgets it when it has nothing to send and
/// nothing blocked.
fn keep(sessions: &mut HashMap<SessionId, Known>, x: &Examined) {
    let stats = x.stats();
    if stats.pending + stats.blocked > 0 {
        sessions.insert(x.id().clone(), Known { end: x.end(), stats });
    } else {
        sessions.remove(x.id());
    }
}

impl SessionTracker {
    /// Subscribed before anything is read, so no write falls between.
    pub(super) fn new(agenda: &Agenda, rescan: Duration) -> Self {
        Self {
            sessions: HashMap::new(),
            touched: HashSet::new(),
            people: Vec::new(),
            revision: agenda.durable_revision(),
            writes: agenda.subscribe(),
            people_written: agenda.subscribe_people(),
            next_scan: Instant::now(),
            rescan,
        }
    }

    /// The due messages of the sessions with the oldest pending ones, rendered from the
    /// store's state, at most `limit`, once the writes since the last call are accounted for.
    pub(super) async fn due(
        &mut self,
        agenda: &Agenda,
        settings: &CalendarSettings,
        metrics: &Metrics,
        limit: usize,
    ) -> Result<Vec<RenderedInvite>, Error> {
        self.follow(agenda).await?;
        if Instant::now() >= self.next_scan {
            self.scan(agenda, metrics).await?;
        }
        let now = Timestamp::now();
        self.sessions.retain(|_, k| k.end > now);
        // Examined now, and kept for the batch when they have something to send.
        let mut fresh: HashMap<SessionId, Examined> = HashMap::new();
        let touched: Vec<SessionId> = self.touched.iter().cloned().collect();
        for id in touched {
            if let Some(x) = self.examine(agenda, metrics, &id, now).await?
                && x.stats().pending > 0
                && fresh.len() < limit
            {
                fresh.insert(id.clone(), x);
            }
            self.touched.remove(&id);
        }
        let mut oldest: Vec<(&SessionId, &Known)> = self.sessions.iter().filter(|(_, k)| k.stats.pending > 0).collect();
        oldest.sort_by_key(|(id, k)| (k.stats.oldest_pending, *id));
        let mut chosen = Vec::new();
        let mut enough = 0;
        for (id, k) in oldest {
            if enough >= limit as u64 {
                break;
            }
            enough += k.stats.pending;
            chosen.push(id.clone());
        }
        let mut batch = Vec::with_capacity(chosen.len());
        for id in chosen {
            let x = match fresh.remove(&id) {
                Some(x) => Some(x),
                None => self.examine(agenda, metrics, &id, now).await?,
            };
            batch.extend(x);
        }
        invites::due_of(settings, &batch.iter().collect::<Vec<_>>(), limit)
    }

    /// Reads session `id`'s outbox and keeps its figures (or forgets it: gone, ended, nothing
    /// left to send and nothing blocked).
    async fn examine(
        &mut self,
        agenda: &Agenda,
        metrics: &Metrics,
        id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<Examined>, Error> {
        metrics.smtp_session_examined();
        let x = invites::examine(agenda, id, now).await?;
        match &x {
            Some(x) => keep(&mut self.sessions, x),
            None => drop(self.sessions.remove(id)),
        }
        Ok(x)
    }

    /// Notes what the writes since the last call touched: the change log's sessions, and the
    /// sessions naming a person written.
    async fn follow(&mut self, agenda: &Agenda) -> Result<(), Error> {
        while !matches!(self.writes.try_recv(), Err(broadcast::error::TryRecvError::Empty)) {}
        loop {
            match self.people_written.try_recv() {
                Ok(id) => self.people.push(id),
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.next_scan = Instant::now(),
                Err(_) => break,
            }
        }
        let upto = agenda.durable_revision();
        while self.revision < upto {
            if self.revision + 1 < agenda.changes_from().await? {
                // Pruned past what we read: only a full look can tell what changed.
                self.revision = upto;
                self.next_scan = Instant::now();
                break;
            }
            let changes = agenda.changes_between(self.revision, upto, CHANGES_BATCH).await?;
            let Some(last) = changes.last() else {
                self.revision = upto;
                break;
            };
            self.revision = last.revision;
            self.touched.extend(changes.into_iter().map(|c| c.session.id));
        }
        while let Some(person) = self.people.last() {
            self.touched.extend(invites::sessions_naming(agenda, person).await?);
            self.people.pop();
        }
        Ok(())
    }

    /// Examines every coming session: at start, every `rescan`, and when something was missed.
    async fn scan(&mut self, agenda: &Agenda, metrics: &Metrics) -> Result<(), Error> {
        // Whatever is written from here on is followed as usual; what came before, the look covers.
        let revision = agenda.durable_revision();
        while !matches!(self.people_written.try_recv(), Err(broadcast::error::TryRecvError::Empty)) {}
        let now = Timestamp::now();
        let mut sessions = HashMap::new();
        for s in invites::coming(agenda, now).await? {
            metrics.smtp_session_examined();
            keep(&mut sessions, &invites::examine_session(agenda, s, now).await?);
        }
        self.sessions = sessions;
        self.touched.clear();
        self.people.clear();
        self.revision = revision;
        self.next_scan = Instant::now() + self.rescan;
        Ok(())
    }

    /// A message the server answered: sent, or refused for good.
    pub(super) fn handled(&mut self, m: &InviteMessage, failed: bool) {
        let Some(k) = self.sessions.get_mut(&m.session) else { return };
        k.stats.pending = k.stats.pending.saturating_sub(1);
        k.stats.failed += u64::from(failed);
        if k.stats.pending == 0 {
            k.stats.oldest_pending = None;
            if k.stats.blocked == 0 {
                self.sessions.remove(&m.session);
            }
        }
    }

    /// Whether some session may have messages to send.
    pub(super) fn has_pending(&self) -> bool {
        self.sessions.values().any(|k| k.stats.pending > 0)
    }

    /// Refreshes the metrics' outbox figures.
    pub(super) fn report(&self, metrics: &Metrics) {
        let s = self.sessions.values().fold(OutboxStats::default(), |a, k| a + k.stats);
        metrics.outbox(s.pending, s.blocked, s.oldest_pending.map(|t| t.as_second()));
    }

    /// Waits for a write (of a session or a person) or `period`.
    pub(super) async fn wait(&mut self, period: Duration) {
        let woken = async {
            tokio::select! {
                _ = self.writes.recv() => None,
                r = self.people_written.recv() => Some(r),
            }
        };
        match tokio::time::timeout(period, woken).await {
            Ok(Some(Ok(person))) => self.people.push(person),
            Ok(Some(Err(broadcast::error::RecvError::Lagged(_)))) => self.next_scan = Instant::now(),
            _ => {}
        }
    }
}
