//! iTIP (RFC 5546) for speaker and participant invites: REQUEST and CANCEL out, REPLY in.
//!
//! A speaker's message carries one slot, a participant's the whole session; each with the
//! UID the feeds use for that event, so every client (Outlook in particular) applies it to
//! the event it already has.

use super::feed::{self, Attendee, CalendarSettings, EventData, People, calendar, finish};
use crate::domain::{
    Email, InviteMethod, ParticipationStatus, Person, Role, Session, SessionId, Slot, SlotId, Timestamp,
};

/// What a REPLY says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub uid: String,
    pub sequence: u32,
    /// The replying attendee's address, without `mailto:`, lower case.
    pub attendee: String,
    pub status: ParticipationStatus,
    /// The ORGANIZER's address, without `mailto:`, lower case; `None` when the client left it
    /// out (Outlook does), which RFC 5546 tolerates in practice.
    pub organizer: Option<String>,
    /// When the client made the reply (DTSTAMP, required by RFC 5546 section 3.2.3).
    pub dtstamp: Timestamp,
}

/// Why a REPLY was refused. The message goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("is larger than {0} bytes")]
    TooLarge(usize),
    #[error("is not UTF-8 text")]
    NotUtf8,
    #[error("nests components deeper than {0} levels")]
    TooDeep(usize),
    #[error("is not an iCalendar object: {0}")]
    Syntax(String),
    #[error("is not a VCALENDAR")]
    NotCalendar,
    #[error("has METHOD {0:?}, expected REPLY")]
    NotReply(String),
    #[error("has no VEVENT")]
    NoEvent,
    #[error("has VEVENTs with different UIDs")]
    ManyUids,
    #[error("has a VEVENT without UID")]
    NoUid,
    #[error("has no ATTENDEE with a mailto: address")]
    NoAttendee,
    #[error("has more than one ATTENDEE (a REPLY speaks for one)")]
    ManyAttendees,
    #[error("has PARTSTAT {0:?}; expected ACCEPTED, TENTATIVE or DECLINED")]
    BadPartstat(String),
    #[error("has SEQUENCE {0:?}, not a number")]
    BadSequence(String),
    #[error("has a control character (byte 0x{byte:02x}) on line {line}; iCalendar text allows only TAB")]
    ControlByte { byte: u8, line: usize },
    #[error("has a VEVENT without DTSTAMP (RFC 5546 requires it in a REPLY)")]
    NoDtstamp,
    #[error("has DTSTAMP {0:?}, not a UTC date-time such as 20221110T163000Z")]
    BadDtstamp(String),
    #[error("has a RECURRENCE-ID, but the event does not recur")]
    RecurrenceId,
    #[error("has ATTENDEE {0:?}, not a valid e-mail address")]
    BadAttendee(String),
    #[error("has ORGANIZER {0:?}, not a mailto: address")]
    BadOrganizer(String),
    #[error("has SEQUENCE {answered}, newer than the {current} the organizer sent for this event")]
    FutureSequence { answered: u32, current: u32 },
    #[error("has ORGANIZER {0}, not the organizer of this session")]
    WrongOrganizer(String),
}

/// Largest REPLY accepted: real ones are a few kilobytes.
pub const MAX_REPLY_BYTES: usize = 256 * 1024;
/// Deepest component nesting accepted (VCALENDAR > VEVENT > VALARM is 3); checked before
/// parsing, since a recursive parser would overflow its stack on deeply nested input.
pub const MAX_DEPTH: usize = 8;

fn partstat(s: ParticipationStatus) -> &'static str {
    match s {
        ParticipationStatus::NeedsAction => "NEEDS-ACTION",
        ParticipationStatus::Accepted => "ACCEPTED",
        ParticipationStatus::Tentative => "TENTATIVE",
        ParticipationStatus::Declined => "DECLINED",
    }
}

/// The session, slot and id a slot UID names, if it is one of ours.
pub fn parse_slot_uid(settings: &CalendarSettings, uid: &str) -> Option<(SessionId, SlotId)> {
    let rest = uid.strip_prefix("slot.")?.strip_suffix(&format!("@{}", settings.uid_domain))?;
    let (session, slot) = rest.split_once('.')?;
    Some((SessionId::parse(session).ok()?, SlotId::parse(slot).ok()?))
}

