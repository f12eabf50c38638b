//! Publishing calendars (METHOD:PUBLISH): the sessions feed, one session's agenda, one
//! person's slots.
//!
//! Rules every feed keeps (each one something real clients have tripped over):
//! - UIDs are stable forever: `session.<id>@<domain>` and `slot.<session>.<slot>@<domain>`,
//!   never derived from times, titles or positions, so an edit updates the event in place.
//! - DTSTAMP and LAST-MODIFIED come from the record's last change, never from "now", so the
//!   body (and its ETag) changes only when the data does. (An iTIP message's DTSTAMP is when
//!   the message was made, RFC 5545 section 3.8.7.2: `itip::render` is given that time.)
//! - Times carry the session's TZID with a matching VTIMEZONE from the tz database, or are UTC
//!   (`Z`) for UTC sessions; never floating, never an invented TZID.
//! - ORGANIZER is always present; speakers and moderators go in the DESCRIPTION (RFC 5546
//!   section 3.2.1 forbids ATTENDEE in PUBLISH).
//! - The join URL is in LOCATION (when there is no place), URL and DESCRIPTION as well as in
//!   CONFERENCE, since most clients ignore CONFERENCE.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use icalendar::{Calendar, Component, Event, Property};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::lines::{Refolder, clean_text, escape_text, param_value};
use super::vtimezone::{is_utc, vtimezone};
use crate::domain::{
    Material, Person, PersonId, PersonSlot, Session, SessionStatus, Slot, SlotStatus, TimeZoneName, Timestamp,
};
use crate::i18n::Lang;

/// How this server names and dresses its iCalendar objects: the feeds, the invites, and the
/// UIDs a reply names. Not feed-specific: invites and replies use it as much.
#[derive(Debug, Clone)]
pub struct CalendarSettings {
    /// The domain part of every UID. Set once and never change it: clients match events by
    /// UID, so a new domain duplicates every event in every subscribed calendar.
    pub uid_domain: String,
    /// How often clients should poll (REFRESH-INTERVAL, X-PUBLISHED-TTL), in seconds.
    pub refresh_seconds: u32,
    /// ORGANIZER address for sessions whose organizer has no e-mail.
    pub fallback_organizer_email: String,
    /// The server's language: of pages whose reader and session name none we write, and of
    /// e-mails whose person and session name none. Never of calendar text, which is the
    /// organizer's.
    pub language: Lang,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            uid_domain: "agenda.invalid".into(),
            refresh_seconds: 3600,
            fallback_organizer_email: "noreply@agenda.invalid".into(),
            language: Lang::En,
        }
    }
}

/// Our PRODID (the icalendar crate would write its own).
pub const PRODID: &str = concat!("-//agenda//agenda ", env!("CARGO_PKG_VERSION"), "//EN");

/// The people a feed names, by id, for display.
pub type People = HashMap<PersonId, Person>;

/// The UID of a session's event.
pub fn session_uid(settings: &CalendarSettings, s: &Session) -> String {
    session_uid_of(settings, s.id.as_str())
}

/// The UID of the event of session `id` (a participant's invite has the same).
pub fn session_uid_of(settings: &CalendarSettings, id: &str) -> String {
    format!("session.{id}@{}", settings.uid_domain)
}

/// The UID of a slot's event: the same in feeds and invites.
pub fn slot_uid(settings: &CalendarSettings, session: &str, slot: &str) -> String {
    format!("slot.{session}.{slot}@{}", settings.uid_domain)
}

/// An ATTENDEE of an iTIP message (never of a PUBLISH feed).
#[derive(Debug, Clone)]
pub struct Attendee {
    pub name: String,
    pub email: String,
    /// `CHAIR` for a moderator, `REQ-PARTICIPANT` for a speaker.
    pub role: &'static str,
    /// `NEEDS-ACTION`, `ACCEPTED`, `TENTATIVE` or `DECLINED`.
    pub partstat: &'static str,
    pub rsvp: bool,
}

