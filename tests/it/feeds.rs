//! ICS feeds, fetched over real HTTP and read by two third-party parsers (ical.js and Python
//! icalendar), which must agree with each other and with the store.

use std::io::Read as _;

use agenda::pb;
use prost_types::FieldMask;

use crate::helpers::{TestApp, session, slot, spawn_app, spawn_demo_app, ts};
use crate::interop::{Summary, parse_both};

const DEMO: &str = "fmg-msme-2022-11-17";

fn utc(t: &Option<prost_types::Timestamp>) -> String {
    jiff::Timestamp::from_second(t.as_ref().unwrap().seconds).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What the store says the agenda feed of `s` must hold, as the parsers report it.
fn expected_agenda(s: &pb::Session) -> Summary {
    let cancelled = s.status == pb::SessionStatus::Cancelled as i32;
    s.slots
        .iter()
        .map(|sl| {
            let status =
                if cancelled || sl.status == pb::SlotStatus::Cancelled as i32 { "CANCELLED" } else { "CONFIRMED" };
            (
                format!("slot.{}.{}@agenda.invalid", s.id, sl.id),
                utc(&sl.start_time),
                utc(&sl.end_time),
                u64::from(sl.sequence),
                status.to_owned(),
            )
        })
        .collect()
}

/// Every physical line ends in CRLF, holds at most 75 octets, and the body is valid UTF-8 at
/// every fold.
fn assert_rfc5545_lines(body: &str) {
    assert!(body.ends_with("\r\n"));
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
    }
    for physical in body.as_bytes().split(|&b| b == b'\n') {
        assert!(std::str::from_utf8(physical).is_ok(), "a fold split a UTF-8 character");
    }
}

#[tokio::test]
async fn the_demo_agenda_feed_is_read_alike_by_both_parsers_and_matches_the_store() {
    let app = spawn_demo_app().await;
    let body = app.feed(&format!("/feeds/sessions/{DEMO}.ics")).await;
    assert_rfc5545_lines(&body);
    let (py, events) = parse_both(&body);
    let s = app.session(DEMO).await;
    assert_eq!(events, expected_agenda(&s));
    // 15:05 in Geneva on 17 November 2022 is 14:05 UTC, whatever the client's zone.
    assert_eq!(events[1].1, "2022-11-17T14:05:00Z");
    assert_eq!(py["timezones"], serde_json::json!(["Europe/Zurich"]));
    assert_eq!(py["calendar"]["METHOD"], "PUBLISH");
    assert_eq!(py["calendar"]["X-WR-CALNAME"], "Integration of MSMEs within the MTS");
    let cancela = &py["events"][1];
    assert_eq!(cancela["summary"], "Speaker 1: José Luís Cancela");
    assert_eq!(cancela["organizer"], "mailto:fmg@example.org");
    assert_eq!(cancela["attendees"], serde_json::json!([]), "no ATTENDEE in PUBLISH");
    let description = cancela["description"].as_str().unwrap();
    assert!(description.contains("Moderator: Patrick Low"), "{description}");
    assert!(description.contains("Trade4MSMEs – Amb Cancelas presentation"), "{description}");
    assert!(description.contains("Recording: https://youtu.be/ulm5tcGudjY"), "{description}");
    for header in [
        "PRODID:-//agenda//",
        "CALSCALE:GREGORIAN",
        "REFRESH-INTERVAL;VALUE=DURATION:",
        "X-PUBLISHED-TTL:",
        "NAME:",
        "X-WR-CALDESC:",
    ] {
        assert!(body.contains(header), "missing {header}");
    }
    assert_eq!(body.matches("DTSTAMP:").count(), 5, "every VEVENT has a DTSTAMP");
}

#[tokio::test]
async fn the_sessions_and_person_feeds_are_read_alike_by_both_parsers() {
    let app = spawn_demo_app().await;
    let s = app.session(DEMO).await;
    let all = app.feed("/feeds/sessions.ics?from=2022-01-01&to=2023-01-01").await;
    let (_, events) = parse_both(&all);
    let status = "CONFIRMED".to_owned();
    assert_eq!(events, [(format!("session.{DEMO}@agenda.invalid"), utc(&s.start_time), utc(&s.end_time), 0, status)]);

    let low = app.feed("/feeds/people/patrick-low.ics").await;
    let (_, events) = parse_both(&low);
    let uids: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        uids,
        [
            "slot.fmg-msme-2022-11-17.opening-remarks@agenda.invalid",
            "slot.fmg-msme-2022-11-17.speaker-1-cancela@agenda.invalid",
            "slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid",
            "slot.fmg-msme-2022-11-17.speaker-3-rollo@agenda.invalid",
            "slot.fmg-msme-2022-11-17.open-discussion@agenda.invalid",
        ],
        "the same UIDs as in the agenda feed"
    );
    // The default window of the sessions feed is around today: the 2022 session is outside.
    let (_, now) = parse_both(&app.feed("/feeds/sessions.ics").await);
    assert!(now.is_empty());
}

