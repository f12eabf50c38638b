//! CalDAV, read-only (RFC 4791), with collection synchronization (RFC 6578): calendar clients
//! that fetch only what changed instead of a whole feed.
//!
//! | path | resource |
//! |---|---|
//! | `/.well-known/caldav` | redirects to `/caldav/` (RFC 6764) |
//! | `/caldav/` | the root: names the principal (so does `/` for every method but GET) |
//! | `/caldav/principal/` | the one principal (everyone is anonymous): names the calendar home |
//! | `/caldav/calendars/` | the home: every calendar below, and `private/` with a secret token as Basic auth |
//! | `/caldav/calendars/sessions/` | every public session, one event each |
//! | `/caldav/calendars/session-{id}/` | one public session's agenda, one event per slot |
//! | `/caldav/calendars/person-{id}/` | one person's slots in public sessions |
//! | `/caldav/calendars/private/` | the calendar of the secret feed token given as the Basic auth password |
//! | `/caldav/private/{token}/` | the calendar of a secret feed token given in the URL |
//!
//! Members are `{calendar}/session.{id}.ics` and `{calendar}/slot.{session}.{slot}.ics`
//! (`calendars.rs`). Reads only: PROPFIND (depth 0 and 1), REPORT (calendar-multiget,
//! calendar-query with a time range, sync-collection), GET, HEAD, OPTIONS; every other method
//! is refused with `DAV:need-privileges`. Sync tokens are store revisions, so any replica
//! understands a token another issued. Refusals carry their reason from the one table in
//! `agenda-error-reason`; those RFCs give a precondition for carry it as an XML body.

mod calendars;
mod xml;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;

use crate::app::Agenda;
use crate::domain::{FeedScope, PersonId, SessionId, Visibility};
use crate::error::{Error, Reason};
use crate::http::SiteSettings;
use crate::ics::feed::CalendarSettings;

use calendars::{Calendar, Member, Scope};
use xml::{CALDAV, CS, DAV, Multistatus, Prop, Props, Report};

/// Largest request body read: a multiget of a few hundred hrefs fits many times over.
const MAX_BODY: usize = 256 * 1024;

/// What a sync token looks like: a URI (RFC 6578 section 3.2) ending in the store revision.
const TOKEN_PREFIX: &str = "urn:agenda:sync:";

const ROOT: &str = "/caldav/";
const PRINCIPAL: &str = "/caldav/principal/";
const HOME: &str = "/caldav/calendars/";

/// Shared state of the CalDAV routes.
struct DavState {
    agenda: Agenda,
    /// What members are rendered with: the feeds' settings, so UIDs and bodies are theirs.
    settings: CalendarSettings,
}

pub fn routes(agenda: Agenda, site: SiteSettings) -> Router {
    let state = Arc::new(DavState { agenda, settings: site.calendar });
    Router::new()
        .route("/.well-known/caldav", any(well_known))
        // The site's root answers GET with the front page (`pages`) and the other methods
        // here, as the CalDAV root: clients given only the server's address PROPFIND `/`.
        .route("/", any(dav))
        .route("/caldav", any(dav))
        .route("/caldav/", any(dav))
        .route("/caldav/{*path}", any(dav))
        .with_state(state)
}

/// RFC 6764 section 5: the context path, for clients given only a host name.
async fn well_known() -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, ROOT)]).into_response()
}

/// Why a CalDAV request failed, as an HTTP answer.
enum DavError {
    NotFound,
    BadRequest(String),
    /// A write method on a read-only server.
    ReadOnly(String),
    /// `Depth: infinity` (RFC 4918 section 9.1: DAV:propfind-finite-depth).
    InfiniteDepth,
    /// A sync token this server did not issue, or one older than the change log reaches.
    InvalidSyncToken(String),
    /// A calendar-query filter we do not evaluate.
    Filter(String),
    /// The Basic-auth calendar without credentials, or with a password that is no token.
    Unauthorized(Reason),
    Internal(Error),
}

