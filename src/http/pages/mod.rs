//! Agenda pages for people: server-rendered HTML on the HTTP listener.
//!
//! | path | page |
//! |---|---|
//! | `/` | upcoming, then past public sessions (paginated); search, organizer and tag filters |
//! | `/sessions/{id}` | a public session's event page |
//! | `/sessions/{id}/slots/{slot}.ics` | one slot as a calendar file to download |
//! | `/people/{id}` | a person and their slots in public sessions |
//! | `/assets/style.css`, `/assets/local-time.js`, `/assets/favicon.svg` | our only files |
//!
//! Pages are in English, French or Spanish: the language asked for with `?lang=` (then kept in
//! the page's links), else the browser's `Accept-Language`, else the session's own, else the
//! server's (`language`). Each page carries a switch to the others. The cache keeps one body per
//! page and language, and every answer says `Vary: Accept-Encoding, Accept-Language`.
//!
//! Private sessions never appear and answer 404 like unknown ids (secret feed tokens open
//! feeds, never pages). Pages are cached and validated exactly as the feeds are
//! (`http::cache`): a write invalidates them, ETag / Last-Modified give 304s, gzip when
//! accepted. Every answer carries a Content-Security-Policy that allows only our own
//! stylesheet and script, so even markup that slipped through escaping could not run.

mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header, response};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::Agenda;
use crate::domain::{self, PersonId, Session, SessionFilter, SessionId, SlotId, Timestamp, Visibility};
use crate::error::{Error, Reason};
use crate::http::SiteSettings;
use crate::i18n::Lang;
use crate::ics::feed::{self, CalendarInfo};

use super::cache::{Cache, Rendered};
use views::{Listing, People, Search, Ui};

/// Sessions per page of `/`.
const PAGE_SIZE: usize = 20;

/// The last page number `/` serves (the upcoming list is read from its start each time).
const MAX_PAGE: usize = 500;

/// How long `/` may be served from the cache without a write: its upcoming and past lists
/// move with the clock.
const INDEX_SECONDS: i64 = 60;

/// Only our own files; no inline script or style, no frames, forms only to ourselves.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";

/// Shared state of the page routes.
struct PageState {
    agenda: Agenda,
    site: SiteSettings,
    cache: Cache<(PageKey, Choice)>,
    /// The stylesheet, the script and the icon, rendered once (ETag, gzip), never invalidated.
    style: Rendered,
    script: Rendered,
    icon: Rendered,
}

/// What a rendered page is cached under.
#[derive(Clone, PartialEq, Eq, Hash)]
enum PageKey {
    Index(IndexQuery),
    Session(SessionId),
    Slot(SessionId, SlotId),
    Person(PersonId),
}

/// How the reader's language was chosen. It is part of the cache key: it decides the page's
/// language and whether its links keep `?lang=`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Choice {
    /// `?lang=`: the links keep it, so the reader stays in it.
    Asked(Lang),
    /// The browser's Accept-Language: links need not say it.
    Browser(Lang),
    /// Neither names a language we write: the session's, else the server's.
    Default,
}

impl Choice {
    fn of(query: &[(String, String)], headers: &HeaderMap) -> Choice {
        if let Some(lang) = query.iter().find(|(k, _)| k == "lang").and_then(|(_, v)| Lang::of(v.trim())) {
            return Choice::Asked(lang);
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .map_or(Choice::Default, Choice::Browser)
    }

    /// The language of a page whose own default is `fallback`.
    fn lang(self, fallback: Lang) -> Lang {
        match self {
            Choice::Asked(l) | Choice::Browser(l) => l,
            Choice::Default => fallback,
        }
    }

    fn ui(self, fallback: Lang, here: &str) -> Ui<'_> {
        Ui { lang: self.lang(fallback), keep: matches!(self, Choice::Asked(_)), here }
    }
}

/// The parameters of `/`; anything else in the query is ignored (a page, not an API).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct IndexQuery {
    text: String,
    organizer: String,
    tag: String,
    /// 1-based page numbers of the two lists.
    upcoming: usize,
    past: usize,
}

