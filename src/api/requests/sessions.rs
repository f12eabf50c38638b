//! SessionService requests as commands: a session, its slots and its participants.

use super::{FromRequest, PAGE, Page, PageSizes, Target, page_size, request_key, search_text, time_window};
use crate::api::convert::{
    self as c, ParticipantPatch, Report, Reported, View, optional_id, person_id, request, session_id, slot_id,
};
use crate::api::page_token::PageCursor;
use crate::api::watch::WatchFilter;
use crate::app::RequestKey;
use crate::domain::{
    Limits, Participant, PersonId, Session, SessionCursor, SessionFilter, SessionId, SessionPatch, Slot, SlotId,
    SlotPatch, Violations,
};
use crate::pb;

/// A ListSessions page resumes after the (start, id) of the last session it showed.
impl PageCursor for SessionCursor {}

/// Most sessions in a FULL ListSessions page: a session with its slots and participants is
/// about 2 KB on average (the generated store's 10 slots), so 100 make about 200 KB, and a few
/// large agendas (up to `max_slots` each) still fit a client's 4 MiB limit in most pages.
const MAX_FULL_SESSIONS: usize = 100;

/// CreateSession: a whole new session, checked against the domain's rules.
#[derive(Debug)]
pub struct CreateSession {
    pub session: Session,
    /// The request id, when the client sent one (AIP-155).
    pub request: Option<RequestKey>,
}

impl CreateSession {
    pub fn parse(r: &pb::CreateSessionRequest, limits: &Limits) -> Result<Self, Violations> {
        request(|v| {
            let id = c::id(v, "session_id", &r.session_id, true, SessionId::parse, SessionId::generate);
            // An absent session is read as an empty one, so the answer names each required field.
            let empty = pb::Session::default();
            let session = c::new_session(v, "session", id.ok(), r.session.as_ref().unwrap_or(&empty), limits);
            let request = request_key(v, "CreateSession", r, &r.request_id, |r| r.request_id.clear());
            Ok(CreateSession { session, request: request? })
        })
    }
}

/// GetSession.
#[derive(Debug)]
pub struct GetSession {
    pub id: SessionId,
}

impl FromRequest<pb::GetSessionRequest> for GetSession {
    fn from_request(v: &mut Violations, r: &pb::GetSessionRequest) -> Result<Self, Reported> {
        let id = session_id(v, "session_id", &r.session_id);
        Ok(GetSession { id: id? })
    }
}

/// UpdateSession: the fields its mask names (or that it sets), parsed.
#[derive(Debug)]
pub struct UpdateSession {
    pub target: Target<SessionId>,
    pub patch: SessionPatch,
}

impl FromRequest<pb::UpdateSessionRequest> for UpdateSession {
    fn from_request(v: &mut Violations, r: &pb::UpdateSessionRequest) -> Result<Self, Reported> {
        let Some(s) = &r.session else { return Err(v.reject("session", "is required")) };
        let target = Target::new(session_id(v, "session.id", &s.id), &s.etag);
        let patch = c::session_patch(v, "session", s, r.update_mask.as_ref());
        Ok(UpdateSession { target: target?, patch })
    }
}

/// DeleteSession.
#[derive(Debug)]
pub struct DeleteSession {
    pub target: Target<SessionId>,
}

impl FromRequest<pb::DeleteSessionRequest> for DeleteSession {
    fn from_request(v: &mut Violations, r: &pb::DeleteSessionRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        Ok(DeleteSession { target: target? })
    }
}

/// ListSessions: its filters, how much of each session to show, and the page.
#[derive(Debug)]
pub struct ListSessions {
    pub view: View,
    pub filter: SessionFilter,
    pub page: Page<SessionCursor>,
}

impl FromRequest<pb::ListSessionsRequest> for ListSessions {
    fn from_request(v: &mut Violations, r: &pb::ListSessionsRequest) -> Result<Self, Reported> {
        let view = c::session_view(v, "view", r.view);
        let max = if view == View::Full { MAX_FULL_SESSIONS } else { PAGE.max };
        let size = page_size(v, r.page_size, PageSizes { max, ..PAGE });
        let filter = filter(v, r);
        let page = Page::parse(v, size, &r.page_token, &format!("sessions {filter:?}"));
        Ok(ListSessions { view, filter, page })
    }
}