/// The session a session UID names, if it is one of ours (a participant's invite).
pub fn parse_session_uid(settings: &CalendarSettings, uid: &str) -> Option<SessionId> {
    let id = uid.strip_prefix("session.")?.strip_suffix(&format!("@{}", settings.uid_domain))?;
    SessionId::parse(id).ok()
}

/// The ATTENDEE ROLE of a participant's invite: the moderator and the organizer chair the
/// session (CHAIR); speakers and participants are expected (REQ-PARTICIPANT, the RFC 5545
/// default, which Outlook lists as "Required" and Google and Apple show without a mark).
pub fn participant_role(role: Role) -> &'static str {
    match role {
        Role::Organizer | Role::Moderator => "CHAIR",
        Role::Speaker | Role::Participant => "REQ-PARTICIPANT",
    }
}

/// The iTIP object for participant `person` about the whole session: one VEVENT (the
/// session's event, its UID the feeds'), with `person` as its one ATTENDEE in `role` (the
/// other participants' addresses are theirs, not to be handed around), RSVP=TRUE on a
/// REQUEST, their status as their answer so far; a CANCEL asks for no reply. `sequence` and
/// `made` as in [`render`].
#[allow(clippy::too_many_arguments)]
pub fn render_participant(
    settings: &CalendarSettings,
    session: &Session,
    person: &Person,
    people: &People,
    method: InviteMethod,
    sequence: u32,
    role: Role,
    made: Timestamp,
) -> (EventData, String) {
    let mut e = feed::session_event(settings, session, people);
    e.sequence = sequence;
    e.stamp = made;
    let status = session.participants.iter().find(|p| p.person == person.id).map(|p| p.status);
    e.attendees = person
        .email
        .as_ref()
        .map(|email| Attendee {
            name: person.display_name(),
            email: email.to_string(),
            role: participant_role(role),
            partstat: partstat(status.unwrap_or(ParticipationStatus::NeedsAction)),
            rsvp: method == InviteMethod::Request,
        })
        .into_iter()
        .collect();
    if method == InviteMethod::Cancel {
        e.cancelled = true;
    }
    let text = finish(calendar(method.as_str()), std::slice::from_ref(&e));
    (e, text)
}

/// The iTIP object for `person` about `slot`: a REQUEST listing every speaker (REQ-PARTICIPANT)
/// and moderator (CHAIR) who has an address, with their answers to this slot, or a CANCEL to
/// `person` alone, in `role` (the one their REQUEST carried: a moderator taken off the slot
/// is still cancelled as CHAIR), asking for no reply (RFC 5546 section 3.2.5). `sequence` is the
/// message's SEQUENCE; `made` is when the message is made, its DTSTAMP (RFC 5545 section
/// 3.8.7.2), given by the caller so this module reads no clock.
#[allow(clippy::too_many_arguments)]
pub fn render(
    settings: &CalendarSettings,
    session: &Session,
    slot: &Slot,
    person: &Person,
    people: &People,
    method: InviteMethod,
    sequence: u32,
    role: Role,
    made: Timestamp,
) -> (EventData, String) {
    let mut e = feed::slot_event(settings, session, slot, people);
    e.sequence = sequence;
    e.stamp = made;
    e.summary = format!("{} — {}", slot.title, session.title);
    let attendee = |p: &Person, role: &'static str| {
        p.email.as_ref().map(|email| Attendee {
            name: p.display_name(),
            email: email.to_string(),
            role,
            partstat: partstat(slot.status_of(&p.id)),
            rsvp: method == InviteMethod::Request,
        })
    };
    match method {
        InviteMethod::Request => {
            let roles = slot.moderators.iter().map(|id| (id, "CHAIR")).chain(
                slot.speakers.iter().filter(|id| !slot.moderators.contains(id)).map(|id| (id, "REQ-PARTICIPANT")),
            );
            e.attendees = roles.filter_map(|(id, role)| people.get(id).and_then(|p| attendee(p, role))).collect();
        }
        InviteMethod::Cancel => {
            e.cancelled = true;
            let role = if role == Role::Moderator { "CHAIR" } else { "REQ-PARTICIPANT" };
            e.attendees = attendee(person, role).into_iter().collect();
        }
    }
    let text = finish(calendar(method.as_str()), std::slice::from_ref(&e));
    (e, text)
}

