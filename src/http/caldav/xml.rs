//! WebDAV XML in and out: request bodies parsed into typed requests, multistatus answers
//! written.
//!
//! Bodies are parsed with quick-xml into a small tree first (bounded: the body's size is
//! capped by the route, and here its depth and element count), then read into
//! [`Propfind`] or [`Report`]; nothing past this module sees XML. Namespaces are resolved, so
//! a client's prefixes do not matter. Answers are written as text with every value escaped:
//! the few shapes we send need no writer state.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::domain::Timestamp;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// Apple's calendarserver namespace: `getctag`, which Thunderbird and others still ask for.
pub const CS: &str = "http://calendarserver.org/ns/";

/// Deepest nesting accepted; our requests nest five deep at most (calendar-query's filter).
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one body: a multiget of a few thousand hrefs fits, a bomb does not.
const MAX_ELEMENTS: usize = 20_000;

/// Why a body was refused; the message goes to the client as it is.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("the body is not UTF-8 XML")]
    NotUtf8,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("the XML nests deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("the XML has more than {MAX_ELEMENTS} elements")]
    TooMany,
    #[error("the body has no root element")]
    NoRoot,
    #[error("unsupported request: {0}")]
    Unsupported(String),
    /// A filter this server does not evaluate (RFC 4791 section 7.8: CALDAV:supported-filter).
    #[error("unsupported calendar-query filter: {0}")]
    Filter(String),
}

/// One element of a parsed body.
#[derive(Debug)]
struct Element {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The tree of `body`, within the bounds above.
fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut count = 0;
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    loop {
        match reader.read_resolved_event().map_err(|e| malformed(&e))? {
            (ns, Event::Start(e)) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                if root.is_some() {
                    return Err(XmlError::Malformed("more than one root element".into()));
                }
                let ns = match ns {
                    ResolveResult::Bound(n) => n.0.to_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(p) => return Err(XmlError::Malformed(format!("unknown prefix {p:?}"))),
                };
                let name = e.local_name().as_ref().to_owned();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| malformed(&e))?;
                    let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| malformed(&e))?;
                    attrs.push((a.key.local_name().as_ref().to_owned(), value.into_owned()));
                }
                stack.push(Element { ns, name, attrs, children: Vec::new(), text: String::new() });
            }
            (_, Event::End(_)) => {
                let done = stack.pop().ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            (_, Event::Text(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            (_, Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            (_, Event::GeneralRef(r)) => {
                let c = match r.resolve_char_ref().map_err(|e| malformed(&e))? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(XmlError::Malformed(format!("unknown entity &{other};"))),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            (_, Event::DocType(_)) => return Err(XmlError::Malformed("a DOCTYPE is not accepted".into())),
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("the body ends inside an element".into()));
    }
    root.ok_or(XmlError::NoRoot)
}

/// A property by namespace and local name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prop {
    pub ns: String,
    pub name: String,
}

impl Prop {
    pub fn new(ns: &str, name: &str) -> Self {
        Self { ns: ns.to_owned(), name: name.to_owned() }
    }
}

/// What a PROPFIND or REPORT asks of each resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Props {
    /// `allprop` (or an empty PROPFIND body): every property we keep, but no calendar-data.
    All,
    /// `propname`: the names only.
    Names,
    Some(Vec<Prop>),
}

/// A PROPFIND body.
pub fn propfind(body: &[u8]) -> Result<Props, XmlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Props::All);
    }
    let root = parse(body)?;
    if !root.is(DAV, "propfind") {
        return Err(XmlError::Unsupported(format!("expected DAV:propfind, got {}", root.name)));
    }
    props_of(&root).ok_or_else(|| XmlError::Unsupported("DAV:propfind needs prop, allprop or propname".into()))
}

