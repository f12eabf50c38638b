//! Rendered answers cached until the next write, with their validators: what the feeds and the
//! pages share.
//!
//! A [`Rendered`] body is kept in both encodings (plain and gzip) with its ETag and
//! Last-Modified, made once per rendering. A [`Cache`] keeps them by key while the app's write
//! counter (`Agenda::changes`) is unchanged (and, for a body that depends on the clock, until
//! its `valid_until`), so a GET costs a map lookup and a write is visible in the next GET.
//! [`Rendered::respond`] answers a GET from it: 304 when the client's copy is current, gzip
//! when accepted. The feeds' path ([`Cache::get`] by a borrowed key, [`Rendered::answer`] with
//! headers built at rendering) allocates nothing of its own on a hit but the answer's header
//! map: the 304 row of issue 22 compares it with a constant 304 (`bench_floor`).

use std::hash::Hash;
use std::io::Write as _;
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, response};
use axum::response::Response;
use hashbrown::{Equivalent, HashMap};

use crate::domain::Timestamp;

/// Most cached bodies; past this the cache is emptied (bodies are cheap to render again, and
/// the bound keeps memory flat whatever URLs clients invent).
const CACHE_ENTRIES: usize = 10_000;

/// Rendered bodies by key, each valid while the write counter it was rendered at is current.
pub struct Cache<K> {
    /// Hashed with fxhash: the keys are ours (ids and filters the routes parsed), and SipHash
    /// was a visible part of a 304's own work.
    entries: RwLock<HashMap<K, Arc<Rendered>, fxhash::FxBuildHasher>>,
}

impl<K: Hash + Eq> Cache<K> {
    pub fn new() -> Self {
        Self { entries: RwLock::new(HashMap::default()) }
    }

    /// The body under `key` if it was rendered at `changes` and has not expired. `key` may be
    /// any form equivalent to a `K` (same hash, same equality), such as one borrowed from the
    /// request: a hit then builds no owned key.
    pub fn get<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q, changes: u64) -> Option<Arc<Rendered>> {
        let fresh = |r: &&Arc<Rendered>| r.changes == changes && r.valid_until.is_none_or(|t| Timestamp::now() < t);
        self.entries.read().expect("cache lock").get(key).filter(fresh).cloned()
    }

    /// Keeps `rendered` under `key`, and gives it back shared.
    pub fn insert(&self, key: K, rendered: Rendered) -> Arc<Rendered> {
        let r = Arc::new(rendered);
        let mut entries = self.entries.write().expect("cache lock");
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Arc::clone(&r));
        r
    }

    /// The body under `key` if it was rendered at `changes` and has not expired; otherwise
    /// `render`s it (at `changes`) and keeps it. The flag says whether it came from the cache.
    pub async fn get_or_render<E>(
        &self,
        key: K,
        changes: u64,
        render: impl Future<Output = Result<Rendered, E>>,
    ) -> Result<(Arc<Rendered>, bool), E> {
        if let Some(r) = self.get(&key, changes) {
            return Ok((r, true));
        }
        Ok((self.insert(key, render.await?), false))
    }
}

/// A rendered body in both encodings, with its validators.
pub struct Rendered {
    /// The app's write counter when the data was read.
    changes: u64,
    /// Past this instant the body may be wrong without any write (a page listing upcoming
    /// sessions); `None` for bodies that depend on the data alone.
    valid_until: Option<Timestamp>,
    content_type: HeaderValue,
    body: Bytes,
    gzip: Bytes,
    etag: String,
    gzip_etag: String,
    /// When the body last changed, if anything dates it.
    last_modified_at: Option<Timestamp>,
    /// The validators as header values, made once per rendering rather than per answer.
    etag_header: HeaderValue,
    gzip_etag_header: HeaderValue,
    last_modified_header: Option<HeaderValue>,
    /// Every header of each answer [`Rendered::answer`] gives, built once per rendering (with
    /// the route's, [`Rendered::with_headers`]) and cloned per answer (a clone of a header
    /// value shares its bytes): by [`Answer::index`].
    answers: [HeaderMap; 4],
}

/// Which of the four answers to a GET: 304 or 200, plain or gzip.
#[derive(Clone, Copy)]
struct Answer {
    modified: bool,
    gzip: bool,
}

impl Answer {
    const ALL: [Answer; 4] = [
        Answer { modified: false, gzip: false },
        Answer { modified: false, gzip: true },
        Answer { modified: true, gzip: false },
        Answer { modified: true, gzip: true },
    ];

