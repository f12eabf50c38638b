//! The HTML of the pages: pure functions from domain values to markup (maud), no I/O.
//!
//! maud escapes every interpolated string, so nothing a user typed can become markup; the only
//! links made from user data are http and https URLs ([`web_href`]). Times are shown in the
//! session's zone with its UTC offset, each inside `<time datetime>` so the optional script
//! (`assets/local-time.js`) can add the viewer's own time.
//!
//! Every word of ours comes from the reader's language ([`Ui`], messages in `i18n`); what
//! people typed is shown as typed, and isolated (`i18n::isolate`) where it sits inside one of
//! our sentences.

use std::collections::HashMap;

use jiff::ZonedDateTime;
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};

use crate::domain::{
    Format, Material, MaterialKind, ParticipationStatus, Person, PersonId, PersonSlot, Role, Session, SessionStatus,
    Slot, SlotStatus, Timestamp,
};
use crate::i18n::{Arg, Lang, isolate};
use crate::links::FeedLinks;

/// The reader's side of a page: its language, whether links keep `?lang=` (the reader chose
/// it in the address rather than by their browser's Accept-Language), and where this page is
/// (path and query without `lang`), for the language switch.
#[derive(Debug, Clone, Copy)]
pub struct Ui<'a> {
    pub lang: Lang,
    pub keep: bool,
    pub here: &'a str,
}

impl Ui<'_> {
    fn t(&self, id: &str) -> String {
        self.lang.text(id)
    }

    fn f(&self, id: &str, args: &[(&str, Arg)]) -> String {
        self.lang.format(id, args)
    }

    /// A link to one of our pages, keeping the chosen language.
    fn href(&self, path: &str) -> String {
        if self.keep { with_lang(path, self.lang) } else { path.to_owned() }
    }
}

/// `path` with `lang=` added to its query.
fn with_lang(path: &str, lang: Lang) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}lang={}", lang.tag())
}

/// The people a page names, by id.
pub type People = HashMap<PersonId, Person>;

/// One page of a session list, and whether pages come before or after it.
pub struct Listing<'a> {
    pub sessions: &'a [Session],
    /// The link to the previous and to the next page, when there are.
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// What the search form shows as entered.
pub struct Search<'a> {
    pub text: &'a str,
    pub organizer: &'a str,
    pub tag: &'a str,
}

/// Where the page's one stylesheet, one script and icon are served.
pub const STYLESHEET: &str = "/assets/style.css";
pub const SCRIPT: &str = "/assets/local-time.js";
/// Browsers ask for an icon whatever the page says; naming ours spares them a 404.
pub const ICON: &str = "/assets/favicon.svg";

/// The page around `main`: language, title, stylesheet, the skip link, the site header with
/// the language switch. `data-your-time` is the script's one word of ours.
fn layout(ui: &Ui, title: &str, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(ui.lang.tag()) data-your-time=(ui.t("your-time")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · agenda" }
                link rel="stylesheet" href=(STYLESHEET);
                link rel="icon" href=(ICON) type="image/svg+xml";
                script src=(SCRIPT) defer {}
            }
            body {
                a.skip href="#main" { (ui.t("skip-to-content")) }
                header.site {
                    nav aria-label=(ui.t("site-nav")) { a href=(ui.href("/")) { (ui.t("all-sessions")) } }
                    (language_switch(ui))
                }
                main id="main" { (main) }
                footer.site { p { (ui.t("footer")) } }
            }
        }
    }
    .into_string()
}

/// Links to this page in each language, each named in itself; the current one marked.
fn language_switch(ui: &Ui) -> Markup {
    html! {
        nav.languages aria-label=(ui.t("language-nav")) {
            ul {
                @for lang in Lang::ALL {
                    li {
                        a href=(with_lang(ui.here, lang)) lang=(lang.tag()) hreflang=(lang.tag())
                            aria-current=[(lang == ui.lang).then_some("true")] { (lang.own_name()) }
                    }
                }
            }
        }
    }
}

/// `href` for a URL someone typed: only absolute http and https URLs become links.
pub fn web_href(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

/// `name=value`, URL-encoded.
fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).unwrap_or_default()
}

fn zoned(t: Timestamp, tz: &TimeZone) -> ZonedDateTime {
    t.to_zoned_datetime(tz.clone())
}