fn props_of(parent: &Element) -> Option<Props> {
    if parent.child(DAV, "allprop").is_some() {
        return Some(Props::All);
    }
    if parent.child(DAV, "propname").is_some() {
        return Some(Props::Names);
    }
    let prop = parent.child(DAV, "prop")?;
    Some(Props::Some(prop.children.iter().map(|c| Prop { ns: c.ns.clone(), name: c.name.clone() }).collect()))
}

/// The time range of a calendar-query: events overlapping `[start, end)`, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// RFC 4791 section 9.9 for an event with DTSTART and DTEND.
    pub fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        self.start.is_none_or(|s| end > s) && self.end.is_none_or(|e| start < e)
    }
}

/// A REPORT body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Multiget {
        props: Props,
        hrefs: Vec<String>,
    },
    /// `events`: false when the filter asks for a component we have none of (VTODO).
    Query {
        props: Props,
        events: bool,
        range: TimeRange,
    },
    /// An empty `token` asks for every member.
    Sync {
        props: Props,
        token: String,
    },
}

pub fn report(body: &[u8]) -> Result<Report, XmlError> {
    let root = parse(body)?;
    let props = props_of(&root).unwrap_or(Props::Some(vec![Prop::new(DAV, "getetag")]));
    if root.is(CALDAV, "calendar-multiget") {
        let hrefs = root.children.iter().filter(|c| c.is(DAV, "href")).map(|c| c.text.trim().to_owned()).collect();
        Ok(Report::Multiget { props, hrefs })
    } else if root.is(CALDAV, "calendar-query") {
        let (events, range) = match root.child(CALDAV, "filter") {
            None => (true, TimeRange::default()),
            Some(f) => query_filter(f)?,
        };
        Ok(Report::Query { props, events, range })
    } else if root.is(DAV, "sync-collection") {
        let token = root.child(DAV, "sync-token").map(|t| t.text.trim().to_owned()).unwrap_or_default();
        if let Some(level) = root.child(DAV, "sync-level")
            && level.text.trim() != "1"
        {
            return Err(XmlError::Unsupported("sync-level must be 1 (calendars hold no collections)".into()));
        }
        Ok(Report::Sync { props, token })
    } else {
        Err(XmlError::Unsupported(format!(
            "REPORT {} (supported: calendar-multiget, calendar-query, sync-collection)",
            root.name
        )))
    }
}

/// `VCALENDAR > VEVENT > time-range`: whether events can match at all, and the range.
fn query_filter(filter: &Element) -> Result<(bool, TimeRange), XmlError> {
    let Some(cal) = filter.child(CALDAV, "comp-filter") else {
        return Ok((true, TimeRange::default()));
    };
    if !cal.attr("name").is_some_and(|n| n.eq_ignore_ascii_case("VCALENDAR")) {
        return Ok((false, TimeRange::default()));
    }
    check_only_comp_filters(cal)?;
    let Some(comp) = cal.child(CALDAV, "comp-filter") else {
        return Ok((true, TimeRange::default()));
    };
    if !comp.attr("name").is_some_and(|n| n.eq_ignore_ascii_case("VEVENT")) {
        return Ok((false, TimeRange::default()));
    }
    check_only_comp_filters(comp)?;
    if comp.child(CALDAV, "is-not-defined").is_some() {
        return Ok((false, TimeRange::default()));
    }
    let mut range = TimeRange::default();
    if let Some(tr) = comp.child(CALDAV, "time-range") {
        range.start = tr.attr("start").map(ical_utc).transpose()?;
        range.end = tr.attr("end").map(ical_utc).transpose()?;
    }
    Ok((true, range))
}

/// Refuses the filters we do not evaluate (property and parameter tests), rather than answer
/// as if they matched.
fn check_only_comp_filters(e: &Element) -> Result<(), XmlError> {
    match e.children.iter().find(|c| c.is(CALDAV, "prop-filter") || c.is(CALDAV, "param-filter")) {
        Some(c) => Err(XmlError::Filter(format!("{} (only comp-filter and time-range are evaluated)", c.name))),
        None => Ok(()),
    }
}

