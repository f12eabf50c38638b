//! The HTML of the pages: pure functions from domain values to markup (maud), no I/O.
//!
//! maud escapes every interpolated string, so nothing a user typed can become markup; the only
//! links made from user data are http and https URLs ([`web_href`]). Times are shown in the
//! session's zone with its UTC offset, each inside `<time datetime>` so the optional script
//! (`assets/local-time.js`) can add the viewer's own time.

use std::collections::HashMap;

use jiff::ZonedDateTime;
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};

use crate::domain::{
    Format, Material, MaterialKind, ParticipationStatus, Person, PersonId, PersonSlot, Role, Session, SessionStatus,
    Slot, SlotStatus, Timestamp,
};
use crate::links::FeedLinks;

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

/// The page around `main`: language, title, stylesheet, the skip link and the site header.
fn layout(title: &str, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · agenda" }
                link rel="stylesheet" href=(STYLESHEET);
                link rel="icon" href=(ICON) type="image/svg+xml";
                script src=(SCRIPT) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site { nav aria-label="Site" { a href="/" { "All sessions" } } }
                main id="main" { (main) }
                footer.site { p { "Served by agenda. Times are in each session's own time zone." } }
            }
        }
    }
    .into_string()
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

/// `<time>` of `t` in `tz`, showing `pattern` (strftime); the attribute is the full instant
/// with its offset. `local`: the script may add the viewer's time after it (once per line of
/// text, so tables stay narrow).
fn time(t: Timestamp, tz: &TimeZone, pattern: &str, local: bool) -> Markup {
    let z = zoned(t, tz);
    html! { time datetime=(z.strftime("%Y-%m-%dT%H:%M:%S%:z")) data-local[local] { (z.strftime(pattern)) } }
}

/// "Thursday 17 November 2022, 15:00–16:30 CET (UTC+01:00)", the end's date added when it is
/// another day.
fn when(start: Timestamp, end: Timestamp, tz: &TimeZone) -> Markup {
    let (a, b) = (zoned(start, tz), zoned(end, tz));
    let end_pattern = if a.date() == b.date() { "%H:%M %Z" } else { "%A %-d %B %Y, %H:%M %Z" };
    html! {
        span.when {
            (time(start, tz, "%A %-d %B %Y, %H:%M", true)) "–" (time(end, tz, end_pattern, false))
            " (UTC" (a.strftime("%:z")) ")"
        }
    }
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Online => "Online",
        Format::InPerson => "In person",
        Format::Hybrid => "Hybrid",
    }
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::Organizer => "organizer",
        Role::Moderator => "moderator",
        Role::Speaker => "speaker",
        Role::Participant => "participant",
    }
}

fn material_label(k: MaterialKind) -> &'static str {
    match k {
        MaterialKind::Slides => "slides",
        MaterialKind::Programme => "programme",
        MaterialKind::ParticipantList => "participant list",
        MaterialKind::Recording => "recording",
        MaterialKind::Document => "document",
        MaterialKind::Other => "other",
    }
}