/// Parses an iTIP REPLY strictly; never panics, whatever the input.
///
/// Strict where a careful organizer must be (RFC 5546 section 3.2.3, RFC 5545): one attendee,
/// a DTSTAMP, no RECURRENCE-ID (our events do not recur), no control character anywhere.
/// Lenient where real clients deviate harmlessly: a UTF-8 byte-order mark, bare LF line ends,
/// no ORGANIZER (Outlook), lower-case values (`reply`, `accepted`, `MAILTO:`). The rules that
/// need the session are in [`check_reply`].
pub fn parse_reply(bytes: &[u8]) -> Result<Reply, ReplyError> {
    if bytes.len() > MAX_REPLY_BYTES {
        return Err(ReplyError::TooLarge(MAX_REPLY_BYTES));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ReplyError::NotUtf8)?;
    // Windows tools write a byte-order mark; it carries no meaning in UTF-8.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_control_bytes(text.as_bytes())?;
    let unfolded = icalendar::parser::unfold(text);
    let mut depth = 0usize;
    for line in unfolded.lines() {
        // Bytes, not str slices: a line may start with a multi-byte character.
        let line = line.as_bytes();
        if line.get(..6).is_some_and(|p| p.eq_ignore_ascii_case(b"BEGIN:")) {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(ReplyError::TooDeep(MAX_DEPTH));
            }
        } else if line.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"END:")) {
            depth = depth.saturating_sub(1);
        }
    }
    // The parser is third-party: a panic in it must not take a request thread down.
    let parsed = std::panic::catch_unwind(|| {
        icalendar::parser::read_calendar(&unfolded).map_err(|e| e.lines().next().unwrap_or_default().to_owned())
    })
    .map_err(|_| ReplyError::Syntax("the parser failed".into()))?
    .map_err(ReplyError::Syntax)?;
    let method = prop(&parsed.properties, "METHOD").ok_or(ReplyError::NotCalendar)?;
    if !method.eq_ignore_ascii_case("REPLY") {
        return Err(ReplyError::NotReply(method));
    }
    let events: Vec<&icalendar::parser::Component<'_>> =
        parsed.components.iter().filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT")).collect();
    let first = events.first().ok_or(ReplyError::NoEvent)?;
    let uid = prop(&first.properties, "UID").filter(|u| !u.is_empty()).ok_or(ReplyError::NoUid)?;
    if events.iter().any(|e| prop(&e.properties, "UID").as_deref() != Some(uid.as_str())) {
        return Err(ReplyError::ManyUids);
    }
    if events.iter().any(|e| prop(&e.properties, "RECURRENCE-ID").is_some()) {
        return Err(ReplyError::RecurrenceId);
    }
    let dtstamp = prop(&first.properties, "DTSTAMP").ok_or(ReplyError::NoDtstamp)?;
    let dtstamp = utc_date_time(&dtstamp).ok_or(ReplyError::BadDtstamp(dtstamp))?;
    let attendees: Vec<&icalendar::parser::Property<'_>> =
        first.properties.iter().filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE")).collect();
    let attendee = match attendees.as_slice() {
        [] => return Err(ReplyError::NoAttendee),
        [one] => *one,
        _ => return Err(ReplyError::ManyAttendees),
    };
    let address = mailto(attendee.val.as_str())
        .ok_or(ReplyError::NoAttendee)
        .and_then(|a| email_address(a).ok_or_else(|| ReplyError::BadAttendee(a.to_owned())))?;
    let organizer = match prop(&first.properties, "ORGANIZER") {
        None => None,
        Some(o) => Some(mailto(&o).and_then(email_address).ok_or(ReplyError::BadOrganizer(o))?),
    };
    let part = attendee
        .params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case("PARTSTAT"))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str().trim_matches('"').to_uppercase())
        .unwrap_or_default();
    let status = match part.as_str() {
        "ACCEPTED" => ParticipationStatus::Accepted,
        "TENTATIVE" => ParticipationStatus::Tentative,
        "DECLINED" => ParticipationStatus::Declined,
        _ => return Err(ReplyError::BadPartstat(part)),
    };
    let sequence = match prop(&first.properties, "SEQUENCE") {
        None => 0,
        Some(s) => s.parse::<u32>().map_err(|_| ReplyError::BadSequence(s))?,
    };
    Ok(Reply { uid, sequence, attendee: address, status, organizer, dtstamp })
}