    fn index(self) -> usize {
        usize::from(self.modified) * 2 + usize::from(self.gzip)
    }
}

impl Rendered {
    /// Compresses `text` and computes its validators. `changes` is the write counter the data
    /// was read at; `last_modified` when the body last changed, if anything dates it.
    pub fn new(
        changes: u64,
        content_type: &'static str,
        text: String,
        last_modified: Option<Timestamp>,
    ) -> std::io::Result<Self> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes())?;
        gz.flush()?;
        let gzip = gz.finish()?;
        let etag = strong_etag(&text);
        let gzip_etag = format!("{}-gzip\"", etag.trim_end_matches('"'));
        let header_value = |v: &str| HeaderValue::from_str(v).expect("quotes, hex digits, an HTTP date: all ASCII");
        let rendered = Rendered {
            changes,
            valid_until: None,
            content_type: HeaderValue::from_static(content_type),
            etag_header: header_value(&etag),
            gzip_etag_header: header_value(&gzip_etag),
            last_modified_header: last_modified.map(|t| header_value(&http_date(t))),
            etag,
            gzip_etag,
            last_modified_at: last_modified,
            body: Bytes::from(text),
            gzip: Bytes::from(gzip),
            answers: Default::default(),
        };
        Ok(rendered.with_headers(&HeaderMap::new()))
    }

    /// The same body, whose answers from [`Rendered::answer`] carry the route's `headers`
    /// (Cache-Control, ...) before their own.
    pub fn with_headers(mut self, headers: &HeaderMap) -> Self {
        self.answers = Answer::ALL.map(|a| self.headers(headers.clone(), a));
        self
    }

    /// The same body, to be rendered again after `t` even without a write.
    pub fn valid_until(mut self, t: Timestamp) -> Self {
        self.valid_until = Some(t);
        self
    }

    /// Whether the client's cached copy is current (`not_modified` on this request's headers).
    fn not_modified(&self, headers: &HeaderMap) -> bool {
        // What revalidating clients send: one of our ETags, verbatim. The rule below says yes
        // to it too; this only skips its splitting and trimming on the 304 path.
        if let Some(tag) = headers.get(header::IF_NONE_MATCH)
            && (tag == self.etag_header || tag == self.gzip_etag_header)
        {
            return true;
        }
        let value = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        not_modified(
            value(header::IF_NONE_MATCH),
            value(header::IF_MODIFIED_SINCE),
            &[&self.etag, &self.gzip_etag],
            self.last_modified_at,
        )
    }

    /// The answer to a GET with `request` headers: `builder` (with the caller's own headers,
    /// such as Cache-Control) plus ETag, Vary and Last-Modified, then 304, or 200 with the body
    /// gzipped when the client accepts it.
    pub fn respond(&self, request: &HeaderMap, builder: response::Builder) -> Response {
        let (parts, ()) = builder.body(()).expect("valid headers").into_parts();
        self.respond_with(request, parts.headers)
    }

    /// [`Rendered::respond`] with the route's headers already in a map. The headers go
    /// straight into that map (not through a builder, which converts and checks each).
    pub fn respond_with(&self, request: &HeaderMap, out: HeaderMap) -> Response {
        let answer = self.answer_to(request);
        self.response(answer, self.headers(out, answer))
    }

    /// The answer to a GET with `request` headers, with the headers made at rendering (the
    /// route's from [`Rendered::with_headers`], then ETag, Vary, Last-Modified, and for a 200
    /// Content-Type and Content-Encoding): what [`Rendered::respond_with`] answers with those
    /// route headers, without building them per request. The feeds' path, where a 304 is
    /// these headers and nothing else.
    pub fn answer(&self, request: &HeaderMap) -> Response {
        let answer = self.answer_to(request);
        self.response(answer, self.answers[answer.index()].clone())
    }

    fn answer_to(&self, request: &HeaderMap) -> Answer {
        Answer { gzip: accepts_gzip(request), modified: !self.not_modified(request) }
    }

    /// `out` (the route's headers) with the answer's own added.
    fn headers(&self, mut out: HeaderMap, answer: Answer) -> HeaderMap {
        out.insert(header::ETAG, if answer.gzip { &self.gzip_etag_header } else { &self.etag_header }.clone());
        // A route whose body also varies by something else (pages: Accept-Language) says so
        // itself, Accept-Encoding included.
        if !out.contains_key(header::VARY) {
            out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        if let Some(last_modified) = &self.last_modified_header {
            out.insert(header::LAST_MODIFIED, last_modified.clone());
        }
        if answer.modified {
            out.insert(header::CONTENT_TYPE, self.content_type.clone());
            if answer.gzip {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
        }
        out
    }

    fn response(&self, answer: Answer, headers: HeaderMap) -> Response {
        let (status, body) = match answer {
            Answer { modified: false, .. } => (StatusCode::NOT_MODIFIED, Body::empty()),
            Answer { modified: true, gzip } => {
                (StatusCode::OK, Body::from(if gzip { self.gzip.clone() } else { self.body.clone() }))
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

/// Whether a GET with these conditional headers may be answered `304 Not Modified` for a
/// body with `etags` (its plain and gzip ones) and `last_modified`. If-None-Match, when sent,
/// decides alone (RFC 9110 section 13.2.2), by weak comparison or `*`; If-Modified-Since counts
/// only for a body that has a Last-Modified. The one copy of this rule: the routes and the
/// fuzz target (`fuzz/fuzz_targets/etag.rs`) both call it.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etags: &[&str],
    last_modified: Option<Timestamp>,
) -> bool {
    if let Some(tags) = if_none_match {
        return tags.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || etags.contains(&t));
    }
    match (last_modified, if_modified_since.and_then(parse_http_date)) {
        (Some(modified), Some(since)) => modified.as_second() <= since.as_second(),
        _ => false,
    }
}

/// An HTTP date (`If-Modified-Since`), if it parses.
pub fn parse_http_date(value: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(value).ok().map(|z| z.timestamp())
}

/// The strong ETag of a body: a hash of its bytes, so equal bodies have equal tags on every
/// replica. CalDAV's getetag and GET use it too, so the two always agree.
pub fn strong_etag(text: &str) -> String {
    format!("\"{:016x}\"", fnv64(text.as_bytes()))
}

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn http_date(t: Timestamp) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&t).unwrap_or_default()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let q_zero =
                parts.any(|p| p.replace(' ', "").starts_with("q=0") && !p.contains(|c: char| ('1'..='9').contains(&c)));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        },
    )
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};
    use axum::response::Response;

    use super::{Cache, Rendered};
    use crate::domain::Timestamp;

    async fn parts(r: Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let status = r.status().as_u16();
        let headers = r.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec();
        (status, headers, body)
    }

    /// The feeds' answers, from headers built at rendering, are the answers built per request
    /// (the pages' path), header for header and in the same order, for each of the four.
    #[tokio::test]
    async fn prebuilt_answers_equal_the_answers_built_per_request() {
        let modified = Timestamp::from_second(1_668_679_200).unwrap();
        let mut route = HeaderMap::new();
        route.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
        route.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
        let r = Rendered::new(1, "text/calendar; charset=utf-8", "BEGIN:VCALENDAR\r\n".repeat(50), Some(modified))
            .unwrap()
            .with_headers(&route);
        let etag = r.etag.clone();
        let gzip_etag = r.gzip_etag.clone();
        let requests: [&[(&str, &str)]; 5] = [
            &[],
            &[("if-none-match", &etag)],
            &[("accept-encoding", "gzip, deflate")],
            &[("accept-encoding", "gzip"), ("if-none-match", &gzip_etag)],
            &[("if-modified-since", "Thu, 17 Nov 2022 10:00:00 GMT")],
        ];
        let mut statuses = Vec::new();
        for request in requests {
            let request: HeaderMap =
                request.iter().map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_str(v).unwrap())).collect();
            let prebuilt = parts(r.answer(&request)).await;
            assert_eq!(prebuilt, parts(r.respond_with(&request, route.clone())).await, "{request:?}");
            statuses.push(prebuilt.0);
        }
        assert_eq!(statuses, [200, 304, 200, 304, 304]);
    }

    /// A body kept under a key is found by an equivalent borrowed form, and only while the
    /// write counter it was rendered at is current.
    #[test]
    fn a_body_is_found_by_a_borrowed_key_at_its_write_counter() {
        let cache: Cache<String> = Cache::new();
        cache.insert("a".to_owned(), Rendered::new(7, "text/plain", "x".into(), None).unwrap());
        assert!(cache.get("a", 7).is_some());
        assert!(cache.get("a", 8).is_none());
        assert!(cache.get("b", 7).is_none());
    }
}