/// A person's name linking to their page, with position and affiliation after it.
fn person(id: &PersonId, people: &People) -> Markup {
    match people.get(id) {
        Some(p) => {
            let detail: Vec<&str> =
                [p.position.as_str(), p.affiliation.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
            html! {
                a href={ "/people/" (id) } { (p.display_name()) }
                @if !detail.is_empty() { span.detail { " (" (detail.join(", ")) ")" } }
            }
        }
        None => html! { (id) },
    }
}

fn people_list(ids: &[PersonId], people: &People) -> Markup {
    html! {
        @if !ids.is_empty() {
            ul.plain { @for id in ids { li { (person(id, people)) } } }
        }
    }
}

fn material(m: &Material, people: &People) -> Markup {
    html! {
        @match m.url.as_ref().and_then(|u| web_href(u.as_str())) {
            Some(href) => a href=(href) { (m.title) },
            None => span { (m.title) },
        }
        " (" (material_label(m.kind)) ")"
        @if let Some(p) = &m.presenter { ", presented by " (person(p, people)) }
    }
}

/// A cancelled thing's text struck through, with the word said too (not by style alone).
fn maybe_cancelled(cancelled: bool, text: &str) -> Markup {
    html! {
        @if cancelled { del { (text) } " " strong.cancelled { "(cancelled)" } } @else { (text) }
    }
}

/// The search form: plain GET, so it works without script and its results can be linked.
fn search_form(s: &Search) -> Markup {
    html! {
        form.search method="get" action="/" role="search" {
            div { label for="q" { "Search" } input id="q" name="q" type="search" value=(s.text); }
            div { label for="organizer" { "Organizer" } input id="organizer" name="organizer" type="text" value=(s.organizer); }
            div { label for="tag" { "Tag" } input id="tag" name="tag" type="text" value=(s.tag); }
            div { button type="submit" { "Find sessions" } }
        }
    }
}

fn session_table(id: &str, caption: &str, list: &Listing) -> Markup {
    html! {
        @if list.sessions.is_empty() {
            p { "No sessions." }
        } @else {
            div.scroll {
                table id=(id) {
                    caption.visually-hidden { (caption) }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Session" } th scope="col" { "Organizer" } th scope="col" { "Format" } } }
                    tbody {
                        @for s in list.sessions {
                            tr {
                                td { (when(s.start, s.end, &s.time_zone.tz())) }
                                th scope="row" {
                                    a href={ "/sessions/" (s.id) } { (maybe_cancelled(s.status == SessionStatus::Cancelled, &s.title)) }
                                }
                                td { (s.organizer.name) }
                                td { (format_label(s.format)) }
                            }
                        }
                    }
                }
            }
        }
        @if list.previous.is_some() || list.next.is_some() {
            nav.pages aria-label={ (caption) " pages" } {
                @if let Some(p) = &list.previous { a href=(p) rel="prev" { "Previous page" } }
                @if let Some(n) = &list.next { a href=(n) rel="next" { "Next page" } }
            }
        }
    }
}

/// `/`: the search form, upcoming sessions, then past ones.
pub fn index(search: &Search, upcoming: &Listing, past: &Listing, links: &FeedLinks) -> String {
    let all = links.sessions();
    layout(
        "Sessions",
        html! {
            h1 { "Sessions" }
            (search_form(search))
            h2 { "Upcoming" }
            (session_table("upcoming", "Upcoming sessions", upcoming))
            h2 { "Past" }
            (session_table("past", "Past sessions", past))
            h2 { "Subscribe" }
            ul.plain {
                li { a href=(all.webcal) { "Subscribe to every public session (webcal)" } }
                li { a href=(all.url) { (feed_label(&all.url)) } }
            }
        },
    )
}

/// The plain feed link's label, naming the scheme it really has (that of `--public-url`).
fn feed_label(url: &str) -> &'static str {
    if url.starts_with("https:") { "Calendar feed (https)" } else { "Calendar feed (http)" }
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

fn programme_row(s: &Session, slot: &Slot, tz: &TimeZone, people: &People) -> Markup {
    let cancelled = slot.status == SlotStatus::Cancelled || s.status == SessionStatus::Cancelled;
    html! {
        tr.cancelled[cancelled] {
            th scope="row" { (time(slot.start, tz, "%H:%M", false)) "–" (time(slot.end, tz, "%H:%M", false)) }
            td {
                (maybe_cancelled(cancelled, &slot.title))
                @if !slot.description.is_empty() { p.detail { (slot.description) } }
            }
            td { (people_list(&slot.speakers, people)) }
            td { (people_list(&slot.moderators, people)) }
            td {
                @if !slot.materials.is_empty() {
                    ul.plain { @for m in &slot.materials { li { (material(m, people)) } } }
                }
            }
            td { a href={ "/sessions/" (s.id) "/slots/" (slot.id) ".ics" } download { "Download .ics" span.visually-hidden { " for " (slot.title) } } }
        }
    }
}

/// `/sessions/{id}`: the event page.
pub fn session(s: &Session, people: &People, links: &FeedLinks) -> String {
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
    let moderators = moderators(s);
    layout(
        &s.title,
        html! {
            h1 { (maybe_cancelled(s.status == SessionStatus::Cancelled, &s.title)) }
            dl.facts {
                dt { "Organizer" } dd { (s.organizer.name) @if !s.organizer.short_name.is_empty() { " (" (s.organizer.short_name) ")" } }
                dt { "When" } dd { (when(s.start, s.end, &tz)) br; span.detail { "Time zone: " (s.time_zone.as_str()) } }
                dt { "Format" } dd { (format_label(s.format)) }
                @if !s.location.is_empty() { dt { "Place" } dd { (s.location) } }
                @if let Some(href) = s.join_url.as_ref().and_then(|u| web_href(u.as_str())) {
                    dt { "Join" } dd { a href=(href) { "Join online" } }
                }
                @if !moderators.is_empty() {
                    dt { @if moderators.len() == 1 { "Moderator" } @else { "Moderators" } }
                    dd { (people_list(&moderators, people)) }
                }
                @if s.status != SessionStatus::Scheduled {
                    dt { "Status" } dd { @if s.status == SessionStatus::Cancelled { strong.cancelled { "Cancelled" } } @else { "Completed" } }
                }
                @if !s.tags.is_empty() {
                    dt { "Tags" } dd { @for (i, t) in s.tags.iter().enumerate() { @if i > 0 { ", " } a href={ "/?" (query("tag", &t.to_lowercase())) } { (t) } } }
                }
            }
            @for para in s.description.split("\n\n").filter(|p| !p.trim().is_empty()) { p { (para.trim()) } }
            h2 id="programme" { "Programme" }
            @if s.slots.is_empty() { p { "No programme yet." } } @else {
                div.scroll {
                    table aria-labelledby="programme" {
                        thead { tr {
                            th scope="col" { "Time" } th scope="col" { "Slot" } th scope="col" { "Speakers" }
                            th scope="col" { "Moderators" } th scope="col" { "Materials" } th scope="col" { "Calendar" }
                        } }
                        tbody { @for slot in &s.slots { (programme_row(s, slot, &tz, people)) } }
                    }
                }
            }
            @if let Some(href) = s.recording_url.as_ref().and_then(|u| web_href(u.as_str())) {
                h2 { "Recording" }
                p { a href=(href) { (href) } }
            }
            @if !s.materials.is_empty() {
                h2 { "Annexes" }
                ol { @for m in &s.materials { li { (material(m, people)) } } }
            }
            @if !groups.is_empty() {
                h2 { "Confirmed participants (" (groups.iter().map(|(_, m)| m.len()).sum::<usize>()) ")" }
                @for (group, members) in &groups {
                    h3 { @if group.is_empty() { "Other" } @else { (group) } " (" (members.len()) ")" }
                    ul.people {
                        @for p in members {
                            li {
                                (person(&p.person, people))
                                @if p.role != Role::Participant { " – " (role_label(p.role)) }
                                @if p.status == ParticipationStatus::Tentative { " " span.detail { "(tentative)" } }
                            }
                        }
                    }
                }
            }
            h2 { "Add to calendar" }
            ul.plain {
                li { a href=(feed.webcal) { "Subscribe (webcal)" } }
                li { a href=(feed.url) { (feed_label(&feed.url)) } }
                li { a href=(google) { "Add to Google Calendar" } }
            }
            p.detail { "Each slot of the programme also has its own .ics file to download." }
        },
    )
}

/// `/people/{id}`: who the person is and where they speak or moderate in public sessions.
pub fn person_page(p: &Person, slots: &[PersonSlot], links: &FeedLinks) -> String {
    let feed = links.person(p.id.as_str());
    layout(
        &p.display_name(),
        html! {
            h1 { (p.display_name()) }
            dl.facts {
                @if !p.position.is_empty() { dt { "Position" } dd { (p.position) } }
                @if !p.affiliation.is_empty() { dt { "Affiliation" } dd { (p.affiliation) } }
            }
            h2 id="slots" { "Speaking and moderating" }
            @if slots.is_empty() { p { "No slots in public sessions." } } @else {
                div.scroll {
                    table aria-labelledby="slots" {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Slot" } th scope="col" { "Session" } th scope="col" { "Role" } } }
                        tbody {
                            @for ps in slots {
                                @let cancelled = ps.removed || ps.slot.status == SlotStatus::Cancelled || ps.session_status == SessionStatus::Cancelled;
                                tr.cancelled[cancelled] {
                                    td { (when(ps.slot.start, ps.slot.end, &ps.time_zone.tz())) }
                                    th scope="row" { (maybe_cancelled(cancelled, &ps.slot.title)) }
                                    td { a href={ "/sessions/" (ps.session_id) } { (ps.session_title) } }
                                    td { (ps.roles.iter().map(|r| role_label(*r)).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Calendar" }
            ul.plain {
                li { a href=(feed.webcal) { "Subscribe to " (p.display_name()) "'s slots (webcal)" } }
                li { a href=(feed.url) { (feed_label(&feed.url)) } }
            }
        },
    )
}

/// The 404 page.
pub fn not_found(message: &str) -> String {
    layout(
        "Not found",
        html! {
            h1 { "Not found" }
            p { (message) }
            p { a href="/" { "See all sessions" } }
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
            when(start, end, &tz).into_string(),
            "<span class=\"when\"><time datetime=\"2022-11-17T15:00:00+01:00\" data-local>Thursday 17 November \
             2022, 15:00</time>–<time datetime=\"2022-11-17T16:30:00+01:00\">16:30 CET</time> (UTC+01:00)</span>"
        );
    }
}