/// `<time>` of `t` showing `text`; the attribute is the full instant with its offset.
/// `local`: the script may add the viewer's time after it (once per line of text, so tables
/// stay narrow).
fn time(t: Timestamp, tz: &TimeZone, text: &str, local: bool) -> Markup {
    let z = zoned(t, tz);
    html! { time datetime=(z.strftime("%Y-%m-%dT%H:%M:%S%:z")) data-local[local] { (text) } }
}

/// "Thursday, 17 November 2022, 15:00–16:30 CET (UTC+01:00)" in the reader's language, the
/// end's date added when it is another day. The zone's abbreviation and offset are the same
/// in every language.
fn when(lang: Lang, start: Timestamp, end: Timestamp, tz: &TimeZone) -> Markup {
    let (a, b) = (zoned(start, tz), zoned(end, tz));
    let end_text = if a.date() == b.date() { lang.short_time(b.time()) } else { lang.date_time(b.datetime()) };
    html! {
        span.when {
            (time(start, tz, &lang.date_time(a.datetime()), true)) "–"
            (time(end, tz, &format!("{end_text} {}", b.strftime("%Z")), false))
            " (UTC" (a.strftime("%:z")) ")"
        }
    }
}

/// A time of day of `t` in `tz`.
fn clock(lang: Lang, t: Timestamp, tz: &TimeZone) -> Markup {
    time(t, tz, &lang.short_time(zoned(t, tz).time()), false)
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Online => "format-online",
        Format::InPerson => "format-in-person",
        Format::Hybrid => "format-hybrid",
    }
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::Organizer => "role-organizer",
        Role::Moderator => "role-moderator",
        Role::Speaker => "role-speaker",
        Role::Participant => "role-participant",
    }
}

fn material_label(k: MaterialKind) -> &'static str {
    match k {
        MaterialKind::Slides => "material-slides",
        MaterialKind::Programme => "material-programme",
        MaterialKind::ParticipantList => "material-participant-list",
        MaterialKind::Recording => "material-recording",
        MaterialKind::Document => "material-document",
        MaterialKind::Other => "material-other",
    }
}

