//! `agenda.v1.SessionService`.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tonic::{Request, Response, Status};

use super::cache::{Key, ReadCache};
use super::codec::{Answer, EncodedMethod};
use super::convert as c;
use super::requests::{
    AddParticipant, AddSlot, CreateSession, DeleteSession, GetSession, ListSessions, RemoveParticipant, RemoveSlot,
    ReorderParticipants, UpdateParticipant, UpdateSession, UpdateSlot, WatchSessions, parse,
};
use super::schedule::policy;
use super::{remap, slot_fields, under};
use crate::app::Agenda;
use crate::links::FeedLinks;
use crate::metrics::Metrics;
use crate::pb::{self, session_service_server::SessionService};

/// The SessionService implementation.
pub struct SessionApi {
    agenda: Agenda,
    links: FeedLinks,
    metrics: Arc<Metrics>,
    /// Becomes true when the server shuts down: watch streams end then.
    shutdown: watch::Receiver<bool>,
    /// One permit per open watch stream: a bound on the tasks and buffers they hold.
    watchers: Arc<Semaphore>,
    /// GetSession's encoded answers (shared with PersonService's GetPerson).
    cache: ReadCache,
}

impl SessionApi {
    pub fn new(
        agenda: Agenda,
        links: FeedLinks,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
        max_watchers: usize,
        cache: ReadCache,
    ) -> Self {
        Self { agenda, links, metrics, shutdown, watchers: Arc::new(Semaphore::new(max_watchers)), cache }
    }

    /// GetSession's answer and the highest revision among the records it shows (the session
    /// and the people it names: revisions are store-wide).
    async fn get_session_answer(&self, r: &pb::GetSessionRequest) -> Result<(pb::GetSessionResponse, u64), Status> {
        let GetSession { id } = parse(r)?;
        let s = self.agenda.get_session(&id).await?;
        let people = self.agenda.people_of(&s).await?;
        let revision = people.iter().map(|p| p.meta.revision).fold(s.meta.revision, u64::max);
        let answer = pb::GetSessionResponse {
            session: session_reply(&s, &self.links),
            people: people.iter().map(|p| c::person_out(p, &self.links)).collect(),
        };
        Ok((answer, revision))
    }

    /// One page of ListSessions.
    async fn list_sessions_answer(&self, r: &pb::ListSessionsRequest) -> Result<pb::ListSessionsResponse, Status> {
        let ListSessions { view, filter, mut page } = parse(r)?;
        let (sessions, next) = self.agenda.list_sessions(filter, page.after.take(), page.size).await?;
        Ok(pb::ListSessionsResponse {
            sessions: sessions.iter().map(|s| c::session_view_out(s, &self.links, view)).collect(),
            next_page_token: page.next_token(next.as_ref()),
        })
    }
}

/// The gRPC path of GetSession, answered by [`GetSessionEncoded`].
pub const GET_SESSION: &str = "/agenda.v1.SessionService/GetSession";

/// GetSession from the read cache: a hit sends the bytes encoded by an earlier miss; a miss
/// reads the store, encodes once and files the bytes (see `cache.rs` for when they are valid).
#[derive(Clone)]
pub struct GetSessionEncoded(pub Arc<SessionApi>);

impl EncodedMethod<pb::GetSessionRequest> for GetSessionEncoded {
    fn answer(&self, req: Request<pb::GetSessionRequest>) -> Answer {
        let api = Arc::clone(&self.0);
        Box::pin(async move {
            let r = req.into_inner();
            api.cache.answer(Key::Session(r.session_id.as_str().into()), api.get_session_answer(&r)).await
        })
    }
}

/// The gRPC path of ListSessions, answered by [`ListSessionsEncoded`].
pub const LIST_SESSIONS: &str = "/agenda.v1.SessionService/ListSessions";

/// ListSessions pages from the read cache, keyed by the request as encoded (its filter, view,
/// page size and token); `cache.rs` says when a page is valid.
#[derive(Clone)]
pub struct ListSessionsEncoded(pub Arc<SessionApi>);