/// The rules of a REPLY that need the session it answers: its SEQUENCE is one the organizer
/// sent (an older one is refused later as stale, by the session itself), and its ORGANIZER,
/// when given, is this session's organizer. A pure function: the caller reads the session.
pub fn check_reply(reply: &Reply, session: &Session, slot: &Slot) -> Result<(), ReplyError> {
    check_reply_at(reply, session, slot.sequence)
}

/// [`check_reply`] for the event at SEQUENCE `current`: a slot's, or the session's for a
/// participant's answer.
pub fn check_reply_at(reply: &Reply, session: &Session, current: u32) -> Result<(), ReplyError> {
    if reply.sequence > current {
        return Err(ReplyError::FutureSequence { answered: reply.sequence, current });
    }
    if let Some(organizer) = &reply.organizer {
        let ours = session.organizer.email.as_ref().is_some_and(|e| e.as_str().eq_ignore_ascii_case(organizer));
        if !ours {
            return Err(ReplyError::WrongOrganizer(organizer.clone()));
        }
    }
    Ok(())
}

/// The trimmed value of the first property `name` (names are case-insensitive).
fn prop(props: &[icalendar::parser::Property<'_>], name: &str) -> Option<String> {
    props.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name)).map(|p| p.val.as_str().trim().to_owned())
}

/// The address of a `mailto:` URI (the scheme in any case), or `None` for another scheme.
fn mailto(value: &str) -> Option<&str> {
    let value = value.trim();
    value.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| value[7..].trim())
}

/// A valid e-mail address, lower case; `None` for anything else, including an address that
/// hides a control character in percent-encoding (RFC 6068 allows `%XX` in a mailto: URI).
fn email_address(a: &str) -> Option<String> {
    let hidden_control = a.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7f)
    });
    if hidden_control {
        return None;
    }
    Email::parse(a).ok().map(|e| e.as_str().to_lowercase())
}

/// A DATE-TIME in UTC form (`YYYYMMDDTHHMMSSZ`), as RFC 5545 requires of DTSTAMP.
fn utc_date_time(v: &str) -> Option<Timestamp> {
    let local = v.strip_suffix('Z').or_else(|| v.strip_suffix('z'))?;
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", local).ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()
}