impl From<Error> for DavError {
    fn from(e: Error) -> Self {
        match e.reason() {
            Reason::RevisionCompacted => DavError::InvalidSyncToken(e.to_string()),
            _ => DavError::Internal(e),
        }
    }
}

impl From<xml::XmlError> for DavError {
    fn from(e: xml::XmlError) -> Self {
        match e {
            xml::XmlError::Filter(m) => DavError::Filter(m),
            e => DavError::BadRequest(e.to_string()),
        }
    }
}

impl IntoResponse for DavError {
    fn into_response(self) -> Response {
        match self {
            DavError::NotFound => super::refusal(Reason::CalendarNotFound, "no such calendar or calendar object"),
            DavError::BadRequest(m) => super::refusal(Reason::InvalidDavRequest, &m),
            DavError::ReadOnly(href) => precondition(
                Reason::CalendarReadOnly,
                &format!(
                    "<D:need-privileges><D:resource><D:href>{}</D:href><D:privilege><D:write/></D:privilege></D:resource></D:need-privileges>",
                    xml::esc(&href)
                ),
            ),
            DavError::InfiniteDepth => precondition(Reason::InfiniteDepth, "<D:propfind-finite-depth/>"),
            DavError::InvalidSyncToken(m) => {
                tracing::debug!(message = %m, "sync token refused");
                precondition(Reason::InvalidSyncToken, "<D:valid-sync-token/>")
            }
            DavError::Filter(m) => {
                tracing::debug!(message = %m, "calendar-query filter refused");
                precondition(Reason::UnsupportedFilter, "<C:supported-filter/>")
            }
            DavError::Unauthorized(reason) => {
                let mut r = super::refusal(reason, "give a secret feed token as the password (any user name)");
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"agenda\""));
                r
            }
            DavError::Internal(e) => {
                tracing::error!(error = %e, "caldav failed");
                super::refusal(e.reason(), "the calendar is unavailable, try again later")
            }
        }
    }
}

/// A refusal with the DAV:error body naming the precondition that failed (RFC 4918 section 16).
fn precondition(reason: Reason, condition: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="{DAV}" xmlns:C="{CALDAV}">{condition}</D:error>"#
    );
    let mut r =
        (reason.http_status(), [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response();
    r.headers_mut().insert(crate::headers::ERROR_REASON, HeaderValue::from_static(reason.as_str()));
    r
}

/// What a path names.
enum Resource {
    /// At the path it was asked by (`/` or `/caldav/`).
    Root(String),
    Principal,
    /// The home; the calendar of the Basic-auth token, when one was given, is listed in it.
    Home(Option<Calendar>),
    Calendar(Calendar),
    Member(Calendar, String),
}

async fn dav(State(st): State<Arc<DavState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let method = parts.method.as_str();
        if method == "OPTIONS" {
            return Ok(options());
        }
        if !matches!(method, "GET" | "HEAD" | "PROPFIND" | "REPORT") {
            // The body is read (up to the bound) and dropped, so the connection stays usable:
            // hyper closes one whose request body was left unread, and a client that PUTs and
            // then asks something else on it sees the connection end without an answer.
            let _ = axum::body::to_bytes(body, MAX_BODY).await;
            return Err(DavError::ReadOnly(parts.uri.path().to_owned()));
        }
        // Every answer below is as current as a read of the store on any replica (etcd: the
        // local copy caught up), so a token it carries means what it says.
        st.agenda.catch_up().await?;
        let resource = st.resolve(parts.uri.path(), &parts.headers).await?;
        let depth = depth(&parts.headers)?;
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| DavError::BadRequest(format!("the request body is larger than {MAX_BODY} bytes")))?;
        match method {
            "PROPFIND" => st.propfind(resource, depth, &xml::propfind(&body)?).await,
            "REPORT" => st.report(resource, &xml::report(&body)?).await,
            _ => st.get(resource, &parts.headers, method == "HEAD").await,
        }
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

fn options() -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    h.insert("dav", HeaderValue::from_static("1, 3, calendar-access"));
    h.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, GET, HEAD, PROPFIND, REPORT"));
    r
}

