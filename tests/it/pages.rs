//! The HTML pages for people: the demo session's page checked against the seed page it comes
//! from, 404s that reveal nothing, caching like the feeds, escaping; and a real browser
//! (Debian's Chromium through puppeteer-core, with axe-core) loading them.

use agenda::pb;
use prost_types::FieldMask;

use crate::helpers::{TestApp, session, slot, spawn_demo_app};

const DEMO: &str = "fmg-msme-2022-11-17";

/// GETs a page that must answer 200 as HTML with the security headers; returns its body.
async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    let h = r.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("referrer-policy"));
    r.text().await.unwrap()
}

/// The text of `html` between `from` and the next `to` (or the end).
fn section<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("{from} not in the page")) + from.len();
    let rest = &html[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

/// The person ids linked in `html`, in order.
fn linked_people(html: &str) -> Vec<String> {
    html.split("href=\"/people/").skip(1).map(|s| s[..s.find('"').unwrap()].to_owned()).collect()
}

/// The seed page's groups, in its order, with how many people each lists.
const SEED_GROUPS: [(&str, usize); 5] =
    [("FMG", 6), ("WTO Missions", 14), ("WTO Secretariat", 3), ("International Organizations", 3), ("Think Tanks", 2)];

#[tokio::test]
async fn the_demo_page_shows_what_the_seed_page_shows() {
    let app = spawn_demo_app().await;
    let html = page(&app, &format!("/sessions/{DEMO}")).await;
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\" "), "English unless asked otherwise");
    assert!(html.contains("<h1>Integration of MSMEs within the MTS</h1>"));
    assert!(html.contains("Friends of Multilateralism Group (FMG)"));
    assert!(html.contains("Thursday, 17 November 2022, 15:00"), "the date in Geneva time");
    assert!(html.contains("(UTC+01:00)"), "with its offset");
    assert!(html.contains("Online"));

    // The programme: five start times in Geneva time (two slots at 15:00 and 15:05 open it).
    let programme = section(&html, "id=\"programme\"", "</table>");
    for t in ["15:00", "15:05", "15:15", "15:25", "15:35"] {
        assert!(programme.contains(&format!("datetime=\"2022-11-17T{t}:00+01:00\">{t}</time>")), "{t}");
    }
    // Speakers with position and affiliation; the moderator of each talk.
    assert!(programme.contains(
        "Amb. José Luís Cancela</a><span class=\"detail\"> (Ambassador; Coordinator of the WTO Informal Working Group on MSMEs, Uruguay)"
    ));
    assert!(programme.contains("Kathryn Lundquist</a>") && programme.contains("Valentina Rollo</a>"));
    assert_eq!(programme.matches("href=\"/people/patrick-low\"").count(), 1 + 4, "opening speaker, four moderations");
    // The three slides, with their presenters.
    for slides in [
        "Trade4MSMEs – Amb Cancelas presentation",
        "Lundquist presentation – 2022 WTO MSME Group Research Notes",
        "SMECO 2022 FMG presentation_final",
    ] {
        assert!(programme.contains(&format!("<span>{slides}</span> (slides)")), "{slides}");
    }
    // The recording, as a link.
    assert!(html.contains("<a href=\"https://youtu.be/ulm5tcGudjY\">"));
    assert!(section(&html, "Moderator</dt>", "</dd>").contains("/people/patrick-low"));

    // Participants: 28 people in the seed's five groups, each listed once, speakers included.
    let participants = section(&html, "<h2>Confirmed participants (28)</h2>", "<h2>");
    let mut everyone = Vec::new();
    for (i, (group, count)) in SEED_GROUPS.iter().enumerate() {
        let heading = format!("<h3>{group} ({count})</h3>");
        let members = section(participants, &heading, "<h3>");
        let ids = linked_people(members);
        assert_eq!(ids.len(), *count, "{group}: {ids:?}");
        everyone.extend(ids);
        if i + 1 < SEED_GROUPS.len() {
            assert!(participants.find(&heading) < participants.find(&format!("<h3>{}", SEED_GROUPS[i + 1].0)));
        }
    }
    everyone.sort();
    everyone.dedup();
    assert_eq!(everyone.len(), 28);
    for name in ["Petter Ølberg", "Laouali Labo", "Hosuk Lee-Makiyama", "Peter Van den Bossche", "Victor Do Prodo"] {
        assert!(participants.contains(name), "{name}");
    }
    for speaker in ["jose-luis-cancela", "kathryn-lundquist", "valentina-rollo"] {
        assert!(everyone.iter().any(|p| p == speaker), "{speaker}");
    }

    // Add to calendar: webcal and https subscriptions, Google's add-by-URL, per-slot files.
    let feed = format!("{}/feeds/sessions/{DEMO}.ics", app.http_base);
    let webcal = feed.replacen("http://", "webcal://", 1);
    assert!(html.contains(&format!("href=\"{webcal}\"")) && html.contains(&format!("href=\"{feed}\"")));
    let google =
        format!("https://calendar.google.com/calendar/render?cid={}", webcal.replace(':', "%3A").replace('/', "%2F"));
    assert!(html.contains(&format!("href=\"{google}\"")), "{google}");
    assert!(html.contains(&format!("href=\"/sessions/{DEMO}/slots/speaker-1-cancela.ics\"")));
}