impl IndexQuery {
    fn parse(q: &[(String, String)]) -> Self {
        let mut out = IndexQuery { upcoming: 1, past: 1, ..IndexQuery::default() };
        for (k, v) in q {
            let page = || v.trim().parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE);
            match k.as_str() {
                "q" => out.text = v.trim().to_owned(),
                "organizer" => out.organizer = v.trim().to_owned(),
                "tag" => out.tag = v.trim().to_owned(),
                "page" => out.upcoming = page(),
                "past_page" => out.past = page(),
                _ => {}
            }
        }
        out
    }

    /// The link to `/` with these filters and the given page numbers.
    fn href(&self, upcoming: usize, past: usize) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [("q", &self.text), ("organizer", &self.organizer), ("tag", &self.tag)] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        if upcoming > 1 {
            pairs.push(("page", upcoming.to_string()));
        }
        if past > 1 {
            pairs.push(("past_page", past.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() { "/".into() } else { format!("/?{query}") }
    }

    /// The filter of both lists: public sessions matching the search.
    fn filter(&self) -> SessionFilter {
        let lower = |s: &str| (!s.is_empty()).then(|| s.to_lowercase());
        SessionFilter {
            visibility: Some(Visibility::Public),
            text: lower(&self.text),
            organizer: lower(&self.organizer),
            tag: lower(&self.tag),
            ..SessionFilter::default()
        }
    }
}

/// Why a page could not be shown.
enum PageError {
    /// Unknown or private: the same page either way, so nothing is revealed. The message is
    /// the id of what is not there, in the reader's language.
    NotFound(Reason, &'static str),
    Internal(Error),
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        match e {
            Error::Domain(domain::Error::NotFound { kind, .. }) => {
                PageError::NotFound(Reason::not_found(kind), "no-such-page")
            }
            e => PageError::Internal(e),
        }
    }
}

impl PageError {
    fn session() -> Self {
        PageError::NotFound(Reason::SessionNotFound, "no-such-session")
    }

    /// The answer, a 404 page in the reader's language (the server's when they named none).
    /// Its language switch links to `?lang=…` alone, the same address in another language,
    /// so the page is the same for every address that is not there (a private session's
    /// included).
    fn respond(self, choice: Choice, default: Lang) -> Response {
        match self {
            PageError::NotFound(reason, message) => {
                let mut r = (reason.http_status(), views::not_found(&choice.ui(default, ""), message)).into_response();
                let headers = r.headers_mut();
                headers.insert(header::VARY, HeaderValue::from_static(VARY));
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
                headers.insert(crate::headers::ERROR_REASON, HeaderValue::from_static(reason.as_str()));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                secure(headers);
                r
            }
            PageError::Internal(e) => {
                tracing::error!(error = %e, "page failed");
                super::refusal(e.reason(), "the page is unavailable, try again later")
            }
        }
    }
}

/// What a page's body depends on besides the path.
const VARY: &str = "Accept-Encoding, Accept-Language";

/// The headers every page answer carries: what the browser may load and show.
fn secure(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
}

fn internal(e: std::io::Error) -> PageError {
    PageError::Internal(crate::store::StoreError::Backend(e.to_string()).into())
}

pub fn routes(agenda: Agenda, site: SiteSettings) -> Router {
    let file = |content_type, text: &str| Rendered::new(0, content_type, text.to_owned(), None).expect("in memory");
    let state = Arc::new(PageState {
        agenda,
        site,
        cache: Cache::new(),
        style: file("text/css; charset=utf-8", include_str!("../assets/style.css")),
        script: file("text/javascript; charset=utf-8", include_str!("../assets/local-time.js")),
        icon: file("image/svg+xml", include_str!("../assets/favicon.svg")),
    });
    Router::new()
        .route("/", get(index))
        .route("/sessions/{session_id}", get(session))
        .route("/sessions/{session_id}/slots/{file}", get(slot_ics))
        .route("/people/{person_id}", get(person))
        .route(views::STYLESHEET, get(|st: St, h: HeaderMap| async move { asset(&st.style, &h) }))
        .route(views::SCRIPT, get(|st: St, h: HeaderMap| async move { asset(&st.script, &h) }))
        .route(views::ICON, get(|st: St, h: HeaderMap| async move { asset(&st.icon, &h) }))
        .with_state(state)
}

/// Pages are public, and revalidated on each view (a 304 is cheap), so an edit shows at once.
const PAGE_CACHING: &str = "public, no-cache";

/// The stylesheet and script change only with a deploy.
const ASSET_CACHING: &str = "public, max-age=3600";

/// A response with the security headers and `cache_control`.
fn page_headers(cache_control: &'static str) -> response::Builder {
    let mut b = Response::builder().header(header::CACHE_CONTROL, cache_control);
    secure(b.headers_mut().expect("a new builder"));
    b
}

/// An HTML page's headers: those of [`page_headers`], and Vary for the language.
fn html_headers() -> response::Builder {
    page_headers(PAGE_CACHING).header(header::VARY, VARY)
}

type St = State<Arc<PageState>>;

/// One of the files the pages load.
fn asset(file: &Rendered, headers: &HeaderMap) -> Response {
    file.respond(headers, page_headers(ASSET_CACHING))
}

type RawQuery = Query<Vec<(String, String)>>;

async fn index(State(st): St, Query(raw): RawQuery, headers: HeaderMap) -> Response {
    let choice = Choice::of(&raw, &headers);
    let q = IndexQuery::parse(&raw);
    st.serve(&headers, PageKey::Index(q), choice, html_headers()).await.unwrap_or_else(|e| st.refuse(e, choice))
}

async fn session(State(st): St, Path(id): Path<String>, Query(raw): RawQuery, headers: HeaderMap) -> Response {
    let choice = Choice::of(&raw, &headers);
    let result = async {
        let id = SessionId::parse(&id).map_err(|_| PageError::session())?;
        st.serve(&headers, PageKey::Session(id), choice, html_headers()).await
    };
    result.await.unwrap_or_else(|e| st.refuse(e, choice))
}

async fn slot_ics(State(st): St, Path((id, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let result = async {
        let not_found = || PageError::NotFound(Reason::SlotNotFound, "no-such-slot");
        let session = SessionId::parse(&id).map_err(|_| PageError::session())?;
        let slot = file.strip_suffix(".ics").and_then(|s| SlotId::parse(s).ok()).ok_or_else(not_found)?;
        let disposition = format!("attachment; filename=\"{slot}.ics\"");
        let builder = page_headers(PAGE_CACHING).header(header::CONTENT_DISPOSITION, disposition);
        // A calendar file: the same in every language (its text is the organizer's).
        st.serve(&headers, PageKey::Slot(session, slot), Choice::Default, builder).await
    };
    let choice = Choice::of(&[], &headers);
    result.await.unwrap_or_else(|e| st.refuse(e, choice))
}

async fn person(State(st): St, Path(id): Path<String>, Query(raw): RawQuery, headers: HeaderMap) -> Response {
    let choice = Choice::of(&raw, &headers);
    let result = async {
        let not_found = PageError::NotFound(Reason::PersonNotFound, "no-such-person");
        let id = PersonId::parse(&id).map_err(|_| not_found)?;
        st.serve(&headers, PageKey::Person(id), choice, html_headers()).await
    };
    result.await.unwrap_or_else(|e| st.refuse(e, choice))
}

impl PageState {
    /// Answers from the cache, rendering on a miss.
    async fn serve(
        &self,
        headers: &HeaderMap,
        key: PageKey,
        choice: Choice,
        builder: response::Builder,
    ) -> Result<Response, PageError> {
        // As the feeds do: a local copy (etcd) first reaches every acknowledged write.
        self.agenda.catch_up().await?;
        let changes = self.agenda.changes();
        let render = self.render(key.clone(), choice, changes);
        let (rendered, _) = self.cache.get_or_render((key, choice), changes, render).await?;
        Ok(rendered.respond(headers, builder))
    }

    /// A page that could not be shown, in the reader's language.
    fn refuse(&self, e: PageError, choice: Choice) -> Response {
        e.respond(choice, self.site.calendar.language)
    }

    async fn render(&self, key: PageKey, choice: Choice, changes: u64) -> Result<Rendered, PageError> {
        let default = self.site.calendar.language;
        match key {
            PageKey::Index(q) => self.index(&q, choice, changes).await,
            PageKey::Session(id) => {
                let s = self.public_session(&id).await?;
                let people = self.people(&s).await?;
                let own = s.language.as_ref().and_then(|l| Lang::of(l.as_str())).unwrap_or(default);
                let here = format!("/sessions/{id}");
                let html = views::session(&choice.ui(own, &here), &s, &people, &self.site.links);
                Rendered::new(changes, HTML, html, Some(s.meta.update_time)).map_err(internal)
            }
            PageKey::Slot(id, slot_id) => {
                let s = self.public_session(&id).await?;
                let slot = s
                    .slots
                    .iter()
                    .find(|sl| sl.id == slot_id)
                    .ok_or(PageError::NotFound(Reason::SlotNotFound, "no-such-slot"))?;
                let people = self.people(&s).await?;
                let settings = &self.site.calendar;
                let info = CalendarInfo { name: slot.title.clone(), description: s.title.clone() };
                let text = feed::render(settings, &info, &[feed::slot_event(settings, &s, slot, &people)]);
                Rendered::new(changes, "text/calendar; charset=utf-8", text, Some(s.meta.update_time)).map_err(internal)
            }
            PageKey::Person(id) => {
                let p = self.agenda.get_person(&id).await?;
                let mut slots = self.agenda.all_person_slots(&id, false).await?;
                slots.retain(|s| s.session_visibility == Visibility::Public);
                let here = format!("/people/{id}");
                let html = views::person_page(&choice.ui(default, &here), &p, &slots, &self.site.links);
                Rendered::new(changes, HTML, html, Some(p.meta.update_time)).map_err(internal)
            }
        }
    }

    /// A public session; a private one is not found, as an unknown id is.
    async fn public_session(&self, id: &SessionId) -> Result<Session, PageError> {
        match self.agenda.get_session(id).await {
            Ok(s) if s.visibility == Visibility::Public => Ok(s),
            Ok(_) | Err(Error::Domain(domain::Error::NotFound { .. })) => Err(PageError::session()),
            Err(e) => Err(e.into()),
        }
    }

    async fn people(&self, s: &Session) -> Result<People, PageError> {
        Ok(self.agenda.people_of(s).await?.into_iter().map(|p| (p.id.clone(), p)).collect())
    }

    /// `/`: upcoming sessions (those not yet over, by start) read up to the asked page, and
    /// past ones, latest first. Valid in the cache for [`INDEX_SECONDS`] at most, or until the
    /// first listed upcoming session ends. Last-Modified: the latest change or end of a listed
    /// session.
    async fn index(&self, q: &IndexQuery, choice: Choice, changes: u64) -> Result<Rendered, PageError> {
        let now = Timestamp::now();
        let upcoming_filter = SessionFilter { from: Some(now), ..q.filter() };
        let (read, more) = self.agenda.list_sessions(upcoming_filter, None, q.upcoming * PAGE_SIZE).await?;
        let upcoming: Vec<Session> = read.iter().skip((q.upcoming - 1) * PAGE_SIZE).cloned().collect();
        let mut past = self.agenda.all_sessions(SessionFilter { to: Some(now), ..q.filter() }).await?;
        past.retain(|s| s.end <= now);
        let past_more = past.len() > q.past * PAGE_SIZE;
        let past: Vec<Session> = past.into_iter().rev().skip((q.past - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();

        let link = |cond: bool, up: usize, pa: usize| cond.then(|| q.href(up, pa));
        let upcoming_list = Listing {
            sessions: &upcoming,
            previous: link(q.upcoming > 1, q.upcoming - 1, q.past),
            next: link(more.is_some(), q.upcoming + 1, q.past),
        };
        let past_list = Listing {
            sessions: &past,
            previous: link(q.past > 1, q.upcoming, q.past - 1),
            next: link(past_more, q.upcoming, q.past + 1),
        };
        let search = Search { text: &q.text, organizer: &q.organizer, tag: &q.tag };
        let here = q.href(q.upcoming, q.past);
        let ui = choice.ui(self.site.calendar.language, &here);
        let html = views::index(&ui, &search, &upcoming_list, &past_list, &self.site.links);

        let last_modified =
            upcoming.iter().map(|s| s.meta.update_time).chain(past.iter().map(|s| s.meta.update_time.max(s.end))).max();
        let horizon = Timestamp::from_second(now.as_second() + INDEX_SECONDS).expect("in range");
        let valid_until = read.iter().map(|s| s.end).chain([horizon]).min().unwrap_or(horizon);
        Ok(Rendered::new(changes, HTML, html, last_modified).map_err(internal)?.valid_until(valid_until))
    }
}
