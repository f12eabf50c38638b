//! Pages and e-mails in the reader's language (English, French, Spanish): dates checked
//! against ICU, how a page's language is chosen and kept, the cache's body and 304 per
//! language, each e-mail in its person's language, and the pages in Chromium with axe-core.

use agenda::domain::Limits;
use agenda::i18n::Lang;
use agenda::pb::{self, invite_service_client::InviteServiceClient};
use prost_types::FieldMask;
use serde_json::json;

use crate::helpers::{TestApp, spawn_demo_app, spawn_with};

const DEMO: &str = "fmg-msme-2022-11-17";

/// GET `path` with an Accept-Language header (none when `None`).
async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{}{path}", app.http_base));
    if let Some(a) = accept {
        req = req.header("accept-language", a);
    }
    req.send().await.unwrap()
}

/// The body of a page that answers 200, after checking that it says it varies by language.
async fn page(app: &TestApp, path: &str, accept: Option<&str>) -> String {
    let r = get(app, path, accept).await;
    assert_eq!(r.status(), 200, "GET {path}");
    let vary = r.headers()["vary"].to_str().unwrap().to_ascii_lowercase();
    assert!(vary.contains("accept-language") && vary.contains("accept-encoding"), "{path}: Vary {vary}");
    r.text().await.unwrap()
}

/// The `lang` of a page's `<html>`.
fn html_lang(html: &str) -> &str {
    let rest = &html[html.find("<html lang=\"").expect("<html lang>") + 12..];
    &rest[..rest.find('"').unwrap()]
}

/// The language switch's links: (hreflang, href).
fn switch_links(html: &str) -> Vec<(String, String)> {
    let nav = &html[html.find("<nav class=\"languages\"").expect("a language switch")..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    nav.split("<a ")
        .skip(1)
        .map(|a| {
            let attr = |name: &str| {
                let v = &a[a.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("{name} in {a}")) + name.len() + 2..];
                v[..v.find('"').unwrap()].replace("&amp;", "&")
            };
            (attr("hreflang"), attr("href"))
        })
        .collect()
}

/// The seed's start, as each language writes a date and time.
const SEED_START: [(&str, &str); 3] = [
    ("en", "Thursday, 17 November 2022, 15:00"),
    ("fr", "jeudi 17 novembre 2022, 15:00"),
    ("es", "jueves, 17 de noviembre de 2022, 15:00"),
];

#[test]
fn dates_and_times_are_written_as_icu_writes_them_in_each_language() {
    // Every month, and every weekday several times over; the clock before and after 10:00.
    let dates: Vec<jiff::civil::Date> =
        (0..24).map(|i| jiff::civil::date(2024, 1, 3).checked_add(jiff::Span::new().days(i * 16)).unwrap()).collect();
    let times = [jiff::civil::time(0, 0, 0, 0), jiff::civil::time(9, 5, 0, 0), jiff::civil::time(15, 30, 0, 0)];
    let weekdays: std::collections::BTreeSet<_> = dates.iter().map(|d| d.weekday().to_monday_one_offset()).collect();
    let months: std::collections::BTreeSet<_> = dates.iter().map(|d| d.month()).collect();
    assert_eq!((weekdays.len(), months.len()), (7, 12), "every weekday and month is checked");
    // Each language by its own tag; English as the Geneva organizers write it, British.
    let locales: serde_json::Map<String, serde_json::Value> =
        Lang::ALL.iter().map(|l| (l.tag().into(), (if *l == Lang::En { "en-GB" } else { l.tag() }).into())).collect();
    let input = json!({
        "locales": locales,
        "dates": dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "times": times.iter().map(|t| t.strftime("%H:%M").to_string()).collect::<Vec<_>>(),
    });
    let icu = crate::interop::node("intl_dates.mjs", &input.to_string());
    for lang in Lang::ALL {
        let ours: Vec<String> = dates.iter().map(|d| lang.full_date(*d)).collect();
        assert_eq!(
            json!(ours),
            icu[lang.tag()]["dates"],
            "{lang}: full dates (ICU {}, CLDR {})",
            icu["icu"],
            icu["cldr"]
        );
        let ours: Vec<String> = times.iter().map(|t| lang.short_time(*t)).collect();
        assert_eq!(json!(ours), icu[lang.tag()]["times"], "{lang}: short times");
    }
}

