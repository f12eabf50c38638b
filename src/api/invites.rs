//! `agenda.v1.InviteService`.

use tonic::{Request, Response, Status};

use super::check;
use super::convert::{self as c, session_id};
use crate::app::Agenda;
use crate::domain::{InviteMessage, InviteMethod, PersonId, SlotId, Violations};
use crate::ics::feed::FeedSettings;
use crate::invites;
use crate::links::FeedLinks;
use crate::pb::{self, invite_service_server::InviteService};

/// The InviteService implementation.
pub struct InviteApi {
    agenda: Agenda,
    settings: FeedSettings,
    links: FeedLinks,
}

impl InviteApi {
    pub fn new(agenda: Agenda, settings: FeedSettings, links: FeedLinks) -> Self {
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
        slot_id: m.slot.to_string(),
        person_id: m.person.to_string(),
        method: method_out(m.method),
        sequence: m.sequence,
    }
}

fn message_in(v: &mut Violations, field: &str, m: &pb::InviteMessage) -> Option<InviteMessage> {
    let session = session_id(v, &format!("{field}.session_id"), &m.session_id);
    let slot = c::slot_id(v, &format!("{field}.slot_id"), &m.slot_id);
    let person = c::person_id(v, &format!("{field}.person_id"), &m.person_id);
    let method = match pb::InviteMethod::try_from(m.method) {
        Ok(pb::InviteMethod::Request) => Some(InviteMethod::Request),
        Ok(pb::InviteMethod::Cancel) => Some(InviteMethod::Cancel),
        _ => {
            v.add(format!("{field}.method"), "must be REQUEST or CANCEL");
            None
        }
    };
    Some(InviteMessage { session: session?, slot: slot?, person: person?, method: method?, sequence: m.sequence })
}

#[tonic::async_trait]
impl InviteService for InviteApi {
    async fn create_invite(&self, req: Request<pb::CreateInviteRequest>) -> Reply<pb::CreateInviteResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let session = session_id(&mut v, "session_id", &r.session_id);
        let person = c::person_id(&mut v, "person_id", &r.person_id);
        let slot = if r.slot_id.is_empty() { None } else { v.check("slot_id", SlotId::parse(&r.slot_id)) };
        check(v)?;
        let person: PersonId = person.expect("checked");
        let invites =
            invites::create(&self.agenda, &self.settings, &session.expect("checked"), &person, slot.as_ref()).await?;
        Ok(Response::new(pb::CreateInviteResponse {
            invites: invites
                .into_iter()
                .map(|i| pb::Invite {
                    message: Some(message_out(&i.message)),
                    uid: i.uid,
                    ics: i.ics.into_bytes(),
                    email: i.email.into_bytes(),
                    subject: i.subject,
                    to: i.to,
                    message_id: i.message_id,
                })
                .collect(),
        }))
    }

    async fn list_pending_invites(
        &self,
        req: Request<pb::ListPendingInvitesRequest>,
    ) -> Reply<pb::ListPendingInvitesResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let session = if r.session_id.is_empty() { None } else { session_id(&mut v, "session_id", &r.session_id) };
        check(v)?;
        let pending = invites::pending(&self.agenda, session.as_ref()).await?;
        Ok(Response::new(pb::ListPendingInvitesResponse { invites: pending.iter().map(message_out).collect() }))
    }

    async fn mark_invites_sent(&self, req: Request<pb::MarkInvitesSentRequest>) -> Reply<pb::MarkInvitesSentResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        if r.invites.is_empty() {
            v.add("invites", "must name at least one message");
        }
        if r.invites.len() > 10_000 {
            v.add("invites", "must name at most 10000 messages");
        }
        let messages: Vec<Option<InviteMessage>> =
            r.invites.iter().enumerate().map(|(i, m)| message_in(&mut v, &format!("invites[{i}]"), m)).collect();
        check(v)?;
        self.agenda.mark_invites_sent(messages.into_iter().flatten().collect()).await?;
        Ok(Response::new(pb::MarkInvitesSentResponse {}))
    }

    async fn apply_reply(&self, req: Request<pb::ApplyReplyRequest>) -> Reply<pb::ApplyReplyResponse> {
        let r = req.into_inner();
        let applied = invites::apply_reply_text(&self.agenda, &self.settings, &r.ics).await?;
        Ok(Response::new(pb::ApplyReplyResponse {
            session_id: applied.session.id.to_string(),
            slot_id: applied.slot.to_string(),
            person_id: applied.person.to_string(),
            status: c::partstat(applied.status),
            session: Some(c::session_out(&applied.session, &self.links)),
        }))
    }
}
