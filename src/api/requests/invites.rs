//! InviteService requests as commands: rendering invites, listing and marking the outbox.

use super::{FromRequest, Page, PageSizes, page_size};
use crate::api::convert::{Report, Reported, each, optional_id, person_id, session_id};
use crate::api::page_token::PageCursor;
use crate::domain::{InviteMessage, InviteMethod, PersonId, SessionId, SlotId, Violations, check_text};
use crate::invites::{EntryCursor, MessageCursor, StateFilter};
use crate::pb;

/// A CreateInvite page resumes after the last message it rendered (its slot, or none for the
/// participant invite).
impl PageCursor for MessageCursor {}

/// A ListInvites page resumes after the (session start, session, slot, person) of the last
/// outbox entry it showed.
impl PageCursor for EntryCursor {}

/// Rendered invites per page: one can reach tens of kilobytes (a long description, in the
/// iTIP object and twice in the e-mail), so 50 keep an answer well under gRPC's 4 MiB.
const RENDERED_PAGE: PageSizes = PageSizes { default: 20, max: 50 };
/// Outbox entries per page without rendering: a few hundred bytes each.
const BASIC_PAGE: PageSizes = PageSizes { default: 100, max: 1000 };
/// Most messages one Mark call may name.
const MAX_MARKED: usize = 10_000;
const MAX_REASON_CHARS: usize = 1000;

/// CreateInvite: the invites of one person in one session (or one slot of it), rendered.
#[derive(Debug)]
pub struct CreateInvite {
    pub session: SessionId,
    pub person: PersonId,
    /// One slot; `None` for each slot that names the person.
    pub slot: Option<SlotId>,
    pub page: Page<MessageCursor>,
}

impl FromRequest<pb::CreateInviteRequest> for CreateInvite {
    fn from_request(v: &mut Violations, r: &pb::CreateInviteRequest) -> Result<Self, Reported> {
        let session = session_id(v, "session_id", &r.session_id);
        let person = person_id(v, "person_id", &r.person_id);
        let slot = optional_id(v, "slot_id", &r.slot_id, SlotId::parse);
        let size = page_size(v, r.page_size, RENDERED_PAGE);
        // "participants": the cursor may name no slot (the participant invite) since issue 23;
        // a token of the earlier layout has another fingerprint, so it is refused, not misread.
        let query = format!("invites participants {:?} {:?} {:?}", r.session_id, r.person_id, r.slot_id);
        let page = Page::parse(v, size, &r.page_token, &query);
        Ok(CreateInvite { session: session?, person: person?, slot: slot?, page })
    }
}

/// ListInvites: which part of the outbox, whether to render each entry, and the page.
#[derive(Debug)]
pub struct ListInvites {
    /// One session; `None` for every session that has not ended.
    pub session: Option<SessionId>,
    /// Empty for every state.
    pub states: Vec<StateFilter>,
    pub render: bool,
    pub page: Page<EntryCursor>,
}

impl FromRequest<pb::ListInvitesRequest> for ListInvites {
    fn from_request(v: &mut Violations, r: &pb::ListInvitesRequest) -> Result<Self, Reported> {
        let session = optional_id(v, "session_id", &r.session_id, SessionId::parse);
        let states = each(&r.states, |i, s| state(v, &format!("states[{i}]"), *s));
        let render = match pb::InviteView::try_from(r.view) {
            Ok(pb::InviteView::Unspecified | pb::InviteView::Basic) => false,
            Ok(pb::InviteView::Full) => true,
            Err(_) => {
                v.add("view", "must be BASIC or FULL");
                false
            }
        };
        let size = page_size(v, r.page_size, if render { RENDERED_PAGE } else { BASIC_PAGE });
        let mut canonical: Vec<i32> = r.states.clone();
        canonical.sort_unstable();
        canonical.dedup();
        // "participants": as CreateInvite's, the cursor's slot is optional since issue 23.
        let query = format!("outbox participants {:?} {canonical:?} {render}", r.session_id);
        let page = Page::parse(v, size, &r.page_token, &query);
        Ok(ListInvites { session: session?, states: states?, render, page })
    }
}

/// ListPendingInvites: one session's pending messages, or every session's.
#[derive(Debug)]
pub struct ListPendingInvites {
    pub session: Option<SessionId>,
}

impl FromRequest<pb::ListPendingInvitesRequest> for ListPendingInvites {
    fn from_request(v: &mut Violations, r: &pb::ListPendingInvitesRequest) -> Result<Self, Reported> {
        let session = optional_id(v, "session_id", &r.session_id, SessionId::parse);
        Ok(ListPendingInvites { session: session? })
    }
}

