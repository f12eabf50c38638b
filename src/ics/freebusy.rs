//! A person's busy time as a published VFREEBUSY (RFC 5545 section 3.6.4, METHOD:PUBLISH as
//! RFC 5546 section 3.3 describes it): the window, and one FREEBUSY period per merged busy
//! interval, in UTC. No SUMMARY, no session: free/busy tells when, never what, so private
//! sessions count as busy time like any other.

use super::feed::{CalendarSettings, PRODID};
use super::lines::{clean_text, fold_into, param_value};
use crate::domain::{Person, Timestamp};

/// The UID of a person's free/busy object: one per person, whatever the window.
pub fn freebusy_uid(settings: &CalendarSettings, person: &Person) -> String {
    format!("freebusy.{}@{}", person.id, settings.uid_domain)
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The calendar text of `person`'s `busy` periods within [`from`, `to`); `stamp` is the last
/// change of what it was computed from, so the body (and its ETag) stays the same until the
/// data changes.
pub fn render(
    settings: &CalendarSettings,
    person: &Person,
    from: Timestamp,
    to: Timestamp,
    busy: &[(Timestamp, Timestamp)],
    stamp: Timestamp,
) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VFREEBUSY".to_owned(),
        format!("UID:{}", freebusy_uid(settings, person)),
        format!("DTSTAMP:{}", utc(stamp)),
        format!("DTSTART:{}", utc(from)),
        format!("DTEND:{}", utc(to)),
    ];
    // RFC 5546 wants an ORGANIZER in a published VFREEBUSY: whose time this is.
    if let Some(email) = &person.email {
        let name = param_value(&clean_text(&person.display_name()));
        lines.push(format!("ORGANIZER;CN={name}:mailto:{email}"));
    }
    for (start, end) in busy {
        lines.push(format!("FREEBUSY;FBTYPE=BUSY:{}/{}", utc(*start), utc(*end)));
    }
    lines.push("END:VFREEBUSY".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 4).sum());
    for line in &lines {
        fold_into(line, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_and_the_object_has_what_rfc_5546_requires() {
        let person = Person {
            id: crate::domain::PersonId::parse("patrick-low").unwrap(),
            name: "Patrick Low".into(),
            honorific: String::new(),
            position: String::new(),
            affiliation: String::new(),
            email: Some(crate::domain::Email::parse("patrick.low@example.org").unwrap()),
            time_zone: None,
            language: None,
            meta: crate::domain::RecordMeta::default(),
        };
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let text = render(
            &CalendarSettings::default(),
            &person,
            t("2030-01-01T00:00:00Z"),
            t("2030-02-01T00:00:00Z"),
            &[(t("2030-01-10T09:00:00Z"), t("2030-01-10T10:30:00Z"))],
            t("2029-12-01T08:00:00Z"),
        );
        for line in [
            "METHOD:PUBLISH",
            "UID:freebusy.patrick-low@agenda.invalid",
            "DTSTAMP:20291201T080000Z",
            "DTSTART:20300101T000000Z",
            "DTEND:20300201T000000Z",
            "ORGANIZER;CN=Patrick Low:mailto:patrick.low@example.org",
            "FREEBUSY;FBTYPE=BUSY:20300110T090000Z/20300110T103000Z",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in\n{text}");
        }
    }
}
