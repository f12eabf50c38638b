//! `agenda.v1.InviteService`: the outbox (listing, marking), rendered invites, replies.

use tonic::{Request, Response, Status};

use super::convert::{self as c, session_id};
use super::{check, page_token};
use crate::app::Agenda;
use crate::domain::{
    BlockedBy, InviteMessage, InviteMethod, InviteState, OutboxEntry, PersonId, SessionCursor, SlotId, Timestamp,
    Violations,
};

use crate::ics::feed::FeedSettings;
use crate::invites::{self, EntryCursor, ListQuery, RenderedInvite, StateFilter};
use crate::links::FeedLinks;
use crate::pb::{self, invite_service_server::InviteService};

/// Rendered invites per page: one can reach tens of kilobytes (a long description, in the
/// iTIP object and twice in the e-mail), so 50 keep an answer well under gRPC's 4 MiB.
const RENDERED_PAGE: (usize, usize) = (20, 50);
/// Outbox entries per page without rendering: a few hundred bytes each.
const BASIC_PAGE: (usize, usize) = (100, 1000);
/// Most messages one Mark call may name.
const MAX_MARKED: usize = 10_000;
const MAX_REASON_CHARS: usize = 1000;
const BAD_TOKEN: &str = "is not a page token issued by this service";

/// The page size asked for, within `(default, max)`.
fn page_size(v: &mut Violations, raw: i32, (default, max): (usize, usize)) -> usize {
    match raw {
        n if n < 0 => {
            v.add("page_size", "must not be negative");
            0
        }
        0 => default,
        n => (n as usize).min(max),
    }
}

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

