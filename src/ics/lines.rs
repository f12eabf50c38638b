//! Content lines: the textual rules of RFC 5545 section 3.1 that calendar clients trip over.
//!
//! The icalendar crate builds our calendars, but its serializer leaves gaps that real clients
//! notice (see the feeds issue): it does not escape `\r`, escapes TEXT only for the properties
//! it knows (not `X-WR-CALNAME` or `NAME`), has no RFC 6868 parameter encoding, and may fold a
//! line between a backslash and the character it escapes (which breaks Google Calendar's
//! import). So values are cleaned before they reach the crate ([`clean_text`],
//! [`param_value`], [`escape_text`] for properties it does not escape), and its output is
//! unfolded and folded again here ([`refold`]): at 75 octets, never inside a UTF-8 character,
//! never right after a backslash.

/// The longest content line, in octets, before folding (RFC 5545 section 3.1).
const LINE_OCTETS: usize = 75;

/// Text as a feed may carry it: line breaks normalized to `\n` (U+2028 and U+2029 too: many
/// programs take them for line breaks, so they become a line break the TEXT escaping encodes
/// instead of one a client might read as a new property), the bidi controls U+202A..U+202E and
/// U+2066..U+2069 removed (they make text display in another order than it is), and every
/// other control character (C0, DEL, C1) removed, since none of them may appear in an
/// iCalendar value and some clients reject the whole file when one does. Tabs stay (TEXT
/// allows them). The domain refuses all of these on input; this keeps records stored before
/// that rule, and anything else that reaches a feed, from carrying them out.
pub fn clean_text(s: &str) -> String {
    // Nearly all text is clean already: one pass over the bytes to check, one copy. Control
    // characters are C0 and DEL (single bytes) and C1 (U+0080..U+009F: 0xC2 0x80..0x9F in
    // UTF-8); the separators and bidi controls start with 0xE2. Any other character that
    // starts with 0xC2 or 0xE2 (a dash, a curly quote) only takes the careful path below.
    let suspect = |b: u8| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2;
    if !s.bytes().any(suspect) {
        return s.to_owned();
    }
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    normalized
        .chars()
        .map(|c| if matches!(c, '\u{2028}' | '\u{2029}') { '\n' } else { c })
        .filter(|&c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect()
}

/// The bidi embedding, override and isolate controls (not the marks U+200E and U+200F).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes a TEXT value (RFC 5545 section 3.3.11): backslash, semicolon, comma, newline.
/// Only for properties the icalendar crate does not escape itself.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean_text(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (e.g. a CN) made safe: controls removed and RFC 6868 caret encoding for
/// `^`, newline and `"` (which cannot otherwise appear in a parameter). The crate adds the
/// surrounding quotes when the value holds `:`, `;` or `,`.
pub fn param_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean_text(s).chars() {
        match c {
            '^' => out.push_str("^^"),
            '\n' => out.push_str("^n"),
            '"' => out.push_str("^'"),
            c => out.push(c),
        }
    }
    out
}

/// Folds one unfolded content line into `out`, with CRLF line ends.
pub fn fold_into(line: &str, out: &mut String) {
    let bytes = line.as_bytes();
    let mut start = 0;
    // The first physical line holds 75 octets; continuation lines 74 after their leading space.
    let mut room = LINE_OCTETS;
    while bytes.len() - start > room {
        let mut cut = start + room;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        // Never separate an escaping backslash from what it escapes.
        if bytes[cut - 1] == b'\\' && escapes_next(&bytes[start..cut]) {
            cut -= 1;
        }
        out.push_str(&line[start..cut]);
        out.push_str("\r\n ");
        start = cut;
        room = LINE_OCTETS - 1;
    }
    out.push_str(&line[start..]);
    out.push_str("\r\n");
}

