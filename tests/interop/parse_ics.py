#!/usr/bin/env python3
"""Parse an iCalendar document from stdin with the `icalendar` library and
print a normalised JSON summary on stdout.

Used by agenda's Rust integration tests as an independent, third-party check
of the iCalendar documents the service produces.  parse_ics.mjs implements
the same contract with Mozilla's ical.js; for the same input both print the
same JSON.

Output shape (keys always present; null where a value is absent):

    {
      "calendar": {"X-WR-CALNAME", "NAME", "METHOD", "PRODID", "VERSION"},
      "timezones": [TZID of every VTIMEZONE, in document order],
      "missing_tzids": [TZIDs used by a property but without a VTIMEZONE],
      "events": [{
        "uid", "summary", "description", "location", "status",
        "sequence":   int, 0 when absent,
        "start_utc":  "YYYY-MM-DDTHH:MM:SSZ" or null (all-day, floating, or a
                      TZID that has no VTIMEZONE in the document),
        "end_utc":    same, from DTEND, else DTSTART + DURATION, else null,
        "start_date": "YYYY-MM-DD" for an all-day (VALUE=DATE) DTSTART, else null,
        "end_date":   likewise for DTEND / DTSTART + DURATION,
        "tzid":       the TZID parameter of DTSTART, or null,
        "organizer":  the ORGANIZER value (e.g. "mailto:a@b"), or null,
        "attendees":  [{"value", "cn", "role", "partstat",
                        "rsvp": true/false, or null when the parameter is absent}],
        "url":        the URL value, or null,
        "conference": [{"value", "label", "feature": [upper-case strings]}]
      }],
      "freebusy": [{"uid", "organizer", "start_utc", "end_utc",
                    "busy": [{"fbtype", "start_utc", "end_utc"}]}]
                  (only when the document has a VFREEBUSY)
    }

Time zones: a TZID is resolved *only* against the VTIMEZONE components of the
document itself (plus the ids UTC, GMT and Z, which ical.js also knows).
icalendar (6.x/7.x) on its own would resolve a well-known Olson TZID such as
"Europe/Zurich" with the system/`tzdata` zoneinfo database and use a
VTIMEZONE only for ids it does not know; that would hide a wrong or missing
VTIMEZONE.  So this script builds a tzinfo from each VTIMEZONE with
`Timezone.to_tz(lookup_tzid=False)` (which always converts the component,
never looks the id up) and localises the wall-clock time of DTSTART/DTEND in
it.  A TZID without a VTIMEZONE gives start_utc null and is listed in
missing_tzids.

Strictness: the input must be valid UTF-8 (a fold inside a multi-byte
character, which RFC 5545 calls improper, is therefore an error), must hold
exactly one VCALENDAR, and any property icalendar could not parse is an error.
On any error a message goes to stderr and the exit status is 1.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import icalendar

CAL_PROPS = ("X-WR-CALNAME", "NAME", "METHOD", "PRODID", "VERSION")
UTC_IDS = ("UTC", "GMT", "Z")


class ParseError(Exception):
    pass


def text(component, name):
    value = component.get(name)
    if value is None:
        return None
    if isinstance(value, list):  # a property given more than once
        value = value[0]
    return str(value)


def param(prop, name):
    value = prop.params.get(name)
    return None if value is None else str(value)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def utc_string(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_utc(prop, zones):
    """Return (utc datetime or None, date or None) for a DTSTART/DTEND value."""
    value = prop.dt
    if not isinstance(value, dt.datetime):
        return None, value  # VALUE=DATE: all-day
    tzid = prop.params.get("TZID")
    if tzid is not None:
        tzid = str(tzid)
        wall = value.replace(tzinfo=None)
        if tzid in zones:
            return wall.replace(tzinfo=zones[tzid]), None
        if tzid in UTC_IDS:
            return wall.replace(tzinfo=dt.timezone.utc), None
        return None, None  # TZID without VTIMEZONE
    if value.tzinfo is not None:  # ...Z
        return value, None
    return None, None  # floating time


def event_json(event, zones):
    start_prop = event.get("DTSTART")
    start = start_date = None
    if start_prop is not None:
        start, start_date = to_utc(start_prop, zones)

    end = end_date = None
    end_prop = event.get("DTEND")
    duration = event.get("DURATION")
    if end_prop is not None:
        end, end_date = to_utc(end_prop, zones)
    elif duration is not None and start_prop is not None:
        delta = duration.dt
        if start is not None:
            # Nominal (day) parts are added to the local wall time, exact
            # parts to the instant; timedelta keeps days and seconds apart.
            tz = start.tzinfo
            wall = start.replace(tzinfo=None) + dt.timedelta(days=delta.days)
            end = wall.replace(tzinfo=tz) + dt.timedelta(
                seconds=delta.seconds, microseconds=delta.microseconds
            )
        elif start_date is not None:
            end_date = start_date + dt.timedelta(days=delta.days)

    seq = event.get("SEQUENCE")
    attendees = []
    for att in as_list(event.get("ATTENDEE")):
        rsvp = param(att, "RSVP")
        attendees.append(
            {
                "value": str(att),
                "cn": param(att, "CN"),
                "role": param(att, "ROLE"),
                "partstat": param(att, "PARTSTAT"),
                "rsvp": None if rsvp is None else rsvp.upper() == "TRUE",
            }
        )
    conference = []
    for conf in as_list(event.get("CONFERENCE")):
        feature = conf.params.get("FEATURE")
        if feature is None:
            features = []
        elif isinstance(feature, (list, tuple)):
            features = [str(f).upper() for f in feature]
        else:
            features = [f.strip().upper() for f in str(feature).split(",") if f.strip()]
        conference.append(
            {"value": str(conf), "label": param(conf, "LABEL"), "feature": features}
        )

    return {
        "uid": text(event, "UID"),
        "summary": text(event, "SUMMARY"),
        "description": text(event, "DESCRIPTION"),
        "location": text(event, "LOCATION"),
        "status": text(event, "STATUS"),
        "sequence": int(seq) if seq is not None else 0,
        "start_utc": utc_string(start) if start is not None else None,
        "end_utc": utc_string(end) if end is not None else None,
        "start_date": start_date.isoformat() if start_date is not None else None,
        "end_date": end_date.isoformat() if end_date is not None else None,
        "tzid": param(start_prop, "TZID") if start_prop is not None else None,
        "organizer": text(event, "ORGANIZER"),
        "attendees": attendees,
        "url": text(event, "URL"),
        "conference": conference,
    }


def freebusy_json(fb):
    busy = []
    for prop in as_list(fb.get("FREEBUSY")):
        start, end = prop.dt
        if isinstance(end, dt.timedelta):
            end = start + end
        busy.append(
            {"fbtype": param(prop, "FBTYPE") or "BUSY", "start_utc": utc_string(start), "end_utc": utc_string(end)}
        )
    bound = lambda name: utc_string(fb[name].dt) if name in fb else None
    return {
        "uid": text(fb, "UID"),
        "organizer": text(fb, "ORGANIZER"),
        "start_utc": bound("DTSTART"),
        "end_utc": bound("DTEND"),
        "busy": busy,
    }


def parse(raw: bytes) -> dict:
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"input is not valid UTF-8 (a fold inside a multi-byte character?): {exc}")
    if source.startswith("\ufeff"):
        source = source[1:]
    try:
        cal = icalendar.Calendar.from_ical(source)
    except Exception as exc:  # icalendar raises ValueError and friends
        raise ParseError(f"icalendar could not parse the input: {exc}")
    if cal.name != "VCALENDAR":
        raise ParseError(f"top-level component is {cal.name}, not VCALENDAR")
    errors = [(c.name, e) for c in cal.walk() for e in getattr(c, "errors", [])]
    if errors:
        raise ParseError(f"icalendar reported property errors: {errors}")

    zones = {}
    timezones = []
    for vtz in cal.walk("VTIMEZONE"):
        tzid = str(vtz["TZID"])
        timezones.append(tzid)
        try:
            zones[tzid] = vtz.to_tz(lookup_tzid=False)
        except Exception as exc:
            raise ParseError(f"VTIMEZONE {tzid} could not be converted: {exc}")

    used = set()
    for component in cal.walk():
        if component.name in ("STANDARD", "DAYLIGHT"):
            continue
        for values in component.values():
            for value in as_list(values):
                tzid = getattr(value, "params", {}).get("TZID")
                if tzid is not None:
                    used.add(str(tzid))
    missing = sorted(used - set(zones) - set(UTC_IDS))

    out = {
        "calendar": {name: text(cal, name) for name in CAL_PROPS},
        "timezones": timezones,
        "missing_tzids": missing,
        "events": [event_json(ev, zones) for ev in cal.walk("VEVENT")],
    }
    freebusy = cal.walk("VFREEBUSY")
    if freebusy:
        out["freebusy"] = [freebusy_json(fb) for fb in freebusy]
    return out


def main() -> int:
    try:
        result = parse(sys.stdin.buffer.read())
    except ParseError as exc:
        print(f"parse_ics.py: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unexpected is still a failed parse
        print(f"parse_ics.py: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    out = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
