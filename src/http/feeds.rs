//! The ICS feeds over HTTP: routes, rendering on demand, caching, conditional requests, gzip.
//!
//! | path | feed |
//! |---|---|
//! | `/feeds/sessions.ics` | every public session (default window; `from`, `to`, `organizer`, `tag`, `person`) |
//! | `/feeds/sessions/{id}.ics` | one public session's agenda |
//! | `/feeds/people/{id}.ics` | one person's slots in public sessions, and the public sessions they accepted an invitation to as a participant |
//! | `/feeds/private/{token}.ics` | a secret feed (see `FeedService`), private sessions included |
//! | `/feeds/people/{id}/freebusy.ics` | one person's busy time as a VFREEBUSY (`from`, `to`); private sessions count, without details |
//!
//! Rendered bodies (plain and gzip) are cached by feed and query, and are valid while the
//! app's write counter is unchanged, so polling by thousands of clients costs a map lookup,
//! and a write is visible in the next GET; a hit is looked up by a key borrowed from the request
//! (`KeyRef`) and answered with headers built when the body was rendered. Bodies depend only on
//! the data (DTSTAMP is the
//! record's last change), so ETags stay equal until the data changes. Last-Modified is the
//! latest change of the records in a body, or the midnight the default window of
//! `/feeds/sessions.ics` last moved if later; a body no date describes (an empty feed with a
//! fixed window) has none, rather than 1970.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::Agenda;
use crate::domain::{
    self, FeedScope, ParticipationStatus, PersonId, Session, SessionFilter, SessionId, TIME_RANGE_RULE, Timestamp,
    Visibility, check_time_range,
};
use crate::error::{Error, Reason};
use crate::http::SiteSettings;
use crate::ics::feed::{self, CalendarInfo, EventData, People};
use crate::metrics::Metrics;

use super::cache::{Cache, Rendered};

/// Shared state of the feed routes.
pub struct FeedState {
    agenda: Agenda,
    site: SiteSettings,
    metrics: Arc<Metrics>,
    cache: Cache<CacheKey>,
    /// `Cache-Control` of public and of secret feeds (the same for every answer).
    cache_control: [HeaderValue; 2],
}

/// What a rendered body is cached under: the feed (with its query) and whether it was asked
/// for by a secret address. Hashed and compared as its [`KeyRef`], so that one looks it up.
#[derive(PartialEq, Eq)]
enum CacheKey {
    Sessions(bool, SessionFilter),
    Session(bool, SessionId),
    Person(bool, PersonId),
    FreeBusy(PersonId, Timestamp, Timestamp),
}

/// A [`CacheKey`] borrowed from the request, what the cache is looked up by: a hit builds no
/// owned key (a 304 of one session's feed copies no id). An id is the path's text, unchecked:
/// text that is no id is in no key, so it misses, and the miss checks it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum KeyRef<'a> {
    Sessions(bool, &'a SessionFilter),
    Session(bool, &'a str),
    Person(bool, &'a str),
    FreeBusy(&'a str, Timestamp, Timestamp),
}

impl CacheKey {
    fn borrowed(&self) -> KeyRef<'_> {
        match self {
            CacheKey::Sessions(private, f) => KeyRef::Sessions(*private, f),
            CacheKey::Session(private, id) => KeyRef::Session(*private, id.as_str()),
            CacheKey::Person(private, id) => KeyRef::Person(*private, id.as_str()),
            CacheKey::FreeBusy(id, from, to) => KeyRef::FreeBusy(id.as_str(), *from, *to),
        }
    }
}

impl Hash for CacheKey {
    /// As its [`KeyRef`] hashes: the map finds a key by either.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.borrowed().hash(state);
    }
}

impl hashbrown::Equivalent<CacheKey> for KeyRef<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        *self == key.borrowed()
    }
}