/// Whether the last byte of `run` (a backslash) starts an escape, i.e. is preceded by an even
/// number of backslashes.
fn escapes_next(run: &[u8]) -> bool {
    run.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Unfolds a serialized calendar (removes every CRLF followed by a space) and returns its
/// logical content lines.
pub fn unfold(text: &str) -> Vec<String> {
    text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Folds every logical line with our rules, inserting `extra` (e.g. VTIMEZONE lines) before the
/// first line for which `before` is true.
pub fn refold(lines: &[String], extra: &[String], before: impl Fn(&str) -> bool) -> String {
    let total: usize = lines.iter().chain(extra).map(|l| l.len() + l.len() / 70 * 3 + 2).sum();
    let mut out = String::with_capacity(total);
    let mut inserted = extra.is_empty();
    for line in lines {
        if !inserted && before(line) {
            for e in extra {
                fold_into(e, &mut out);
            }
            inserted = true;
        }
        fold_into(line, &mut out);
    }
    out
}

/// [`refold`] of [`unfold`]`(text)`, in one pass without the intermediate copies: each logical
/// line is gathered in one reused buffer and folded straight into the output.
pub fn refold_text(text: &str, extra: &[String], before: impl Fn(&str) -> bool) -> String {
    let extra_len: usize = extra.iter().map(|l| l.len() + l.len() / 70 * 3 + 2).sum();
    let mut out = String::with_capacity(text.len() + text.len() / 16 + extra_len);
    let mut inserted = extra.is_empty();
    let mut line = String::with_capacity(256);
    let mut emit = |line: &str, out: &mut String| {
        if line.is_empty() {
            return;
        }
        if !inserted && before(line) {
            for e in extra {
                fold_into(e, out);
            }
            inserted = true;
        }
        fold_into(line, out);
    };
    for physical in text.split("\r\n") {
        match physical.as_bytes().first() {
            // A continuation: the fold (CRLF and one space or tab) goes, the rest joins.
            Some(b' ' | b'\t') => line.push_str(&physical[1..]),
            _ => {
                emit(&line, &mut out);
                line.clear();
                line.push_str(physical);
            }
        }
    }
    emit(&line, &mut out);
    out
}

/// [`refold_text`] as a `fmt::Write` sink: the serialized calendar is unfolded and folded
/// again as it is written, so it is never held whole (a feed is megabytes: one buffer less to
/// allocate, fill, read and free). `finish` returns the folded text.
pub struct Refolder<'a, F: Fn(&str) -> bool> {
    out: String,
    extra: &'a [String],
    before: F,
    inserted: bool,
    /// The logical line gathered so far.
    line: String,
    /// Text written after the last CRLF: the start of a physical line.
    partial: String,
}

impl<'a, F: Fn(&str) -> bool> Refolder<'a, F> {
    /// `capacity`: the expected size of the output.
    pub fn new(extra: &'a [String], before: F, capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            extra,
            before,
            inserted: extra.is_empty(),
            line: String::with_capacity(256),
            partial: String::with_capacity(256),
        }
    }

    /// One complete physical line (without its CRLF).
    fn physical(&mut self, physical: &str) {
        match physical.as_bytes().first() {
            // A continuation: the fold (CRLF and one space or tab) goes, the rest joins.
            Some(b' ' | b'\t') => self.line.push_str(&physical[1..]),
            _ => {
                self.emit();
                self.line.push_str(physical);
            }
        }
    }

    /// Folds the gathered logical line into the output (inserting `extra` before the first
    /// line `before` picks) and starts the next one.
    fn emit(&mut self) {
        if self.line.is_empty() {
            return;
        }
        if !self.inserted && (self.before)(&self.line) {
            for e in self.extra {
                fold_into(e, &mut self.out);
            }
            self.inserted = true;
        }
        fold_into(&self.line, &mut self.out);
        self.line.clear();
    }

    pub fn finish(mut self) -> String {
        let rest = std::mem::take(&mut self.partial);
        self.physical(&rest);
        self.emit();
        self.out
    }
}

