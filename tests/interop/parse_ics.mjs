#!/usr/bin/env node
// Parse an iCalendar document from stdin with Mozilla's ical.js and print a
// normalised JSON summary on stdout.
//
// Same contract as parse_ics.py (see its docstring for the full shape): for
// the same input both scripts print the same JSON.
//
// Time zones: every VTIMEZONE of the document is registered with
// ICAL.TimezoneService.register before any date is read, and a TZID is
// resolved only against those (plus UTC, GMT and Z, which ical.js knows
// itself). ical.js has no zone database of its own, so a TZID without a
// VTIMEZONE gives start_utc null and is listed in missing_tzids; a floating
// time gives null too (ical.js would otherwise read it in the process's local
// zone).
//
// Strictness: the input must be valid UTF-8 (a fold inside a multi-byte
// character is therefore an error) and hold exactly one VCALENDAR. On any
// error a message goes to stderr and the exit status is 1.

import ICAL from 'ical.js';

const CAL_PROPS = ['X-WR-CALNAME', 'NAME', 'METHOD', 'PRODID', 'VERSION'];
const UTC_IDS = ['UTC', 'GMT', 'Z'];

class ParseError extends Error {}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function str(value) {
  return value === null || value === undefined ? null : String(value);
}

function text(component, name) {
  return str(component.getFirstPropertyValue(name.toLowerCase()));
}

