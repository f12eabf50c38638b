//! Speaker and participant invites, end to end: which messages a person should get and where
//! each stands (the outbox, `domain::outbox`), rendered as iTIP objects (`ics::itip`) and iMIP
//! e-mails (`mail`). Used by the InviteService and by `agenda invite` on the command line ([`list`],
//! [`due`], [`mark`], [`stats`]: over every coming session), and by the built-in sender, which
//! looks only at the sessions a write touched: [`examine`] one session, [`coming`] for its
//! rare full look, [`sessions_naming`] a changed person, [`due_of`] the examined ones.

pub mod imip;

use crate::app::{Agenda, Fence};
use crate::domain::{
    self, BlockedBy, InviteMessage, InviteMethod, InviteRecord, InviteState, OutboxEntry, ParticipationStatus, Person,
    PersonId, Role, Session, SessionCursor, SessionFilter, SessionId, Slot, SlotId, TimeZoneName, Timestamp,
};
use crate::error::{Error, Kind, Reason};
use crate::i18n::{Arg, Lang};
use crate::ics::feed::{CalendarSettings, People, person_line, session_uid_of, slot_uid, zone_label};
use crate::ics::itip;
use crate::ics::vtimezone::is_utc;
use imip::Mail;

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct RenderedInvite {
    pub message: InviteMessage,
    pub uid: String,
    pub ics: String,
    pub email: String,
    pub subject: String,
    pub to: String,
    /// The organizer's address: the e-mail's From and the SMTP envelope sender.
    pub from: String,
    pub message_id: String,
}

/// What happened to one message handed to a sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed { reason: String },
}

/// Figures for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    pub pending: u64,
    pub failed: u64,
    pub blocked: u64,
    /// When the oldest pending message became due, at the latest (see
    /// [`OutboxEntry::due_since`]).
    pub oldest_pending: Option<Timestamp>,
}

/// Which states a listing keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateFilter {
    Pending,
    Sent,
    Failed,
    Blocked,
}

impl StateFilter {
    fn matches(self, state: &InviteState) -> bool {
        matches!(
            (self, state),
            (StateFilter::Pending, InviteState::Pending)
                | (StateFilter::Sent, InviteState::Sent { .. })
                | (StateFilter::Failed, InviteState::Failed { .. })
                | (StateFilter::Blocked, InviteState::Blocked(_))
        )
    }
}

/// Where a listing of the outbox stopped: entries are in (session start, session id, slot,
/// person) order, a session's participant invites (no slot) first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryCursor {
    pub session: SessionCursor,
    pub slot: Option<SlotId>,
    pub person: PersonId,
}

/// Where a page of one person's messages ([`create_page`]) stopped: after the message about
/// this slot (`None`: their participant invite, which comes first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageCursor {
    pub slot: Option<SlotId>,
}

/// A listing of the outbox.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// One session; `None` for every session that has not ended.
    pub session: Option<SessionId>,
    /// Empty for every state.
    pub states: Vec<StateFilter>,
    /// Whether to render each message (blocked ones cannot be: an address is missing).
    pub render: bool,
    pub after: Option<EntryCursor>,
    pub limit: usize,
}

/// One entry of a listing, rendered when asked for.
#[derive(Debug, Clone)]
pub struct Listed {
    pub entry: OutboxEntry,
    pub invite: Option<RenderedInvite>,
}

/// A session's outbox with what it takes to render it.
struct SessionOutbox {
    session: Session,
    people: People,
    entries: Vec<OutboxEntry>,
}