/// MarkInvitesSent: the messages a sender delivered.
#[derive(Debug)]
pub struct MarkInvitesSent {
    pub messages: Vec<InviteMessage>,
}

impl FromRequest<pb::MarkInvitesSentRequest> for MarkInvitesSent {
    fn from_request(v: &mut Violations, r: &pb::MarkInvitesSentRequest) -> Result<Self, Reported> {
        count(v, "invites", r.invites.len());
        let messages = each(&r.invites, |i, m| message(v, &format!("invites[{i}]"), m));
        Ok(MarkInvitesSent { messages: messages? })
    }
}

/// MarkInvitesFailed: the messages a sender could not deliver, each with why.
#[derive(Debug)]
pub struct MarkInvitesFailed {
    pub failures: Vec<(InviteMessage, String)>,
}

impl FromRequest<pb::MarkInvitesFailedRequest> for MarkInvitesFailed {
    fn from_request(v: &mut Violations, r: &pb::MarkInvitesFailedRequest) -> Result<Self, Reported> {
        count(v, "failures", r.failures.len());
        let failures = each(&r.failures, |i, f| {
            let field = format!("failures[{i}]");
            let message = match &f.invite {
                Some(m) => message(v, &format!("{field}.invite"), m),
                None => Err(v.reject(format!("{field}.invite"), "is required")),
            };
            check_text(v, &format!("{field}.reason"), &f.reason, MAX_REASON_CHARS, true, true);
            Ok((message?, f.reason.clone()))
        });
        Ok(MarkInvitesFailed { failures: failures? })
    }
}

/// An outbox state to list.
fn state(v: &mut Violations, field: &str, raw: i32) -> Result<StateFilter, Reported> {
    match pb::InviteState::try_from(raw) {
        Ok(pb::InviteState::Pending) => Ok(StateFilter::Pending),
        Ok(pb::InviteState::Sent) => Ok(StateFilter::Sent),
        Ok(pb::InviteState::Failed) => Ok(StateFilter::Failed),
        Ok(pb::InviteState::Blocked) => Ok(StateFilter::Blocked),
        _ => Err(v.reject(field, "must be PENDING, SENT, FAILED or BLOCKED")),
    }
}

/// One message of the outbox, as a sender names it back.
fn message(v: &mut Violations, field: &str, m: &pb::InviteMessage) -> Result<InviteMessage, Reported> {
    let session = session_id(v, &format!("{field}.session_id"), &m.session_id);
    // Empty: a participant's invite to the whole session.
    let slot = optional_id(v, &format!("{field}.slot_id"), &m.slot_id, SlotId::parse);
    let person = person_id(v, &format!("{field}.person_id"), &m.person_id);
    let method = match pb::InviteMethod::try_from(m.method) {
        Ok(pb::InviteMethod::Request) => Ok(InviteMethod::Request),
        Ok(pb::InviteMethod::Cancel) => Ok(InviteMethod::Cancel),
        _ => Err(v.reject(format!("{field}.method"), "must be REQUEST or CANCEL")),
    };
    Ok(InviteMessage { session: session?, slot: slot?, person: person?, method: method?, sequence: m.sequence })
}

/// How many messages one Mark call names: at least one, at most [`MAX_MARKED`].
fn count(v: &mut Violations, field: &str, n: usize) {
    if n == 0 {
        v.add(field, "must name at least one message");
    }
    if n > MAX_MARKED {
        v.add(field, format!("must name at most {MAX_MARKED} messages"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::requests::parse;

    #[test]
    fn each_malformed_message_of_a_mark_call_is_named() {
        let good = pb::InviteMessage {
            session_id: "fmg".into(),
            slot_id: "opening".into(),
            person_id: "ada".into(),
            method: pb::InviteMethod::Request as i32,
            sequence: 0,
        };
        let bad = pb::InviteMessage { slot_id: "Not-An-Id".into(), method: 99, ..good.clone() };
        let r = pb::MarkInvitesSentRequest { invites: vec![bad.clone(), good.clone(), bad] };
        let refused = parse::<MarkInvitesSent, _>(&r).unwrap_err();
        let fields: Vec<&str> = refused.violations().iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["invites[0].slot_id", "invites[0].method", "invites[2].slot_id", "invites[2].method"]);
        let sent = parse::<MarkInvitesSent, _>(&pb::MarkInvitesSentRequest { invites: vec![good] }).unwrap();
        assert_eq!(sent.messages.len(), 1);
    }
}
