//! `agenda.v1.ScheduleService`: double bookings and busy time.

use tonic::{Request, Response, Status};

use super::convert as c;
use super::requests::{ListConflicts, QueryFreeBusy, parse};
use crate::app::{Agenda, ConflictPolicy, FreeBusy};
use crate::error::Reason;
use crate::pb::{self, schedule_service_server::ScheduleService};

/// The gRPC path of ListConflicts: the middleware marks its requests with [`SeesPrivate`].
pub const LIST_CONFLICTS: &str = "/agenda.v1.ScheduleService/ListConflicts";

/// Whether the caller's token covers every private session (set by the gRPC middleware, which
/// holds the tokens; see `Auth::sees_private`). Absent: it does not.
#[derive(Debug, Clone, Copy)]
pub struct SeesPrivate(pub bool);

/// What a write asks for when it would double-book someone.
pub(super) fn policy(refuse_conflicts: bool) -> ConflictPolicy {
    if refuse_conflicts { ConflictPolicy::Refuse } else { ConflictPolicy::Report }
}

/// The ScheduleService implementation.
pub struct ScheduleApi {
    agenda: Agenda,
}

impl ScheduleApi {
    pub fn new(agenda: Agenda) -> Self {
        Self { agenda }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ScheduleService for ScheduleApi {
    async fn list_conflicts(&self, req: Request<pb::ListConflictsRequest>) -> Reply<pb::ListConflictsResponse> {
        let sees_private = req.extensions().get::<SeesPrivate>().is_some_and(|s| s.0);
        let ListConflicts { query, mut page } = parse(req.get_ref())?;
        self.agenda.catch_up().await?;
        let (conflicts, next) = self.agenda.list_conflicts(&query, page.after.take(), page.size).await?;
        Ok(Response::new(pb::ListConflictsResponse {
            conflicts: conflicts.iter().map(|x| c::conflict_out(x, sees_private)).collect(),
            next_page_token: page.next_token(next.as_ref()),
        }))
    }

    async fn query_free_busy(&self, req: Request<pb::QueryFreeBusyRequest>) -> Reply<pb::QueryFreeBusyResponse> {
        let QueryFreeBusy { people, from, to } = parse(req.get_ref())?;
        self.agenda.catch_up().await?;
        let answers = self.agenda.free_busy(&people, from, to).await?;
        let people = answers
            .into_iter()
            .map(|(person, answer)| match answer {
                FreeBusy::Busy(periods) => pb::PersonFreeBusy {
                    person_id: person.to_string(),
                    busy: c::busy_out(&periods),
                    ..Default::default()
                },
                FreeBusy::UnknownPerson => pb::PersonFreeBusy {
                    person_id: person.to_string(),
                    error_reason: Reason::PersonNotFound.as_str().to_owned(),
                    ..Default::default()
                },
            })
            .collect();
        Ok(Response::new(pb::QueryFreeBusyResponse { people }))
    }
}