/// Why a feed request failed, as an HTTP answer.
enum FeedError {
    /// Unknown or private: the same 404 either way, so nothing is revealed.
    NotFound,
    BadRequest(String),
    Internal(Error),
}

impl From<Error> for FeedError {
    fn from(e: Error) -> Self {
        match e {
            Error::Domain(domain::Error::NotFound { .. }) => FeedError::NotFound,
            Error::Domain(domain::Error::Invalid(v)) => FeedError::BadRequest(v.to_string()),
            e => FeedError::Internal(e),
        }
    }
}

impl IntoResponse for FeedError {
    fn into_response(self) -> Response {
        match self {
            FeedError::NotFound => super::refusal(Reason::FeedNotFound, "no such feed"),
            FeedError::BadRequest(m) => super::refusal(Reason::InvalidFeedQuery, &m),
            FeedError::Internal(e) => {
                tracing::error!(error = %e, "feed failed");
                super::refusal(e.reason(), "the feed is unavailable, try again later")
            }
        }
    }
}

pub fn routes(agenda: Agenda, site: SiteSettings, metrics: Arc<Metrics>) -> Router {
    let cache_control = ["public", "private"].map(|scope| {
        let value = format!("{scope}, max-age={}", site.calendar.refresh_seconds);
        HeaderValue::from_str(&value).expect("ASCII letters and digits")
    });
    let state = Arc::new(FeedState { agenda, site, metrics, cache: Cache::new(), cache_control });
    Router::new()
        .route("/feeds/sessions.ics", get(all_sessions))
        .route("/feeds/sessions/{file}", get(one_session))
        .route("/feeds/people/{file}", get(one_person))
        .route("/feeds/people/{id}/freebusy.ics", get(free_busy))
        .route("/feeds/private/{file}", get(secret))
        .with_state(state)
}

/// The filter of `/feeds/sessions.ics` for a raw query string (`from=2026-01-01&tag=msme`),
/// with the default window of `past_days` / `future_days` around today. Public so it can be
/// fuzzed; the route uses the same code.
pub fn parse_feed_query(raw: &str, past_days: u32, future_days: u32) -> Result<SessionFilter, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| format!("malformed query string: {e}"))?;
    let site = SiteSettings { past_days, future_days, ..SiteSettings::with_public_url("http://localhost") };
    sessions_filter(&site, &pairs).map_err(|e| match e {
        FeedError::BadRequest(m) => m,
        FeedError::NotFound => "not found".into(),
        FeedError::Internal(e) => e.to_string(),
    })
}

/// `{id}.ics` -> `id` (axum 0.8 allows one parameter per path segment, so the suffix is ours
/// to strip).
fn strip_ics(file: &str) -> Result<&str, FeedError> {
    file.strip_suffix(".ics").ok_or(FeedError::NotFound)
}

type Query_ = Query<Vec<(String, String)>>;

// The handlers take the request itself, last, for its headers: the `HeaderMap` extractor
// would copy every header of every request, 304s included.