#[tokio::test]
async fn grpc_answers_carry_the_feed_urls() {
    let app = spawn_demo_app().await;
    let s = app.session(DEMO).await;
    let urls = s.feed_urls.unwrap();
    assert_eq!(urls.url, format!("{}/feeds/sessions/{DEMO}.ics", app.http_base));
    assert!(urls.webcal.starts_with("webcal://127.0.0.1:"), "{}", urls.webcal);
    let path = urls.url.strip_prefix(&app.http_base).unwrap();
    app.feed(path).await;
    let p = app.people.clone().get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.unwrap();
    let purl = p.into_inner().person.unwrap().feed_urls.unwrap().url;
    app.feed(purl.strip_prefix(&app.http_base).unwrap()).await;
}

async fn create_with(app: &TestApp, id: &str, tz: &str, start: &str, end: &str, slots: Vec<pb::Slot>) -> pb::Session {
    let mut s = session(id, start, end);
    s.time_zone = tz.into();
    s.slots = slots;
    app.create(id, s).await
}

#[tokio::test]
async fn a_session_across_a_dst_change_keeps_each_instant() {
    let app = spawn_app().await;
    // Europe/Zurich springs forward on 2026-03-29 at 02:00 (UTC+1 -> UTC+2).
    let s = create_with(
        &app,
        "dst",
        "Europe/Zurich",
        "2026-03-28T08:00:00Z",
        "2026-03-30T16:00:00Z",
        vec![
            slot("before", "Saturday", "2026-03-28T08:00:00Z", "2026-03-28T09:00:00Z"),
            slot("night", "Across the change", "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"),
            slot("after", "Monday", "2026-03-30T07:00:00Z", "2026-03-30T08:00:00Z"),
        ],
    )
    .await;
    let body = app.feed("/feeds/sessions/dst.ics").await;
    let (_, events) = parse_both(&body);
    assert_eq!(events, expected_agenda(&s));
    // Local wall-clock times on either side of the change.
    assert!(body.contains("DTSTART;TZID=Europe/Zurich:20260328T090000"), "{body}");
    assert!(body.contains("DTSTART;TZID=Europe/Zurich:20260330T090000"), "{body}");
    assert!(body.contains("TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"), "{body}");
}

