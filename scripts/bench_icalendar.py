#!/usr/bin/env python3
"""The reference of the rendering benchmark (issue 6, target 5): Python's icalendar library
building the same calendar as agenda's 1,000-slot agenda feed.

Input: the JSON that `agenda-bench render --json FILE` writes (the feed's events, field by
field, as agenda computed them: UID, summary, description, location, URL, conference, times,
time zone, sequence, status, created, last-modified, organizer, categories). Reading and
parsing the JSON and the ISO times happens once, before timing; each timed iteration builds the
whole calendar (calendar properties, one VEVENT per slot with the same properties, the
VTIMEZONE from icalendar's own timezone support for the events' dates) and serializes it
with to_ical(), what a user's script would do. Prints `key=value` lines.

Usage: bench_icalendar.py EVENTS.json [ITERATIONS]
"""

import json
import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from icalendar import Calendar, Event, vCalAddress, vText


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def prepare(doc):
    events = []
    for e in doc["events"]:
        tz = ZoneInfo(e["tzid"]) if e["tzid"] else ZoneInfo("UTC")
        events.append(
            dict(
                e,
                start=parse_time(e["start"]).astimezone(tz),
                end=parse_time(e["end"]).astimezone(tz),
                created=parse_time(e["created"]),
                last_modified=parse_time(e["last_modified"]),
            )
        )
    return events


def build(doc, events):
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", doc["prodid"])
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", doc["name"])
    cal.add("x-wr-calname", doc["name"])
    cal.add("description", doc["description"])
    cal.add("x-wr-caldesc", doc["description"])
    ttl = timedelta(seconds=doc["refresh_seconds"])
    cal.add("refresh-interval", ttl, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", ttl)
    zones = {e["tzid"] for e in events if e["tzid"]}
    if len(zones) == 1:
        cal.add("x-wr-timezone", next(iter(zones)))
    for e in events:
        ev = Event()
        ev.add("uid", e["uid"])
        ev.add("dtstamp", e["last_modified"])
        ev.add("created", e["created"])
        ev.add("last-modified", e["last_modified"])
        ev.add("sequence", e["sequence"])
        ev.add("status", "CANCELLED" if e["cancelled"] else "CONFIRMED")
        ev.add("dtstart", e["start"])
        ev.add("dtend", e["end"])
        ev.add("summary", e["summary"])
        ev.add("description", e["description"])
        if e["location"]:
            ev.add("location", e["location"])
        organizer = vCalAddress("mailto:" + e["organizer_email"])
        organizer.params["cn"] = vText(e["organizer_name"])
        ev.add("organizer", organizer)
        if e["url"]:
            ev.add("url", e["url"])
        if e["conference"]:
            ev.add(
                "conference",
                e["conference"],
                parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": "Join"},
            )
        if e["categories"]:
            ev.add("categories", e["categories"])
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)
    # VTIMEZONE for every TZID used, covering the events' dates (icalendar's own support).
    if zones:
        first = min(e["start"] for e in events).date()
        last = max(e["end"] for e in events).date() + timedelta(days=1)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()


def main():
    path = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = prepare(doc)
    body = build(doc, events)  # warm-up, not timed
    if b"BEGIN:VTIMEZONE" not in body or body.count(b"BEGIN:VEVENT") != len(events):
        sys.exit("bench_icalendar.py: the calendar lacks its VTIMEZONE or events")
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        body = build(doc, events)
        times.append((time.perf_counter() - t) * 1e3)
    print(
        f"py_icalendar_version={icalendar.__version__} py_events={len(events)} py_bytes={len(body)} "
        f"py_iterations={iterations} py_median_ms={statistics.median(times):.1f} py_min_ms={min(times):.1f}"
    )


if __name__ == "__main__":
    main()