impl<F: Fn(&str) -> bool> std::fmt::Write for Refolder<'_, F> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut pending = std::mem::take(&mut self.partial);
        pending.push_str(s);
        let mut start = 0;
        while let Some(i) = pending[start..].find("\r\n") {
            self.physical(&pending[start..start + i]);
            start += i + 2;
        }
        pending.drain(..start);
        self.partial = pending;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(line: &str) -> String {
        let mut out = String::new();
        fold_into(line, &mut out);
        out
    }

    #[test]
    fn short_lines_are_not_folded() {
        assert_eq!(fold("SUMMARY:Opening"), "SUMMARY:Opening\r\n");
    }

    #[test]
    fn folded_lines_are_at_most_75_octets_and_unfold_to_the_original() {
        let line = format!("DESCRIPTION:{}", "Petter Ølberg, José Luís Cancela; ".repeat(20));
        let folded = fold(&line);
        for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
        }
        assert_eq!(unfold(&folded), [line]);
    }

    #[test]
    fn a_fold_never_splits_a_utf8_character() {
        // 'Ø' is two octets; put one across every possible boundary.
        for pad in 0..4 {
            let line = format!("SUMMARY:{}{}", "x".repeat(60 + pad), "ØØØØØØØØØØØØØØØØ");
            let folded = fold(&line);
            assert!(folded.split("\r\n").all(|l| std::str::from_utf8(l.as_bytes()).is_ok()));
            assert_eq!(unfold(&folded), [line]);
        }
    }

    #[test]
    fn a_fold_never_separates_a_backslash_from_what_it_escapes() {
        for pad in 0..6 {
            let line = format!("SUMMARY:{}{}", "x".repeat(62 + pad), "\\,\\;\\n\\\\\\,".repeat(3));
            let folded = fold(&line);
            for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
                assert!(
                    !physical.ends_with('\\') || physical.ends_with("\\\\") && escapes_pairs(physical),
                    "{physical:?}"
                );
            }
            assert_eq!(unfold(&folded), [line]);
        }
    }

    /// A physical line ending in backslashes ends in complete `\\` pairs.
    fn escapes_pairs(l: &str) -> bool {
        l.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0
    }

    #[test]
    fn text_cannot_inject_a_property() {
        let evil = "Q&A; notes, part 2\nEND:VEVENT\r\nBEGIN:VEVENT\u{0}\u{7}";
        assert_eq!(escape_text(evil), "Q&A\\; notes\\, part 2\\nEND:VEVENT\\nBEGIN:VEVENT");
        assert_eq!(clean_text("a\r\nb\rc\u{1b}d\te"), "a\nb\ncd\te");
    }

    #[test]
    fn hidden_line_breaks_become_escaped_breaks_and_bidi_controls_go() {
        // A record stored before the domain refused them still cannot start a property.
        let evil = "Weekly sync\u{2028}LOCATION:Evil Place\u{2029}x";
        assert_eq!(escape_text(&clean_text(evil)), "Weekly sync\\nLOCATION:Evil Place\\nx");
        assert_eq!(clean_text("Invoice \u{202E}fdp.exe \u{2066}a\u{2069}"), "Invoice fdp.exe a");
        // Marks, dashes and quotes that share the lead byte stay.
        assert_eq!(clean_text("\u{200F}a \u{2014} \u{201C}b\u{201D}"), "\u{200F}a \u{2014} \u{201C}b\u{201D}");
    }

    #[test]
    fn refold_text_is_refold_of_unfold() {
        let extra = ["BEGIN:VTIMEZONE".to_owned(), format!("X-LONG:{}", "z".repeat(200)), "END:VTIMEZONE".to_owned()];
        let long = format!("DESCRIPTION:{}", "Petter Ølberg\\, José; ".repeat(12));
        let texts = [
            String::new(),
            "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned(),
            format!(
                "BEGIN:VCALENDAR\r\nX-A:1\r\nBEGIN:VEVENT\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                fold(&long).trim_end()
            ),
            "A:x\r\n y\r\n\tz\r\n \r\n\tw\r\n\r\n b\r\nBEGIN:VEVENT\r\nEND:VEVENT".to_owned(),
        ];
        let before = |l: &str| l == "BEGIN:VEVENT" || l == "END:VCALENDAR";
        for text in &texts {
            for extra in [&extra[..], &[]] {
                let expected = refold(&unfold(text), extra, before);
                assert_eq!(refold_text(text, extra, before), expected, "{text:?}");
                // Written in pieces of every size, CRLFs split across pieces included.
                for piece in [1, 2, 3, 7, 64, 4096] {
                    let mut r = Refolder::new(extra, before, 0);
                    let mut rest = text.as_str();
                    while !rest.is_empty() {
                        let mut cut = piece.min(rest.len());
                        while !rest.is_char_boundary(cut) {
                            cut += 1;
                        }
                        std::fmt::Write::write_str(&mut r, &rest[..cut]).unwrap();
                        rest = &rest[cut..];
                    }
                    assert_eq!(r.finish(), expected, "{text:?} in pieces of {piece}");
                }
            }
        }
    }

    #[test]
    fn clean_text_keeps_clean_text_as_it_is() {
        for s in ["", "Opening remarks", "Line one\nline two\twith a tab", "Ølberg — 老虎"] {
            assert_eq!(clean_text(s), s);
        }
        assert_eq!(clean_text("a\u{85}b\u{7f}c\u{9f}d"), "abcd");
        assert_eq!(clean_text("Ça, ¿qué? \u{a0}"), "Ça, ¿qué? \u{a0}");
    }

    #[test]
    fn parameter_values_use_rfc_6868() {
        assert_eq!(param_value("Amb. \"Pepe\" ^ Cancela\nUY"), "Amb. ^'Pepe^' ^^ Cancela^nUY");
    }
}