#[tokio::test]
async fn a_zone_far_from_utc_and_a_utc_session_come_out_right() {
    let app = spawn_app().await;
    // Auckland: NZDT (UTC+13) ends on 2026-04-05 at 03:00 local (14:00 UTC the day before),
    // back to NZST (UTC+12).
    let akl = create_with(
        &app,
        "akl",
        "Pacific/Auckland",
        "2026-04-04T12:00:00Z",
        "2026-04-05T21:00:00Z",
        vec![
            slot("a", "Night owls", "2026-04-04T12:00:00Z", "2026-04-04T13:00:00Z"),
            slot("b", "Next morning", "2026-04-05T20:00:00Z", "2026-04-05T21:00:00Z"),
        ],
    )
    .await;
    let body = app.feed("/feeds/sessions/akl.ics").await;
    let (_, events) = parse_both(&body);
    assert_eq!(events, expected_agenda(&akl));
    // "Night owls" ends at 02:00 local, inside the repeated hour: written in UTC, since
    // parsers disagree on which 02:00 a local time means.
    assert!(body.contains("DTSTART:20260404T120000Z") && body.contains("DTEND:20260404T130000Z"), "{body}");
    assert!(body.contains("DTSTART;TZID=Pacific/Auckland:20260406T080000"), "{body}");

    let u = create_with(&app, "utc", "UTC", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z", vec![]).await;
    let body = app.feed("/feeds/sessions/utc.ics").await;
    assert!(body.contains("DTSTART:20260501T100000Z"), "{body}");
    assert!(!body.contains("TZID") && !body.contains("VTIMEZONE"), "never an invented TZID: {body}");
    let (_, events) = parse_both(&body);
    assert_eq!(events[0].1, utc(&u.start_time));
}

#[tokio::test]
async fn hostile_and_non_ascii_text_cannot_break_the_feed() {
    let app = spawn_app().await;
    app.person("olberg", "Petter Ølberg").await;
    app.person("cancela", "José Luís Cancela").await;
    let title = "Q&A; notes, part 2 — Ølberg, José Luís Cancela, Ærø, Øresund, Ålesund, Kraków, Zürich";
    let description = "Line one\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil\r\nbackslash \\ comma , semicolon ; tab\there";
    let mut s = session("Q&A; notes, part 2", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
    s.description = description.into();
    s.slots = vec![pb::Slot {
        description: description.into(),
        speaker_ids: vec!["olberg".into(), "cancela".into()],
        ..slot("qa", title, "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")
    }];
    s.organizer = Some(pb::Organizer {
        name: "Goico, Wendy \"WG\" ^ Campagna".into(),
        short_name: String::new(),
        email: "wendy@example.org".into(),
    });
    app.create("hostile", s).await;
    for path in
        ["/feeds/sessions/hostile.ics", "/feeds/sessions.ics?from=2026-01-01&to=2027-01-01", "/feeds/people/olberg.ics"]
    {
        let body = app.feed(path).await;
        assert_rfc5545_lines(&body);
        let (py, events) = parse_both(&body);
        assert_eq!(events.len(), 1, "{path}: exactly one event, nothing injected");
        let e = &py["events"][0];
        assert!(
            e["description"].as_str().unwrap().starts_with(
                "Line one\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil\nbackslash \\ comma , semicolon ; tab\there"
            ),
            "{path}: {}",
            e["description"]
        );
        assert!(!body.contains("\r\nUID:evil"), "no injected property");
    }
    let body = app.feed("/feeds/sessions/hostile.ics").await;
    let (py, _) = parse_both(&body);
    assert_eq!(py["events"][0]["summary"], title);
    // A CN with a comma is quoted; a double quote is RFC 6868-encoded.
    assert!(
        body.replace("\r\n ", "").contains("ORGANIZER;CN=\"Goico, Wendy ^'WG^' ^^ Campagna\":mailto:wendy@example.org"),
        "{body}"
    );
}

async fn move_slot(app: &TestApp, id: &str, slot_id: &str, start: &str, end: &str) {
    let req = pb::UpdateSlotRequest {
        session_id: id.into(),
        slot: Some(pb::Slot {
            id: slot_id.into(),
            start_time: Some(ts(start)),
            end_time: Some(ts(end)),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(req).await.unwrap();
}

#[tokio::test]
async fn a_moved_slot_keeps_its_uid_with_a_higher_sequence_and_a_removed_one_stays_cancelled() {
    let app = spawn_demo_app().await;
    let path = format!("/feeds/sessions/{DEMO}.ics");
    let (_, before) = parse_both(&app.feed(&path).await);
    move_slot(&app, DEMO, "speaker-3-rollo", "2022-11-17T14:25:00Z", "2022-11-17T14:30:00Z").await;
    let (_, after) = parse_both(&app.feed(&path).await);
    assert_eq!(after.len(), before.len(), "moved in place, not duplicated");
    let rollo = |events: &Summary| events.iter().find(|e| e.0.contains("speaker-3-rollo")).cloned().unwrap();
    let (b, a) = (rollo(&before), rollo(&after));
    assert_eq!((a.0.as_str(), a.2.as_str(), a.3), (b.0.as_str(), "2022-11-17T14:30:00Z", b.3 + 1));

    let remove =
        pb::RemoveSlotRequest { session_id: DEMO.into(), slot_id: "speaker-2-lundquist".into(), etag: String::new() };
    app.sessions.clone().remove_slot(remove).await.unwrap();
    let (_, removed) = parse_both(&app.feed(&path).await);
    let gone = removed.iter().find(|e| e.0.contains("speaker-2-lundquist")).expect("still in the feed");
    assert_eq!((gone.3, gone.4.as_str()), (1, "CANCELLED"));
    let (_, person) = parse_both(&app.feed("/feeds/people/kathryn-lundquist.ics").await);
    assert_eq!(person.iter().map(|e| e.4.as_str()).collect::<Vec<_>>(), ["CANCELLED"]);
}

#[tokio::test]
async fn a_cancelled_session_stays_in_every_feed_as_cancelled() {
    let app = spawn_demo_app().await;
    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session {
            id: DEMO.into(),
            status: pb::SessionStatus::Cancelled as i32,
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["status".into()] }),
        ..Default::default()
    };
    let s = app.sessions.clone().update_session(req).await.unwrap().into_inner().session.unwrap();
    let (_, agenda) = parse_both(&app.feed(&format!("/feeds/sessions/{DEMO}.ics")).await);
    assert_eq!(agenda, expected_agenda(&s));
    assert!(agenda.iter().all(|e| e.4 == "CANCELLED" && e.3 == 1), "{agenda:?}");
    let (_, all) = parse_both(&app.feed("/feeds/sessions.ics?from=2022-01-01").await);
    assert_eq!((all[0].3, all[0].4.as_str()), (1, "CANCELLED"));
}

#[tokio::test]
async fn etag_and_last_modified_give_304_until_the_data_changes() {
    let app = spawn_demo_app().await;
    let url = format!("{}/feeds/sessions/{DEMO}.ics", app.http_base);
    let client = reqwest::Client::new();
    let first = client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = first.headers()["last-modified"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "a strong ETag: {etag}");
    assert!(first.headers()["cache-control"].to_str().unwrap().contains("max-age=3600"));
    let body = first.text().await.unwrap();

    // The body depends only on the data: fetched again, byte for byte the same.
    assert_eq!(client.get(&url).send().await.unwrap().text().await.unwrap(), body);
    let inm = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(inm.status(), 304);
    assert_eq!(inm.headers()["etag"], etag.as_str());
    assert!(inm.bytes().await.unwrap().is_empty());
    let ims = client.get(&url).header("if-modified-since", &last_modified).send().await.unwrap();
    assert_eq!(ims.status(), 304);

    // A write is visible in the next GET, with a new ETag.
    move_slot(&app, DEMO, "open-discussion", "2022-11-17T14:35:00Z", "2022-11-17T15:20:00Z").await;
    let changed = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());
    assert_ne!(changed.text().await.unwrap(), body);
}

/// Midnight UTC today: the default window of `/feeds/sessions.ics` moves then.
fn midnight_utc_today() -> jiff::Timestamp {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now - now.rem_euclid(86_400)).unwrap()
}

fn last_modified(r: &reqwest::Response) -> Option<jiff::Timestamp> {
    let value = r.headers().get("last-modified")?.to_str().unwrap();
    Some(jiff::fmt::rfc2822::parse(value).unwrap().timestamp())
}

#[tokio::test]
async fn the_default_window_feed_is_last_modified_when_its_window_moved_not_in_1970() {
    // The demo is from 2022: outside the default window, so this feed has no event. Its body
    // (the window it names) changed when the window last moved, at midnight UTC.
    let app = spawn_demo_app().await;
    let before = midnight_utc_today();
    let empty = app.get("/feeds/sessions.ics").await;
    assert_eq!(empty.status(), 200);
    let modified = last_modified(&empty).expect("a Last-Modified");
    assert!(before <= modified && modified <= jiff::Timestamp::now(), "Last-Modified {modified}, today {before}");
    let text = empty.text().await.unwrap();
    assert!(!text.contains("BEGIN:VEVENT"), "{text}");

    // With a window of its own that holds the demo, the feed is as old as the demo's last change.
    let demo = app.session(DEMO).await;
    let update_time = jiff::Timestamp::from_second(demo.update_time.unwrap().seconds).unwrap();
    let with_demo = app.get("/feeds/sessions.ics?from=2022-11-01&to=2022-12-01").await;
    assert_eq!(last_modified(&with_demo), Some(update_time));
}

#[tokio::test]
async fn an_empty_feed_with_a_fixed_window_has_no_last_modified_and_still_gives_304_by_etag() {
    let app = spawn_demo_app().await;
    let path = "/feeds/sessions.ics?from=2030-01-01&to=2030-02-01";
    let first = app.get(path).await;
    assert_eq!(first.status(), 200);
    assert_eq!(last_modified(&first), None, "nothing in this feed was ever modified");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    let url = format!("{}{path}", app.http_base);
    let client = reqwest::Client::new();
    let ims = client.get(&url).header("if-modified-since", "Thu, 01 Jan 2026 00:00:00 GMT").send().await.unwrap();
    assert_eq!(ims.status(), 200, "no Last-Modified, so If-Modified-Since cannot validate");
    let inm = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(inm.status(), 304);
}

#[tokio::test]
async fn gzip_head_and_http2_are_served() {
    let app = spawn_demo_app().await;
    let url = format!("{}/feeds/sessions/{DEMO}.ics", app.http_base);
    let plain = app.feed(&format!("/feeds/sessions/{DEMO}.ics")).await;
    let client = reqwest::Client::new();
    let gz = client.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["vary"], "Accept-Encoding");
    let bytes = gz.bytes().await.unwrap();
    assert!(bytes.len() < plain.len() / 2, "{} vs {}", bytes.len(), plain.len());
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
    let refused = client.get(&url).header("accept-encoding", "gzip;q=0").send().await.unwrap();
    assert!(refused.headers().get("content-encoding").is_none());

    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "text/calendar; charset=utf-8");
    assert!(head.headers().contains_key("etag"));
    assert!(head.bytes().await.unwrap().is_empty());

    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let r = h2.get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.text().await.unwrap(), plain);
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_query_parameters_are_400() {
    let app = spawn_demo_app().await;
    for path in [
        "/feeds/sessions/nope.ics",
        "/feeds/sessions/fmg-msme-2022-11-17",
        "/feeds/people/nobody.ics",
        "/feeds/private/abc.ics",
        "/feeds/sessions/UPPER.ics",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    for query in [
        "from=yesterday",
        "to=2022-13-01",
        "frm=2022-01-01",
        "from=2023-01-01&to=2022-01-01",
        "tag=",
        "person=Not%20An%20Id",
        "tag=a&tag=b",
        "from=0001-01-01",
        "to=2200-01-01",
    ] {
        let r = app.get(&format!("/feeds/sessions.ics?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(!r.text().await.unwrap().is_empty());
    }
    // The one range of times, named instead of a library's message.
    for query in ["to=9999-12-31", "from=1899-12-31T23:59:59Z", "to=-009999-01-01"] {
        let r = app.get(&format!("/feeds/sessions.ics?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("between 1900-01-01T00:00:00Z (included) and 2200-01-01T00:00:00Z (excluded)"),
            "{query}: {text}"
        );
    }
    let (_, edges) = parse_both(&app.feed("/feeds/sessions.ics?from=1900-01-01&to=2199-12-31").await);
    assert_eq!(edges.len(), 1);
    let (_, by_tag) =
        parse_both(&app.feed("/feeds/sessions.ics?from=2022-01-01&tag=MSME&organizer=fmg&person=patrick-low").await);
    assert_eq!(by_tag.len(), 1);
    let (_, none) = parse_both(&app.feed("/feeds/sessions.ics?from=2022-01-01&tag=other").await);
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_private_session_is_only_behind_its_secret_url_until_revoked() {
    let app = spawn_demo_app().await;
    let mut s = session("Closed-door consultation", "2026-06-10T09:00:00Z", "2026-06-10T10:00:00Z");
    s.visibility = pb::Visibility::Private as i32;
    s.slots = vec![pb::Slot {
        speaker_ids: vec!["patrick-low".into()],
        ..slot("brief", "Briefing", "2026-06-10T09:00:00Z", "2026-06-10T10:00:00Z")
    }];
    let created = app.create("closed", s).await;
    assert!(created.feed_urls.is_none(), "no public URL for a private session");

    assert_eq!(app.get("/feeds/sessions/closed.ics").await.status(), 404);
    let all = app.feed("/feeds/sessions.ics?from=2026-01-01&to=2027-01-01").await;
    assert!(!all.contains("Closed-door"));
    let low = app.feed("/feeds/people/patrick-low.ics").await;
    assert!(!low.contains("Briefing"), "a person's public feed leaves private sessions out");

    let mut feeds = app.feeds.clone();
    let token = feeds
        .create_feed_token(pb::CreateFeedTokenRequest {
            feed_token: Some(pb::FeedToken {
                scope: Some(pb::feed_token::Scope::SessionId("closed".into())),
                description: "for the chair".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .feed_token
        .unwrap();
    let secret = token.feed_urls.unwrap().url;
    let path = secret.strip_prefix(&app.http_base).unwrap().to_owned();
    let r = app.get(&path).await;
    assert!(r.headers()["cache-control"].to_str().unwrap().starts_with("private"));
    let (_, events) = parse_both(&r.text().await.unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "slot.closed.brief@agenda.invalid");
    let listed = feeds.list_feed_tokens(pb::ListFeedTokensRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.feed_tokens.len(), 1);

    feeds.revoke_feed_token(pb::RevokeFeedTokenRequest { token: token.token.clone() }).await.unwrap();
    let after = app.get(&path).await;
    assert_eq!(after.status(), 404);
    assert_eq!(after.text().await.unwrap(), "no such feed\n", "the same answer as for an address that never existed");
    let again = feeds.revoke_feed_token(pb::RevokeFeedTokenRequest { token: token.token }).await;
    assert_eq!(again.unwrap_err().code(), tonic::Code::NotFound);
}
