//! The calendars CalDAV serves, what each holds, and what changed in one since a sync token.
//!
//! A calendar is a [`Scope`] (every session, one session's agenda, one person's slots) seen
//! publicly or through a secret feed token (private sessions included). Its members are the
//! events the matching ICS feed holds, each as its own object named after its UID
//! (`session.<id>.ics`, `slot.<session>.<slot>.ics`), so a member has one name in every
//! calendar and the same UID, SEQUENCE and times as in the feeds.
//!
//! Sync tokens are store revisions. A sync from revision `r` reads the change log after `r`
//! (each entry holds the session as written) and answers, for every session written since,
//! the members it gives the calendar now and a 404 for each name it could have given but no
//! longer does: the work is the change's, not the calendar's. The all-sessions calendar has
//! no time window (unlike its feed's default one): a window that moves with the clock would
//! change the members without any write, which no token could tell.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::app::Agenda;
use crate::domain::{ChangeKind, PersonId, PersonSlot, Session, SessionFilter, SessionId, Visibility};
use crate::error::Error;
use crate::ics::feed::{self, CalendarSettings, EventData, People};

/// Most change-log entries one sync reads; past it the answer stops there with a 507 entry
/// and a token from that point (RFC 6578 section 3.6), and the client asks again.
pub const SYNC_CHANGES_MAX: usize = 2000;

/// What a calendar holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Session(SessionId),
    Person(PersonId),
}

/// A calendar as a client addresses it.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub scope: Scope,
    /// Seen through a secret feed token: private sessions count.
    pub private: bool,
    /// Its URL path, ending in `/`.
    pub href: String,
}

/// One member: its name in the calendar and its event.
pub struct Member {
    pub name: String,
    pub event: EventData,
}

impl Member {
    /// The member as a calendar object resource.
    pub fn text(&self) -> String {
        feed::object(&self.event)
    }
}

/// `session.<id>` for `session.<id>@domain`: a UID's part before the domain, plus `.ics`.
fn name_of(uid: &str) -> String {
    let local = uid.rsplit_once('@').map_or(uid, |(l, _)| l);
    format!("{local}.ics")
}

fn session_name(id: &SessionId) -> String {
    format!("session.{id}.ics")
}

fn slot_name(session: &SessionId, slot: &str) -> String {
    format!("slot.{session}.{slot}.ics")
}

/// The session a member name belongs to (`session.<id>.ics`, `slot.<id>.<slot>.ics`).
pub fn session_of(name: &str) -> Option<SessionId> {
    let stem = name.strip_suffix(".ics")?;
    let id = match stem.split('.').collect::<Vec<_>>().as_slice() {
        ["session", id] | ["slot", id, _] => *id,
        _ => return None,
    };
    SessionId::parse(id).ok()
}

impl Calendar {
    fn sees(&self, s: &Session) -> bool {
        self.private || s.visibility == Visibility::Public
    }

    /// Every name `s` could give this calendar, whatever its visibility: the names a sync
    /// answers 404 for when `s` no longer gives them.
    fn candidates(&self, s: &Session, out: &mut BTreeSet<String>) {
        match &self.scope {
            Scope::All => {
                out.insert(session_name(&s.id));
            }
            Scope::Session(id) if *id != s.id => {}
            Scope::Session(_) | Scope::Person(_) => {
                if matches!(self.scope, Scope::Session(_)) {
                    out.insert(session_name(&s.id));
                }
                let slots = s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot));
                out.extend(slots.map(|slot| slot_name(&s.id, slot.id.as_str())));
            }
        }
    }

    /// The members `s` gives this calendar, rendered with `people`.
    pub fn members_of(&self, settings: &CalendarSettings, s: &Session, people: &People) -> Vec<Member> {
        if !self.sees(s) {
            return Vec::new();
        }
        let events = match &self.scope {
            Scope::All => vec![feed::session_event(settings, s, people)],
            Scope::Session(id) if *id == s.id => feed::agenda_events(settings, s, people),
            Scope::Session(_) => Vec::new(),
            Scope::Person(p) => {
                let slots = person_slots(s, p);
                let sessions = HashMap::from([(s.id.to_string(), s.clone())]);
                feed::person_events(settings, &slots, &sessions, people)
            }
        };
        events.into_iter().map(|event| Member { name: name_of(&event.uid), event }).collect()
    }

    /// Whether `s` may give this calendar members at all (cheap: no rendering).
    fn concerns(&self, s: &Session) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Session(id) => *id == s.id,
            Scope::Person(p) => {
                s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot)).any(|slot| !slot.roles_of(p).is_empty())
            }
        }
    }
}

