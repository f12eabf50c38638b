//! `agenda.v1.InviteService`: the outbox (listing, marking), rendered invites, replies.

use tonic::{Request, Response, Status};

use super::convert as c;
use super::requests::{CreateInvite, ListInvites, ListPendingInvites, MarkInvitesFailed, MarkInvitesSent, parse};
use crate::app::Agenda;
use crate::domain::{BlockedBy, InviteMessage, InviteMethod, InviteState, OutboxEntry};
use crate::ics::feed::CalendarSettings;
use crate::invites::{self, ListQuery, RenderedInvite, StateFilter};
use crate::links::FeedLinks;
use crate::pb::{self, invite_service_server::InviteService};

fn invite_out(i: RenderedInvite) -> pb::Invite {
    pb::Invite {
        message: Some(message_out(&i.message)),
        uid: i.uid,
        ics: i.ics.into_bytes(),
        email: i.email.into_bytes(),
        subject: i.subject,
        to: i.to,
        message_id: i.message_id,
        from: i.from,
    }
}

fn entry_out(e: OutboxEntry, invite: Option<RenderedInvite>) -> pb::OutboxEntry {
    let m = &e.message;
    let (state, reason, time) = match e.state {
        InviteState::Pending => (pb::InviteState::Pending, String::new(), None),
        InviteState::Sent { time } => (pb::InviteState::Sent, String::new(), time),
        InviteState::Failed { time, reason } => (pb::InviteState::Failed, reason, Some(time)),
        InviteState::Blocked(BlockedBy::PersonHasNoEmail) => {
            (pb::InviteState::Blocked, format!("person \"{}\" has no e-mail address", m.person), None)
        }
        InviteState::Blocked(BlockedBy::OrganizerHasNoEmail) => (
            pb::InviteState::Blocked,
            format!("the organizer of session \"{}\" has no e-mail address", m.session),
            None,
        ),
    };
    pb::OutboxEntry {
        message: Some(message_out(m)),
        state: state as i32,
        reason,
        due_time: Some(c::timestamp(e.due_since)),
        state_time: time.map(c::timestamp),
        invite: invite.map(invite_out),
    }
}

/// The InviteService implementation.
pub struct InviteApi {
    agenda: Agenda,
    settings: CalendarSettings,
    links: FeedLinks,
}

impl InviteApi {
    pub fn new(agenda: Agenda, settings: CalendarSettings, links: FeedLinks) -> Self {
        Self { agenda, settings, links }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn method_out(m: InviteMethod) -> i32 {
    match m {
        InviteMethod::Request => pb::InviteMethod::Request as i32,
        InviteMethod::Cancel => pb::InviteMethod::Cancel as i32,
    }
}

fn message_out(m: &InviteMessage) -> pb::InviteMessage {
    pb::InviteMessage {
        session_id: m.session.to_string(),
        slot_id: m.slot.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        person_id: m.person.to_string(),
        method: method_out(m.method),
        sequence: m.sequence,
    }
}

#[tonic::async_trait]
impl InviteService for InviteApi {
    async fn create_invite(&self, req: Request<pb::CreateInviteRequest>) -> Reply<pb::CreateInviteResponse> {
        let CreateInvite { session, person, slot, page } = parse(req.get_ref())?;
        let (invites, next) = invites::create_page(
            &self.agenda,
            &self.settings,
            &session,
            &person,
            slot.as_ref(),
            page.after.as_ref(),
            page.size,
        )
        .await?;
        Ok(Response::new(pb::CreateInviteResponse {
            invites: invites.into_iter().map(invite_out).collect(),
            next_page_token: page.next_token(next.as_ref()),
        }))
    }

    async fn list_invites(&self, req: Request<pb::ListInvitesRequest>) -> Reply<pb::ListInvitesResponse> {
        let ListInvites { session, states, render, mut page } = parse(req.get_ref())?;
        let q = ListQuery { session, states, render, after: page.after.take(), limit: page.size };
        let (listed, next) = invites::list(&self.agenda, &self.settings, &q).await?;
        Ok(Response::new(pb::ListInvitesResponse {
            entries: listed.into_iter().map(|l| entry_out(l.entry, l.invite)).collect(),
            next_page_token: page.next_token(next.as_ref()),
        }))
    }

    async fn list_pending_invites(
        &self,
        req: Request<pb::ListPendingInvitesRequest>,
    ) -> Reply<pb::ListPendingInvitesResponse> {
        let ListPendingInvites { session } = parse(req.get_ref())?;
        let q = ListQuery { session, states: vec![StateFilter::Pending], limit: usize::MAX, ..ListQuery::default() };
        let (pending, _) = invites::list(&self.agenda, &self.settings, &q).await?;
        Ok(Response::new(pb::ListPendingInvitesResponse {
            invites: pending.iter().map(|l| message_out(&l.entry.message)).collect(),
        }))
    }

    async fn mark_invites_sent(&self, req: Request<pb::MarkInvitesSentRequest>) -> Reply<pb::MarkInvitesSentResponse> {
        let MarkInvitesSent { messages } = parse(req.get_ref())?;
        self.agenda.mark_invites_sent(messages).await?;
        Ok(Response::new(pb::MarkInvitesSentResponse {}))
    }

    async fn mark_invites_failed(
        &self,
        req: Request<pb::MarkInvitesFailedRequest>,
    ) -> Reply<pb::MarkInvitesFailedResponse> {
        let MarkInvitesFailed { failures } = parse(req.get_ref())?;
        self.agenda.mark_invites_failed(failures).await?;
        Ok(Response::new(pb::MarkInvitesFailedResponse {}))
    }

    async fn apply_reply(&self, req: Request<pb::ApplyReplyRequest>) -> Reply<pb::ApplyReplyResponse> {
        let r = req.into_inner();
        let applied = invites::apply_reply_text(&self.agenda, &self.settings, &r.ics).await?;
        Ok(Response::new(pb::ApplyReplyResponse {
            session_id: applied.session.id.to_string(),
            slot_id: applied.slot.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            person_id: applied.person.to_string(),
            status: c::partstat(applied.status),
            session: Some(c::session_out(&applied.session, &self.links)),
        }))
    }
}
