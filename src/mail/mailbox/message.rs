//! The mail text the poller reads and writes: the calendar part of a reply, and the note
//! filed beside a message it did not apply. Pure functions, no IMAP.

use mail_parser::MimeHeaders as _;

use crate::domain::Timestamp;

/// The calendar part of a reply e-mail, decoded to text: the `text/calendar` part with
/// `method=REPLY`, else the first `text/calendar`, else an `application/ics` attachment.
/// Transfer encodings (base64, quoted-printable) and charsets are undone by the parser.
pub(super) fn reply_part(message: &mail_parser::Message<'_>) -> Result<String, String> {
    let is = |p: &mail_parser::MessagePart<'_>, t: &str, sub: &str| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case(t) && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
    };
    let calendars: Vec<_> = message.parts.iter().filter(|p| is(p, "text", "calendar")).collect();
    let reply = calendars
        .iter()
        .find(|p| p.content_type().and_then(|c| c.attribute("method")).is_some_and(|m| m.eq_ignore_ascii_case("REPLY")))
        .or(calendars.first())
        .copied()
        .or_else(|| message.parts.iter().find(|p| is(p, "application", "ics")));
    let part = reply.ok_or("the message has no calendar part (text/calendar): it is no iTIP reply")?;
    part.text_contents().map(str::to_owned).ok_or_else(|| "the calendar part is not text in a known charset".to_owned())
}

/// What the refusal note quotes of the original message.
pub(super) struct About {
    pub(super) message_id: String,
    from: String,
    subject: String,
}

impl About {
    pub(super) fn of(m: Option<&mail_parser::Message<'_>>) -> Self {
        let from = m.and_then(|m| m.from()).and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("(unknown)");
        Self {
            message_id: m.and_then(|m| m.message_id()).map_or_else(|| "(none)".to_owned(), |id| format!("<{id}>")),
            from: from.to_owned(),
            subject: m.and_then(|m| m.subject()).unwrap_or("(none)").to_owned(),
        }
    }
}

/// The note filed beside a refused message: its subject and body give the reason; the
/// original's Message-ID is in the body, in `X-Agenda-Original-Message-ID` and in
/// `In-Reply-To` (so mail clients thread the two).
pub(super) fn refusal_note(to: &str, uid_domain: &str, about: &About, reason: &str, outcome: &str) -> String {
    let one_line = |s: &str| s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let reason = one_line(reason);
    let short: String = reason.chars().take(150).collect();
    let now = Timestamp::now();
    let date = jiff::fmt::rfc2822::to_string(&now.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap_or_default();
    let mut id_bytes = [0u8; 8];
    let _ = getrandom::fill(&mut id_bytes);
    let note_id = format!("refused.{}@{uid_domain}", u64::from_be_bytes(id_bytes));
    let mut out = String::new();
    let mut h = |name: &str, value: &str| {
        out.push_str(&format!("{name}: {value}\r\n"));
    };
    h("From", &format!("\"agenda\" <agenda@{uid_domain}>"));
    h("To", &format!("<{}>", one_line(to)));
    h("Subject", &crate::invites::imip::header_text(&format!("Reply not applied: {short}")));
    h("Date", &date);
    h("Message-ID", &format!("<{note_id}>"));
    if about.message_id.starts_with('<') {
        h("In-Reply-To", &about.message_id);
        h("X-Agenda-Original-Message-ID", &about.message_id);
    }
    h("X-Agenda-Outcome", outcome);
    h("MIME-Version", "1.0");
    h("Content-Type", "text/plain; charset=UTF-8");
    h("Content-Transfer-Encoding", "8bit");
    out.push_str("\r\n");
    out.push_str(&format!(
        "agenda did not apply the message filed beside this note.\r\n\r\nReason: {reason}\r\n\r\n\
         Original Message-ID: {}\r\nFrom: {}\r\nSubject: {}\r\n",
        one_line(&about.message_id),
        one_line(&about.from),
        one_line(&about.subject)
    ));
    out
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    fn part_of(mail: &str) -> Result<String, String> {
        reply_part(&MessageParser::default().parse(mail.as_bytes()).expect("an e-mail"))
    }

    #[test]
    fn the_calendar_part_is_found_and_decoded_from_base64_and_quoted_printable() {
        let base64 = "From: a@example.org\r\nMessage-ID: <r1@example.org>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYes.\r\n\
            --b\r\nContent-Type: text/calendar; method=REPLY; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVQTFkNCkVORDpWQ0FMRU5EQVINCg==\r\n--b--\r\n";
        assert_eq!(part_of(base64).unwrap(), "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n");
        let qp = "From: a@example.org\r\nMIME-Version: 1.0\r\n\
            Content-Type: text/calendar; method=REPLY; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nCOMMENT:Jos=E9 accepts=\r\n and more\r\nEND:VCALENDAR\r\n";
        assert!(part_of(qp).unwrap().contains("COMMENT:José accepts and more\r\n"), "{:?}", part_of(qp));
    }

    #[test]
    fn a_message_without_a_calendar_part_says_so() {
        let plain = "From: a@example.org\r\nSubject: Thanks\r\n\r\nSee you there.\r\n";
        assert!(part_of(plain).unwrap_err().contains("no calendar part"));
    }

    #[test]
    fn the_refusal_note_gives_the_reason_and_the_original_message_id() {
        let about =
            About { message_id: "<r1@example.org>".into(), from: "a@example.org".into(), subject: "Accepted".into() };
        let note = refusal_note("organizer", "agenda.example.org", &about, "not an attendee\r\nBcc: x", "refused");
        assert!(note.contains("Subject: Reply not applied: not an attendee  Bcc: x\r\n"), "{note}");
        assert!(note.contains("In-Reply-To: <r1@example.org>\r\n"), "{note}");
        assert!(!note.contains("\r\nBcc:"), "no header injection: {note}");
    }
}