#[tokio::test]
async fn a_slot_downloads_as_its_own_calendar_file() {
    let app = spawn_demo_app().await;
    let r = app.get(&format!("/sessions/{DEMO}/slots/speaker-2-lundquist.ics")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"speaker-2-lundquist.ics\"");
    let ics = r.text().await.unwrap();
    let (_, events) = crate::interop::parse_both(&ics);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, format!("slot.{DEMO}.speaker-2-lundquist@agenda.invalid"), "the UID the feeds use");
    assert_eq!(events[0].1, "2022-11-17T14:15:00Z");
    let missing = app.get(&format!("/sessions/{DEMO}/slots/nothing.ics")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["agenda-error-reason"], "SLOT_NOT_FOUND");
}

#[tokio::test]
async fn a_person_page_lists_their_public_slots_and_feed() {
    let app = spawn_demo_app().await;
    let html = page(&app, "/people/patrick-low").await;
    assert!(html.contains("<h1>Patrick Low</h1>"));
    assert!(html.contains("Co-Chair of FMG; former Chief Economist of the WTO"));
    let slots = section(&html, "<tbody>", "</tbody>");
    assert_eq!(slots.matches("<tr").count(), 5, "one opening and four moderations");
    assert!(slots.contains(&format!("href=\"/sessions/{DEMO}\"")));
    assert!(slots.contains("speaker, moderator") || slots.contains("moderator"));
    assert!(html.contains(&format!("href=\"{}/feeds/people/patrick-low.ics\"", app.http_base)));
}

