//! Speaker invites, end to end: which messages a person should get (domain), rendered as
//! iTIP objects (`ics::itip`) and iMIP e-mails (`mail`). Used by the InviteService and by
//! `agenda invite` on the command line.

use crate::app::Agenda;
use crate::domain::{
    InviteMessage, InviteMethod, ParticipationStatus, Person, PersonId, Session, SessionFilter, SessionId, Slot,
    SlotId, Timestamp, pending_invites, wanted_invites,
};
use crate::error::{Error, Kind, Reason};
use crate::ics::feed::{FeedSettings, People, person_line, slot_uid};
use crate::ics::itip;
use crate::mail::{self, Mail};

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct RenderedInvite {
    pub message: InviteMessage,
    pub uid: String,
    pub ics: String,
    pub email: String,
    pub subject: String,
    pub to: String,
    pub message_id: String,
}

/// The messages `person` should have about their slots in `session` (only `slot` if given).
pub async fn create(
    agenda: &Agenda,
    settings: &FeedSettings,
    session: &SessionId,
    person: &PersonId,
    slot: Option<&SlotId>,
) -> Result<Vec<RenderedInvite>, Error> {
    let s = agenda.get_session(session).await?;
    let p = agenda.get_person(person).await?;
    let Some(to) = p.email.clone() else {
        return Err(Error::refused(
            Reason::PersonHasNoEmail,
            format!("person \"{person}\" has no e-mail address to invite"),
            [("person_id", person.to_string())],
        ));
    };
    let Some(from) = s.organizer.email.clone() else {
        return Err(Error::refused(
            Reason::OrganizerHasNoEmail,
            format!("session \"{session}\" has no organizer e-mail: replies would have nowhere to go"),
            [("session_id", session.to_string())],
        ));
    };
    let sent = agenda.sent_invites(session).await?;
    let messages: Vec<InviteMessage> = wanted_invites(&s, &sent)
        .into_iter()
        .filter(|m| &m.person == person && slot.is_none_or(|id| &m.slot == id))
        .collect();
    if messages.is_empty() {
        return Err(Error::refused(
            Reason::NotOnAgenda,
            format!(
                "person \"{person}\" speaks in or moderates no slot of session \"{session}\" (nor was invited to one)"
            ),
            [("person_id", person.to_string()), ("session_id", session.to_string())],
        ));
    }
    let mut people: People = agenda.people_of(&s).await?.into_iter().map(|p| (p.id.clone(), p)).collect();
    people.insert(p.id.clone(), p.clone());
    let now = Timestamp::now();
    let mut out = Vec::new();
    for m in messages {
        let slot = find_slot(&s, &m.slot);
        let (event, ics) = itip::render(settings, &s, &slot, &p, &people, m.method, m.sequence);
        let subject = subject(&s, &slot, &m);
        let message_id = format!(
            "{}.{}.{}.{}.{}@{}",
            m.method.as_str().to_lowercase(),
            m.sequence,
            m.slot,
            m.session,
            m.person,
            settings.uid_domain
        );
        let email = mail::render(&Mail {
            from_name: s.organizer.name.clone(),
            from_email: from.to_string(),
            to_name: p.display_name(),
            to_email: to.to_string(),
            subject: subject.clone(),
            date: now,
            message_id: message_id.clone(),
            text: text(&s, &slot, &p, &people, m.method),
            ics: ics.clone(),
            method: m.method.as_str(),
        });
        out.push(RenderedInvite { uid: event.uid, message: m, ics, email, subject, to: to.to_string(), message_id });
    }
    Ok(out)
}

/// The slot a message is about: on the agenda, recently removed, or (removed long ago)
/// rebuilt from its UID with the session's times, enough for a CANCEL.
fn find_slot(s: &Session, id: &SlotId) -> Slot {
    let found = s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot)).find(|sl| &sl.id == id);
    found.cloned().unwrap_or_else(|| Slot {
        id: id.clone(),
        start: s.start,
        end: s.end,
        title: s.title.clone(),
        kind: crate::domain::SlotKind::Other,
        description: String::new(),
        speakers: Vec::new(),
        moderators: Vec::new(),
        materials: Vec::new(),
        allow_overlap: true,
        status: crate::domain::SlotStatus::Cancelled,
        sequence: 0,
    })
}