async fn all_sessions(State(st): State<Arc<FeedState>>, Query(q): Query_, req: Request) -> Response {
    let (request, _) = req.into_parts();
    let result = async {
        let filter = sessions_filter(&st.site, &q)?;
        let moved = window_moved(&q);
        st.serve(&request.headers, KeyRef::Sessions(false, &filter), || Ok(Feed::Sessions(filter.clone(), moved))).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn one_session(State(st): State<Arc<FeedState>>, Path(file): Path<String>, req: Request) -> Response {
    let (request, _) = req.into_parts();
    let result = async {
        let stem = strip_ics(&file)?;
        let feed = || Ok(Feed::Session(SessionId::parse(stem).map_err(|_| FeedError::NotFound)?));
        st.serve(&request.headers, KeyRef::Session(false, stem), feed).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn one_person(State(st): State<Arc<FeedState>>, Path(file): Path<String>, req: Request) -> Response {
    let (request, _) = req.into_parts();
    let result = async {
        let stem = strip_ics(&file)?;
        let feed = || Ok(Feed::Person(PersonId::parse(stem).map_err(|_| FeedError::NotFound)?));
        st.serve(&request.headers, KeyRef::Person(false, stem), feed).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

async fn free_busy(
    State(st): State<Arc<FeedState>>,
    Path(id): Path<String>,
    Query(q): Query_,
    req: Request,
) -> Response {
    let (request, _) = req.into_parts();
    let result = async {
        let id = PersonId::parse(&id).map_err(|_| FeedError::NotFound)?;
        let (from, to) = free_busy_window(&st.site, &q)?;
        let feed = Feed::FreeBusy(id, from, to);
        st.serve(&request.headers, feed.key(false), || Ok(feed.clone())).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// The window of a free/busy feed: `from` and `to` as the other feeds take them, else the
/// feeds' default window (the operator's); one the client gives is at most 366 days long, as
/// QueryFreeBusy's.
fn free_busy_window(site: &SiteSettings, q: &[(String, String)]) -> Result<(Timestamp, Timestamp), FeedError> {
    if let Some((k, _)) = q.iter().find(|(k, _)| k != "from" && k != "to") {
        return Err(FeedError::BadRequest(format!("unknown query parameter {k:?} (known: from, to)")));
    }
    let f = sessions_filter(site, q)?;
    let (from, to) = (f.from.expect("the default window has both ends"), f.to.expect("and this one"));
    if !q.is_empty() && to.as_second() - from.as_second() > 366 * 86_400 {
        return Err(FeedError::BadRequest("query parameter to must be at most 366 days after from".into()));
    }
    Ok((from, to))
}

async fn secret(State(st): State<Arc<FeedState>>, Path(file): Path<String>, req: Request) -> Response {
    let (request, _) = req.into_parts();
    let result = async {
        let token = st.agenda.feed_token(strip_ics(&file)?).await?.ok_or(FeedError::NotFound)?;
        let feed = match token.scope {
            FeedScope::Session(id) => Feed::Session(id),
            FeedScope::Person(id) => Feed::Person(id),
            FeedScope::AllSessions => Feed::Sessions(sessions_filter(&st.site, &[])?, window_moved(&[])),
        };
        st.serve(&request.headers, feed.key(true), || Ok(feed.clone())).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// Which calendar to render.
#[derive(Clone)]
enum Feed {
    /// The filter, and when its default window last moved if it has one (`window_moved`).
    Sessions(SessionFilter, Option<Timestamp>),
    Session(SessionId),
    Person(PersonId),
    FreeBusy(PersonId, Timestamp, Timestamp),
}

impl Feed {
    /// What this feed is cached under, asked for by a secret address or not (a free/busy feed
    /// has no secret address).
    fn key(&self, private: bool) -> KeyRef<'_> {
        match self {
            Feed::Sessions(filter, _) => KeyRef::Sessions(private, filter),
            Feed::Session(id) => KeyRef::Session(private, id.as_str()),
            Feed::Person(id) => KeyRef::Person(private, id.as_str()),
            Feed::FreeBusy(id, from, to) => KeyRef::FreeBusy(id.as_str(), *from, *to),
        }
    }
}

/// A date (`2026-03-01`, midnight UTC) or an RFC 3339 instant, within the range the service
/// accepts for every time ([`check_time_range`]).
fn parse_when(name: &str, value: &str) -> Result<Timestamp, FeedError> {
    let when = match value.parse::<jiff::civil::Date>() {
        // A date jiff cannot place in UTC lies far outside the range: say the range.
        Ok(date) => date.to_zoned_datetime(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| TIME_RANGE_RULE),
        Err(_) => value.parse::<Timestamp>().map_err(|_| "expected a date (2026-03-01) or an RFC 3339 time"),
    };
    when.and_then(check_time_range).map_err(|e| FeedError::BadRequest(format!("query parameter {name}: {e}")))
}

/// When the default window of `/feeds/sessions.ics` last moved (midnight UTC today), if the
/// query leaves `from` or `to` to it. The feed's body (the window it names, which sessions are
/// in it) changes then without any write, so its Last-Modified may not be older. Called after
/// `sessions_filter`, so at midnight this may be a day later than the filter's window, never
/// earlier: a later Last-Modified costs a client one full answer, an earlier one a stale feed.
fn window_moved(q: &[(String, String)]) -> Option<Timestamp> {
    let given = |name: &str| q.iter().any(|(k, _)| k == name);
    let now = Timestamp::now().as_second();
    (!given("from") || !given("to")).then(|| Timestamp::from_second(now - now.rem_euclid(86_400)).expect("in range"))
}

/// The filter of `/feeds/sessions.ics`: the query's, within the default window unless `from`
/// or `to` say otherwise. Unknown parameters are refused, so a typo cannot widen a feed.
fn sessions_filter(site: &SiteSettings, q: &[(String, String)]) -> Result<SessionFilter, FeedError> {
    let today = Timestamp::now().as_second().div_euclid(86_400) * 86_400;
    let day = |d: i64| Timestamp::from_second(today + d * 86_400).expect("in range");
    let mut f = SessionFilter {
        from: Some(day(-i64::from(site.past_days))),
        to: Some(day(i64::from(site.future_days))),
        visibility: Some(Visibility::Public),
        ..SessionFilter::default()
    };
    let mut seen = HashSet::new();
    for (k, v) in q {
        if !seen.insert(k.as_str()) {
            return Err(FeedError::BadRequest(format!("query parameter {k} is given twice")));
        }
        let text = v.trim().to_lowercase();
        match k.as_str() {
            "from" => f.from = Some(parse_when(k, v)?),
            "to" => f.to = Some(parse_when(k, v)?),
            "organizer" if !text.is_empty() => f.organizer = Some(text),
            "tag" if !text.is_empty() => f.tag = Some(text),
            "person" => {
                f.person = Some(
                    PersonId::parse(v).map_err(|e| FeedError::BadRequest(format!("query parameter person: {e}")))?,
                )
            }
            "organizer" | "tag" => return Err(FeedError::BadRequest(format!("query parameter {k} is empty"))),
            _ => {
                return Err(FeedError::BadRequest(format!(
                    "unknown query parameter {k:?} (known: from, to, organizer, tag, person)"
                )));
            }
        }
    }
    if let (Some(from), Some(to)) = (f.from, f.to)
        && to <= from
    {
        return Err(FeedError::BadRequest("query parameter to must be after from".into()));
    }
    Ok(f)
}

impl FeedState {
    /// Answers a feed request from the cache under `key`; on a miss, renders `feed()` (which
    /// checks what the lookup did not: the id's syntax) and keeps it.
    async fn serve(
        &self,
        headers: &HeaderMap,
        key: KeyRef<'_>,
        feed: impl FnOnce() -> Result<Feed, FeedError>,
    ) -> Result<Response, FeedError> {
        // No `Agenda::catch_up` here (pages and gRPC reads have one): a feed is sent with
        // `max-age`, so any HTTP cache may serve it that stale anyway, and on etcd it follows
        // the watch, milliseconds behind, at the cost of a map lookup instead of an etcd read.
        let changes = self.agenda.changes();
        if let Some(rendered) = self.cache.get(&key, changes) {
            self.metrics.feed_cache_hit();
            return Ok(rendered.answer(headers));
        }
        let feed = feed()?;
        let private = match key {
            KeyRef::Sessions(private, _) | KeyRef::Session(private, _) | KeyRef::Person(private, _) => private,
            KeyRef::FreeBusy(..) => false,
        };
        let owned = match &feed {
            Feed::Sessions(f, _) => CacheKey::Sessions(private, f.clone()),
            Feed::Session(id) => CacheKey::Session(private, id.clone()),
            Feed::Person(id) => CacheKey::Person(private, id.clone()),
            Feed::FreeBusy(id, from, to) => CacheKey::FreeBusy(id.clone(), *from, *to),
        };
        let rendered = self.render(feed, private, changes).await?;
        let rendered = self.cache.insert(owned, rendered.with_headers(&self.route_headers(private)));
        self.metrics.feed_cache_miss();
        Ok(rendered.answer(headers))
    }

    /// The headers every answer of a public (or secret) feed carries before the body's own.
    fn route_headers(&self, private: bool) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(2);
        out.insert(header::CACHE_CONTROL, self.cache_control[usize::from(private)].clone());
        if private {
            out.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
        }
        out
    }

    async fn render(&self, feed: Feed, private: bool, changes: u64) -> Result<Rendered, FeedError> {
        let settings = &self.site.calendar;
        let (info, events, last_modified) = match feed {
            Feed::Sessions(filter, moved) => self.sessions_feed(filter, moved, private).await?,
            Feed::Session(id) => {
                let s = self.agenda.get_session(&id).await?;
                if s.visibility == Visibility::Private && !private {
                    return Err(FeedError::NotFound);
                }
                let people = self.people(std::slice::from_ref(&s)).await?;
                let when = s.start.to_zoned_datetime(s.time_zone.tz()).strftime("%e %B %Y").to_string();
                let info = CalendarInfo {
                    name: s.title.clone(),
                    description: format!("{}, {}: the agenda", s.organizer.name, when.trim()),
                };
                (info, feed::agenda_events(settings, &s, &people), Some(s.meta.update_time))
            }
            Feed::Person(id) => self.person_feed(&id, private).await?,
            Feed::FreeBusy(id, from, to) => {
                let (person, busy, changed) = self.agenda.busy_time(&id, from, to).await?;
                let text = crate::ics::freebusy::render(settings, &person, from, to, &busy, changed);
                return Rendered::new(changes, "text/calendar; charset=utf-8", text, Some(changed))
                    .map_err(|e| FeedError::Internal(crate::store::StoreError::Backend(e.to_string()).into()));
            }
        };
        let text = feed::render(settings, &info, &events);
        Rendered::new(changes, "text/calendar; charset=utf-8", text, last_modified)
            .map_err(|e| FeedError::Internal(crate::store::StoreError::Backend(e.to_string()).into()))
    }

    /// The people named by `sessions`.
    async fn people(&self, sessions: &[Session]) -> Result<People, FeedError> {
        let mut people = People::new();
        for s in sessions {
            for p in self.agenda.people_of(s).await? {
                people.insert(p.id.clone(), p);
            }
        }
        Ok(people)
    }

    /// Every session in `filter`. Its Last-Modified is the latest of their changes and of
    /// `moved` (when the default window last moved); none when neither exists (an empty
    /// feed with a fixed window), since no date describes that body: an invented one (1970,
    /// or the store's last write) would be false, and ETag still validates it.
    async fn sessions_feed(
        &self,
        mut filter: SessionFilter,
        moved: Option<Timestamp>,
        private: bool,
    ) -> Result<(CalendarInfo, Vec<EventData>, Option<Timestamp>), FeedError> {
        if private {
            filter.visibility = None;
        }
        let sessions = self.agenda.all_sessions(filter.clone()).await?;
        let people = self.people(&sessions).await?;
        let settings = &self.site.calendar;
        let events = sessions.iter().map(|s| feed::session_event(settings, s, &people)).collect();
        let last = sessions.iter().map(|s| s.meta.update_time).chain(moved).max();
        let day = |t: Option<Timestamp>| t.map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_else(|| "…".into());
        let info = CalendarInfo {
            name: "Sessions".into(),
            description: format!("Sessions from {} to {}", day(filter.from), day(filter.to)),
        };
        Ok((info, events, last))
    }

    async fn person_feed(
        &self,
        id: &PersonId,
        private: bool,
    ) -> Result<(CalendarInfo, Vec<EventData>, Option<Timestamp>), FeedError> {
        let person = self.agenda.get_person(id).await?;
        let mut slots = self.agenda.all_person_slots(id, true).await?;
        slots.retain(|s| private || s.session_visibility == Visibility::Public);
        let mut sessions: HashMap<String, Session> = HashMap::new();
        for s in &slots {
            if !sessions.contains_key(s.session_id.as_str()) {
                let session = self.agenda.get_session(&s.session_id).await?;
                sessions.insert(s.session_id.to_string(), session);
            }
        }
        // The sessions they were invited to as a participant and accepted: the whole session's
        // event, the one their invite carried.
        let filter = SessionFilter { person: Some(id.clone()), ..SessionFilter::default() };
        let accepted: Vec<Session> = self
            .agenda
            .all_sessions(filter)
            .await?
            .into_iter()
            .filter(|s| private || s.visibility == Visibility::Public)
            .filter(|s| {
                s.invite_participants
                    && s.participants.iter().any(|p| &p.person == id && p.status == ParticipationStatus::Accepted)
            })
            .collect();
        let list: Vec<Session> = sessions.values().chain(&accepted).cloned().collect();
        let mut people = self.people(&list).await?;
        people.insert(person.id.clone(), person.clone());
        let mut events = feed::person_events(&self.site.calendar, &slots, &sessions, &people);
        events.extend(accepted.iter().map(|s| feed::session_event(&self.site.calendar, s, &people)));
        let last = list.iter().map(|s| s.meta.update_time).chain([person.meta.update_time]).max();
        let info = CalendarInfo {
            name: format!("{}: speaking, moderating and taking part", person.display_name()),
            description: format!(
                "The sessions where {} speaks or moderates, and those they accepted an invitation to",
                person.display_name()
            ),
        };
        Ok((info, events, last))
    }
}

#[cfg(test)]
mod tests {
    use super::{CacheKey, KeyRef};
    use crate::domain::{PersonId, SessionFilter, SessionId, Timestamp};
    use crate::http::cache::{Cache, Rendered};

    /// Every kind of key is found by its borrowed form (same hash, same equality), and not by
    /// another kind's with the same text or by the other address.
    #[test]
    fn each_cache_key_is_found_by_its_borrowed_form() {
        let (from, to) = (Timestamp::from_second(0).unwrap(), Timestamp::from_second(86_400).unwrap());
        let filter = SessionFilter { tag: Some("msme".into()), ..SessionFilter::default() };
        let keys = [
            CacheKey::Sessions(false, filter.clone()),
            CacheKey::Session(true, SessionId::parse("a-1").unwrap()),
            CacheKey::Person(false, PersonId::parse("a-1").unwrap()),
            CacheKey::FreeBusy(PersonId::parse("a-1").unwrap(), from, to),
        ];
        let cache = Cache::new();
        for (n, key) in keys.into_iter().enumerate() {
            cache.insert(key, Rendered::new(n as u64, "text/calendar", n.to_string(), None).unwrap());
        }
        let found = |key: KeyRef, n: u64| cache.get(&key, n).is_some();
        assert!(found(KeyRef::Sessions(false, &filter), 0));
        assert!(found(KeyRef::Session(true, "a-1"), 1));
        assert!(found(KeyRef::Person(false, "a-1"), 2));
        assert!(found(KeyRef::FreeBusy("a-1", from, to), 3));
        assert!(!found(KeyRef::Sessions(true, &filter), 0));
        assert!(!found(KeyRef::Session(false, "a-1"), 1));
        assert!(!found(KeyRef::Person(false, "a-1"), 1));
        assert!(!found(KeyRef::Person(false, "a-2"), 2));
        assert!(!found(KeyRef::FreeBusy("a-1", from, from), 3));
    }
}
