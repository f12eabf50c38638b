# agenda's own words in English (British conventions, as the Geneva organizers write).
# One file per language, every message in each: src/i18n/tests.rs checks it.
# What people typed (titles, names, places) comes in as placeholders and is never translated.

## Dates and times (CLDR's full date and short time; checked against ICU in tests/it/i18n.rs)

weekday = { $day ->
    [monday] Monday
    [tuesday] Tuesday
    [wednesday] Wednesday
    [thursday] Thursday
    [friday] Friday
    [saturday] Saturday
   *[sunday] Sunday
}
month = { $month ->
    [january] January
    [february] February
    [march] March
    [april] April
    [may] May
    [june] June
    [july] July
    [august] August
    [september] September
    [october] October
    [november] November
   *[december] December
}
# "Thursday, 17 November 2022"
date-full = { $weekday }, { $day } { $month } { $year }
# The clock, as a CLDR pattern: HH (09:05) or H (9:05), then mm.
time-pattern = HH:mm
# Where a span starts: "Thursday, 17 November 2022, 15:00"
date-time = { $date }, { $time }

## Every page

skip-to-content = Skip to content
site-nav = Site
all-sessions = All sessions
footer = Served by agenda. Times are in each session's own time zone.
language-nav = Language
# After a time, by the optional script: " (your time: Thu 17 Nov, 09:00 EST)"
your-time = your time:
not-found = Not found
see-all-sessions = See all sessions
no-such-page = There is no such page here.
no-such-session = There is no public session at this address.
no-such-slot = There is no such slot in a public session.
no-such-person = There is no such person here.

## Words of sessions and slots

format-online = Online
format-in-person = In person
format-hybrid = Hybrid
role-organizer = organizer
role-moderator = moderator
role-speaker = speaker
role-participant = participant
material-slides = slides
material-programme = programme
material-participant-list = participant list
material-recording = recording
material-document = document
material-other = other
presented-by = presented by
cancelled-mark = (cancelled)
tentative-mark = (tentative)

## The front page

sessions = Sessions
search = Search
organizer = Organizer
tag = Tag
find-sessions = Find sessions
upcoming = Upcoming
past = Past
upcoming-sessions = Upcoming sessions
past-sessions = Past sessions
upcoming-pages = Pages of upcoming sessions
past-pages = Pages of past sessions
no-sessions = No sessions.
when = When
session = Session
format = Format
previous-page = Previous page
next-page = Next page
subscribe = Subscribe
subscribe-all = Subscribe to every public session (webcal)
calendar-feed = Calendar feed ({ $scheme })

## A session's page

time-zone = Time zone: { $zone }
place = Place
join = Join
join-online = Join online
moderators = { $count ->
    [one] Moderator
   *[other] Moderators
}
status = Status
status-cancelled = Cancelled
status-completed = Completed
tags = Tags
programme = Programme
no-programme = No programme yet.
time = Time
slot = Slot
speakers = Speakers
materials = Materials
calendar = Calendar
download-ics = Download .ics
# Read by screen readers after "Download .ics".
download-ics-for = for { $slot }
recording = Recording
annexes = Annexes
confirmed-participants = Confirmed participants ({ $count })
other-group = Other
add-to-calendar = Add to calendar
subscribe-webcal = Subscribe (webcal)
add-to-google = Add to Google Calendar
slot-files = Each slot of the programme also has its own .ics file to download.

## A person's page

position = Position
affiliation = Affiliation
speaking-and-moderating = Speaking and moderating
no-slots = No slots in public sessions.
role = Role
subscribe-person = Subscribe to { $name }'s slots (webcal)

## Invite e-mails (plain text: no isolation marks; the calendar part is never translated)

mail-subject = { $kind ->
    [update] Updated invitation
    [cancel] Cancelled
   *[invitation] Invitation
}: { $what }, { $when }
mail-greeting = Dear { $name },
mail-invite-speak = You are invited to speak at "{ $slot }" in "{ $session }", organized by { $organizer }.
mail-invite-moderate = You are invited to moderate "{ $slot }" in "{ $session }", organized by { $organizer }.
mail-cancel-slot = "{ $slot }" in "{ $session }" is cancelled for you: the slot was cancelled or removed, or you are no longer on it.
mail-invite-session = You are invited to take part in "{ $session }", organized by { $organizer }.
mail-cancel-session = "{ $session }" is cancelled for you: the session was cancelled, or you are no longer on its list of participants.
mail-when = When: { $when }
mail-your-time = Your time: { $when }
mail-where = Where: { $place }
mail-join = Join: { $url }
mail-speakers = Speakers: { $names }
mail-moderators = Moderators: { $names }
mail-answer-slot = Please answer with your calendar (accept, tentative or decline): your answer updates the agenda.
mail-answer-session = Please answer with your calendar (accept, tentative or decline): your answer updates the list of participants.