/// `20060104T000000Z`, the only form RFC 4791 allows in a time-range.
fn ical_utc(v: &str) -> Result<Timestamp, XmlError> {
    let bad = || XmlError::Filter(format!("time-range {v:?}: expected a UTC time such as 20260104T000000Z"));
    let local = v.strip_suffix('Z').ok_or_else(bad)?;
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", local).map_err(|_| bad())?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| bad())
}

/// XML text or attribute value, escaped.
pub fn esc(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// The prefix we write a namespace with, when it is one of ours.
fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("D"),
        CALDAV => Some("C"),
        CS => Some("CS"),
        _ => None,
    }
}

/// A multistatus answer, written as it goes.
pub struct Multistatus {
    out: String,
}

impl Multistatus {
    pub fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
        out.push_str(&format!(r#"<D:multistatus xmlns:D="{DAV}" xmlns:C="{CALDAV}" xmlns:CS="{CS}">"#));
        Self { out }
    }

    /// One resource: `found` with their values (inner XML, already escaped), `missing` as 404.
    pub fn response(&mut self, href: &str, found: &[(Prop, String)], missing: &[Prop]) {
        let _ = write!(self.out, "<D:response><D:href>{}</D:href>", esc(href));
        if !found.is_empty() {
            self.out.push_str("<D:propstat><D:prop>");
            for (p, v) in found {
                self.element(p, v);
            }
            self.out.push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
        }
        if !missing.is_empty() {
            self.out.push_str("<D:propstat><D:prop>");
            for p in missing {
                self.element(p, "");
            }
            self.out.push_str("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>");
        }
        self.out.push_str("</D:response>");
    }

    /// A resource answered by a status alone: a member gone (404), or the collection's
    /// truncation mark (507, RFC 6578 section 3.6).
    pub fn status(&mut self, href: &str, status: &str) {
        let _ = write!(
            self.out,
            "<D:response><D:href>{}</D:href><D:status>HTTP/1.1 {status}</D:status></D:response>",
            esc(href)
        );
    }

    fn element(&mut self, p: &Prop, inner: &str) {
        let name = esc(&p.name);
        match prefix(&p.ns) {
            Some(pre) if inner.is_empty() => {
                let _ = write!(self.out, "<{pre}:{name}/>");
            }
            Some(pre) => {
                let _ = write!(self.out, "<{pre}:{name}>{inner}</{pre}:{name}>");
            }
            None if p.ns.is_empty() => {
                let _ = write!(self.out, "<{name} xmlns=\"\">{inner}</{name}>");
            }
            None => {
                let _ = write!(self.out, "<X:{name} xmlns:X=\"{}\">{inner}</X:{name}>", esc(&p.ns));
            }
        }
    }

    /// The sync-token element that closes a sync-collection answer.
    pub fn sync_token(&mut self, token: &str) {
        let _ = write!(self.out, "<D:sync-token>{}</D:sync-token>", esc(token));
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</D:multistatus>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_the_clients_choice() {
        let body = br#"<?xml version="1.0"?><x:propfind xmlns:x="DAV:" xmlns:k="http://calendarserver.org/ns/"><x:prop><x:getetag/><k:getctag/></x:prop></x:propfind>"#;
        assert_eq!(propfind(body).unwrap(), Props::Some(vec![Prop::new(DAV, "getetag"), Prop::new(CS, "getctag")]));
    }

    #[test]
    fn a_time_range_is_read_in_utc() {
        let body = br#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>
            <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
            <C:time-range start="20221117T000000Z" end="20221118T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
        let Report::Query { events, range, .. } = report(body).unwrap() else { panic!("a query") };
        assert!(events);
        assert_eq!(range.start, Some("2022-11-17T00:00:00Z".parse().unwrap()));
        assert_eq!(range.end, Some("2022-11-18T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(parse(deep.as_bytes()), Err(XmlError::TooDeep)));
        assert!(matches!(parse(b"<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"\xff\xfe"), Err(XmlError::NotUtf8)));
    }
}