/// The outbox of `s` at `now` (`None`: as if it had not ended, for previews), with the people
/// it names and those its records name (a person taken off a slot still gets a CANCEL).
async fn session_outbox(agenda: &Agenda, s: Session, now: Option<Timestamp>) -> Result<SessionOutbox, Error> {
    let records: Vec<InviteRecord> = agenda.invite_records(&s.id).await?;
    let mut people: People = agenda.people_of(&s).await?.into_iter().map(|p| (p.id.clone(), p)).collect();
    for r in &records {
        if !people.contains_key(&r.person) {
            match agenda.get_person(&r.person).await {
                Ok(p) => {
                    people.insert(p.id.clone(), p);
                }
                // Deleted since: no address to send to, so the entry is blocked.
                Err(Error::Domain(domain::Error::NotFound { .. })) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let has_email = |id: &PersonId| people.get(id).is_some_and(|p| p.email.is_some());
    let entries = domain::outbox(&s, &records, now, has_email);
    Ok(SessionOutbox { session: s, people, entries })
}

/// Which sessions have an outbox to send from: those that have not ended at `now`.
fn coming_filter(now: Timestamp) -> SessionFilter {
    SessionFilter { from: Some(now), ..SessionFilter::default() }
}

/// Every session that has not ended, page by page.
pub async fn coming(agenda: &Agenda, now: Timestamp) -> Result<Vec<Session>, Error> {
    agenda.all_sessions(coming_filter(now)).await
}

/// One session's outbox as a sender examined it at one moment: its figures and its pending
/// messages, ready to render. A snapshot: the store stays the truth.
pub struct Examined(SessionOutbox);

impl Examined {
    pub fn id(&self) -> &SessionId {
        &self.0.session.id
    }

    /// When the session ends: from then on it calls for no new message.
    pub fn end(&self) -> Timestamp {
        self.0.session.end
    }

    /// Its figures.
    pub fn stats(&self) -> OutboxStats {
        let mut out = OutboxStats::default();
        for e in &self.0.entries {
            match e.state {
                InviteState::Pending => {
                    out.pending += 1;
                    out.oldest_pending = Some(out.oldest_pending.map_or(e.due_since, |t| t.min(e.due_since)));
                }
                InviteState::Failed { .. } => out.failed += 1,
                InviteState::Blocked(_) => out.blocked += 1,
                InviteState::Sent { .. } => {}
            }
        }
        out
    }

    fn pending(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.0.entries.iter().filter(|e| e.state == InviteState::Pending)
    }
}

/// The figures of two parts of the outbox together.
impl std::ops::Add for OutboxStats {
    type Output = OutboxStats;

    fn add(self, other: OutboxStats) -> OutboxStats {
        let oldest_pending = match (self.oldest_pending, other.oldest_pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        OutboxStats {
            pending: self.pending + other.pending,
            failed: self.failed + other.failed,
            blocked: self.blocked + other.blocked,
            oldest_pending,
        }
    }
}

/// The outbox of session `s` (a coming one) at `now`.
pub async fn examine_session(agenda: &Agenda, s: Session, now: Timestamp) -> Result<Examined, Error> {
    Ok(Examined(session_outbox(agenda, s, Some(now)).await?))
}

/// The outbox of session `id` at `now`; `None` when the session is gone or has ended (it then
/// calls for no message).
pub async fn examine(agenda: &Agenda, id: &SessionId, now: Timestamp) -> Result<Option<Examined>, Error> {
    let s = match agenda.get_session(id).await {
        Ok(s) => s,
        Err(Error::Domain(domain::Error::NotFound { .. })) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !coming_filter(now).matches(&s, |_| None) {
        return Ok(None);
    }
    examine_session(agenda, s, now).await.map(Some)
}

/// The sessions whose outbox a change of `person` may change (their address decides whether
/// their messages are blocked): every session with a slot, current or recently removed, they
/// speak in or moderate, ended ones included (a cheap index scan; [`examine`] drops them),
/// and every coming session that invites them as a participant.
pub async fn sessions_naming(agenda: &Agenda, person: &PersonId) -> Result<Vec<SessionId>, Error> {
    let slots = match agenda.all_person_slots(person, true).await {
        Ok(slots) => slots,
        // Deleted: the sessions naming them show in the change log when they change.
        Err(Error::Domain(domain::Error::NotFound { .. })) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<SessionId> = Vec::new();
    for p in slots {
        if out.last() != Some(&p.session_id) && !out.contains(&p.session_id) {
            out.push(p.session_id);
        }
    }
    let filter = SessionFilter { person: Some(person.clone()), ..coming_filter(Timestamp::now()) };
    for s in agenda.all_sessions(filter).await? {
        if s.invite_participants && !out.contains(&s.id) {
            out.push(s.id);
        }
    }
    Ok(out)
}

/// The pending messages of `examined`, oldest first, rendered, at most `limit`.
pub fn due_of(settings: &CalendarSettings, examined: &[&Examined], limit: usize) -> Result<Vec<RenderedInvite>, Error> {
    let now = Timestamp::now();
    let mut pending: Vec<(&SessionOutbox, &OutboxEntry)> =
        examined.iter().flat_map(|x| x.pending().map(move |e| (&x.0, e))).collect();
    fn key(e: &OutboxEntry) -> (Timestamp, &SessionId, Option<&SlotId>, &PersonId) {
        (e.due_since, &e.message.session, e.message.slot.as_ref(), &e.message.person)
    }
    pending.sort_by(|(_, a), (_, b)| key(a).cmp(&key(b)));
    pending.into_iter().take(limit).map(|(o, e)| render(settings, o, e, now)).collect()
}

/// The refusal for an entry that cannot be rendered.
fn blocked(by: BlockedBy, m: &InviteMessage) -> Error {
    match by {
        BlockedBy::PersonHasNoEmail => Error::refused(
            Reason::PersonHasNoEmail,
            format!("person \"{}\" has no e-mail address to invite", m.person),
            [("person_id", m.person.to_string())],
        ),
        BlockedBy::OrganizerHasNoEmail => Error::refused(
            Reason::OrganizerHasNoEmail,
            format!("session \"{}\" has no organizer e-mail: replies would have nowhere to go", m.session),
            [("session_id", m.session.to_string())],
        ),
    }
}

/// Renders one entry's message. Refused when an address is missing.
fn render(
    settings: &CalendarSettings,
    o: &SessionOutbox,
    entry: &OutboxEntry,
    now: Timestamp,
) -> Result<RenderedInvite, Error> {
    let m = &entry.message;
    let s = &o.session;
    let Some(from) = s.organizer.email.clone() else {
        return Err(blocked(BlockedBy::OrganizerHasNoEmail, m));
    };
    let Some((p, to)) = o.people.get(&m.person).and_then(|p| Some((p, p.email.clone()?))) else {
        return Err(blocked(BlockedBy::PersonHasNoEmail, m));
    };
    let lang = language(settings, s, p);
    let (event, ics, subject, text) = match &m.slot {
        Some(id) => {
            let slot = find_slot(s, id);
            let (event, ics) = itip::render(settings, s, &slot, p, &o.people, m.method, m.sequence, entry.role, now);
            (event, ics, subject(lang, s, &slot, m), text(lang, s, &slot, p, &o.people, m.method, entry.role))
        }
        None => {
            let (event, ics) =
                itip::render_participant(settings, s, p, &o.people, m.method, m.sequence, entry.role, now);
            (event, ics, session_subject(lang, s, m), session_text(lang, s, p, m.method))
        }
    };
    // A participant's invite has `_session` in the slot's place: `_` is in no slot id, so it
    // can never be the Message-ID of a slot's message.
    let about = m.slot.as_ref().map_or_else(|| "_session".to_owned(), |s| s.to_string());
    let message_id = format!(
        "{}.{}.{}.{}.{}@{}",
        m.method.as_str().to_lowercase(),
        m.sequence,
        about,
        m.session,
        m.person,
        settings.uid_domain
    );
    let email = imip::render(&Mail {
        from_name: s.organizer.name.clone(),
        from_email: from.to_string(),
        to_name: p.display_name(),
        to_email: to.to_string(),
        subject: subject.clone(),
        date: now,
        message_id: message_id.clone(),
        text,
        ics: ics.clone(),
        method: m.method.as_str(),
    });
    Ok(RenderedInvite {
        uid: event.uid,
        message: m.clone(),
        ics,
        email,
        subject,
        to: to.to_string(),
        from: from.to_string(),
        message_id,
    })
}

/// The messages `person` should have about their slots in `session` (only `slot` if given),
/// and as an invited participant, sent or not: every one, for previews and the command line.
pub async fn create(
    agenda: &Agenda,
    settings: &CalendarSettings,
    session: &SessionId,
    person: &PersonId,
    slot: Option<&SlotId>,
) -> Result<Vec<RenderedInvite>, Error> {
    Ok(create_page(agenda, settings, session, person, slot, None, usize::MAX).await?.0)
}

/// One page of [`create`]'s messages, the participant invite then slot order: at most
/// `limit`, after `after`; with where to continue when there are more.
pub async fn create_page(
    agenda: &Agenda,
    settings: &CalendarSettings,
    session: &SessionId,
    person: &PersonId,
    slot: Option<&SlotId>,
    after: Option<&MessageCursor>,
    limit: usize,
) -> Result<(Vec<RenderedInvite>, Option<MessageCursor>), Error> {
    let s = agenda.get_session(session).await?;
    let p = agenda.get_person(person).await?;
    let now = Timestamp::now();
    // A preview: what the agenda calls for, even after the session's end.
    let o = session_outbox(agenda, s, None).await?;
    let mine: Vec<&OutboxEntry> = o
        .entries
        .iter()
        .filter(|e| &e.message.person == person && slot.is_none_or(|id| e.message.slot.as_ref() == Some(id)))
        .collect();
    if mine.is_empty() {
        return Err(Error::refused(
            Reason::NotOnAgenda,
            format!(
                "person \"{person}\" speaks in or moderates no slot of session \"{session}\", nor is an invited \
                 participant (nor was invited to either)"
            ),
            [("person_id", person.to_string()), ("session_id", session.to_string())],
        ));
    }
    if p.email.is_none() {
        return Err(blocked(BlockedBy::PersonHasNoEmail, &mine[0].message));
    }
    let mut page: Vec<&OutboxEntry> =
        mine.into_iter().filter(|e| after.is_none_or(|a| e.message.slot > a.slot)).collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more.then(|| page.last().map(|e| MessageCursor { slot: e.message.slot.clone() })).flatten();
    let out = page.into_iter().map(|e| render(settings, &o, e, now)).collect::<Result<_, _>>()?;
    Ok((out, next))
}

/// One page of the outbox (see [`ListQuery`]), and where the next starts when there may be
/// more.
pub async fn list(
    agenda: &Agenda,
    settings: &CalendarSettings,
    q: &ListQuery,
) -> Result<(Vec<Listed>, Option<EntryCursor>), Error> {
    let now = Timestamp::now();
    let mut out: Vec<(SessionCursor, Listed)> = Vec::new();
    let visit = |o: &SessionOutbox, out: &mut Vec<(SessionCursor, Listed)>| -> Result<(), Error> {
        let cursor = SessionCursor { start: o.session.start, id: o.session.id.clone() };
        let resume = q.after.as_ref().filter(|a| a.session == cursor);
        for e in &o.entries {
            if out.len() > q.limit {
                break;
            }
            if resume.is_some_and(|a| (e.message.slot.as_ref(), &e.message.person) <= (a.slot.as_ref(), &a.person))
                || !(q.states.is_empty() || q.states.iter().any(|f| f.matches(&e.state)))
            {
                continue;
            }
            let invite = match &e.state {
                InviteState::Blocked(_) => None,
                _ if q.render => Some(render(settings, o, e, now)?),
                _ => None,
            };
            out.push((cursor.clone(), Listed { entry: e.clone(), invite }));
        }
        Ok(())
    };
    match &q.session {
        Some(id) => {
            let s = agenda.get_session(id).await?;
            visit(&session_outbox(agenda, s, Some(now)).await?, &mut out)?;
        }
        None => {
            let filter = coming_filter(now);
            let mut after = None;
            if let Some(a) = &q.after {
                // The session the last page stopped in, if it is still there.
                if let Ok(s) = agenda.get_session(&a.session.id).await
                    && s.start == a.session.start
                {
                    visit(&session_outbox(agenda, s, Some(now)).await?, &mut out)?;
                }
                after = Some(a.session.clone());
            }
            while out.len() <= q.limit {
                let (page, next) = agenda.list_sessions(filter.clone(), after, 50).await?;
                for s in page {
                    visit(&session_outbox(agenda, s, Some(now)).await?, &mut out)?;
                    if out.len() > q.limit {
                        break;
                    }
                }
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
    }
    let more = out.len() > q.limit;
    out.truncate(q.limit);
    let next = out.last().filter(|_| more).map(|(session, l)| EntryCursor {
        session: session.clone(),
        slot: l.entry.message.slot.clone(),
        person: l.entry.message.person.clone(),
    });
    Ok((out.into_iter().map(|(_, l)| l).collect(), next))
}

/// Pending messages, oldest first, rendered, at most `limit` (blocked ones excluded), of
/// every session that has not ended: a look at the whole store (the sender uses [`due_of`]).
pub async fn due(agenda: &Agenda, settings: &CalendarSettings, limit: usize) -> Result<Vec<RenderedInvite>, Error> {
    let now = Timestamp::now();
    let mut examined = Vec::new();
    for s in coming(agenda, now).await? {
        examined.push(examine_session(agenda, s, now).await?);
    }
    due_of(settings, &examined.iter().collect::<Vec<_>>(), limit)
}

/// Records what happened to one message; idempotent. With the `fence` of the sender's term,
/// refused once that term is over (the message stays pending for the role's next holder).
pub async fn mark(
    agenda: &Agenda,
    message: &InviteMessage,
    outcome: Outcome,
    fence: Option<&Fence>,
) -> Result<(), Error> {
    let failure = match outcome {
        Outcome::Sent => None,
        Outcome::Failed { reason } => Some(reason),
    };
    agenda.mark_invite_as(fence, message.clone(), failure).await
}

/// Counts for metrics: pending, failed, blocked, and when the oldest pending message became
/// due, over every session that has not ended: a look at the whole store.
pub async fn stats(agenda: &Agenda) -> Result<OutboxStats, Error> {
    let now = Timestamp::now();
    let mut out = OutboxStats::default();
    for s in coming(agenda, now).await? {
        out = out + examine_session(agenda, s, now).await?.stats();
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
        answers: Vec::new(),
    })
}

/// The language of a person's e-mail: theirs, else the session's, else the server's, each
/// when agenda writes it. The iTIP part is the same in every language.
fn language(settings: &CalendarSettings, s: &Session, p: &Person) -> Lang {
    [p.language.as_ref(), s.language.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|tag| Lang::of(tag.as_str()))
        .unwrap_or(settings.language)
}

/// When a slot (or the session: `(s.start, s.end)`) is, in the session's zone: `Thursday, 17
/// November 2022, 15:15–15:25 CET (UTC+01:00), Europe/Zurich`.
fn when(lang: Lang, s: &Session, (from, to): (Timestamp, Timestamp)) -> String {
    when_in(lang, &s.time_zone, (from, to))
}

/// When a span is, in `zone`, unambiguous (see `feed::local_span`), in `lang`'s dates and
/// clock: the zone's name follows unless it is UTC, and the end has its own date when it falls
/// on another day. Zone abbreviations and offsets are the same in every language.
fn when_in(lang: Lang, zone: &TimeZoneName, (from, to): (Timestamp, Timestamp)) -> String {
    let tz = zone.tz();
    let start = from.to_zoned_datetime(tz.clone());
    let end = to.to_zoned_datetime(tz.clone());
    let (from_label, to_label) = (zone_label(from, &tz), zone_label(to, &tz));
    let (a, b) = (lang.short_time(start.time()), lang.short_time(end.time()));
    let span = if start.date() == end.date() {
        let times = if from_label == to_label {
            format!("{a}–{b} {to_label}")
        } else {
            format!("{a} {from_label}–{b} {to_label}")
        };
        format!("{}, {times}", lang.full_date(start.date()))
    } else {
        format!("{} {from_label} – {} {to_label}", lang.date_time(start.datetime()), lang.date_time(end.datetime()))
    };
    if is_utc(&tz) { span } else { format!("{span}, {zone}") }
}

/// `kind` of `mail-subject`: which message this is.
fn subject_kind(m: &InviteMessage) -> &'static str {
    match (m.method, m.sequence) {
        (InviteMethod::Cancel, _) => "cancel",
        (InviteMethod::Request, 0) => "invitation",
        (InviteMethod::Request, _) => "update",
    }
}

fn subject(lang: Lang, s: &Session, slot: &Slot, m: &InviteMessage) -> String {
    let what = format!("{} — {}", slot.title, s.title);
    let when = when(lang, s, (slot.start, slot.end));
    lang.format(
        "mail-subject",
        &[("kind", Arg::Str(subject_kind(m))), ("what", Arg::Str(&what)), ("when", Arg::Str(&when))],
    )
}

/// The subject of a participant's message: the session, when.
fn session_subject(lang: Lang, s: &Session, m: &InviteMessage) -> String {
    let when = when(lang, s, (s.start, s.end));
    lang.format(
        "mail-subject",
        &[("kind", Arg::Str(subject_kind(m))), ("what", Arg::Str(&s.title)), ("when", Arg::Str(&when))],
    )
}

/// The lines every message has after its opening sentence: when (and when for the person,
/// if they live in another zone), where, the link to join.
fn practical_lines(lang: Lang, t: &mut String, s: &Session, person: &Person, span: (Timestamp, Timestamp)) {
    let line = |t: &mut String, id: &str, name: &str, value: &str| {
        t.push_str(&lang.format(id, &[(name, Arg::Str(value))]));
        t.push('\n');
    };
    line(t, "mail-when", "when", &when(lang, s, span));
    if let Some(zone) = person.time_zone.as_ref().filter(|z| **z != s.time_zone) {
        line(t, "mail-your-time", "when", &when_in(lang, zone, span));
    }
    if !s.location.is_empty() {
        line(t, "mail-where", "place", &s.location);
    }
    if let Some(u) = &s.join_url {
        line(t, "mail-join", "url", u.as_str());
    }
}

/// "Dear …," and a blank line.
fn greeting(lang: Lang, person: &Person) -> String {
    let mut t = lang.format("mail-greeting", &[("name", Arg::Str(&person.display_name()))]);
    t.push_str("\n\n");
    t
}

/// The text part of a participant's message.
fn session_text(lang: Lang, s: &Session, person: &Person, method: InviteMethod) -> String {
    let mut t = greeting(lang, person);
    let (session, organizer) = (Arg::Str(&s.title), Arg::Str(&s.organizer.name));
    t.push_str(&match method {
        InviteMethod::Request => lang.format("mail-invite-session", &[("session", session), ("organizer", organizer)]),
        InviteMethod::Cancel => lang.format("mail-cancel-session", &[("session", session)]),
    });
    t.push_str("\n\n");
    practical_lines(lang, &mut t, s, person, (s.start, s.end));
    if method == InviteMethod::Request {
        t.push('\n');
        t.push_str(&lang.text("mail-answer-session"));
        t.push('\n');
    }
    t
}

fn text(
    lang: Lang,
    s: &Session,
    slot: &Slot,
    person: &Person,
    people: &People,
    method: InviteMethod,
    role: Role,
) -> String {
    let names =
        |ids: &[PersonId]| ids.iter().filter_map(|id| people.get(id)).map(person_line).collect::<Vec<_>>().join("; ");
    let mut t = greeting(lang, person);
    let (slot_title, session, organizer) = (Arg::Str(&slot.title), Arg::Str(&s.title), Arg::Str(&s.organizer.name));
    t.push_str(&match method {
        InviteMethod::Request => {
            let id = if role == Role::Moderator { "mail-invite-moderate" } else { "mail-invite-speak" };
            lang.format(id, &[("slot", slot_title), ("session", session), ("organizer", organizer)])
        }
        InviteMethod::Cancel => lang.format("mail-cancel-slot", &[("slot", slot_title), ("session", session)]),
    });
    t.push_str("\n\n");
    practical_lines(lang, &mut t, s, person, (slot.start, slot.end));
    if method == InviteMethod::Request {
        for (id, ids) in [("mail-speakers", &slot.speakers), ("mail-moderators", &slot.moderators)] {
            if !ids.is_empty() {
                t.push_str(&lang.format(id, &[("names", Arg::Str(&names(ids)))]));
                t.push('\n');
            }
        }
        t.push('\n');
        t.push_str(&lang.text("mail-answer-slot"));
        t.push('\n');
    }
    t
}

/// The UID of the event a message is about: its slot's, or the session's.
pub fn uid(settings: &CalendarSettings, m: &InviteMessage) -> String {
    match &m.slot {
        Some(slot) => slot_uid(settings, m.session.as_str(), slot.as_str()),
        None => session_uid_of(settings, m.session.as_str()),
    }
}

/// A REPLY as applied: whose answer, to which slot (`None`: a participant's, to the whole
/// session), and the session after it.
#[derive(Debug, Clone)]
pub struct AppliedReply {
    pub session: Session,
    pub slot: Option<SlotId>,
    pub person: PersonId,
    pub status: ParticipationStatus,
}

/// Parses an iTIP REPLY (`ics`, as received) and applies it: the one path of the ApplyReply
/// RPC and of the reply mailbox (`mailbox`), so both accept and refuse the same replies. An
/// unreadable object is invalid field `ics`; a reply about no slot or session of ours is
/// NOT_FOUND. A slot's UID is a speaker's answer, the session's a participant's.
pub async fn apply_reply_text(agenda: &Agenda, settings: &CalendarSettings, ics: &str) -> Result<AppliedReply, Error> {
    let reply = itip::parse_reply(ics.as_bytes()).map_err(|e| Error::invalid("ics", e.to_string()))?;
    if let Some((session, slot)) = itip::parse_slot_uid(settings, &reply.uid) {
        let (s, person) = agenda.apply_reply(&session, &slot, &reply).await?;
        return Ok(AppliedReply { session: s, slot: Some(slot), person, status: reply.status });
    }
    let session = itip::parse_session_uid(settings, &reply.uid)
        .ok_or_else(|| Error::not_found(Kind::Slot, format!("for UID {}", reply.uid)))?;
    let (s, person) = agenda.apply_participant_reply(&session, &reply).await?;
    Ok(AppliedReply { session: s, slot: None, person, status: reply.status })
}
