//! Requests parsed into commands at the gRPC edge: one file per service, one command per RPC
//! that takes input.
//!
//! A command holds domain values only (ids, patches, whole records, typed page cursors), so a
//! handler works with values and never with a protobuf field or an `Option` it must trust.
//! Parsing reports every violation of a request at once, each with the field path the client
//! sent, as INVALID_ARGUMENT (`Violations` becomes a status in `status.rs`). A command is made
//! with [`parse`] through its [`FromRequest`], or with its own `parse(request, limits)` where
//! the domain's limits take part.

mod feeds;
mod invites;
mod people;
mod schedule;
mod sessions;

pub use feeds::{CreateFeedToken, FeedTokenCursor, ListFeedTokens};
pub use invites::{CreateInvite, ListInvites, ListPendingInvites, MarkInvitesFailed, MarkInvitesSent};
pub use people::{CreatePerson, DeletePerson, GetPerson, ListPeople, ListPersonSlots, UpdatePerson};
pub use schedule::{ListConflicts, QueryFreeBusy};
pub use sessions::{
    AddParticipant, AddSlot, CreateSession, DeleteSession, GetSession, ListSessions, RemoveParticipant, RemoveSlot,
    ReorderParticipants, UpdateParticipant, UpdateSession, UpdateSlot, WatchSessions,
};

use super::convert::{Report, Reported, etag, parse_optional_time, request};
use super::page_token::{self, PageCursor};
use crate::app::RequestKey;
use crate::domain::{Timestamp, Violations};

/// A command made of the request `R` (the way qdrant and neon's storage broker take their
/// protobuf requests apart at the edge).
pub trait FromRequest<R>: Sized {
    /// Parses `r`, recording each violation in `v`. Each field is parsed into a local before
    /// the command is built from them with `?`, so that one malformed field hides no other.
    fn from_request(v: &mut Violations, r: &R) -> Result<Self, Reported>;
}

/// The command `C` of the request `r`, or every violation found in it.
pub fn parse<C: FromRequest<R>, R>(r: &R) -> Result<C, Violations> {
    request(|v| C::from_request(v, r))
}

/// The request id (AIP-155) of a write, from the request's `request_id` field `raw`: `None`
/// when empty; a UUID in its 8-4-4-4-12 hex form otherwise (recorded on `request_id` when
/// not). The fingerprint a retry must repeat is `method`, then the request encoded with its
/// request id cleared by `clear`: prost encodes one message the same way each time.
pub fn request_key<M: prost::Message + Clone>(
    v: &mut Violations,
    method: &str,
    r: &M,
    raw: &str,
    clear: impl FnOnce(&mut M),
) -> Result<Option<RequestKey>, Reported> {
    if raw.is_empty() {
        return Ok(None);
    }
    let id = v.parsed("request_id", uuid(raw))?;
    let mut bare = r.clone();
    clear(&mut bare);
    let mut fingerprint = Vec::with_capacity(method.len() + 1 + bare.encoded_len());
    fingerprint.extend_from_slice(method.as_bytes());
    fingerprint.push(0);
    bare.encode(&mut fingerprint).expect("a Vec grows as needed");
    Ok(Some(RequestKey { id, fingerprint }))
}

/// A UUID's 16 bytes from its text form (RFC 9562: 32 hex digits grouped 8-4-4-4-12, either
/// case); the nil UUID is refused, as AIP-155 asks.
fn uuid(s: &str) -> Result<[u8; 16], &'static str> {
    const SHAPE: &str = "must be a UUID (8-4-4-4-12 hex digits), e.g. 7f5e9a52-3c1b-4b9e-9d3e-2a6f0c8b1d47";
    let groups: Vec<&str> = s.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return Err(SHAPE);
    }
    let hex: String = groups.concat();
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(SHAPE)?, 16).map_err(|_| SHAPE)?;
    }
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SHAPE);
    }
    if id == [0; 16] {
        return Err("must not be the nil UUID");
    }
    Ok(id)
}

/// The record a write changes, and the etag it must still have.
#[derive(Debug, Clone)]
pub struct Target<Id> {
    pub id: Id,
    /// `None` when the request sent no etag: the write then applies to whatever is stored.
    pub etag: Option<String>,
}

impl<Id> Target<Id> {
    /// The target named by a parsed `id` and the request's etag field.
    fn new(id: Result<Id, Reported>, raw_etag: &str) -> Result<Self, Reported> {
        Ok(Target { id: id?, etag: etag(raw_etag).map(str::to_owned) })
    }

    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }
}

/// The page of a listing a request asks for.
#[derive(Debug, Clone)]
pub struct Page<C> {
    /// Most items in the answer.
    pub size: usize,
    /// Where the listing resumes; `None` for the first page.
    pub after: Option<C>,
    /// The query's fingerprint, which the next page's token is bound to.
    fingerprint: u64,
}

impl<C: PageCursor> Page<C> {
    /// The page of `token` for the query whose canonical text is `query`; a token that is not
    /// one of this query's is recorded on `page_token`.
    fn parse(v: &mut Violations, size: usize, token: &str, query: &str) -> Self {
        let fingerprint = page_token::fingerprint(query);
        let after = page_token::decode(token, fingerprint).unwrap_or_else(|e| {
            v.extend(e);
            None
        });
        Page { size, after, fingerprint }
    }

    /// The token of the page that resumes after `next`, or empty when there is none.
    pub fn next_token(&self, next: Option<&C>) -> String {
        next.map(|n| page_token::encode(self.fingerprint, n)).unwrap_or_default()
    }
}

/// Page sizes when a request names none, and the most it may ask for (AIP-158: a larger
/// request is capped, not refused).
#[derive(Debug, Clone, Copy)]
struct PageSizes {
    default: usize,
    max: usize,
}

/// Most listings: a page of 1000 people, person slots or BASIC sessions is a few hundred
/// kilobytes, well under a client's default 4 MiB message limit; FULL sessions and rendered
/// invites have their own, smaller maximum.
const PAGE: PageSizes = PageSizes { default: 50, max: 1000 };

/// The page size a request asks for, within `sizes`.
fn page_size(v: &mut Violations, raw: i32, sizes: PageSizes) -> usize {
    match raw {
        n if n < 0 => {
            v.add("page_size", "must not be negative");
            0
        }
        0 => sizes.default,
        n => (n as usize).min(sizes.max),
    }
}

/// A listing's time window, `from_time` and `to_time`: each optional, the end after the start.
fn time_window(
    v: &mut Violations,
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let from = parse_optional_time(v, "from_time", from);
    let to = parse_optional_time(v, "to_time", to);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        v.add("to_time", "must be after from_time");
    }
    (from, to)
}

/// Free text of a filter as it is matched: trimmed and lower case; `None` when nothing is left.
fn search_text(s: &str) -> Option<String> {
    Some(s.trim().to_lowercase()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_is_defaulted_capped_and_never_negative() {
        let mut v = Violations::new("");
        let sizes = PageSizes { default: 20, max: 50 };
        assert_eq!([0, 7, 51].map(|n| page_size(&mut v, n, sizes)), [20, 7, 50]);
        assert!(v.is_empty());
        page_size(&mut v, -1, sizes);
        assert_eq!(v.violations()[0].field, "page_size");
    }
}
