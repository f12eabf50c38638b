//! Small validated values: e-mail addresses, web URLs, time zone names, bounded text.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Violations;

/// An instant, at the precision the domain keeps: whole seconds for agenda times (what
/// iCalendar can express), microseconds for bookkeeping times.
pub type Timestamp = jiff::Timestamp;

/// The earliest instant the service accepts (included): 1900-01-01T00:00:00Z.
pub const EARLIEST_TIME: Timestamp = Timestamp::constant(-2_208_988_800, 0);
/// The first instant past the accepted range (excluded): 2200-01-01T00:00:00Z.
///
/// One range for every time the service takes in (session and slot times, import files,
/// ListSessions and ListPersonSlots windows, feed queries). Outside it, calendar clients break
/// (year 0001 becomes a local year 0000 in zones with a negative historical offset) and no
/// meeting is ever planned; inside it, every time zone rule and every client works.
pub const END_OF_TIME: Timestamp = Timestamp::constant(7_258_118_400, 0);

/// Why a time is refused, as a field violation's description.
pub const TIME_RANGE_RULE: &str = "must be between 1900-01-01T00:00:00Z (included) and 2200-01-01T00:00:00Z (excluded)";

/// `t` if it lies in the accepted range ([`EARLIEST_TIME`], [`END_OF_TIME`]).
pub fn check_time_range(t: Timestamp) -> Result<Timestamp, &'static str> {
    if (EARLIEST_TIME..END_OF_TIME).contains(&t) { Ok(t) } else { Err(TIME_RANGE_RULE) }
}

/// Characters some programs take for a line break although they are not control characters:
/// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (JavaScript, some calendar clients).
/// In a title they would split an iCalendar content line and smuggle in a property.
fn is_hidden_line_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069):
/// they make text display in another order than it is stored ("Trojan Source",
/// CVE-2021-42574). Natural right-to-left text needs none of them; the marks U+200E and
/// U+200F stay allowed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` may not appear in any text the service stores or passes on: control
/// characters (U+0085 included), hidden line breaks and bidi controls.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() || is_hidden_line_break(c) || is_bidi_control(c)
}

/// Checks a text field: present when `required`, at most `max` characters, and free of
/// control characters (line breaks and tabs are allowed only where `multiline`).
///
/// Refused everywhere, multiline or not: U+2028 and U+2029 (line breaks to many programs,
/// though not to Rust's `is_control`) and the bidi controls U+202A to U+202E and U+2066 to
/// U+2069 (see `is_bidi_control`). Right-to-left text and the marks U+200E and U+200F are
/// accepted.
pub fn check_text(v: &mut Violations, field: &str, value: &str, max: usize, required: bool, multiline: bool) {
    if required && value.trim().is_empty() {
        v.add(field, "must not be empty");
        return;
    }
    // One pass over the text for all three rules (every text field of every write comes
    // through here: three passes were a visible part of a write's validation, issue 22).
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    let (chars, hidden, bad) = if value.is_ascii() {
        // ASCII has no hidden line break or bidi control, and a char per byte.
        (value.len(), false, ascii_has_control(value.as_bytes(), allowed))
    } else {
        value.chars().fold((0, false, false), |(n, hidden, bad), c| {
            (n + 1, hidden || is_hidden_line_break(c) || is_bidi_control(c), bad || (c.is_control() && !allowed(c)))
        })
    };
    if chars > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    if hidden {
        v.add(field, "must not contain the line separators U+2028 and U+2029 or the bidi controls U+202A to U+202E and U+2066 to U+2069");
        return;
    }
    if bad {
        v.add(
            field,
            if multiline {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must not contain control characters or line breaks"
            },
        );
    }
}

/// Whether ASCII `bytes` hold a control character (`char::is_control`: below 0x20, or 0x7F)
/// that `allowed` does not allow. Chunk by chunk: the test of a whole chunk has no early exit,
/// so the compiler makes it a few vector instructions, and only a chunk that has a control
/// character (a line break in a description) is looked at byte by byte. A byte at a time, this
/// check was the largest single function of a write's validation (issue 22).
fn ascii_has_control(bytes: &[u8], allowed: impl Fn(char) -> bool) -> bool {
    bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |any, &b| any | (b < 0x20) | (b == 0x7f))
            && chunk.iter().any(|&b| (b as char).is_control() && !allowed(b as char))
    })
}

/// Why a value is malformed; shown to clients as the field violation's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is not a valid e-mail address (expected local-part@domain.example)")]
    Email,
    #[error("is not a valid http(s) URL")]
    Url,
    #[error("is not a known IANA time zone name (e.g. Europe/Zurich)")]
    TimeZone,
    #[error("is not a BCP 47 language tag (e.g. fr, es-419, en-GB)")]
    Language,
}