#[tokio::test]
async fn the_front_page_lists_past_and_upcoming_sessions_and_filters_them() {
    let app = spawn_demo_app().await;
    let next_year = jiff::Timestamp::now().as_second() + 365 * 86_400;
    let start = jiff::Timestamp::from_second(next_year - next_year % 86_400 + 9 * 3600).unwrap();
    let end = jiff::Timestamp::from_second(start.as_second() + 3600).unwrap();
    let mut s = session("Digital trade talk", &start.to_string(), &end.to_string());
    s.tags = vec!["digital".into()];
    app.create("digital", s).await;

    let html = page(&app, "/").await;
    let upcoming = section(&html, "id=\"upcoming\"", "</table>");
    let past = section(&html, "id=\"past\"", "</table>");
    assert!(upcoming.contains("Digital trade talk") && !upcoming.contains("MSMEs"));
    assert!(past.contains(&format!("href=\"/sessions/{DEMO}\"")) && past.contains("Friends of Multilateralism Group"));
    assert!(html.contains("<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">"));

    let by_tag = page(&app, "/?tag=Digital").await;
    assert!(by_tag.contains("Digital trade talk") && !by_tag.contains(DEMO));
    let by_text = page(&app, "/?q=msme&organizer=fmg").await;
    assert!(by_text.contains(DEMO) && !by_text.contains("Digital trade talk"));
    assert!(by_text.contains("value=\"msme\""), "the form keeps what was searched");
}

#[tokio::test]
async fn the_front_page_is_paginated() {
    let app = spawn_demo_app().await;
    for i in 0..23 {
        let day = format!("2021-03-{:02}", i + 1);
        app.create(
            &format!("old-{i:02}"),
            session(&format!("Old meeting {i:02}"), &format!("{day}T09:00:00Z"), &format!("{day}T10:00:00Z")),
        )
        .await;
    }
    let first = page(&app, "/").await;
    let past = section(&first, "id=\"past\"", "</table>");
    assert_eq!(past.matches("<tr><td>").count(), 20);
    assert!(past.contains(DEMO), "the latest past session comes first");
    assert!(first.contains("href=\"/?past_page=2\" rel=\"next\""));
    let second = page(&app, "/?past_page=2").await;
    let past = section(&second, "id=\"past\"", "</table>");
    assert_eq!(past.matches("<tr><td>").count(), 4);
    assert!(past.contains("Old meeting 00") && !past.contains(DEMO));
    assert!(second.contains("href=\"/\" rel=\"prev\""));
}

#[tokio::test]
async fn private_sessions_and_unknown_ids_get_a_real_404_page() {
    let app = spawn_demo_app().await;
    // A private session in which a public person speaks: neither page may show it.
    let (start, end) = ("2030-06-10T09:00:00Z", "2030-06-10T10:00:00Z");
    let briefing = pb::Slot { speaker_ids: vec!["patrick-low".into()], ..slot("brief", "Briefing", start, end) };
    let closed = pb::Session {
        visibility: pb::Visibility::Private as i32,
        slots: vec![briefing],
        ..session("Closed-door consultation", start, end)
    };
    app.create("closed", closed).await;

    let private = app.get("/sessions/closed").await;
    let unknown = app.get("/sessions/no-such-session").await;
    for r in [&private, &unknown] {
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["agenda-error-reason"], "SESSION_NOT_FOUND");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.headers().contains_key("content-security-policy"));
    }
    let (a, b) = (private.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(a, b, "a private session looks exactly like none");
    assert!(a.contains("<h1>Not found</h1>"));
    assert_eq!(app.get("/sessions/closed/slots/brief.ics").await.status(), 404);
    // Its secret feed token opens its feed, never a page.
    let scope = Some(pb::feed_token::Scope::SessionId("closed".into()));
    let req = pb::CreateFeedTokenRequest {
        feed_token: Some(pb::FeedToken { scope, ..Default::default() }),
        ..Default::default()
    };
    let token = app.feeds.clone().create_feed_token(req).await.unwrap().into_inner().feed_token.unwrap().token;
    for path in [format!("/sessions/{token}"), format!("/sessions/closed?token={token}"), format!("/?token={token}")] {
        let r = app.get(&path).await;
        let text = r.text().await.unwrap();
        assert!(!text.contains("Closed-door") && !text.contains("Briefing"), "{path}");
    }
    for path in ["/", "/people/patrick-low"] {
        let html = page(&app, path).await;
        assert!(!html.contains("Closed-door") && !html.contains("Briefing"), "{path}");
    }
    let person = app.get("/people/nobody").await;
    assert_eq!(person.status(), 404);
    assert_eq!(person.headers()["agenda-error-reason"], "PERSON_NOT_FOUND");
}

#[tokio::test]
async fn pages_answer_304_until_a_write_and_gzip_when_asked() {
    let app = spawn_demo_app().await;
    let url = format!("{}/sessions/{DEMO}", app.http_base);
    let client = reqwest::Client::new();
    let first = client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = first.headers()["last-modified"].to_str().unwrap().to_owned();
    let body = first.text().await.unwrap();
    let inm = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(inm.status(), 304);
    assert!(inm.bytes().await.unwrap().is_empty());
    let ims = client.get(&url).header("if-modified-since", &last_modified).send().await.unwrap();
    assert_eq!(ims.status(), 304);
    let gz = client.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]), &mut text)
        .unwrap();
    assert_eq!(text, body);

    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: DEMO.into(), title: "MSMEs and the MTS".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
        ..Default::default()
    };
    app.sessions.clone().update_session(req).await.unwrap();
    let changed = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert!(changed.text().await.unwrap().contains("<h1>MSMEs and the MTS</h1>"));
}