/// One VEVENT, in domain terms.
#[derive(Debug, Clone)]
pub struct EventData {
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: String,
    pub url: Option<String>,
    pub conference: Option<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub time_zone: TimeZoneName,
    pub sequence: u32,
    pub cancelled: bool,
    /// DTSTAMP: the record's last change in a feed (METHOD:PUBLISH); when the message was
    /// made in an iTIP message (RFC 5545 section 3.8.7.2: with a METHOD, the time the
    /// instance was created).
    pub stamp: Timestamp,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    pub organizer_name: String,
    pub organizer_email: String,
    pub categories: Vec<String>,
    /// Empty in feeds (RFC 5546 section 3.2.1 forbids ATTENDEE in PUBLISH).
    pub attendees: Vec<Attendee>,
}

/// Calendar-level names.
#[derive(Debug, Clone)]
pub struct CalendarInfo {
    pub name: String,
    pub description: String,
}

/// "Amb. José Luís Cancela (Ambassador, Uruguay)".
pub fn person_line(p: &Person) -> String {
    let detail: Vec<&str> =
        [p.position.as_str(), p.affiliation.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
    if detail.is_empty() { p.display_name() } else { format!("{} ({})", p.display_name(), detail.join(", ")) }
}

fn names(ids: &[PersonId], people: &People) -> Vec<String> {
    ids.iter().map(|id| people.get(id).map_or_else(|| id.to_string(), person_line)).collect()
}

fn material_line(m: &Material) -> String {
    match &m.url {
        Some(u) => format!("- {}: {u}", m.title),
        None => format!("- {}", m.title),
    }
}

/// `HH:MM` of `t` in `zone`.
fn local_hm(t: Timestamp, zone: &TimeZone) -> String {
    let dt = zone.to_datetime(t);
    let mut out = String::with_capacity(5);
    push_digits(&mut out, i64::from(dt.hour()), 2);
    out.push(':');
    push_digits(&mut out, i64::from(dt.minute()), 2);
    out
}

/// The zone's label at `t`, e.g. `CET (UTC+01:00)`: the abbreviation, which differs on the two
/// sides of a DST change (so the repeated hour reads differently twice), and the offset, which
/// says what the time is to a reader in another zone. `UTC` alone for UTC; the offset alone
/// where the tz database has no letters for the zone (it writes `+03`).
pub fn zone_label(t: Timestamp, zone: &TimeZone) -> String {
    let info = zone.to_offset_info(t);
    let seconds = info.offset().seconds();
    let abbreviation = info.abbreviation();
    if seconds == 0 && abbreviation == "UTC" {
        return "UTC".into();
    }
    let mut offset = String::with_capacity(12);
    offset.push_str(if seconds < 0 { "UTC-" } else { "UTC+" });
    let abs = i64::from(seconds).abs();
    push_digits(&mut offset, abs / 3600, 2);
    offset.push(':');
    push_digits(&mut offset, abs / 60 % 60, 2);
    if abs % 60 != 0 {
        offset.push(':');
        push_digits(&mut offset, abs % 60, 2);
    }
    if abbreviation.starts_with(['+', '-']) || abbreviation.is_empty() {
        offset
    } else {
        format!("{abbreviation} ({offset})")
    }
}

/// `15:25–15:35 CET (UTC+01:00)`: a span in local time, unambiguous. Each end gets its own
/// label when they differ (a span across a DST change).
pub fn local_span(start: Timestamp, end: Timestamp, zone: &TimeZone) -> String {
    let (from, to) = (zone_label(start, zone), zone_label(end, zone));
    if from == to {
        format!("{}–{} {to}", local_hm(start, zone), local_hm(end, zone))
    } else {
        format!("{} {from}–{} {to}", local_hm(start, zone), local_hm(end, zone))
    }
}

/// Where the event happens, for LOCATION: the place, else the join URL.
fn location(s: &Session) -> String {
    if !s.location.is_empty() {
        s.location.clone()
    } else {
        s.join_url.as_ref().map(|u| u.to_string()).unwrap_or_default()
    }
}

fn organizer(settings: &CalendarSettings, s: &Session) -> (String, String) {
    let name = if s.organizer.short_name.is_empty() || s.organizer.short_name == s.organizer.name {
        s.organizer.name.clone()
    } else {
        format!("{} ({})", s.organizer.name, s.organizer.short_name)
    };
    let email = s.organizer.email.as_ref().map_or_else(|| settings.fallback_organizer_email.clone(), |e| e.to_string());
    (name, email)
}

fn session_footer(s: &Session, out: &mut Vec<String>) {
    if let Some(u) = &s.join_url {
        out.push(format!("Join: {u}"));
    }
    if let Some(u) = &s.recording_url {
        out.push(format!("Recording: {u}"));
    }
}

/// The event of a whole session (the sessions feed, and an agenda without slots).
pub fn session_event(settings: &CalendarSettings, s: &Session, people: &People) -> EventData {
    let (organizer_name, organizer_email) = organizer(settings, s);
    let mut d = Vec::new();
    if !s.description.is_empty() {
        d.push(s.description.clone());
        d.push(String::new());
    }
    d.push(format!("Organizer: {organizer_name}"));
    if !s.slots.is_empty() {
        d.push(String::new());
        d.push("Programme:".into());
        let zone = s.time_zone.tz();
        for slot in &s.slots {
            let mut line = format!("{} {}", local_span(slot.start, slot.end, &zone), slot.title);
            let speakers = names(&slot.speakers, people);
            if !speakers.is_empty() {
                line.push_str(&format!(" — {}", speakers.join(", ")));
            }
            let moderators = names(&slot.moderators, people);
            if !moderators.is_empty() {
                line.push_str(&format!(" (moderator: {})", moderators.join(", ")));
            }
            if slot.status == SlotStatus::Cancelled {
                line.push_str(" [cancelled]");
            }
            d.push(line);
        }
    }
    if !s.materials.is_empty() {
        d.push(String::new());
        d.push("Materials:".into());
        d.extend(s.materials.iter().map(material_line));
    }
    d.push(String::new());
    session_footer(s, &mut d);
    EventData {
        uid: session_uid(settings, s),
        summary: s.title.clone(),
        description: d.join("\n").trim_end().to_owned(),
        location: location(s),
        url: s.join_url.as_ref().or(s.recording_url.as_ref()).map(|u| u.to_string()),
        conference: s.join_url.as_ref().map(|u| u.to_string()),
        start: s.start,
        end: s.end,
        time_zone: s.time_zone.clone(),
        sequence: s.sequence,
        cancelled: s.status == SessionStatus::Cancelled,
        stamp: s.meta.update_time,
        created: s.meta.create_time,
        last_modified: s.meta.update_time,
        organizer_name,
        organizer_email,
        categories: s.tags.clone(),
        attendees: Vec::new(),
    }
}

/// The event of one slot of a session's agenda.
pub fn slot_event(settings: &CalendarSettings, s: &Session, slot: &Slot, people: &People) -> EventData {
    let (organizer_name, organizer_email) = organizer(settings, s);
    let mut d = Vec::new();
    if !slot.description.is_empty() {
        d.push(slot.description.clone());
        d.push(String::new());
    }
    let speakers = names(&slot.speakers, people);
    if !speakers.is_empty() {
        d.push(format!("{}: {}", if speakers.len() == 1 { "Speaker" } else { "Speakers" }, speakers.join("; ")));
    }
    let moderators = names(&slot.moderators, people);
    if !moderators.is_empty() {
        d.push(format!(
            "{}: {}",
            if moderators.len() == 1 { "Moderator" } else { "Moderators" },
            moderators.join("; ")
        ));
    }
    if !slot.materials.is_empty() {
        d.push("Materials:".into());
        d.extend(slot.materials.iter().map(material_line));
    }
    if !d.is_empty() {
        d.push(String::new());
    }
    d.push(format!("Session: {} ({organizer_name})", s.title));
    session_footer(s, &mut d);
    EventData {
        uid: slot_uid(settings, s.id.as_str(), slot.id.as_str()),
        summary: slot.title.clone(),
        description: d.join("\n"),
        location: location(s),
        url: s.join_url.as_ref().map(|u| u.to_string()),
        conference: s.join_url.as_ref().map(|u| u.to_string()),
        start: slot.start,
        end: slot.end,
        time_zone: s.time_zone.clone(),
        sequence: slot.sequence,
        cancelled: slot.status == SlotStatus::Cancelled || s.status == SessionStatus::Cancelled,
        stamp: s.meta.update_time,
        created: s.meta.create_time,
        last_modified: s.meta.update_time,
        organizer_name,
        organizer_email,
        categories: s.tags.clone(),
        attendees: Vec::new(),
    }
}

/// Every event of a session's agenda feed: its slots, its recently removed slots (cancelled),
/// or the session itself when it has no slots.
pub fn agenda_events(settings: &CalendarSettings, s: &Session, people: &People) -> Vec<EventData> {
    if s.slots.is_empty() && s.removed_slots.is_empty() {
        return vec![session_event(settings, s, people)];
    }
    let current = s.slots.iter();
    let removed = s.removed_slots.iter().map(|r| &r.slot);
    let mut events: Vec<EventData> = current.chain(removed).map(|slot| slot_event(settings, s, slot, people)).collect();
    events.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
    events
}

/// The events of a person's feed, from their slots and the sessions holding them.
pub fn person_events(
    settings: &CalendarSettings,
    slots: &[PersonSlot],
    sessions: &HashMap<String, Session>,
    people: &People,
) -> Vec<EventData> {
    slots
        .iter()
        .filter_map(|ps| {
            let s = sessions.get(ps.session_id.as_str())?;
            let mut e = slot_event(settings, s, &ps.slot, people);
            if ps.removed {
                e.cancelled = true;
            }
            e.summary = format!("{} — {}", ps.slot.title, s.title);
            Some(e)
        })
        .collect()
}

/// `n` in decimal, zero-padded to `width` digits (`0 <= n`).
fn push_digits(out: &mut String, n: i64, width: usize) {
    crate::domain::push_digits(out, n.unsigned_abs(), width);
}

/// `YYYYMMDDTHHMMSS`, as `strftime("%Y%m%dT%H%M%S")` writes it (without parsing a format
/// string for every property: feeds have thousands).
fn compact(dt: DateTime) -> String {
    if !(0..=9999).contains(&dt.year()) {
        return dt.strftime("%Y%m%dT%H%M%S").to_string();
    }
    let mut out = String::with_capacity(16);
    push_digits(&mut out, i64::from(dt.year()), 4);
    push_digits(&mut out, i64::from(dt.month()), 2);
    push_digits(&mut out, i64::from(dt.day()), 2);
    out.push('T');
    push_digits(&mut out, i64::from(dt.hour()), 2);
    push_digits(&mut out, i64::from(dt.minute()), 2);
    push_digits(&mut out, i64::from(dt.second()), 2);
    out
}

fn utc_stamp(t: Timestamp) -> String {
    let mut out = compact(TimeZone::UTC.to_datetime(t));
    out.push('Z');
    out
}

/// DTSTART / DTEND: local time with TZID in `zone`, or UTC when `zone` is `None`.
fn time_property(name: &str, t: Timestamp, tz: &TimeZoneName, zone: Option<&TimeZone>) -> Property {
    match zone {
        None => Property::new(name, utc_stamp(t)),
        Some(zone) => {
            let mut p = Property::new(name, compact(zone.to_datetime(t)));
            p.add_parameter("TZID", tz.as_str());
            p
        }
    }
}

/// Whether `t` falls in a repeated local hour of `zone` (e.g. 02:30 on the night clocks go
/// back). RFC 5545 says such a local time means its first occurrence, but parsers differ
/// (ical.js takes the second), so events touching one are written in UTC.
fn ambiguous(t: Timestamp, zone: &TimeZone) -> bool {
    zone.to_ambiguous_timestamp(zone.to_datetime(t)).is_ambiguous()
}

/// The VEVENT of `e`; `zone` is the rules of its time zone, `None` for a zone written as UTC.
fn event(e: &EventData, zone: Option<&TimeZone>) -> Event {
    let zone = zone.filter(|z| !ambiguous(e.start, z) && !ambiguous(e.end, z));
    let mut ev = Event::new();
    ev.append_property(Property::new("UID", &e.uid));
    ev.append_property(Property::new("DTSTAMP", utc_stamp(e.stamp)));
    ev.append_property(Property::new("CREATED", utc_stamp(e.created)));
    ev.append_property(Property::new("LAST-MODIFIED", utc_stamp(e.last_modified)));
    ev.append_property(Property::new("SEQUENCE", e.sequence.to_string()));
    ev.append_property(Property::new("STATUS", if e.cancelled { "CANCELLED" } else { "CONFIRMED" }));
    ev.append_property(time_property("DTSTART", e.start, &e.time_zone, zone));
    ev.append_property(time_property("DTEND", e.end, &e.time_zone, zone));
    ev.append_property(Property::new("SUMMARY", clean_text(&e.summary)));
    ev.append_property(Property::new("DESCRIPTION", clean_text(&e.description)));
    if !e.location.is_empty() {
        ev.append_property(Property::new("LOCATION", clean_text(&e.location)));
    }
    let mut org = Property::new("ORGANIZER", format!("mailto:{}", e.organizer_email));
    org.add_parameter("CN", &param_value(&e.organizer_name));
    ev.append_property(org);
    if let Some(u) = &e.url {
        ev.append_property(Property::new("URL", u));
    }
    if let Some(u) = &e.conference {
        let mut c = Property::new("CONFERENCE", u);
        c.add_parameter("VALUE", "URI");
        c.add_parameter("FEATURE", "AUDIO,VIDEO");
        c.add_parameter("LABEL", "Join");
        ev.append_property(c);
    }
    for a in &e.attendees {
        let mut p = Property::new("ATTENDEE", format!("mailto:{}", a.email));
        p.add_parameter("CN", &param_value(&a.name));
        p.add_parameter("CUTYPE", "INDIVIDUAL");
        p.add_parameter("ROLE", a.role);
        p.add_parameter("PARTSTAT", a.partstat);
        p.add_parameter("RSVP", if a.rsvp { "TRUE" } else { "FALSE" });
        ev.append_multi_property(p);
    }
    if !e.categories.is_empty() {
        // CATEGORIES is a list the crate leaves unescaped: escape each item ourselves.
        let list: Vec<String> = e.categories.iter().map(|c| escape_text(c)).collect();
        ev.append_property(Property::new("CATEGORIES", list.join(",")));
    }
    ev.append_property(Property::new("TRANSP", "OPAQUE"));
    ev.done()
}

/// Renders a PUBLISH calendar: CRLF line ends, folded at 75 octets, with one VTIMEZONE per
/// zone used, covering the events' dates.
pub fn render(settings: &CalendarSettings, info: &CalendarInfo, events: &[EventData]) -> String {
    let mut cal = calendar("PUBLISH");
    // NAME is unknown to the crate, so it would not escape it; X- properties it escapes.
    cal.append_property(Property::new("NAME", escape_text(&info.name)));
    cal.append_property(Property::new("X-WR-CALNAME", clean_text(&info.name)));
    if !info.description.is_empty() {
        cal.append_property(Property::new("DESCRIPTION", clean_text(&info.description)));
        cal.append_property(Property::new("X-WR-CALDESC", clean_text(&info.description)));
    }
    let ttl = format!("PT{}S", settings.refresh_seconds);
    let mut refresh = Property::new("REFRESH-INTERVAL", &ttl);
    refresh.add_parameter("VALUE", "DURATION");
    cal.append_property(refresh);
    cal.append_property(Property::new("X-PUBLISHED-TTL", &ttl));
    finish(cal, events)
}

/// One event as a CalDAV calendar object resource: the event and its VTIMEZONE, written as
/// in the feeds, but without METHOD, which RFC 4791 section 4.1 forbids in a stored object.
pub fn object(event: &EventData) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", PRODID));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    finish(cal, std::slice::from_ref(event))
}