impl EncodedMethod<pb::ListSessionsRequest> for ListSessionsEncoded {
    fn answer(&self, req: Request<pb::ListSessionsRequest>) -> Answer {
        let api = Arc::clone(&self.0);
        Box::pin(async move {
            let r = req.into_inner();
            let key = Key::Sessions(prost::Message::encode_to_vec(&r).into_boxed_slice());
            api.cache.page(key, api.list_sessions_answer(&r)).await
        })
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn session_reply(s: &crate::domain::Session, links: &FeedLinks) -> Option<pb::Session> {
    Some(c::session_out(s, links))
}

#[tonic::async_trait]
impl SessionService for SessionApi {
    async fn create_session(&self, req: Request<pb::CreateSessionRequest>) -> Reply<pb::CreateSessionResponse> {
        let CreateSession { session, request } = CreateSession::parse(req.get_ref(), self.agenda.limits())?;
        let policy = policy(req.get_ref().refuse_conflicts);
        let (s, conflicts) = self
            .agenda
            .create_session_once(session, request.as_ref(), policy)
            .await
            .map_err(|e| remap(e, under("session")))?;
        Ok(Response::new(pb::CreateSessionResponse {
            session: session_reply(&s, &self.links),
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn get_session(&self, req: Request<pb::GetSessionRequest>) -> Reply<pb::GetSessionResponse> {
        Ok(Response::new(self.get_session_answer(req.get_ref()).await?.0))
    }

    async fn update_session(&self, req: Request<pb::UpdateSessionRequest>) -> Reply<pb::UpdateSessionResponse> {
        let UpdateSession { target, patch } = parse(req.get_ref())?;
        let (s, _, conflicts) = self
            .agenda
            .update_session_once(&target.id, target.etag(), None, policy(req.get_ref().refuse_conflicts), |session| {
                patch.clone().apply(session);
                Ok(())
            })
            .await
            .map_err(|e| remap(e, under("session")))?;
        Ok(Response::new(pb::UpdateSessionResponse {
            session: session_reply(&s, &self.links),
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn delete_session(&self, req: Request<pb::DeleteSessionRequest>) -> Reply<pb::DeleteSessionResponse> {
        let DeleteSession { target } = parse(req.get_ref())?;
        self.agenda.delete_session(&target.id, target.etag()).await?;
        Ok(Response::new(pb::DeleteSessionResponse {}))
    }

    async fn list_sessions(&self, req: Request<pb::ListSessionsRequest>) -> Reply<pb::ListSessionsResponse> {
        Ok(Response::new(self.list_sessions_answer(req.get_ref()).await?))
    }

    async fn add_slot(&self, req: Request<pb::AddSlotRequest>) -> Reply<pb::AddSlotResponse> {
        let AddSlot { target, slot, request } = AddSlot::parse(req.get_ref(), self.agenda.limits())?;
        // A retry answered with the first result names the slot that one added.
        let once = request.as_ref().map(|k| (k, slot.id.as_str().to_owned()));
        let (s, added, conflicts) = self
            .agenda
            .update_session_once(&target.id, target.etag(), once, policy(req.get_ref().refuse_conflicts), |s| {
                s.add_slot(slot.clone())
            })
            .await
            .map_err(|e| remap(e, slot_fields))?;
        let slot_id = if request.is_some() { added } else { slot.id.as_str().to_owned() };
        let stored = s.slots.iter().find(|x| x.id.as_str() == slot_id).map(c::slot_out);
        Ok(Response::new(pb::AddSlotResponse {
            session: session_reply(&s, &self.links),
            slot: stored,
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn update_slot(&self, req: Request<pb::UpdateSlotRequest>) -> Reply<pb::UpdateSlotResponse> {
        let UpdateSlot { target, slot, patch } = parse(req.get_ref())?;
        let (s, _, conflicts) = self
            .agenda
            .update_session_once(&target.id, target.etag(), None, policy(req.get_ref().refuse_conflicts), |s| {
                s.update_slot(&slot, patch.clone())
            })
            .await
            .map_err(|e| remap(e, slot_fields))?;
        Ok(Response::new(pb::UpdateSlotResponse {
            session: session_reply(&s, &self.links),
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn remove_slot(&self, req: Request<pb::RemoveSlotRequest>) -> Reply<pb::RemoveSlotResponse> {
        let RemoveSlot { target, slot } = parse(req.get_ref())?;
        let s = self.agenda.update_session(&target.id, target.etag(), |s| s.remove_slot(&slot).map(drop)).await?;
        Ok(Response::new(pb::RemoveSlotResponse { session: session_reply(&s, &self.links) }))
    }

    async fn add_participant(&self, req: Request<pb::AddParticipantRequest>) -> Reply<pb::AddParticipantResponse> {
        let AddParticipant { target, participant, position, request } = parse(req.get_ref())?;
        let once = request.as_ref().map(|k| (k, String::new()));
        let (s, _, conflicts) = self
            .agenda
            .update_session_once(&target.id, target.etag(), once, policy(req.get_ref().refuse_conflicts), |s| {
                s.add_participant(participant.clone(), position)
            })
            .await
            .map_err(|e| {
                remap(e, |f| {
                    if f.starts_with("participants[") { "participant.person_id".into() } else { format!("session.{f}") }
                })
            })?;
        Ok(Response::new(pb::AddParticipantResponse {
            session: session_reply(&s, &self.links),
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn update_participant(
        &self,
        req: Request<pb::UpdateParticipantRequest>,
    ) -> Reply<pb::UpdateParticipantResponse> {
        let UpdateParticipant { target, person, patch } = parse(req.get_ref())?;
        let (s, _, conflicts) = self
            .agenda
            .update_session_once(&target.id, target.etag(), None, policy(req.get_ref().refuse_conflicts), |s| {
                patch.clone().apply(s.participant_mut(&person)?);
                Ok(())
            })
            .await
            .map_err(|e| {
                remap(e, |f| {
                    if f.starts_with("participants[") {
                        format!("participant{}", &f[f.find(']').map_or(0, |i| i + 1)..])
                    } else {
                        format!("session.{f}")
                    }
                })
            })?;
        Ok(Response::new(pb::UpdateParticipantResponse {
            session: session_reply(&s, &self.links),
            conflicts: c::created_out(&conflicts),
        }))
    }

    async fn remove_participant(
        &self,
        req: Request<pb::RemoveParticipantRequest>,
    ) -> Reply<pb::RemoveParticipantResponse> {
        let RemoveParticipant { target, person } = parse(req.get_ref())?;
        let s = self.agenda.update_session(&target.id, target.etag(), |s| s.remove_participant(&person)).await?;
        Ok(Response::new(pb::RemoveParticipantResponse { session: session_reply(&s, &self.links) }))
    }

    async fn reorder_participants(
        &self,
        req: Request<pb::ReorderParticipantsRequest>,
    ) -> Reply<pb::ReorderParticipantsResponse> {
        let ReorderParticipants { target, group, order } = parse(req.get_ref())?;
        let s =
            self.agenda.update_session(&target.id, target.etag(), |s| s.reorder_participants(&group, &order)).await?;
        Ok(Response::new(pb::ReorderParticipantsResponse { session: session_reply(&s, &self.links) }))
    }

    type WatchSessionsStream = super::watch::WatchStream;

    async fn watch_sessions(&self, req: Request<pb::WatchSessionsRequest>) -> Reply<Self::WatchSessionsStream> {
        let WatchSessions { filter, after_revision } = parse(req.get_ref())?;
        if let Some(after) = after_revision {
            let from = self.agenda.changes_from().await?;
            if after + 1 < from {
                return Err(super::watch::out_of_range(after, from));
            }
        }
        let permit = Arc::clone(&self.watchers).try_acquire_owned().map_err(|_| super::watch::too_many_watchers())?;
        let stream = super::watch::start(
            permit,
            self.agenda.clone(),
            self.links.clone(),
            Arc::clone(&self.metrics),
            filter,
            after_revision,
            self.shutdown.clone(),
        );
        Ok(Response::new(stream))
    }
}