/// The Depth header: 0 or 1. Without one, 0: RFC 4918 would have infinity, which we refuse,
/// and a client that sends none wants the resource itself.
fn depth(headers: &HeaderMap) -> Result<u8, DavError> {
    match headers.get("depth").map(|v| v.as_bytes()) {
        None | Some(b"0") => Ok(0),
        Some(b"1") => Ok(1),
        Some(v) if v.eq_ignore_ascii_case(b"infinity") => Err(DavError::InfiniteDepth),
        Some(_) => Err(DavError::BadRequest("the Depth header must be 0 or 1".into())),
    }
}

/// The password of `Authorization: Basic`, if any (the user name is not looked at).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

fn token_of(revision: u64) -> String {
    format!("{TOKEN_PREFIX}{revision}")
}

impl DavState {
    /// The resource `path` names, if it exists for this request.
    async fn resolve(&self, path: &str, headers: &HeaderMap) -> Result<Resource, DavError> {
        let rest = if path == "/" { "" } else { path.strip_prefix("/caldav").ok_or(DavError::NotFound)? };
        let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let (cal, member) = match parts.as_slice() {
            [] => return Ok(Resource::Root(path.to_owned())),
            ["principal"] => return Ok(Resource::Principal),
            ["calendars"] => {
                let cal = match basic_password(headers) {
                    Some(p) => self.token_calendar(&p, format!("{HOME}private/")).await?,
                    None => None,
                };
                return Ok(Resource::Home(cal));
            }
            ["calendars", name, rest @ ..] => (self.named_calendar(name, headers).await?, rest),
            ["private", token, rest @ ..] => {
                (self.token_calendar(token, format!("{ROOT}private/{token}/")).await?.ok_or(DavError::NotFound)?, rest)
            }
            _ => return Err(DavError::NotFound),
        };
        match member {
            [] => Ok(Resource::Calendar(cal)),
            [name] => Ok(Resource::Member(cal, (*name).to_owned())),
            _ => Err(DavError::NotFound),
        }
    }

    /// `sessions`, `session-{id}`, `person-{id}` or `private` (Basic auth) under the home.
    async fn named_calendar(&self, name: &str, headers: &HeaderMap) -> Result<Calendar, DavError> {
        let href = format!("{HOME}{name}/");
        let public = |scope| Calendar { scope, private: false, href: href.clone() };
        if name == "sessions" {
            return Ok(public(Scope::All));
        }
        if name == "private" {
            let password = basic_password(headers).ok_or(DavError::Unauthorized(Reason::MissingToken))?;
            return self
                .token_calendar(&password, href.clone())
                .await?
                .ok_or(DavError::Unauthorized(Reason::UnknownToken));
        }
        if let Some(id) = name.strip_prefix("session-") {
            let id = SessionId::parse(id).map_err(|_| DavError::NotFound)?;
            return match self.agenda.get_session(&id).await {
                Ok(s) if s.visibility == Visibility::Public => Ok(public(Scope::Session(id))),
                Ok(_) => Err(DavError::NotFound),
                Err(e) => Err(not_found_or(e)),
            };
        }
        if let Some(id) = name.strip_prefix("person-") {
            let id = PersonId::parse(id).map_err(|_| DavError::NotFound)?;
            self.agenda.get_person(&id).await.map_err(not_found_or)?;
            return Ok(public(Scope::Person(id)));
        }
        Err(DavError::NotFound)
    }

    /// The calendar a secret feed token opens, at `href`; `None` for an unknown token.
    async fn token_calendar(&self, token: &str, href: String) -> Result<Option<Calendar>, DavError> {
        let Some(t) = self.agenda.feed_token(token).await? else { return Ok(None) };
        let scope = match t.scope {
            FeedScope::AllSessions => Scope::All,
            FeedScope::Session(id) => Scope::Session(id),
            FeedScope::Person(id) => Scope::Person(id),
        };
        Ok(Some(Calendar { scope, private: true, href }))
    }