/// The filters of a ListSessions request; a malformed one is recorded and left out.
fn filter(v: &mut Violations, r: &pb::ListSessionsRequest) -> SessionFilter {
    let (from, to) = time_window(v, r.from_time.as_ref(), r.to_time.as_ref());
    SessionFilter {
        from,
        to,
        organizer: search_text(&r.organizer),
        tag: search_text(&r.tag),
        person: optional_id(v, "person_id", &r.person_id, PersonId::parse).ok().flatten(),
        status: c::status_filter(v, "status", r.status).flatten(),
        visibility: None,
        text: search_text(&r.query),
    }
}

/// AddSlot: a whole new slot, checked against the slot's own rules.
#[derive(Debug)]
pub struct AddSlot {
    pub target: Target<SessionId>,
    pub slot: Slot,
    /// The request id, when the client sent one (AIP-155).
    pub request: Option<RequestKey>,
}

impl AddSlot {
    pub fn parse(r: &pb::AddSlotRequest, limits: &Limits) -> Result<Self, Violations> {
        request(|v| {
            let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
            // An absent slot is read as an empty one, so the answer names each required field.
            let slot = c::new_slot(v, "slot", r.slot.as_ref().unwrap_or(&pb::Slot::default()), limits);
            let request = request_key(v, "AddSlot", r, &r.request_id, |r| r.request_id.clear());
            Ok(AddSlot { target: target?, slot, request: request? })
        })
    }
}

/// UpdateSlot: the slot's fields its mask names (or that it sets), parsed.
#[derive(Debug)]
pub struct UpdateSlot {
    pub target: Target<SessionId>,
    pub slot: SlotId,
    pub patch: SlotPatch,
}

impl FromRequest<pb::UpdateSlotRequest> for UpdateSlot {
    fn from_request(v: &mut Violations, r: &pb::UpdateSlotRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let Some(s) = &r.slot else { return Err(v.reject("slot", "is required")) };
        let slot = slot_id(v, "slot.id", &s.id);
        let patch = c::slot_patch(v, "slot", s, r.update_mask.as_ref());
        Ok(UpdateSlot { target: target?, slot: slot?, patch })
    }
}

/// RemoveSlot.
#[derive(Debug)]
pub struct RemoveSlot {
    pub target: Target<SessionId>,
    pub slot: SlotId,
}

impl FromRequest<pb::RemoveSlotRequest> for RemoveSlot {
    fn from_request(v: &mut Violations, r: &pb::RemoveSlotRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let slot = slot_id(v, "slot_id", &r.slot_id);
        Ok(RemoveSlot { target: target?, slot: slot? })
    }
}

/// AddParticipant: a whole participant, at a position in the list or last.
#[derive(Debug)]
pub struct AddParticipant {
    pub target: Target<SessionId>,
    pub participant: Participant,
    pub position: Option<usize>,
    /// The request id, when the client sent one (AIP-155).
    pub request: Option<RequestKey>,
}

impl FromRequest<pb::AddParticipantRequest> for AddParticipant {
    fn from_request(v: &mut Violations, r: &pb::AddParticipantRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let participant = match &r.participant {
            None => Err(v.reject("participant", "is required")),
            Some(p) => c::participant(v, "participant", p),
        };
        let position = r.position.map(|n| n as usize);
        let request = request_key(v, "AddParticipant", r, &r.request_id, |r| r.request_id.clear());
        Ok(AddParticipant { target: target?, participant: participant?, position, request: request? })
    }
}

/// UpdateParticipant: the participant's fields its mask names (or that it sets), parsed.
#[derive(Debug)]
pub struct UpdateParticipant {
    pub target: Target<SessionId>,
    pub person: PersonId,
    pub patch: ParticipantPatch,
}

