#!/usr/bin/env python3
"""Drive agenda's CalDAV with Python's `caldav` library (a real, third-party client) and
print what the client saw as JSON on stdout.

Used by tests/it/caldav.rs. The server is what is tested; this script only reports.

Usage:
  caldav_client.py discover URL
      Discovery from URL (the server's root): the principal, its calendars.
      -> {"principal": url, "calendars": [{"url": ..., "name": ...}, ...]}
  caldav_client.py sync CALENDAR_URL [TOKEN]
      One sync-collection from TOKEN (none: the initial sync), loading each object, with the
      library's fallback to a full listing disabled, so a refused token shows as an error.
      -> {"token": ..., "objects": [OBJECT, ...], "deleted": [url, ...]}
         or {"error": "<exception class>", "message": ...}
  caldav_client.py search CALENDAR_URL START END
      calendar-query with a time range (ISO 8601 UTC times).
      -> {"objects": [OBJECT, ...]}

OBJECT = {"url", "uid", "summary", "sequence", "start" (ISO 8601 with offset), "status"}
"""

import datetime
import json
import sys

import caldav
from caldav.lib import error


def obj(o):
    ev = o.icalendar_component
    return {
        "url": str(o.url),
        "uid": str(ev.get("uid")),
        "summary": str(ev.get("summary")),
        "sequence": int(ev.get("sequence", 0)),
        "start": ev.get("dtstart").dt.isoformat(),
        "status": str(ev.get("status", "")),
    }


def calendar(url):
    client = caldav.DAVClient(url=url)
    return client.calendar(url=url)


def main(argv):
    cmd = argv[1]
    if cmd == "discover":
        client = caldav.DAVClient(url=argv[2])
        principal = client.principal()
        cals = principal.calendars()
        return {
            "principal": str(principal.url),
            "calendars": [{"url": str(c.url), "name": c.get_display_name()} for c in cals],
        }
    if cmd == "sync":
        cal = calendar(argv[2])
        token = argv[3] if len(argv) > 3 else None
        try:
            got = cal.get_objects_by_sync_token(sync_token=token, load_objects=True, disable_fallback=True)
        except error.DAVError as e:
            return {"error": type(e).__name__, "message": str(e)}
        deleted = sorted(str(u) for u in got.deleted_urls)
        objects = [obj(o) for o in got if o.url.canonical() not in got.deleted_urls]
        return {"token": got.sync_token, "objects": sorted(objects, key=lambda o: o["url"]), "deleted": deleted}
    if cmd == "search":
        cal = calendar(argv[2])
        start, end = (datetime.datetime.fromisoformat(a) for a in argv[3:5])
        found = cal.search(start=start, end=end, event=True, expand=False)
        return {"objects": sorted((obj(o) for o in found), key=lambda o: o["url"])}
    raise SystemExit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    json.dump(main(sys.argv), sys.stdout, indent=1, sort_keys=True)