/// A session whose every typed field is an XSS attempt.
async fn create_xss_session(app: &TestApp) {
    let mut s = session(
        "<script>window.__agendaXss.push('title');alert('title')</script>",
        "2022-05-01T09:00:00Z",
        "2022-05-01T10:00:00Z",
    );
    s.description = "<img src=x onerror=\"window.__agendaXss.push('img');alert('img')\"> \"quoted\" & more".into();
    s.location = "<iframe src=javascript:alert('where')></iframe>".into();
    s.slots = vec![pb::Slot {
        description: "</td><script>alert('slot')</script>".into(),
        ..slot("s1", "<b onmouseover=alert('slot')>Slot</b>", "2022-05-01T09:00:00Z", "2022-05-01T10:00:00Z")
    }];
    app.create("xss", s).await;
}

#[tokio::test]
async fn everything_users_typed_is_escaped() {
    let app = spawn_demo_app().await;
    create_xss_session(&app).await;
    let html = page(&app, "/sessions/xss").await;
    let main = section(&html, "<main id=\"main\">", "</main>");
    assert!(!main.contains("<script") && !main.contains("<img") && !main.contains("<iframe") && !main.contains("<b "));
    assert!(main.contains("&lt;script&gt;window.__agendaXss.push('title');alert('title')&lt;/script&gt;"));
    assert!(main.contains("&lt;img src=x onerror=&quot;window.__agendaXss.push('img');alert('img')&quot;&gt; &quot;quoted&quot; &amp; more"));
    // A URL the service refuses never reaches a page: only http and https links exist.
    let mut bad = session("Bad link", "2022-05-02T09:00:00Z", "2022-05-02T10:00:00Z");
    bad.join_url = "javascript:alert(1)".into();
    let refused = app
        .sessions
        .clone()
        .create_session(pb::CreateSessionRequest { session_id: "bad".into(), session: Some(bad), ..Default::default() })
        .await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::InvalidArgument);
    let front = page(&app, "/").await;
    assert!(!front.contains("<script>window") && front.contains("&lt;script&gt;window"));
}

/// Where Debian's Chromium is (the test fails, never skips, when it is missing: scripts/test
/// installs it).
pub(crate) fn chromium() -> String {
    let path = std::env::var("AGENDA_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "no Chromium at {path}: install Debian's chromium (scripts/test does)"
    );
    path
}

#[tokio::test]
async fn a_real_browser_shows_the_pages_accessibly_and_runs_no_injected_script() {
    let app = spawn_demo_app().await;
    create_xss_session(&app).await;
    let shots = tempfile::tempdir().unwrap();
    let input = serde_json::json!({
        "base": app.http_base,
        "chromium": chromium(),
        "out_dir": shots.path(),
        "pages": ["/", format!("/sessions/{DEMO}"), "/people/jose-luis-cancela"],
        "xss": ["/sessions/xss"],
    });
    let report = tokio::task::spawn_blocking(move || crate::interop::node("browser_check.mjs", &input.to_string()))
        .await
        .unwrap();
    let pages = report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    for p in pages {
        let path = &p["path"];
        assert_eq!(p["status"], 200, "{path}");
        assert_eq!(p["errors"], serde_json::json!([]), "console errors on {path}");
        assert_eq!(p["serious"], serde_json::json!([]), "axe-core: serious or critical violations on {path}");
        let shots = p["screenshots"].as_array().unwrap();
        assert_eq!(shots.len(), 2, "desktop and phone");
        for shot in shots {
            let bytes = std::fs::read(shot.as_str().unwrap()).unwrap();
            assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{shot} is not a PNG");
        }
    }
    let xss = &report["xss"][0];
    assert_eq!(xss["status"], 200);
    assert_eq!(xss["dialogs"], serde_json::json!([]), "a payload ran");
    assert_eq!(xss["marks"], 0, "a payload ran");
    assert_eq!(xss["injected"], 0, "a payload became markup");
    assert_eq!(xss["errors"], serde_json::json!([]), "console errors (a CSP violation means markup got through)");
    assert!(xss["title"].as_str().unwrap().starts_with("<script>"), "the title is shown as text");
}
