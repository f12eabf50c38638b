//! `agenda.v1.SessionService`.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tonic::{Request, Response, Status};

use super::cache::{Key, ReadCache};
use super::codec::{Answer, EncodedMethod};
use super::convert::{self as c, session_id};
use super::{MAX_FULL_SESSIONS, MAX_PAGE_SIZE, capped_page_size, check, page_token, remap, slot_fields, under};
use crate::app::Agenda;
use crate::domain::{PersonId, SessionCursor, SessionFilter, SessionId, SlotId, Timestamp, Violations};
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
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        check(v)?;
        let s = self.agenda.get_session(&id.expect("checked")).await?;
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
        let mut v = Violations::new("");
        let view = c::session_view(&mut v, "view", r.view);
        let max = if view == c::View::Full { MAX_FULL_SESSIONS } else { MAX_PAGE_SIZE };
        let size = capped_page_size(&mut v, r.page_size, max);
        let filter = filter(&mut v, r);
        let fingerprint = page_token::fingerprint(&format!("sessions {filter:?}"));
        let after = match page_token::decode(&r.page_token, fingerprint) {
            Ok(cursor) => cursor.and_then(|cur| {
                let start = Timestamp::from_second(cur.time).ok();
                let id = SessionId::parse(&cur.a).ok();
                if start.is_none() || id.is_none() {
                    v.add("page_token", "is not a page token issued by this service");
                }
                Some(SessionCursor { start: start?, id: id? })
            }),
            Err(e) => {
                v.extend(e);
                None
            }
        };
        check(v)?;
        let (sessions, next) = self.agenda.list_sessions(filter, after, size).await?;
        Ok(pb::ListSessionsResponse {
            sessions: sessions.iter().map(|s| c::session_view_out(s, &self.links, view)).collect(),
            next_page_token: next
                .map(|n| {
                    page_token::encode(
                        fingerprint,
                        page_token::Cursor { time: n.start.as_second(), a: n.id.to_string(), b: String::new() },
                    )
                })
                .unwrap_or_default(),
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

/// The filters of a ListSessions request, checked.
fn filter(v: &mut Violations, r: &pb::ListSessionsRequest) -> SessionFilter {
    let from = c::parse_optional_time(v, "from_time", r.from_time.as_ref());
    let to = c::parse_optional_time(v, "to_time", r.to_time.as_ref());
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        v.add("to_time", "must be after from_time");
    }
    let text = |s: &str| {
        let s = s.trim().to_lowercase();
        (!s.is_empty()).then_some(s)
    };
    let person = if r.person_id.is_empty() { None } else { v.check("person_id", PersonId::parse(&r.person_id)) };
    SessionFilter {
        from,
        to,
        organizer: text(&r.organizer),
        tag: text(&r.tag),
        person,
        status: c::status_filter(v, "status", r.status).flatten(),
        visibility: None,
        text: text(&r.query),
    }
}

#[tonic::async_trait]
impl SessionService for SessionApi {
    async fn create_session(&self, req: Request<pb::CreateSessionRequest>) -> Reply<pb::CreateSessionResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = c::id(&mut v, "session_id", &r.session_id, true, SessionId::parse, SessionId::generate);
        // An absent session is read as an empty one, so the answer names each required field.
        let session = c::new_session(&mut v, "session", id, &r.session.unwrap_or_default(), self.agenda.limits());
        check(v)?;
        let s = self.agenda.create_session(session).await.map_err(|e| remap(e, under("session")))?;
        Ok(Response::new(pb::CreateSessionResponse { session: session_reply(&s, &self.links) }))
    }

    async fn get_session(&self, req: Request<pb::GetSessionRequest>) -> Reply<pb::GetSessionResponse> {
        Ok(Response::new(self.get_session_answer(req.get_ref()).await?.0))
    }

    async fn update_session(&self, req: Request<pb::UpdateSessionRequest>) -> Reply<pb::UpdateSessionResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let Some(s) = &r.session else {
            v.add("session", "is required");
            return Err(super::status::invalid(&v));
        };
        let id = session_id(&mut v, "session.id", &s.id);
        let patch = c::session_patch(&mut v, "session", s, r.update_mask.as_ref());
        check(v)?;
        let id = id.expect("checked");
        let s = self
            .agenda
            .update_session(&id, c::etag(&s.etag), |session| {
                patch.clone().apply(session);
                Ok(())
            })
            .await
            .map_err(|e| remap(e, under("session")))?;
        Ok(Response::new(pb::UpdateSessionResponse { session: session_reply(&s, &self.links) }))
    }

    async fn delete_session(&self, req: Request<pb::DeleteSessionRequest>) -> Reply<pb::DeleteSessionResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        check(v)?;
        self.agenda.delete_session(&id.expect("checked"), c::etag(&r.etag)).await?;
        Ok(Response::new(pb::DeleteSessionResponse {}))
    }

    async fn list_sessions(&self, req: Request<pb::ListSessionsRequest>) -> Reply<pb::ListSessionsResponse> {
        Ok(Response::new(self.list_sessions_answer(req.get_ref()).await?))
    }

    async fn add_slot(&self, req: Request<pb::AddSlotRequest>) -> Reply<pb::AddSlotResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        // An absent slot is read as an empty one, so the answer names each required field.
        let slot = c::new_slot(&mut v, "slot", &r.slot.unwrap_or_default(), self.agenda.limits());
        check(v)?;
        let slot_id = slot.id.clone();
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.add_slot(slot.clone()))
            .await
            .map_err(|e| remap(e, slot_fields))?;
        let stored = s.slot(&slot_id).map(c::slot_out).ok();
        Ok(Response::new(pb::AddSlotResponse { session: session_reply(&s, &self.links), slot: stored }))
    }

    async fn update_slot(&self, req: Request<pb::UpdateSlotRequest>) -> Reply<pb::UpdateSlotResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let Some(slot) = &r.slot else {
            v.add("slot", "is required");
            return Err(super::status::invalid(&v));
        };
        let slot_id = c::slot_id(&mut v, "slot.id", &slot.id);
        let patch = c::slot_patch(&mut v, "slot", slot, r.update_mask.as_ref());
        check(v)?;
        let slot_id: SlotId = slot_id.expect("checked");
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.update_slot(&slot_id, patch.clone()))
            .await
            .map_err(|e| remap(e, slot_fields))?;
        Ok(Response::new(pb::UpdateSlotResponse { session: session_reply(&s, &self.links) }))
    }

    async fn remove_slot(&self, req: Request<pb::RemoveSlotRequest>) -> Reply<pb::RemoveSlotResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let slot_id = c::slot_id(&mut v, "slot_id", &r.slot_id);
        check(v)?;
        let slot_id = slot_id.expect("checked");
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.remove_slot(&slot_id).map(drop))
            .await?;
        Ok(Response::new(pb::RemoveSlotResponse { session: session_reply(&s, &self.links) }))
    }

    async fn add_participant(&self, req: Request<pb::AddParticipantRequest>) -> Reply<pb::AddParticipantResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let p = match &r.participant {
            None => {
                v.add("participant", "is required");
                None
            }
            Some(p) => c::participant(&mut v, "participant", p),
        };
        check(v)?;
        let p = p.expect("checked");
        let position = r.position.map(|n| n as usize);
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.add_participant(p.clone(), position))
            .await
            .map_err(|e| {
                remap(e, |f| {
                    if f.starts_with("participants[") { "participant.person_id".into() } else { format!("session.{f}") }
                })
            })?;
        Ok(Response::new(pb::AddParticipantResponse { session: session_reply(&s, &self.links) }))
    }

    async fn update_participant(
        &self,
        req: Request<pb::UpdateParticipantRequest>,
    ) -> Reply<pb::UpdateParticipantResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let Some(p) = &r.participant else {
            v.add("participant", "is required");
            return Err(super::status::invalid(&v));
        };
        let person = c::person_id(&mut v, "participant.person_id", &p.person_id);
        let patch = c::participant_patch(&mut v, "participant", p, r.update_mask.as_ref());
        check(v)?;
        let person = person.expect("checked");
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| {
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
        Ok(Response::new(pb::UpdateParticipantResponse { session: session_reply(&s, &self.links) }))
    }

    async fn remove_participant(
        &self,
        req: Request<pb::RemoveParticipantRequest>,
    ) -> Reply<pb::RemoveParticipantResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let person = c::person_id(&mut v, "person_id", &r.person_id);
        check(v)?;
        let person = person.expect("checked");
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.remove_participant(&person))
            .await?;
        Ok(Response::new(pb::RemoveParticipantResponse { session: session_reply(&s, &self.links) }))
    }

    async fn reorder_participants(
        &self,
        req: Request<pb::ReorderParticipantsRequest>,
    ) -> Reply<pb::ReorderParticipantsResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = session_id(&mut v, "session_id", &r.session_id);
        let order: Vec<Option<PersonId>> = r
            .person_ids
            .iter()
            .enumerate()
            .map(|(i, p)| v.check(format!("person_ids[{i}]"), PersonId::parse(p)))
            .collect();
        check(v)?;
        let order: Vec<PersonId> = order.into_iter().flatten().collect();
        let s = self
            .agenda
            .update_session(&id.expect("checked"), c::etag(&r.etag), |s| s.reorder_participants(&r.group, &order))
            .await?;
        Ok(Response::new(pb::ReorderParticipantsResponse { session: session_reply(&s, &self.links) }))
    }

    type WatchSessionsStream = super::watch::WatchStream;

    async fn watch_sessions(&self, req: Request<pb::WatchSessionsRequest>) -> Reply<Self::WatchSessionsStream> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let session = if r.session_id.is_empty() { None } else { session_id(&mut v, "session_id", &r.session_id) };
        let person = if r.person_id.is_empty() { None } else { v.check("person_id", PersonId::parse(&r.person_id)) };
        let organizer = Some(r.organizer.trim().to_lowercase()).filter(|o| !o.is_empty());
        check(v)?;
        if let Some(after) = r.after_revision {
            let from = self.agenda.changes_from().await?;
            if after + 1 < from {
                return Err(super::watch::out_of_range(after, from));
            }
        }
        let permit = Arc::clone(&self.watchers).try_acquire_owned().map_err(|_| super::watch::too_many_watchers())?;
        let filter = super::watch::WatchFilter { session, organizer, person };
        let stream = super::watch::start(
            permit,
            self.agenda.clone(),
            self.links.clone(),
            Arc::clone(&self.metrics),
            filter,
            r.after_revision,
            self.shutdown.clone(),
        );
        Ok(Response::new(stream))
    }
}