#[tokio::test]
async fn a_page_speaks_the_language_asked_then_the_browsers_then_the_sessions() {
    let app = spawn_demo_app().await;
    let path = format!("/sessions/{DEMO}");
    let english = page(&app, &path, None).await;
    assert_eq!(html_lang(&english), "en");
    assert!(english.contains(SEED_START[0].1), "the seed's start in English");

    // The browser's Accept-Language: the heaviest language we write.
    let french = page(&app, &path, Some("de-CH, fr;q=0.8, en;q=0.5")).await;
    assert_eq!(html_lang(&french), "fr");
    assert!(french.contains(SEED_START[1].1), "the seed's start in French");
    assert!(french.contains("<h2 id=\"programme\">Programme</h2>") && french.contains("Participants confirmés (28)"));
    assert!(french.contains("<h1>Integration of MSMEs within the MTS</h1>"), "what people typed stays as typed");
    // Links need not carry the language the browser sends anyway.
    assert!(french.contains("href=\"/people/jose-luis-cancela\""));

    // ?lang= wins over Accept-Language, and the page's links keep it.
    let spanish = page(&app, &format!("{path}?lang=es"), Some("fr")).await;
    assert_eq!(html_lang(&spanish), "es");
    assert!(spanish.contains(SEED_START[2].1), "the seed's start in Spanish");
    assert!(spanish.contains("href=\"/people/jose-luis-cancela?lang=es\""));
    assert!(spanish.contains("href=\"/?lang=es\""), "the site link keeps it too");

    // A language we do not write, asked either way, falls back: never an error.
    assert_eq!(html_lang(&page(&app, &format!("{path}?lang=de"), Some("ja")).await), "en");

    // The session's own language when the reader names none of ours.
    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: DEMO.into(), language: "fr-CH".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["language".into()] }),
        ..Default::default()
    };
    let s = app.sessions.clone().update_session(req).await.unwrap().into_inner().session.unwrap();
    assert_eq!(s.language, "fr-CH");
    assert_eq!(html_lang(&page(&app, &path, None).await), "fr");
    assert_eq!(html_lang(&page(&app, &path, Some("de")).await), "fr");
    assert_eq!(html_lang(&page(&app, &path, Some("es")).await), "es", "the reader's browser first");
    assert_eq!(html_lang(&page(&app, "/", None).await), "en", "the front page has no session: the server's");
    // The search form carries a chosen language with it.
    let index = page(&app, "/?lang=es", None).await;
    assert!(index.contains("<input type=\"hidden\" name=\"lang\" value=\"es\">"));
    assert!(index.contains("<button type=\"submit\">Buscar sesiones</button>"));
}

#[tokio::test]
async fn the_servers_language_is_the_last_resort_and_a_bad_one_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |c| c.language = "es".into()).await;
    let index = page(&app, "/", None).await;
    assert_eq!(html_lang(&index), "es");
    assert!(index.contains("<h1>Sesiones</h1>"));
    assert_eq!(html_lang(&page(&app, "/", Some("en-GB")).await), "en");
    let missing = get(&app, "/sessions/nothing-here", None).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("<h1>Página no encontrada</h1>"));

    let file = dir.path().join("agenda.toml");
    std::fs::write(&file, "language = \"de\"\n").unwrap();
    let err = agenda::config::Config::resolve(Some(&file), Default::default()).expect_err("refused").to_string();
    assert!(err.contains("language \"de\" is not one agenda writes (en, fr, es)"), "{err}");
}