    /// The calendars the home lists: every session, each public session, each person.
    async fn calendars(&self) -> Result<Vec<Calendar>, DavError> {
        let public = |scope, href| Calendar { scope, private: false, href };
        let mut out = vec![public(Scope::All, format!("{HOME}sessions/"))];
        let filter = crate::domain::SessionFilter { visibility: Some(Visibility::Public), ..Default::default() };
        for s in self.agenda.all_sessions(filter).await? {
            out.push(public(Scope::Session(s.id.clone()), format!("{HOME}session-{}/", s.id)));
        }
        let mut after = None;
        loop {
            let (page, next) = self.agenda.list_people(String::new(), after, 1000).await?;
            for p in page {
                out.push(public(Scope::Person(p.id.clone()), format!("{HOME}person-{}/", p.id)));
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// A calendar's display name: the feed's.
    async fn display_name(&self, cal: &Calendar) -> Result<String, DavError> {
        Ok(match &cal.scope {
            Scope::All if cal.private => "Sessions (private included)".into(),
            Scope::All => "Sessions".into(),
            Scope::Session(id) => self.agenda.get_session(id).await.map_err(not_found_or)?.title,
            Scope::Person(id) => {
                let p = self.agenda.get_person(id).await.map_err(not_found_or)?;
                format!("{}: speaking and moderating", p.display_name())
            }
        })
    }

    async fn propfind(&self, resource: Resource, depth: u8, want: &Props) -> Result<Response, DavError> {
        let token = token_of(self.agenda.durable_revision());
        let mut ms = Multistatus::new();
        match resource {
            Resource::Root(href) => {
                self.write(&mut ms, &href, &View::Root, want);
                if depth == 1 {
                    self.write(&mut ms, PRINCIPAL, &View::Principal, want);
                    self.write(&mut ms, HOME, &View::Home, want);
                }
            }
            Resource::Principal => self.write(&mut ms, PRINCIPAL, &View::Principal, want),
            Resource::Home(private) => {
                self.write(&mut ms, HOME, &View::Home, want);
                if depth == 1 {
                    for cal in private.into_iter().chain(self.calendars().await?) {
                        let name = self.display_name(&cal).await?;
                        self.write(&mut ms, &cal.href, &View::Calendar { name: &name, token: &token }, want);
                    }
                }
            }
            Resource::Calendar(cal) => {
                let name = self.display_name(&cal).await?;
                self.write(&mut ms, &cal.href, &View::Calendar { name: &name, token: &token }, want);
                if depth == 1 {
                    for m in calendars::all_members(&self.agenda, &self.settings, &cal).await? {
                        self.write_member(&mut ms, &cal, &m, want);
                    }
                }
            }
            Resource::Member(cal, name) => {
                let m =
                    calendars::member(&self.agenda, &self.settings, &cal, &name).await?.ok_or(DavError::NotFound)?;
                self.write_member(&mut ms, &cal, &m, want);
            }
        }
        Ok(multistatus(ms))
    }

    async fn report(&self, resource: Resource, report: &Report) -> Result<Response, DavError> {
        let Resource::Calendar(cal) = resource else {
            return Err(DavError::BadRequest("REPORT applies to a calendar collection".into()));
        };
        let mut ms = Multistatus::new();
        match report {
            Report::Multiget { props, hrefs } => {
                for href in hrefs {
                    let path = href_path(href);
                    let found = match path.strip_prefix(cal.href.as_str()) {
                        Some(name) => calendars::member(&self.agenda, &self.settings, &cal, name).await?,
                        None => None,
                    };
                    match found {
                        Some(m) => self.write_member(&mut ms, &cal, &m, props),
                        None => ms.status(href, "404 Not Found"),
                    }
                }
            }
            Report::Query { props, events, range } => {
                if *events {
                    for m in calendars::all_members(&self.agenda, &self.settings, &cal).await? {
                        if range.overlaps(m.event.start, m.event.end) {
                            self.write_member(&mut ms, &cal, &m, props);
                        }
                    }
                }
            }
            Report::Sync { props, token } => {
                let now = self.agenda.durable_revision();
                if token.is_empty() {
                    for m in calendars::all_members(&self.agenda, &self.settings, &cal).await? {
                        self.write_member(&mut ms, &cal, &m, props);
                    }
                    ms.sync_token(&token_of(now));
                } else {
                    let since = token
                        .strip_prefix(TOKEN_PREFIX)
                        .and_then(|r| r.parse::<u64>().ok())
                        .filter(|r| *r <= now)
                        .ok_or_else(|| DavError::InvalidSyncToken(format!("not a token of this service: {token}")))?;
                    let sync = calendars::changes_since(&self.agenda, &self.settings, &cal, since, now).await?;
                    for m in &sync.changed {
                        self.write_member(&mut ms, &cal, m, props);
                    }
                    for name in &sync.gone {
                        ms.status(&format!("{}{name}", cal.href), "404 Not Found");
                    }
                    if sync.truncated {
                        ms.status(&cal.href, "507 Insufficient Storage");
                    }
                    ms.sync_token(&token_of(sync.revision));
                }
            }
        }
        Ok(multistatus(ms))
    }

    /// GET or HEAD: a member's text with its strong ETag (304 when the client's is current);
    /// a collection answers a line saying what it is.
    async fn get(&self, resource: Resource, headers: &HeaderMap, head: bool) -> Result<Response, DavError> {
        let Resource::Member(cal, name) = resource else {
            let text =
                "a CalDAV collection of agenda: subscribe with a CalDAV client, or use the ICS feeds under /feeds/\n";
            return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
        };
        let m = calendars::member(&self.agenda, &self.settings, &cal, &name).await?.ok_or(DavError::NotFound)?;
        let text = m.text();
        let etag = super::cache::strong_etag(&text);
        let inm = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
        let etag_header = HeaderValue::from_str(&etag).expect("quotes and hex digits");
        if super::not_modified(inm, None, &[&etag], None) {
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
        }
        let length = text.len();
        let body = if head { Body::empty() } else { Body::from(text) };
        let mut r = Response::new(body);
        let h = r.headers_mut();
        h.insert(header::ETAG, etag_header);
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEMBER_TYPE));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        let cache = if cal.private { "private, no-cache" } else { "public, no-cache" };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        Ok(r)
    }

    fn write_member(&self, ms: &mut Multistatus, cal: &Calendar, m: &Member, want: &Props) {
        let text = m.text();
        let etag = super::cache::strong_etag(&text);
        let href = format!("{}{}", cal.href, m.name);
        self.write(ms, &href, &View::Member { text: &text, etag: &etag }, want);
    }

    /// One resource's properties into `ms`: those asked for, found or not.
    fn write(&self, ms: &mut Multistatus, href: &str, view: &View<'_>, want: &Props) {
        let asked: Vec<Prop> = match want {
            Props::Some(p) => p.clone(),
            Props::All | Props::Names => view.all_props(),
        };
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for p in asked {
            match view.value(&p) {
                Some(_) if *want == Props::Names => found.push((p, String::new())),
                Some(v) => found.push((p, v)),
                None => missing.push(p),
            }
        }
        ms.response(href, &found, &missing);
    }
}

const MEMBER_TYPE: &str = "text/calendar; charset=utf-8; component=VEVENT";

/// The path of an href, which clients send as a path or as a full URL.
fn href_path(href: &str) -> &str {
    match href.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => href,
    }
}