/// An e-mail address, checked for the shape `local@domain.tld` that mail systems accept
/// (a pragmatic subset of RFC 5322: no quoted local parts, no IP-literal domains).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let (local, domain) = s.rsplit_once('@').ok_or(ValueError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = domain.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok && s.len() <= 254 { Ok(Self(s.to_owned())) } else { Err(ValueError::Email) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http` or `https` URL with a host, no white space and no control characters,
/// at most 2,048 characters (what every calendar client and browser accepts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or(ValueError::Url)?;
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..host_end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host.split(':').next().unwrap_or("");
        let ok = s.len() <= 2048
            && !host.is_empty()
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'[' || b == b']')
            && !s.chars().any(|c| c.is_whitespace() || is_forbidden_char(c) || c == '"' || c == '<' || c == '>');
        if ok { Ok(Self(s.to_owned())) } else { Err(ValueError::Url) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name known to the bundled tz database (so behaviour does not depend on
/// the host's `/usr/share/zoneinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if s.is_empty() || s.len() > 64 {
            return Err(ValueError::TimeZone);
        }
        match jiff::tz::db().get(s) {
            Ok(tz) => Ok(Self(tz.iana_name().unwrap_or(s).to_owned())),
            Err(_) => Err(ValueError::TimeZone),
        }
    }

    /// UTC: the zone of a session created without one.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's rules.
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::db().get(&self.0).expect("checked at parse time")
    }
}

/// A BCP 47 language tag (language, then optional script, region and variants: `fr`,
/// `es-419`, `zh-Hant-TW`), kept in its canonical case. Any well-formed tag is accepted, not
/// only the languages agenda writes in: a person who reads German gets the session's or the
/// server's language today and German the day it is added, without an edit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if s.is_empty() || s.len() > 35 {
            return Err(ValueError::Language);
        }
        let id: unic_langid::LanguageIdentifier = s.parse().map_err(|_| ValueError::Language)?;
        // 5 to 8 letters are reserved for languages registered in the future: none are.
        if id.language.is_empty() || id.language.as_str().len() > 3 {
            return Err(ValueError::Language);
        }
        Ok(Self(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_value {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, ValueError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    )*};
}
string_value!(Email, WebUrl, TimeZoneName, LanguageTag);

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunked scan says what a scan byte by byte says, for every ASCII byte at every
    /// place around the chunk boundaries, in texts that allow line breaks and texts that do not.
    #[test]
    fn the_chunked_control_scan_agrees_with_the_bytewise_rule() {
        for multiline in [false, true] {
            let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
            for len in [1, 31, 32, 33, 64, 65, 100] {
                for at in [0, len / 2, len - 1] {
                    for b in 0..=0x7fu8 {
                        let mut text = vec![b'a'; len];
                        text[at] = b;
                        let expected = text.iter().any(|&b| (b as char).is_control() && !allowed(b as char));
                        assert_eq!(ascii_has_control(&text, allowed), expected, "{b:#x} at {at} of {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn emails() {
        assert!(Email::parse("patrick.low@example.org").is_ok());
        assert!(Email::parse("a+b@sub.example.org").is_ok());
        for bad in
            ["", "no-at", "@example.org", "a@", "a@localhost", "a b@example.org", "a@ex ample.org", "a..b@example.org"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn language_tags_are_well_formed_and_canonical() {
        assert_eq!(LanguageTag::parse("fr").unwrap().as_str(), "fr");
        assert_eq!(LanguageTag::parse("ES-419").unwrap().as_str(), "es-419");
        assert_eq!(LanguageTag::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert_eq!(LanguageTag::parse("de").unwrap().as_str(), "de", "a language we do not write yet");
        for bad in ["", "french", "f", "fr--CH", "fr CH", "und", "en-US-x-private-use-too-long-for-us"] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn urls() {
        assert!(WebUrl::parse("https://youtu.be/ulm5tcGudjY").is_ok());
        assert!(WebUrl::parse("http://example.org:8080/a?b#c").is_ok());
        for bad in ["", "youtu.be/x", "ftp://example.org", "https://", "https:// x", "https://a.org/\n"] {
            assert!(WebUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn time_zones_come_from_the_bundled_database() {
        assert_eq!(TimeZoneName::parse("Europe/Zurich").unwrap().as_str(), "Europe/Zurich");
        assert!(TimeZoneName::parse("Pacific/Auckland").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn text_rules() {
        let mut v = Violations::new("");
        check_text(&mut v, "title", "  ", 10, true, false);
        check_text(&mut v, "title", "x\nEND:VEVENT", 100, true, false);
        check_text(&mut v, "description", "line\nline", 100, false, true);
        check_text(&mut v, "title", "abcdef", 5, true, false);
        let fields: Vec<_> = v.violations().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["title", "title", "title"]);
    }

    #[test]
    fn the_time_range_constants_are_the_documented_instants() {
        assert_eq!(EARLIEST_TIME, "1900-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(END_OF_TIME, "2200-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert!(check_time_range(EARLIEST_TIME).is_ok());
        assert!(check_time_range(END_OF_TIME).is_err());
    }

    #[test]
    fn hidden_line_breaks_and_bidi_controls_are_refused_in_text_and_urls() {
        for bad in ["a\u{2028}b", "a\u{2029}b", "a\u{202E}b", "a\u{2067}b", "a\u{0085}b"] {
            let mut v = Violations::new("");
            check_text(&mut v, "description", bad, 100, false, true);
            assert_eq!(v.violations().len(), 1, "{bad:?}");
            assert!(WebUrl::parse(&format!("https://example.org/{bad}")).is_err(), "{bad:?}");
        }
        let mut v = Violations::new("");
        check_text(&mut v, "title", "\u{200F}שלום \u{200E}abc", 100, true, false);
        assert!(v.into_result().is_ok());
    }
}