#[tokio::test]
async fn the_cache_keeps_a_body_and_a_304_per_language() {
    let app = spawn_demo_app().await;
    let url = format!("{}/sessions/{DEMO}", app.http_base);
    let client = reqwest::Client::new();
    let fetch = |lang: &'static str, etag: Option<String>| {
        let mut req = client.get(&url).header("accept-language", lang);
        if let Some(e) = etag {
            req = req.header("if-none-match", e);
        }
        req.send()
    };
    let mut bodies = Vec::new();
    for lang in ["en", "fr", "es"] {
        let r = fetch(lang, None).await.unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let body = r.text().await.unwrap();
        assert_eq!(html_lang(&body), lang);
        // Asked again: the same body under the same validator.
        let again = fetch(lang, None).await.unwrap();
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(again.text().await.unwrap(), body, "{lang}");
        bodies.push((lang, etag, body));
    }
    let etags: std::collections::BTreeSet<&String> = bodies.iter().map(|(_, e, _)| e).collect();
    assert_eq!(etags.len(), 3, "a validator per language");
    for (lang, etag, _) in &bodies {
        let r = fetch(lang, Some(etag.clone())).await.unwrap();
        assert_eq!(r.status(), 304, "{lang}: its own validator");
        assert!(r.headers()["vary"].to_str().unwrap().contains("Accept-Language"));
    }
    // Another language's validator is not this language's body.
    let (_, fr_etag, _) = &bodies[1];
    let english = fetch("en", Some(fr_etag.clone())).await.unwrap();
    assert_eq!(english.status(), 200);
    assert_eq!(html_lang(&english.text().await.unwrap()), "en");

    // A write changes every language's body.
    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: DEMO.into(), title: "MSMEs and the MTS".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
        ..Default::default()
    };
    app.sessions.clone().update_session(req).await.unwrap();
    for (lang, etag, _) in &bodies {
        let r = fetch(lang, Some(etag.clone())).await.unwrap();
        assert_eq!(r.status(), 200, "{lang}");
        assert!(r.text().await.unwrap().contains("<h1>MSMEs and the MTS</h1>"));
    }
}

#[tokio::test]
async fn the_language_switch_goes_round_and_comes_back_to_the_same_page() {
    let app = spawn_demo_app().await;
    let start = page(&app, &format!("/sessions/{DEMO}?lang=fr"), None).await;
    let links = switch_links(&start);
    let langs: Vec<&str> = links.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(langs, ["en", "fr", "es"]);
    assert!(start.contains("hreflang=\"fr\" aria-current=\"true\">Français</a>"), "the current one is marked");
    // fr -> es -> en -> fr, each by the switch of the page before.
    let mut html = start.clone();
    for lang in ["es", "en", "fr"] {
        let href = switch_links(&html).into_iter().find(|(l, _)| l == lang).unwrap().1;
        assert_eq!(href, format!("/sessions/{DEMO}?lang={lang}"));
        html = page(&app, &href, Some("de")).await;
        assert_eq!(html_lang(&html), lang);
    }
    assert_eq!(html, start, "back where it started, byte for byte");

    // On the front page the switch keeps the search and the page numbers.
    let index = page(&app, "/?tag=msme&q=mts", None).await;
    let es = switch_links(&index).into_iter().find(|(l, _)| l == "es").unwrap().1;
    assert_eq!(es, "/?q=mts&tag=msme&lang=es");
    let found = page(&app, &es, None).await;
    assert!(found.contains(&format!("href=\"/sessions/{DEMO}?lang=es\"")), "the search found the demo, in Spanish");
}

/// The text part of the invite `person` gets for `slot` (a participant's when `None`).
async fn invite_text(app: &TestApp, person: &str, slot: Option<&str>) -> (String, String) {
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest {
        session_id: DEMO.into(),
        person_id: person.into(),
        slot_id: slot.unwrap_or_default().into(),
        ..Default::default()
    };
    let invite = c.create_invite(req).await.unwrap().into_inner().invites.remove(0);
    let mail = crate::interop::mime(&invite.email);
    (mail["subject"].as_str().unwrap().to_owned(), mail["text_plain"].as_str().unwrap().to_owned())
}

async fn set_language(app: &TestApp, person: Option<&str>, language: &str) {
    let mask = Some(FieldMask { paths: vec!["language".into()] });
    match person {
        Some(id) => {
            let person = Some(pb::Person { id: id.into(), language: language.into(), ..Default::default() });
            let req = pb::UpdatePersonRequest { person, update_mask: mask };
            app.people.clone().update_person(req).await.unwrap();
        }
        None => {
            let session = Some(pb::Session { id: DEMO.into(), language: language.into(), ..Default::default() });
            let req = pb::UpdateSessionRequest { session, update_mask: mask, ..Default::default() };
            app.sessions.clone().update_session(req).await.unwrap();
        }
    }
}