/// The person's slots in `s`, current then removed, as the person feed lists them (the
/// store's own rule for a person's slot listing).
fn person_slots(s: &Session, p: &PersonId) -> Vec<PersonSlot> {
    use crate::store::person_slots::{entry, slots_of};
    slots_of(s, true).filter_map(|(slot, removed)| entry(s, slot, removed, p)).collect()
}

/// An unknown id, which a calendar treats as an empty answer rather than a failure.
fn not_found(e: &Error) -> bool {
    matches!(e, Error::Domain(crate::domain::Error::NotFound { .. }))
}

/// The people every session in `sessions` names.
async fn people_of(agenda: &Agenda, sessions: &[&Session]) -> Result<People, Error> {
    let mut people = People::new();
    for s in sessions {
        for p in agenda.people_of(s).await? {
            people.insert(p.id.clone(), p);
        }
    }
    Ok(people)
}

/// The sessions that give `cal` members, as the store holds them now.
async fn sessions_of(agenda: &Agenda, cal: &Calendar) -> Result<Vec<Session>, Error> {
    Ok(match &cal.scope {
        Scope::All => {
            let visibility = (!cal.private).then_some(Visibility::Public);
            agenda.all_sessions(SessionFilter { visibility, ..SessionFilter::default() }).await?
        }
        Scope::Session(id) => match agenda.get_session(id).await {
            Ok(s) => vec![s],
            Err(e) if not_found(&e) => Vec::new(),
            Err(e) => return Err(e),
        },
        Scope::Person(p) => {
            let mut ids = BTreeSet::new();
            ids.extend(agenda.all_person_slots(p, true).await?.into_iter().map(|s| s.session_id));
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                match agenda.get_session(&id).await {
                    Ok(s) => out.push(s),
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            out
        }
    })
}

/// Every member of `cal`, by name.
pub async fn all_members(agenda: &Agenda, settings: &CalendarSettings, cal: &Calendar) -> Result<Vec<Member>, Error> {
    let sessions = sessions_of(agenda, cal).await?;
    let refs: Vec<&Session> = sessions.iter().filter(|s| cal.sees(s)).collect();
    let people = people_of(agenda, &refs).await?;
    let mut out: Vec<Member> = refs.iter().flat_map(|s| cal.members_of(settings, s, &people)).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One member by name, if `cal` holds it.
pub async fn member(
    agenda: &Agenda,
    settings: &CalendarSettings,
    cal: &Calendar,
    name: &str,
) -> Result<Option<Member>, Error> {
    let Some(id) = session_of(name) else { return Ok(None) };
    let s = match agenda.get_session(&id).await {
        Ok(s) => s,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !cal.sees(&s) || !cal.concerns(&s) {
        return Ok(None);
    }
    let people = people_of(agenda, &[&s]).await?;
    Ok(cal.members_of(settings, &s, &people).into_iter().find(|m| m.name == name))
}

/// What changed in a calendar since a revision.
pub struct Sync {
    /// Members written since, with their current content.
    pub changed: Vec<Member>,
    /// Names to answer 404 for.
    pub gone: Vec<String>,
    /// The revision the answer is complete up to: the next token.
    pub revision: u64,
    /// More changes follow `revision` (the answer carries a 507 for the collection).
    pub truncated: bool,
}

/// The changes of `cal` in `(since, upto]`; a refusal (`REVISION_COMPACTED`) when the change
/// log no longer reaches back to `since`.
pub async fn changes_since(
    agenda: &Agenda,
    settings: &CalendarSettings,
    cal: &Calendar,
    since: u64,
    upto: u64,
) -> Result<Sync, Error> {
    let changes = agenda.changes_between(since, upto, SYNC_CHANGES_MAX).await?;
    let truncated = changes.len() == SYNC_CHANGES_MAX;
    let revision = if truncated { changes.last().map_or(upto, |c| c.revision) } else { upto };
    // The latest state of each session written, and every name its states could give.
    let mut latest: BTreeMap<SessionId, Option<Session>> = BTreeMap::new();
    let mut candidates = BTreeSet::new();
    for c in changes {
        // Every session written counts, even one that gives the calendar nothing now: its
        // state before the token may have (a speaker taken off a slot), and that state is not
        // in the range. So a person's calendar may hear 404 for names it never had, which
        // RFC 6578 allows and clients ignore; it never misses one it had.
        cal.candidates(&c.session, &mut candidates);
        let state = (c.kind != ChangeKind::Deleted).then_some(c.session.clone());
        latest.insert(c.session.id.clone(), state);
    }
    let now: Vec<&Session> = latest.values().flatten().filter(|s| cal.sees(s)).collect();
    let people = people_of(agenda, &now).await?;
    let changed: Vec<Member> = now.iter().flat_map(|s| cal.members_of(settings, s, &people)).collect();
    for m in &changed {
        candidates.remove(&m.name);
    }
    Ok(Sync { changed, gone: candidates.into_iter().collect(), revision, truncated })
}