// An instant as parse_ics.py writes it: YYYY-MM-DDTHH:MM:SSZ.
function utcOf(time) {
  return time.toJSDate().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A VFREEBUSY: its window, organizer and periods (the same keys as parse_ics.py).
function freebusyJson(fb) {
  const bound = (name) => {
    const value = fb.getFirstPropertyValue(name);
    return value ? utcOf(value) : null;
  };
  const busy = fb.getAllProperties('freebusy').flatMap((prop) =>
    prop.getValues().map((period) => ({
      fbtype: param(prop, 'FBTYPE') ?? 'BUSY',
      start_utc: utcOf(period.start),
      end_utc: utcOf(period.getEnd()),
    })),
  );
  return {
    uid: text(fb, 'UID'),
    organizer: text(fb, 'ORGANIZER'),
    start_utc: bound('dtstart'),
    end_utc: bound('dtend'),
    busy,
  };
}

function param(prop, name) {
  const value = prop.getParameter(name.toLowerCase());
  if (value === null || value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : String(value);
}

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

function dateString(t) {
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

// -> { utc: 'YYYY-MM-DDTHH:MM:SSZ' | null, date: 'YYYY-MM-DD' | null }
function resolve(time, prop, zones) {
  if (time.isDate) return { utc: null, date: dateString(time) };
  const tzid = prop ? prop.getParameter('tzid') : null;
  let zoned;
  if (tzid) {
    if (!(zones.has(tzid) || UTC_IDS.includes(tzid))) return { utc: null, date: null };
    zoned = time;
  } else if (time.zone === ICAL.Timezone.utcTimezone) {
    zoned = time;
  } else {
    return { utc: null, date: null }; // floating
  }
  const utc = zoned.convertToZone(ICAL.Timezone.utcTimezone);
  return { utc: utc.toJSDate().toISOString().replace(/\.\d{3}Z$/, 'Z'), date: null };
}

function eventJson(vevent, zones) {
  const event = new ICAL.Event(vevent);
  const startProp = vevent.getFirstProperty('dtstart');
  const endProp = vevent.getFirstProperty('dtend');
  const durationProp = vevent.getFirstProperty('duration');

  let start = { utc: null, date: null };
  if (startProp) start = resolve(event.startDate, startProp, zones);

  let end = { utc: null, date: null };
  if (endProp) {
    end = resolve(endProp.getFirstValue(), endProp, zones);
  } else if (durationProp && startProp) {
    // event.endDate adds DURATION to DTSTART in its own zone (wall time).
    end = resolve(event.endDate, startProp, zones);
  }

  const attendees = vevent.getAllProperties('attendee').map((att) => {
    const rsvp = param(att, 'RSVP');
    return {
      value: str(att.getFirstValue()),
      cn: param(att, 'CN'),
      role: param(att, 'ROLE'),
      partstat: param(att, 'PARTSTAT'),
      rsvp: rsvp === null ? null : rsvp.toUpperCase() === 'TRUE',
    };
  });

  const conference = vevent.getAllProperties('conference').map((conf) => {
    const raw = conf.getParameter('feature');
    let features = [];
    if (Array.isArray(raw)) features = raw;
    else if (raw !== null && raw !== undefined) features = String(raw).split(',');
    return {
      value: str(conf.getFirstValue()),
      label: param(conf, 'LABEL'),
      feature: features.map((f) => String(f).trim().toUpperCase()).filter((f) => f),
    };
  });

  const seq = vevent.getFirstPropertyValue('sequence');
  return {
    uid: text(vevent, 'UID'),
    summary: text(vevent, 'SUMMARY'),
    description: text(vevent, 'DESCRIPTION'),
    location: text(vevent, 'LOCATION'),
    status: text(vevent, 'STATUS'),
    sequence: seq === null || seq === undefined ? 0 : Number(seq),
    start_utc: start.utc,
    end_utc: end.utc,
    start_date: start.date,
    end_date: end.date,
    tzid: startProp ? str(startProp.getParameter('tzid')) : null,
    organizer: text(vevent, 'ORGANIZER'),
    attendees,
    url: text(vevent, 'URL'),
    conference,
  };
}

function walk(component, visit) {
  visit(component);
  for (const sub of component.getAllSubcomponents()) walk(sub, visit);
}

function parse(raw) {
  let source;
  try {
    source = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw);
  } catch (err) {
    throw new ParseError(`input is not valid UTF-8 (a fold inside a multi-byte character?): ${err.message}`);
  }

  let jcal;
  try {
    jcal = ICAL.parse(source);
  } catch (err) {
    throw new ParseError(`ical.js could not parse the input: ${err.message}`);
  }
  // ICAL.parse returns one component, or an array when there are none or several.
  if (!Array.isArray(jcal) || jcal.length === 0) {
    throw new ParseError('found no components where exactly one is required');
  }
  if (Array.isArray(jcal[0])) {
    throw new ParseError(`found ${jcal.length} top-level components where one is allowed`);
  }
  const cal = new ICAL.Component(jcal);
  if (cal.name !== 'vcalendar') {
    throw new ParseError(`top-level component is ${cal.name.toUpperCase()}, not VCALENDAR`);
  }

  const zones = new Set();
  const timezones = [];
  for (const vtz of cal.getAllSubcomponents('vtimezone')) {
    const tzid = str(vtz.getFirstPropertyValue('tzid'));
    timezones.push(tzid);
    try {
      ICAL.TimezoneService.register(vtz);
    } catch (err) {
      throw new ParseError(`VTIMEZONE ${tzid} could not be registered: ${err.message}`);
    }
    zones.add(tzid);
  }

  const used = new Set();
  walk(cal, (component) => {
    if (component.name === 'standard' || component.name === 'daylight') return;
    for (const prop of component.getAllProperties()) {
      const tzid = prop.getParameter('tzid');
      if (tzid) used.add(String(tzid));
    }
  });
  const missing = [...used].filter((id) => !zones.has(id) && !UTC_IDS.includes(id)).sort();

  const calendar = {};
  for (const name of CAL_PROPS) calendar[name] = text(cal, name);

  const out = {
    calendar,
    timezones,
    missing_tzids: missing,
    events: cal.getAllSubcomponents('vevent').map((ev, i) => {
      try {
        return eventJson(ev, zones);
      } catch (err) {
        throw new ParseError(`VEVENT #${i + 1} (${text(ev, 'UID')}): ${err.message}`);
      }
    }),
  };
  const freebusy = cal.getAllSubcomponents('vfreebusy');
  if (freebusy.length > 0) out.freebusy = freebusy.map(freebusyJson);
  return out;
}

try {
  const result = parse(await readStdin());
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (err) {
  const message = err instanceof ParseError ? err.message : `unexpected error: ${err && err.stack ? err.stack : err}`;
  process.stderr.write(`parse_ics.mjs: ${message}\n`);
  process.exitCode = 1;
}