#[tokio::test]
async fn an_email_is_in_the_persons_language_else_the_sessions_else_the_servers() {
    let app = spawn_demo_app().await;
    let (person, slot) = ("kathryn-lundquist", Some("speaker-2-lundquist"));
    let (subject, text) = invite_text(&app, person, slot).await;
    assert!(subject.starts_with("Invitation: Speaker 2: Kathryn Lundquist — "), "{subject}");
    assert!(text.starts_with("Dear Kathryn Lundquist,"), "{text}");

    set_language(&app, None, "es").await;
    let (subject, text) = invite_text(&app, person, slot).await;
    assert!(subject.starts_with("Invitación: Speaker 2: Kathryn Lundquist — "), "the session's: {subject}");
    assert!(text.contains("Fecha y hora: jueves, 17 de noviembre de 2022, 15:15–15:25 CET (UTC+01:00), Europe/Zurich"));

    set_language(&app, Some(person), "fr").await;
    let (subject, text) = invite_text(&app, person, slot).await;
    assert!(subject.starts_with("Invitation\u{a0}: Speaker 2: Kathryn Lundquist — "), "the person's: {subject}");
    assert!(text.starts_with("Bonjour Kathryn Lundquist,"), "{text}");
    assert!(!text.contains(['\u{2068}', '\u{2069}']), "no isolation marks in mail");

    // A well-formed language agenda does not write yet: the session's.
    set_language(&app, Some(person), "de").await;
    assert!(invite_text(&app, person, slot).await.1.starts_with("Estimado/a Kathryn Lundquist:"));

    // A malformed tag is refused with the field.
    let req = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: person.into(), language: "français".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["language".into()] }),
    };
    let (code, fields) = crate::helpers::failure(app.people.clone().update_person(req).await);
    assert_eq!((code, fields), (tonic::Code::InvalidArgument, vec!["person.language".to_owned()]));
    let get = pb::GetPersonRequest { person_id: person.into() };
    let p = app.people.clone().get_person(get).await.unwrap().into_inner().person.unwrap();
    assert_eq!(p.language, "de", "the refused write changed nothing");
}

#[tokio::test]
async fn a_real_browser_shows_each_language_accessibly_with_its_own_dates() {
    let app = spawn_demo_app().await;
    let shots = tempfile::tempdir().unwrap();
    let session = format!("/sessions/{DEMO}");
    let pages: Vec<String> = ["en", "fr", "es"]
        .iter()
        .flat_map(|l| [format!("{session}?lang={l}"), format!("/?lang={l}"), format!("/people/patrick-low?lang={l}")])
        .collect();
    let input = json!({
        "base": app.http_base,
        "chromium": crate::pages::chromium(),
        "out_dir": shots.path(),
        "pages": pages,
        "xss": [],
        "switches": [{ "path": session, "through": ["es", "fr", "en"] }],
        // An hour from Geneva in November: the script adds the viewer's own time.
        "timezone": "Europe/London",
    });
    let report = tokio::task::spawn_blocking(move || crate::interop::node("browser_check.mjs", &input.to_string()))
        .await
        .unwrap();
    let reports = report["pages"].as_array().unwrap();
    assert_eq!(reports.len(), 9);
    let label = |lang: &str| Lang::of(lang).unwrap().text("your-time");
    for p in reports {
        let path = p["path"].as_str().unwrap();
        let lang = &path[path.len() - 2..];
        assert_eq!(p["status"], 200, "{path}");
        assert_eq!(p["errors"], json!([]), "console errors on {path}");
        assert_eq!(p["serious"], json!([]), "axe-core: serious or critical violations on {path}");
        assert_eq!(p["other"], json!([]), "axe-core: any violation on {path}");
        assert_eq!(p["lang"], lang, "{path}");
        if path.starts_with(&session) {
            let seed = SEED_START.iter().find(|(l, _)| *l == lang).unwrap().1;
            assert_eq!(p["first_time"], seed, "{path}: the seed's start in the language's conventions");
            let note = p["local_note"].as_str().unwrap_or_else(|| panic!("{path}: no viewer's time"));
            assert!(note.starts_with(&format!(" ({} ", label(lang))), "{path}: {note}");
        }
    }
    let switch = &report["switches"][0];
    assert_eq!(switch["errors"], json!([]));
    let visited: Vec<(&str, &str)> = switch["visited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["path"].as_str().unwrap(), v["lang"].as_str().unwrap()))
        .collect();
    let expected: Vec<(String, &str)> =
        ["es", "fr", "en"].iter().map(|l| (format!("{session}?lang={l}"), *l)).collect();
    assert_eq!(visited, expected.iter().map(|(p, l)| (p.as_str(), *l)).collect::<Vec<_>>());
}