fn when(s: &Session, slot: &Slot) -> String {
    let tz = s.time_zone.tz();
    let start = slot.start.to_zoned_datetime(tz.clone());
    let end = slot.end.to_zoned_datetime(tz);
    format!("{}–{} ({})", start.strftime("%A %-d %B %Y, %H:%M"), end.strftime("%H:%M"), s.time_zone)
}

fn subject(s: &Session, slot: &Slot, m: &InviteMessage) -> String {
    let prefix = match (m.method, m.sequence) {
        (InviteMethod::Cancel, _) => "Cancelled",
        (InviteMethod::Request, 0) => "Invitation",
        (InviteMethod::Request, _) => "Updated invitation",
    };
    format!("{prefix}: {} — {}, {}", slot.title, s.title, when(s, slot))
}

fn text(s: &Session, slot: &Slot, person: &Person, people: &People, method: InviteMethod) -> String {
    let names =
        |ids: &[PersonId]| ids.iter().filter_map(|id| people.get(id)).map(person_line).collect::<Vec<_>>().join("; ");
    let mut t = format!("Dear {},\n\n", person.display_name());
    match method {
        InviteMethod::Request => {
            let role = if slot.moderators.contains(&person.id) { "moderate" } else { "speak at" };
            t.push_str(&format!(
                "You are invited to {role} \"{}\" in \"{}\", organized by {}.\n\n",
                slot.title, s.title, s.organizer.name
            ));
        }
        InviteMethod::Cancel => t.push_str(&format!(
            "\"{}\" in \"{}\" is cancelled for you: the slot was cancelled or removed, or you are no longer on it.\n\n",
            slot.title, s.title
        )),
    }
    t.push_str(&format!("When: {}\n", when(s, slot)));
    if !s.location.is_empty() {
        t.push_str(&format!("Where: {}\n", s.location));
    }
    if let Some(u) = &s.join_url {
        t.push_str(&format!("Join: {u}\n"));
    }
    if method == InviteMethod::Request {
        if !slot.speakers.is_empty() {
            t.push_str(&format!("Speakers: {}\n", names(&slot.speakers)));
        }
        if !slot.moderators.is_empty() {
            t.push_str(&format!("Moderators: {}\n", names(&slot.moderators)));
        }
        t.push_str(
            "\nPlease answer with your calendar (accept, tentative or decline): your answer updates the agenda.\n",
        );
    }
    t
}

/// The messages the agenda calls for that are not marked sent: of one session, or of every
/// session that has not ended.
pub async fn pending(agenda: &Agenda, session: Option<&SessionId>) -> Result<Vec<InviteMessage>, Error> {
    let sessions = match session {
        Some(id) => vec![agenda.get_session(id).await?],
        None => agenda.all_sessions(SessionFilter { from: Some(Timestamp::now()), ..SessionFilter::default() }).await?,
    };
    let mut out = Vec::new();
    for s in &sessions {
        let sent = agenda.sent_invites(&s.id).await?;
        out.extend(pending_invites(s, &sent));
    }
    Ok(out)
}

/// The UID of the slot a message is about.
pub fn uid(settings: &FeedSettings, m: &InviteMessage) -> String {
    slot_uid(settings, m.session.as_str(), m.slot.as_str())
}

/// A speaker's REPLY as applied: whose answer, to which slot, and the session after it.
#[derive(Debug, Clone)]
pub struct AppliedReply {
    pub session: Session,
    pub slot: SlotId,
    pub person: PersonId,
    pub status: ParticipationStatus,
}

/// Parses an iTIP REPLY (`ics`, as received) and applies it: the one path of the ApplyReply
/// RPC and of the reply mailbox (`mailbox`), so both accept and refuse the same replies. An
/// unreadable object is invalid field `ics`; a reply about no slot of ours is NOT_FOUND.
pub async fn apply_reply_text(agenda: &Agenda, settings: &FeedSettings, ics: &str) -> Result<AppliedReply, Error> {
    let reply = itip::parse_reply(ics.as_bytes()).map_err(|e| Error::invalid("ics", e.to_string()))?;
    let (session, slot) = itip::parse_slot_uid(settings, &reply.uid)
        .ok_or_else(|| Error::not_found(Kind::Slot, format!("for UID {}", reply.uid)))?;
    let (s, person) = agenda.apply_reply(&session, &slot, &reply.attendee, reply.sequence, reply.status).await?;
    Ok(AppliedReply { session: s, slot, person, status: reply.status })
}