/// A calendar with the properties every object we write starts with.
pub(super) fn calendar(method: &str) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", PRODID));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", method));
    cal
}

/// Adds the events and their VTIMEZONEs, and writes the text with our line rules.
pub(super) fn finish(mut cal: Calendar, events: &[EventData]) -> String {
    // Zones used, each with the span of its events; each zone's rules looked up once (None
    // for a zone written as UTC).
    let mut zones: BTreeMap<&str, (&TimeZoneName, Timestamp, Timestamp)> = BTreeMap::new();
    let mut rules: HashMap<&str, Option<TimeZone>> = HashMap::new();
    for e in events {
        let zone = rules.entry(e.time_zone.as_str()).or_insert_with(|| Some(e.time_zone.tz()).filter(|z| !is_utc(z)));
        if zone.is_some() {
            let span = zones.entry(e.time_zone.as_str()).or_insert((&e.time_zone, e.start, e.end));
            span.1 = span.1.min(e.start);
            span.2 = span.2.max(e.end);
        }
    }
    if zones.len() == 1 {
        // Google Calendar takes its display zone for the calendar from this.
        let only = zones.keys().next().copied().unwrap_or_default();
        cal.append_property(Property::new("X-WR-TIMEZONE", only));
    }
    for e in events {
        cal.push(event(e, rules[e.time_zone.as_str()].as_ref()));
    }
    let timezones: Vec<String> = zones
        .values()
        .flat_map(|(tz, from, to)| {
            let zone = rules[tz.as_str()].as_ref().expect("only zones not written as UTC have a span");
            vtimezone(tz.as_str(), zone, *from, *to)
        })
        .collect();
    // Refolded as the crate writes it, into a buffer of about its final size: growing a
    // megabyte string step by step copies it again and again, and a megabyte buffer freed
    // makes the allocator consolidate the thousands of small blocks the crate frees.
    let estimate: usize = events
        .iter()
        .map(|e| 600 + e.summary.len() + e.description.len() * 11 / 10 + e.location.len() + e.uid.len())
        .sum();
    let extra: usize = timezones.iter().map(|l| l.len() + 2).sum();
    let mut out = Refolder::new(&timezones, |l| l == "BEGIN:VEVENT" || l == "END:VCALENDAR", estimate + extra);
    write!(out, "{cal}").expect("writing to a String cannot fail");
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// On 25 October 2026 Zurich's clocks go from 03:00 CEST back to 02:00 CET: 02:15 happens
    /// twice, an hour apart, and the two read differently.
    #[test]
    fn the_repeated_hour_at_a_dst_end_reads_differently_twice() {
        let zurich = TimeZoneName::parse("Europe/Zurich").unwrap().tz();
        let first = local_span(t("2026-10-25T00:15:00Z"), t("2026-10-25T00:45:00Z"), &zurich);
        let second = local_span(t("2026-10-25T01:15:00Z"), t("2026-10-25T01:45:00Z"), &zurich);
        assert_eq!(first, "02:15–02:45 CEST (UTC+02:00)");
        assert_eq!(second, "02:15–02:45 CET (UTC+01:00)");
        let across = local_span(t("2026-10-25T00:30:00Z"), t("2026-10-25T01:30:00Z"), &zurich);
        assert_eq!(across, "02:30 CEST (UTC+02:00)–02:30 CET (UTC+01:00)");
    }

    #[test]
    fn zones_are_labelled_by_abbreviation_and_offset() {
        let label = |zone: &str, at: &str| zone_label(t(at), &TimeZoneName::parse(zone).unwrap().tz());
        assert_eq!(label("UTC", "2026-01-01T00:00:00Z"), "UTC");
        assert_eq!(label("America/New_York", "2026-01-01T00:00:00Z"), "EST (UTC-05:00)");
        assert_eq!(label("Asia/Kolkata", "2026-01-01T00:00:00Z"), "IST (UTC+05:30)");
        // The tz database has no letters for Istanbul's zone: the offset alone.
        assert_eq!(label("Europe/Istanbul", "2026-01-01T00:00:00Z"), "UTC+03:00");
    }
}