/// A person's name linking to their page, with position and affiliation after it.
fn person(ui: &Ui, id: &PersonId, people: &People) -> Markup {
    match people.get(id) {
        Some(p) => {
            let detail: Vec<&str> =
                [p.position.as_str(), p.affiliation.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
            html! {
                a href=(ui.href(&format!("/people/{id}"))) { (p.display_name()) }
                @if !detail.is_empty() { span.detail { " (" (detail.join(", ")) ")" } }
            }
        }
        None => html! { (id) },
    }
}

fn people_list(ui: &Ui, ids: &[PersonId], people: &People) -> Markup {
    html! {
        @if !ids.is_empty() {
            ul.plain { @for id in ids { li { (person(ui, id, people)) } } }
        }
    }
}

fn material(ui: &Ui, m: &Material, people: &People) -> Markup {
    html! {
        @match m.url.as_ref().and_then(|u| web_href(u.as_str())) {
            Some(href) => a href=(href) { (m.title) },
            None => span { (m.title) },
        }
        " (" (ui.t(material_label(m.kind))) ")"
        @if let Some(p) = &m.presenter { ", " (ui.t("presented-by")) " " (person(ui, p, people)) }
    }
}

/// A cancelled thing's text struck through, with the word said too (not by style alone).
fn maybe_cancelled(ui: &Ui, cancelled: bool, text: &str) -> Markup {
    html! {
        @if cancelled { del { (text) } " " strong.cancelled { (ui.t("cancelled-mark")) } } @else { (text) }
    }
}

/// The search form: plain GET, so it works without script and its results can be linked; a
/// chosen language goes with it.
fn search_form(ui: &Ui, s: &Search) -> Markup {
    html! {
        form.search method="get" action="/" role="search" {
            @if ui.keep { input type="hidden" name="lang" value=(ui.lang.tag()); }
            div { label for="q" { (ui.t("search")) } input id="q" name="q" type="search" value=(s.text); }
            div { label for="organizer" { (ui.t("organizer")) } input id="organizer" name="organizer" type="text" value=(s.organizer); }
            div { label for="tag" { (ui.t("tag")) } input id="tag" name="tag" type="text" value=(s.tag); }
            div { button type="submit" { (ui.t("find-sessions")) } }
        }
    }
}

/// One list of the front page; `id` is also its messages' prefix (`upcoming-sessions`,
/// `upcoming-pages`).
fn session_table(ui: &Ui, id: &str, list: &Listing) -> Markup {
    html! {
        @if list.sessions.is_empty() {
            p { (ui.t("no-sessions")) }
        } @else {
            div.scroll {
                table id=(id) {
                    caption.visually-hidden { (ui.t(&format!("{id}-sessions"))) }
                    thead { tr {
                        th scope="col" { (ui.t("when")) } th scope="col" { (ui.t("session")) }
                        th scope="col" { (ui.t("organizer")) } th scope="col" { (ui.t("format")) }
                    } }
                    tbody {
                        @for s in list.sessions {
                            tr {
                                td { (when(ui.lang, s.start, s.end, &s.time_zone.tz())) }
                                th scope="row" {
                                    a href=(ui.href(&format!("/sessions/{}", s.id))) { (maybe_cancelled(ui, s.status == SessionStatus::Cancelled, &s.title)) }
                                }
                                td { (s.organizer.name) }
                                td { (ui.t(format_label(s.format))) }
                            }
                        }
                    }
                }
            }
        }
        @if list.previous.is_some() || list.next.is_some() {
            nav.pages aria-label=(ui.t(&format!("{id}-pages"))) {
                @if let Some(p) = &list.previous { a href=(ui.href(p)) rel="prev" { (ui.t("previous-page")) } }
                @if let Some(n) = &list.next { a href=(ui.href(n)) rel="next" { (ui.t("next-page")) } }
            }
        }
    }
}

/// `/`: the search form, upcoming sessions, then past ones.
pub fn index(ui: &Ui, search: &Search, upcoming: &Listing, past: &Listing, links: &FeedLinks) -> String {
    let all = links.sessions();
    layout(
        ui,
        &ui.t("sessions"),
        html! {
            h1 { (ui.t("sessions")) }
            (search_form(ui, search))
            h2 { (ui.t("upcoming")) }
            (session_table(ui, "upcoming", upcoming))
            h2 { (ui.t("past")) }
            (session_table(ui, "past", past))
            h2 { (ui.t("subscribe")) }
            ul.plain {
                li { a href=(all.webcal) { (ui.t("subscribe-all")) } }
                li { a href=(all.url) { (feed_label(ui, &all.url)) } }
            }
        },
    )
}

/// The plain feed link's label, naming the scheme it really has (that of `--public-url`).
fn feed_label(ui: &Ui, url: &str) -> String {
    let scheme = if url.starts_with("https:") { "https" } else { "http" };
    ui.f("calendar-feed", &[("scheme", Arg::Str(scheme))])
}

/// The session's moderators: participants with that role, else everyone moderating a slot.
fn moderators(s: &Session) -> Vec<PersonId> {
    let by_role: Vec<PersonId> =
        s.participants.iter().filter(|p| p.role == Role::Moderator).map(|p| p.person.clone()).collect();
    if !by_role.is_empty() {
        return by_role;
    }
    let mut out: Vec<PersonId> = Vec::new();
    for id in s.slots.iter().flat_map(|sl| &sl.moderators) {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

fn programme_row(ui: &Ui, s: &Session, slot: &Slot, tz: &TimeZone, people: &People) -> Markup {
    let cancelled = slot.status == SlotStatus::Cancelled || s.status == SessionStatus::Cancelled;
    let lang = ui.lang;
    html! {
        tr.cancelled[cancelled] {
            th scope="row" { (clock(lang, slot.start, tz)) "–" (clock(lang, slot.end, tz)) }
            td {
                (maybe_cancelled(ui, cancelled, &slot.title))
                @if !slot.description.is_empty() { p.detail { (slot.description) } }
            }
            td { (people_list(ui, &slot.speakers, people)) }
            td { (people_list(ui, &slot.moderators, people)) }
            td {
                @if !slot.materials.is_empty() {
                    ul.plain { @for m in &slot.materials { li { (material(ui, m, people)) } } }
                }
            }
            td {
                a href={ "/sessions/" (s.id) "/slots/" (slot.id) ".ics" } download {
                    (ui.t("download-ics"))
                    span.visually-hidden { " " (ui.f("download-ics-for", &[("slot", Arg::Str(&isolate(&slot.title)))])) }
                }
            }
        }
    }
}

/// `/sessions/{id}`: the event page.
pub fn session(ui: &Ui, s: &Session, people: &People, links: &FeedLinks) -> String {
    let tz = s.time_zone.tz();
    let feed = links.session(s.id.as_str());
    let google = format!("https://calendar.google.com/calendar/render?{}", query("cid", &feed.webcal));
    // Confirmed participants only, as the seed lists them: those who accepted, and those who
    // said they might (marked). Who has not answered or declined is the organizer's to know
    // (gRPC), never a public page's.
    let confirmed = s
        .participants
        .iter()
        .filter(|p| matches!(p.status, ParticipationStatus::Accepted | ParticipationStatus::Tentative));
    let mut groups: Vec<(&str, Vec<&crate::domain::Participant>)> = Vec::new();
    for p in confirmed {
        match groups.iter_mut().find(|(g, _)| *g == p.group) {
            Some((_, members)) => members.push(p),
            None => groups.push((&p.group, vec![p])),
        }
    }
    let confirmed_count = groups.iter().map(|(_, m)| m.len()).sum::<usize>();
    let moderators = moderators(s);
    let cancelled = s.status == SessionStatus::Cancelled;
    layout(
        ui,
        &s.title,
        html! {
            h1 { (maybe_cancelled(ui, cancelled, &s.title)) }
            dl.facts {
                dt { (ui.t("organizer")) } dd { (s.organizer.name) @if !s.organizer.short_name.is_empty() { " (" (s.organizer.short_name) ")" } }
                dt { (ui.t("when")) } dd {
                    (when(ui.lang, s.start, s.end, &tz)) br;
                    span.detail { (ui.f("time-zone", &[("zone", Arg::Str(s.time_zone.as_str()))])) }
                }
                dt { (ui.t("format")) } dd { (ui.t(format_label(s.format))) }
                @if !s.location.is_empty() { dt { (ui.t("place")) } dd { (s.location) } }
                @if let Some(href) = s.join_url.as_ref().and_then(|u| web_href(u.as_str())) {
                    dt { (ui.t("join")) } dd { a href=(href) { (ui.t("join-online")) } }
                }
                @if !moderators.is_empty() {
                    dt { (ui.f("moderators", &[("count", Arg::Count(moderators.len()))])) }
                    dd { (people_list(ui, &moderators, people)) }
                }
                @if s.status != SessionStatus::Scheduled {
                    dt { (ui.t("status")) } dd {
                        @if cancelled { strong.cancelled { (ui.t("status-cancelled")) } } @else { (ui.t("status-completed")) }
                    }
                }
                @if !s.tags.is_empty() {
                    dt { (ui.t("tags")) } dd {
                        @for (i, t) in s.tags.iter().enumerate() {
                            @if i > 0 { ", " } a href=(ui.href(&format!("/?{}", query("tag", &t.to_lowercase())))) { (t) }
                        }
                    }
                }
            }
            @for para in s.description.split("\n\n").filter(|p| !p.trim().is_empty()) { p { (para.trim()) } }
            h2 id="programme" { (ui.t("programme")) }
            @if s.slots.is_empty() { p { (ui.t("no-programme")) } } @else {
                div.scroll {
                    table aria-labelledby="programme" {
                        thead { tr {
                            th scope="col" { (ui.t("time")) } th scope="col" { (ui.t("slot")) } th scope="col" { (ui.t("speakers")) }
                            // The column's heading takes the plural form.
                            th scope="col" { (ui.f("moderators", &[("count", Arg::Count(2))])) } th scope="col" { (ui.t("materials")) }
                            th scope="col" { (ui.t("calendar")) }
                        } }
                        tbody { @for slot in &s.slots { (programme_row(ui, s, slot, &tz, people)) } }
                    }
                }
            }
            @if let Some(href) = s.recording_url.as_ref().and_then(|u| web_href(u.as_str())) {
                h2 { (ui.t("recording")) }
                p { a href=(href) { (href) } }
            }
            @if !s.materials.is_empty() {
                h2 { (ui.t("annexes")) }
                ol { @for m in &s.materials { li { (material(ui, m, people)) } } }
            }
            @if !groups.is_empty() {
                h2 { (ui.f("confirmed-participants", &[("count", Arg::Count(confirmed_count))])) }
                @for (group, members) in &groups {
                    h3 { @if group.is_empty() { (ui.t("other-group")) } @else { (group) } " (" (members.len()) ")" }
                    ul.people {
                        @for p in members {
                            li {
                                (person(ui, &p.person, people))
                                @if p.role != Role::Participant { " – " (ui.t(role_label(p.role))) }
                                @if p.status == ParticipationStatus::Tentative { " " span.detail { (ui.t("tentative-mark")) } }
                            }
                        }
                    }
                }
            }
            h2 { (ui.t("add-to-calendar")) }
            ul.plain {
                li { a href=(feed.webcal) { (ui.t("subscribe-webcal")) } }
                li { a href=(feed.url) { (feed_label(ui, &feed.url)) } }
                li { a href=(google) { (ui.t("add-to-google")) } }
            }
            p.detail { (ui.t("slot-files")) }
        },
    )
}

/// `/people/{id}`: who the person is and where they speak or moderate in public sessions.
pub fn person_page(ui: &Ui, p: &Person, slots: &[PersonSlot], links: &FeedLinks) -> String {
    let feed = links.person(p.id.as_str());
    layout(
        ui,
        &p.display_name(),
        html! {
            h1 { (p.display_name()) }
            dl.facts {
                @if !p.position.is_empty() { dt { (ui.t("position")) } dd { (p.position) } }
                @if !p.affiliation.is_empty() { dt { (ui.t("affiliation")) } dd { (p.affiliation) } }
            }
            h2 id="slots" { (ui.t("speaking-and-moderating")) }
            @if slots.is_empty() { p { (ui.t("no-slots")) } } @else {
                div.scroll {
                    table aria-labelledby="slots" {
                        thead { tr {
                            th scope="col" { (ui.t("when")) } th scope="col" { (ui.t("slot")) }
                            th scope="col" { (ui.t("session")) } th scope="col" { (ui.t("role")) }
                        } }
                        tbody {
                            @for ps in slots {
                                @let cancelled = ps.removed || ps.slot.status == SlotStatus::Cancelled || ps.session_status == SessionStatus::Cancelled;
                                tr.cancelled[cancelled] {
                                    td { (when(ui.lang, ps.slot.start, ps.slot.end, &ps.time_zone.tz())) }
                                    th scope="row" { (maybe_cancelled(ui, cancelled, &ps.slot.title)) }
                                    td { a href=(ui.href(&format!("/sessions/{}", ps.session_id))) { (ps.session_title) } }
                                    td { (ps.roles.iter().map(|r| ui.t(role_label(*r))).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (ui.t("calendar")) }
            ul.plain {
                li { a href=(feed.webcal) { (ui.f("subscribe-person", &[("name", Arg::Str(&isolate(&p.display_name())))])) } }
                li { a href=(feed.url) { (feed_label(ui, &feed.url)) } }
            }
        },
    )
}

/// The 404 page; `message` is the id of what is not there.
pub fn not_found(ui: &Ui, message: &str) -> String {
    layout(
        ui,
        &ui.t("not-found"),
        html! {
            h1 { (ui.t("not-found")) }
            p { (ui.t(message)) }
            p { a href=(ui.href("/")) { (ui.t("see-all-sessions")) } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_become_links() {
        assert_eq!(web_href("https://youtu.be/ulm5tcGudjY"), Some("https://youtu.be/ulm5tcGudjY"));
        assert_eq!(web_href("HTTP://example.org/"), Some("HTTP://example.org/"));
        for bad in ["javascript:alert(1)", "data:text/html,<script>", "//evil.example", "ftp://x", "", "https:"] {
            assert_eq!(web_href(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_time_shows_the_zone_and_offset_and_names_the_instant() {
        let tz = TimeZone::get("Europe/Zurich").unwrap();
        let start: Timestamp = "2022-11-17T14:00:00Z".parse().unwrap();
        let end: Timestamp = "2022-11-17T15:30:00Z".parse().unwrap();
        assert_eq!(
            when(Lang::En, start, end, &tz).into_string(),
            "<span class=\"when\"><time datetime=\"2022-11-17T15:00:00+01:00\" data-local>Thursday, 17 November \
             2022, 15:00</time>–<time datetime=\"2022-11-17T16:30:00+01:00\">16:30 CET</time> (UTC+01:00)</span>"
        );
        assert_eq!(
            when(Lang::Es, start, end, &tz).into_string(),
            "<span class=\"when\"><time datetime=\"2022-11-17T15:00:00+01:00\" data-local>jueves, 17 de noviembre \
             de 2022, 15:00</time>–<time datetime=\"2022-11-17T16:30:00+01:00\">16:30 CET</time> (UTC+01:00)</span>"
        );
        let next_day: Timestamp = "2022-11-18T08:00:00Z".parse().unwrap();
        assert!(
            when(Lang::Fr, start, next_day, &tz).into_string().contains(">vendredi 18 novembre 2022, 09:00 CET</time>"),
            "a span into another day names the end's date"
        );
    }
}