fn not_found_or(e: Error) -> DavError {
    match e {
        Error::Domain(crate::domain::Error::NotFound { .. }) => DavError::NotFound,
        e => e.into(),
    }
}

fn multistatus(ms: Multistatus) -> Response {
    let body = ms.finish();
    (StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response()
}

/// A resource as its properties see it.
enum View<'a> {
    Root,
    Principal,
    Home,
    Calendar { name: &'a str, token: &'a str },
    Member { text: &'a str, etag: &'a str },
}

impl View<'_> {
    /// What `allprop` and `propname` answer: every property this resource has, except
    /// calendar-data (RFC 4791 section 9.6: only when asked).
    fn all_props(&self) -> Vec<Prop> {
        let names: &[(&str, &str)] = match self {
            View::Root | View::Home => &[(DAV, "resourcetype"), (DAV, "displayname"), (DAV, "current-user-principal")],
            View::Principal => &[
                (DAV, "resourcetype"),
                (DAV, "displayname"),
                (DAV, "current-user-principal"),
                (DAV, "principal-URL"),
                (CALDAV, "calendar-home-set"),
            ],
            View::Calendar { .. } => &[
                (DAV, "resourcetype"),
                (DAV, "displayname"),
                (DAV, "owner"),
                (DAV, "current-user-privilege-set"),
                (DAV, "supported-report-set"),
                (CALDAV, "supported-calendar-component-set"),
                (DAV, "sync-token"),
                (CS, "getctag"),
            ],
            View::Member { .. } => {
                &[(DAV, "resourcetype"), (DAV, "getetag"), (DAV, "getcontenttype"), (DAV, "getcontentlength")]
            }
        };
        names.iter().map(|(ns, n)| Prop::new(ns, n)).collect()
    }

    /// The value of `p` as inner XML, `None` when this resource has no such property.
    fn value(&self, p: &Prop) -> Option<String> {
        let href = |h: &str| format!("<D:href>{h}</D:href>");
        let read_only =
            "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>";
        match (p.ns.as_str(), p.name.as_str(), self) {
            (DAV, "resourcetype", View::Root | View::Home) => Some("<D:collection/>".into()),
            (DAV, "resourcetype", View::Principal) => Some("<D:collection/><D:principal/>".into()),
            (DAV, "resourcetype", View::Calendar { .. }) => Some("<D:collection/><C:calendar/>".into()),
            (DAV, "resourcetype", View::Member { .. }) => Some(String::new()),
            (DAV, "displayname", View::Root | View::Home) => Some("agenda".into()),
            (DAV, "displayname", View::Principal) => Some("agenda calendars".into()),
            (DAV, "displayname", View::Calendar { name, .. }) => Some(xml::esc(name).into_owned()),
            (DAV, "current-user-principal", _) => Some(href(PRINCIPAL)),
            (DAV, "principal-URL", View::Principal) => Some(href(PRINCIPAL)),
            (CALDAV, "calendar-home-set", View::Root | View::Principal) => Some(href(HOME)),
            (DAV, "owner", View::Calendar { .. }) => Some(href(PRINCIPAL)),
            (DAV, "current-user-privilege-set", _) => Some(read_only.into()),
            (DAV, "supported-report-set", View::Calendar { .. }) => Some(
                ["<C:calendar-multiget/>", "<C:calendar-query/>", "<D:sync-collection/>"]
                    .map(|r| format!("<D:supported-report><D:report>{r}</D:report></D:supported-report>"))
                    .concat(),
            ),
            (CALDAV, "supported-calendar-component-set", View::Calendar { .. }) => {
                Some("<C:comp name=\"VEVENT\"/>".into())
            }
            (DAV, "sync-token", View::Calendar { token, .. }) | (CS, "getctag", View::Calendar { token, .. }) => {
                Some(xml::esc(token).into_owned())
            }
            (DAV, "getetag", View::Member { etag, .. }) => Some(xml::esc(etag).into_owned()),
            (DAV, "getcontenttype", View::Member { .. }) => Some(MEMBER_TYPE.into()),
            (DAV, "getcontentlength", View::Member { text, .. }) => Some(text.len().to_string()),
            (CALDAV, "calendar-data", View::Member { text, .. }) => Some(xml::esc(text).into_owned()),
            _ => None,
        }
    }
}