impl FromRequest<pb::UpdateParticipantRequest> for UpdateParticipant {
    fn from_request(v: &mut Violations, r: &pb::UpdateParticipantRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let Some(p) = &r.participant else { return Err(v.reject("participant", "is required")) };
        let person = person_id(v, "participant.person_id", &p.person_id);
        let patch = c::participant_patch(v, "participant", p, r.update_mask.as_ref());
        Ok(UpdateParticipant { target: target?, person: person?, patch })
    }
}

/// RemoveParticipant.
#[derive(Debug)]
pub struct RemoveParticipant {
    pub target: Target<SessionId>,
    pub person: PersonId,
}

impl FromRequest<pb::RemoveParticipantRequest> for RemoveParticipant {
    fn from_request(v: &mut Violations, r: &pb::RemoveParticipantRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let person = person_id(v, "person_id", &r.person_id);
        Ok(RemoveParticipant { target: target?, person: person? })
    }
}

/// ReorderParticipants: the new order of one group's people.
#[derive(Debug)]
pub struct ReorderParticipants {
    pub target: Target<SessionId>,
    pub group: String,
    pub order: Vec<PersonId>,
}

impl FromRequest<pb::ReorderParticipantsRequest> for ReorderParticipants {
    fn from_request(v: &mut Violations, r: &pb::ReorderParticipantsRequest) -> Result<Self, Reported> {
        let target = Target::new(session_id(v, "session_id", &r.session_id), &r.etag);
        let order = c::person_ids(v, "person_ids", &r.person_ids);
        Ok(ReorderParticipants { target: target?, group: r.group.clone(), order: order? })
    }
}

/// WatchSessions: which changes to follow, and from which revision.
#[derive(Debug)]
pub struct WatchSessions {
    pub filter: WatchFilter,
    /// Replay the changes after this revision first; `None` to follow from now.
    pub after_revision: Option<u64>,
}

impl FromRequest<pb::WatchSessionsRequest> for WatchSessions {
    fn from_request(v: &mut Violations, r: &pb::WatchSessionsRequest) -> Result<Self, Reported> {
        let session = optional_id(v, "session_id", &r.session_id, SessionId::parse);
        let person = optional_id(v, "person_id", &r.person_id, PersonId::parse);
        let organizer = search_text(&r.organizer);
        let filter = WatchFilter { session: session?, organizer, person: person? };
        Ok(WatchSessions { filter, after_revision: r.after_revision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::requests::parse;
    use crate::domain::Timestamp;

    fn fields(v: Violations) -> Vec<String> {
        v.violations().iter().map(|x| x.field.clone()).collect()
    }

    #[test]
    fn an_update_names_every_bad_id_and_mask_path_at_once() {
        let r = pb::UpdateSlotRequest {
            session_id: "not an id!".into(),
            slot: Some(pb::Slot::default()),
            update_mask: Some(prost_types::FieldMask { paths: vec!["nope".into()] }),
            ..Default::default()
        };
        let refused = parse::<UpdateSlot, _>(&r).unwrap_err();
        assert_eq!(fields(refused), ["session_id", "slot.id", "update_mask.paths[0]"]);
    }

    #[test]
    fn a_listing_resumes_from_its_own_token_and_refuses_another_querys() {
        let first = pb::ListSessionsRequest { tag: "msme".into(), ..Default::default() };
        let page = parse::<ListSessions, _>(&first).unwrap().page;
        assert_eq!(page.after, None);
        let cursor = SessionCursor { start: Timestamp::from_second(1_668_693_600).unwrap(), id: SessionId::generate() };
        let token = page.next_token(Some(&cursor));
        let next = pb::ListSessionsRequest { page_token: token.clone(), ..first.clone() };
        assert_eq!(parse::<ListSessions, _>(&next).unwrap().page.after, Some(cursor));
        let other = pb::ListSessionsRequest { tag: "wto".into(), page_token: token, ..first };
        assert_eq!(fields(parse::<ListSessions, _>(&other).unwrap_err()), ["page_token"]);
    }
}