/// Refuses any control character but TAB (RFC 5545 section 3.1: content lines hold no
/// control characters; TAB is white space, allowed in values and in folding), and CR that does
/// not end a line. Bare LF line ends are accepted, as clients on Unix write them.
fn check_control_bytes(text: &[u8]) -> Result<(), ReplyError> {
    let mut line = 1;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'\n' => line += 1,
            b'\t' => {}
            b'\r' if text.get(i + 1) == Some(&b'\n') => {}
            0..0x20 | 0x7f => return Err(ReplyError::ControlByte { byte: b, line }),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE_STYLE: &str = "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\nCALSCALE:GREGORIAN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTART:20221117T141500Z\r\nDTEND:20221117T142500Z\r\nDTSTAMP:20221110T100000Z\r\nORGANIZER;CN=FMG:mailto:fmg@example.org\r\nUID:slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid\r\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Kathryn\r\n  Lundquist;X-NUM-GUESTS=0:mailto:Kathryn.Lundquist@example.org\r\nSEQUENCE:2\r\nSTATUS:CONFIRMED\r\nSUMMARY:Speaker 2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_client_reply_is_understood() {
        let r = parse_reply(GOOGLE_STYLE.as_bytes()).unwrap();
        assert_eq!(r.uid, "slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid");
        assert_eq!(
            (r.sequence, r.attendee.as_str(), r.status),
            (2, "kathryn.lundquist@example.org", ParticipationStatus::Accepted)
        );
        let (session, slot) = parse_slot_uid(&CalendarSettings::default(), &r.uid).unwrap();
        assert_eq!((session.as_str(), slot.as_str()), ("fmg-msme-2022-11-17", "speaker-2-lundquist"));
    }

    #[test]
    fn wrong_replies_say_why() {
        let e = |s: String| parse_reply(s.as_bytes()).unwrap_err();
        assert_eq!(e(GOOGLE_STYLE.replace("METHOD:REPLY", "METHOD:REQUEST")), ReplyError::NotReply("REQUEST".into()));
        assert_eq!(
            e(GOOGLE_STYLE.replace("PARTSTAT=ACCEPTED", "PARTSTAT=DELEGATED")),
            ReplyError::BadPartstat("DELEGATED".into())
        );
        assert_eq!(e(GOOGLE_STYLE.replace("SEQUENCE:2", "SEQUENCE:two")), ReplyError::BadSequence("two".into()));
        assert_eq!(e(GOOGLE_STYLE.replace("mailto:Kathryn", "tel:Kathryn")), ReplyError::NoAttendee);
        assert_eq!(e("BEGIN:VCALENDAR\r\n".repeat(20)), ReplyError::TooDeep(MAX_DEPTH));
        assert_eq!(parse_reply(&[0xff, 0xfe]).unwrap_err(), ReplyError::NotUtf8);
        assert!(matches!(e(String::new()), ReplyError::Syntax(_) | ReplyError::NotCalendar));
        assert_eq!(e(GOOGLE_STYLE.replace("DTSTAMP:20221110T100000Z\r\n", "")), ReplyError::NoDtstamp);
        assert_eq!(
            e(GOOGLE_STYLE.replace("SEQUENCE:2", "SEQUENCE:2\r\nRECURRENCE-ID:20221117T141500Z")),
            ReplyError::RecurrenceId
        );
        assert_eq!(e(GOOGLE_STYLE.replace("CN=FMG", "CN=F\0MG")), ReplyError::ControlByte { byte: 0, line: 10 });
        assert_eq!(
            e(GOOGLE_STYLE.replace("mailto:fmg@", "http://fmg@")),
            ReplyError::BadOrganizer("http://fmg@example.org".into())
        );
    }

    #[test]
    fn harmless_deviations_of_clients_are_accepted() {
        let ok = |s: String| parse_reply(s.as_bytes()).map(|r| (r.attendee, r.status, r.organizer));
        let expected = Ok((
            "kathryn.lundquist@example.org".to_owned(),
            ParticipationStatus::Accepted,
            Some("fmg@example.org".to_owned()),
        ));
        assert_eq!(ok(format!("\u{feff}{GOOGLE_STYLE}")), expected, "a byte-order mark");
        assert_eq!(ok(GOOGLE_STYLE.replace("\r\n", "\n")), expected, "bare LF");
        assert_eq!(
            ok(GOOGLE_STYLE
                .replace("METHOD:REPLY", "METHOD:reply")
                .replace("ACCEPTED", "accepted")
                .replace("mailto", "MAILTO")),
            expected,
            "lower-case values"
        );
        let no_organizer = GOOGLE_STYLE.replace("ORGANIZER;CN=FMG:mailto:fmg@example.org\r\n", "");
        assert_eq!(ok(no_organizer).map(|r| r.2), Ok(None), "no ORGANIZER, as Outlook writes");
    }

    /// Found by the malformed-reply test: a line starting with a multi-byte character used to
    /// panic the nesting check (a str slice inside '—').
    #[test]
    fn regression_a_line_starting_with_a_multibyte_character() {
        assert!(parse_reply("—\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".as_bytes()).is_err());
        assert!(parse_reply("Ca —\r\nÉND:X\r\n".as_bytes()).is_err());
    }

    /// Random bytes and mutations of a real reply: always an answer, never a panic.
    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"BEGIN:VCALENDAR\r\nEND:VEVENT;=\",:\\ \t\xc3\xa9\xe2\x80\x94ATTENDEE;PARTSTAT=ACCEPTEDmailto:METHOD:REPLY";
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                (0..next() % 400).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect()
            } else {
                let mut m = GOOGLE_STYLE.as_bytes().to_vec();
                for _ in 0..1 + next() % 6 {
                    let i = (next() % m.len() as u64) as usize;
                    m[i] = next() as u8;
                }
                m
            };
            let _ = parse_reply(&bytes);
        }
    }
}
