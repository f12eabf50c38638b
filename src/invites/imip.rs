//! iMIP (RFC 6047): an iTIP object as a complete e-mail, ready for any SMTP sender.
//!
//! Structure, as Outlook, Gmail and Apple Mail expect it:
//!
//! ```text
//! multipart/mixed
//! ├── multipart/alternative
//! │   ├── text/plain; charset=UTF-8                      (the readable invitation)
//! │   └── text/calendar; method=REQUEST; charset=UTF-8   (what calendars act on)
//! └── application/ics; name="invite.ics"                 (attachment)
//! ```
//!
//! The `method=` of the calendar part always equals the METHOD inside (Outlook drops a
//! mismatch). Bodies are base64 (safe through any relay, no 8BITMIME needed); non-ASCII
//! header text is RFC 2047 encoded.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::domain::Timestamp;

/// An invite e-mail, before rendering.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from_name: String,
    pub from_email: String,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub date: Timestamp,
    /// Without angle brackets.
    pub message_id: String,
    pub text: String,
    /// The iTIP object (CRLF lines).
    pub ics: String,
    /// `REQUEST` or `CANCEL`: must equal the METHOD inside `ics`.
    pub method: &'static str,
}

/// RFC 2047 `encoded-word`s for header text that is not plain printable ASCII, split so each
/// word stays within 75 characters.
pub(crate) fn header_text(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        // 45 bytes of UTF-8 make 60 base64 characters, plus 12 for `=?UTF-8?B??=`.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words.iter().map(|w| format!("=?UTF-8?B?{}?=", STANDARD.encode(w))).collect::<Vec<_>>().join("\r\n ")
}

/// `"Name" <address>`, with the name encoded or quoted as needed.
fn mailbox(name: &str, email: &str) -> String {
    let name = name.replace(['\r', '\n'], " ");
    if name.is_empty() {
        return format!("<{email}>");
    }
    if name.is_ascii() {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{quoted}\" <{email}>")
    } else {
        format!("{} <{email}>", header_text(&name))
    }
}

/// Base64 in lines of 76 characters (RFC 2045).
fn base64_lines(data: &[u8]) -> String {
    let encoded = STANDARD.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// Renders the whole message, CRLF line ends.
pub fn render(m: &Mail) -> String {
    let tag = format!("{:016x}", fnv(m.message_id.as_bytes()));
    let mixed = format!("agenda-mixed-{tag}");
    let alternative = format!("agenda-alt-{tag}");
    // As +0000 (jiff writes a bare timestamp as -0000, "offset unknown").
    let date = jiff::fmt::rfc2822::to_string(&m.date.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap_or_default();
    let mut out = String::new();
    let mut h = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    h("From", &mailbox(&m.from_name, &m.from_email));
    h("To", &mailbox(&m.to_name, &m.to_email));
    h("Subject", &header_text(&m.subject));
    h("Date", &date);
    h("Message-ID", &format!("<{}>", m.message_id));
    h("MIME-Version", "1.0");
    h("Content-Type", &format!("multipart/mixed; boundary=\"{mixed}\""));
    out.push_str("\r\nThis is a calendar invitation in MIME format.\r\n");

    out.push_str(&format!("\r\n--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alternative}\"\r\n"));
    out.push_str(&format!(
        "\r\n--{alternative}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(m.text.as_bytes())
    ));
    out.push_str(&format!(
        "\r\n--{alternative}\r\nContent-Type: text/calendar; method={}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        m.method,
        base64_lines(m.ics.as_bytes())
    ));
    out.push_str(&format!("\r\n--{alternative}--\r\n"));
    let filename = if m.method == "CANCEL" { "cancel.ics" } else { "invite.ics" };
    out.push_str(&format!(
        "\r\n--{mixed}\r\nContent-Type: application/ics; name=\"{filename}\"\r\nContent-Disposition: attachment; filename=\"{filename}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(m.ics.as_bytes())
    ));
    out.push_str(&format!("\r\n--{mixed}--\r\n"));
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_headers_are_encoded_words_within_75_characters() {
        let h = header_text("Invitation: Speaker 1: José Luís Cancela — Integration of MSMEs within the MTS");
        for word in h.split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
            assert!(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        }
        assert_eq!(header_text("Plain"), "Plain");
        assert_eq!(
            mailbox("Petter Ølberg", "petter.olberg@example.org").split(' ').next_back(),
            Some("<petter.olberg@example.org>")
        );
        assert_eq!(mailbox("Low, \"Pat\"", "p@example.org"), "\"Low, \\\"Pat\\\"\" <p@example.org>");
    }
}
