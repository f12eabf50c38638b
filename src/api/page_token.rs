//! Opaque page tokens.
//!
//! A token holds where the listing stopped (a keyset cursor, not an offset, so pages stay
//! correct while data changes) and a fingerprint of the request's filters, so a token cannot
//! be replayed against a different query. It is URL-safe base64 of a small postcard record;
//! clients must treat it as opaque. Any token this module did not make is INVALID_ARGUMENT.
//!
//! Each listing has its own typed cursor ([`PageCursor`]), and every listing encodes and
//! decodes it through [`encode`] and [`decode`] here: a cursor's ids are parsed by their serde
//! form as they are read, so a listing never takes a token apart by hand.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::Violations;

/// The token layout. Version 2 holds a typed cursor per listing; a version 1 token (an untyped
/// time and two strings, before typed cursors) is refused like any token not made here, and
/// its client repeats the first request, as AIP-158 allows for expired tokens.
const VERSION: u8 = 2;

/// Longest token body decoded: real cursors are far smaller, and a bound keeps a forged
/// token from costing more than a glance.
const MAX_BYTES: usize = 1024;

const NOT_A_TOKEN: &str = "is not a page token issued by this service";
const OTHER_FILTERS: &str = "was issued for a request with other filters; repeat the first request instead";

/// Where one listing resumes, as its page tokens carry it.
///
/// The serde form is the token's: a cursor whose values do not parse (an id with a bad
/// character, a time out of range) is refused as a token not made here.
pub trait PageCursor: Serialize + DeserializeOwned {}

/// What every token starts with, read before the cursor: a token of another listing is then
/// told that its filters differ, whatever its cursor's shape.
#[derive(Serialize, Deserialize)]
struct Header {
    version: u8,
    fingerprint: u64,
}

/// A whole token: postcard writes fields in order with no framing, so this is the header
/// followed by the cursor.
#[derive(Serialize)]
struct Token<'c, C> {
    header: Header,
    cursor: &'c C,
}

/// A stable 64-bit FNV-1a hash of the filter's canonical text (std's hasher is not promised
/// to be stable across releases, and tokens outlive a deploy).
pub fn fingerprint(canonical: &str) -> u64 {
    canonical.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The token of the page after `cursor`, for the query of `fingerprint`.
pub fn encode<C: PageCursor>(fingerprint: u64, cursor: &C) -> String {
    let token = Token { header: Header { version: VERSION, fingerprint }, cursor };
    // Cursors are ids, text and timestamps: postcard writes each of them to a Vec.
    URL_SAFE_NO_PAD.encode(postcard::to_stdvec(&token).expect("a cursor encodes to a Vec"))
}

/// The cursor in `token`, or `None` for the first page; violations name `page_token`.
pub fn decode<C: PageCursor>(token: &str, fingerprint: u64) -> Result<Option<C>, Violations> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok().filter(|b| b.len() <= MAX_BYTES);
    let read = bytes.as_deref().and_then(|b| postcard::take_from_bytes::<Header>(b).ok());
    let problem = match read {
        Some((h, rest)) if h.version == VERSION && h.fingerprint == fingerprint => match cursor(rest) {
            Some(c) => return Ok(Some(c)),
            None => NOT_A_TOKEN,
        },
        Some((h, _)) if h.version == VERSION => OTHER_FILTERS,
        _ => NOT_A_TOKEN,
    };
    let mut v = Violations::new("");
    v.add("page_token", problem);
    Err(v)
}

/// The cursor that is the whole of `rest`: trailing bytes mean the token was not made here.
fn cursor<C: PageCursor>(rest: &[u8]) -> Option<C> {
    match postcard::take_from_bytes(rest) {
        Ok((c, [])) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PersonCursor, PersonId, SessionCursor, SessionId, Timestamp};

    fn session_cursor() -> SessionCursor {
        SessionCursor { start: Timestamp::new(1_668_693_600, 500).unwrap(), id: SessionId::parse("fmg-msme").unwrap() }
    }

    #[test]
    fn tokens_round_trip_only_for_the_same_filters() {
        let c = session_cursor();
        let t = encode(fingerprint("tag=msme"), &c);
        assert_eq!(decode(&t, fingerprint("tag=msme")), Ok(Some(c)));
        assert!(decode::<SessionCursor>(&t, fingerprint("tag=wto")).is_err());
        assert!(decode::<SessionCursor>("not a token!", 1).is_err());
        assert!(decode::<SessionCursor>("AAAA", 1).is_err());
        assert_eq!(decode::<SessionCursor>("", 1), Ok(None));
    }

    fn problem<C: PageCursor + std::fmt::Debug>(r: Result<Option<C>, Violations>) -> String {
        let v = r.expect_err("the token is refused");
        assert_eq!(v.violations().len(), 1);
        assert_eq!(v.violations()[0].field, "page_token");
        v.violations()[0].description.clone()
    }

    #[test]
    fn a_token_of_another_listing_is_told_its_filters_differ() {
        let t = encode(fingerprint("sessions"), &session_cursor());
        assert_eq!(problem(decode::<PersonCursor>(&t, fingerprint("people"))), OTHER_FILTERS);
    }

    #[test]
    fn a_cursor_that_does_not_parse_or_has_bytes_after_it_is_not_a_token() {
        // A token made here for a people listing, read with the same fingerprint as sessions:
        // the header matches, the cursor does not.
        let people =
            encode(fingerprint("x"), &PersonCursor { name: "ada".into(), id: PersonId::parse("ada").unwrap() });
        assert_eq!(problem(decode::<SessionCursor>(&people, fingerprint("x"))), NOT_A_TOKEN);
        let mut bytes = URL_SAFE_NO_PAD.decode(encode(fingerprint("x"), &session_cursor())).unwrap();
        bytes.push(0);
        assert_eq!(problem(decode::<SessionCursor>(&URL_SAFE_NO_PAD.encode(&bytes), fingerprint("x"))), NOT_A_TOKEN);
        let bad_id = Token {
            header: Header { version: VERSION, fingerprint: 7 },
            cursor: &("ada".to_owned(), "not an id!".to_owned()),
        };
        let forged = URL_SAFE_NO_PAD.encode(postcard::to_stdvec(&bad_id).unwrap());
        assert_eq!(problem(decode::<PersonCursor>(&forged, 7)), NOT_A_TOKEN);
    }

    #[test]
    fn a_token_of_the_untyped_version_is_not_a_token() {
        #[derive(Serialize)]
        struct V1 {
            version: u8,
            fingerprint: u64,
            cursor: (i64, String, String),
        }
        let old = V1 { version: 1, fingerprint: 7, cursor: (1_668_693_600, "fmg-msme".into(), String::new()) };
        let token = URL_SAFE_NO_PAD.encode(postcard::to_stdvec(&old).unwrap());
        assert_eq!(problem(decode::<SessionCursor>(&token, 7)), NOT_A_TOKEN);
    }
}