fn state_in(v: &mut Violations, field: &str, raw: i32) -> Option<StateFilter> {
    match pb::InviteState::try_from(raw) {
        Ok(pb::InviteState::Pending) => Some(StateFilter::Pending),
        Ok(pb::InviteState::Sent) => Some(StateFilter::Sent),
        Ok(pb::InviteState::Failed) => Some(StateFilter::Failed),
        Ok(pb::InviteState::Blocked) => Some(StateFilter::Blocked),
        _ => {
            v.add(field, "must be PENDING, SENT, FAILED or BLOCKED");
            None
        }
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

/// The cursor of an outbox listing in a page token: the session's start and id, then the
/// slot and person ids (ids never contain a NUL).
fn entry_cursor(cur: page_token::Cursor) -> Option<EntryCursor> {
    let (slot, person) = cur.b.split_once('\0')?;
    Some(EntryCursor {
        session: SessionCursor {
            start: Timestamp::from_second(cur.time).ok()?,
            id: crate::domain::SessionId::parse(&cur.a).ok()?,
        },
        slot: SlotId::parse(slot).ok()?,
        person: PersonId::parse(person).ok()?,
    })
}

fn entry_token(fingerprint: u64, e: &EntryCursor) -> String {
    page_token::encode(
        fingerprint,
        page_token::Cursor {
            time: e.session.start.as_second(),
            a: e.session.id.to_string(),
            b: format!("{}\0{}", e.slot, e.person),
        },
    )
}

/// The cursor in `token` through `parse`, or `None` for the first page.
fn resume<T>(
    v: &mut Violations,
    token: &str,
    fingerprint: u64,
    parse: impl FnOnce(page_token::Cursor) -> Option<T>,
) -> Option<T> {
    match page_token::decode(token, fingerprint) {
        Ok(cursor) => cursor.and_then(|cur| {
            let parsed = parse(cur);
            if parsed.is_none() {
                v.add("page_token", BAD_TOKEN);
            }
            parsed
        }),
        Err(e) => {
            v.extend(e);
            None
        }
    }
}

fn messages_in(v: &mut Violations, field: &str, n: usize) {
    if n == 0 {
        v.add(field, "must name at least one message");
    }
    if n > MAX_MARKED {
        v.add(field, format!("must name at most {MAX_MARKED} messages"));
    }
}

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
        let size = page_size(&mut v, r.page_size, RENDERED_PAGE);
        let fingerprint =
            page_token::fingerprint(&format!("invites {:?} {:?} {:?}", r.session_id, r.person_id, r.slot_id));
        let after = resume(&mut v, &r.page_token, fingerprint, |cur| SlotId::parse(&cur.a).ok());
        check(v)?;
        let person: PersonId = person.expect("checked");
        let session = session.expect("checked");
        let (invites, next) =
            invites::create_page(&self.agenda, &self.settings, &session, &person, slot.as_ref(), after.as_ref(), size)
                .await?;
        Ok(Response::new(pb::CreateInviteResponse {
            invites: invites.into_iter().map(invite_out).collect(),
            next_page_token: next
                .map(|slot| {
                    page_token::encode(
                        fingerprint,
                        page_token::Cursor { time: 0, a: slot.to_string(), b: String::new() },
                    )
                })
                .unwrap_or_default(),
        }))
    }

    async fn list_invites(&self, req: Request<pb::ListInvitesRequest>) -> Reply<pb::ListInvitesResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let session = if r.session_id.is_empty() { None } else { session_id(&mut v, "session_id", &r.session_id) };
        let states: Vec<StateFilter> =
            r.states.iter().enumerate().filter_map(|(i, s)| state_in(&mut v, &format!("states[{i}]"), *s)).collect();
        let render = match pb::InviteView::try_from(r.view) {
            Ok(pb::InviteView::Unspecified | pb::InviteView::Basic) => false,
            Ok(pb::InviteView::Full) => true,
            Err(_) => {
                v.add("view", "must be BASIC or FULL");
                false
            }
        };
        let size = page_size(&mut v, r.page_size, if render { RENDERED_PAGE } else { BASIC_PAGE });
        let mut canonical: Vec<i32> = r.states.clone();
        canonical.sort_unstable();
        canonical.dedup();
        let fingerprint = page_token::fingerprint(&format!("outbox {:?} {canonical:?} {render}", r.session_id));
        let after = resume(&mut v, &r.page_token, fingerprint, entry_cursor);
        check(v)?;
        let q = ListQuery { session, states, render, after, limit: size };
        let (listed, next) = invites::list(&self.agenda, &self.settings, &q).await?;
        Ok(Response::new(pb::ListInvitesResponse {
            entries: listed.into_iter().map(|l| entry_out(l.entry, l.invite)).collect(),
            next_page_token: next.map(|n| entry_token(fingerprint, &n)).unwrap_or_default(),
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
        let q = ListQuery { session, states: vec![StateFilter::Pending], limit: usize::MAX, ..ListQuery::default() };
        let (pending, _) = invites::list(&self.agenda, &self.settings, &q).await?;
        Ok(Response::new(pb::ListPendingInvitesResponse {
            invites: pending.iter().map(|l| message_out(&l.entry.message)).collect(),
        }))
    }

    async fn mark_invites_sent(&self, req: Request<pb::MarkInvitesSentRequest>) -> Reply<pb::MarkInvitesSentResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        messages_in(&mut v, "invites", r.invites.len());
        let messages: Vec<Option<InviteMessage>> =
            r.invites.iter().enumerate().map(|(i, m)| message_in(&mut v, &format!("invites[{i}]"), m)).collect();
        check(v)?;
        self.agenda.mark_invites_sent(messages.into_iter().flatten().collect()).await?;
        Ok(Response::new(pb::MarkInvitesSentResponse {}))
    }

    async fn mark_invites_failed(
        &self,
        req: Request<pb::MarkInvitesFailedRequest>,
    ) -> Reply<pb::MarkInvitesFailedResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        messages_in(&mut v, "failures", r.failures.len());
        let mut failures = Vec::with_capacity(r.failures.len());
        for (i, f) in r.failures.iter().enumerate() {
            let field = format!("failures[{i}]");
            let message = match &f.invite {
                Some(m) => message_in(&mut v, &format!("{field}.invite"), m),
                None => {
                    v.add(format!("{field}.invite"), "is required");
                    None
                }
            };
            crate::domain::check_text(&mut v, &format!("{field}.reason"), &f.reason, MAX_REASON_CHARS, true, true);
            failures.extend(message.map(|m| (m, f.reason.clone())));
        }
        check(v)?;
        self.agenda.mark_invites_failed(failures).await?;
        Ok(Response::new(pb::MarkInvitesFailedResponse {}))
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
