//! Opaque page tokens.
//!
//! A token holds where the listing stopped (a keyset cursor, not an offset, so pages stay
//! correct while data changes) and a fingerprint of the request's filters, so a token cannot
//! be replayed against a different query. It is URL-safe base64 of a small postcard record;
//! clients must treat it as opaque. Any token this module did not make is INVALID_ARGUMENT.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::domain::Violations;

const VERSION: u8 = 1;

/// The cursor of a listing as stored in a token: a time and up to two strings (ids, names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub time: i64,
    pub a: String,
    pub b: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    version: u8,
    fingerprint: u64,
    cursor: Cursor,
}

/// A stable 64-bit FNV-1a hash of the filter's canonical text (std's hasher is not promised
/// to be stable across releases, and tokens outlive a deploy).
pub fn fingerprint(canonical: &str) -> u64 {
    canonical.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

pub fn encode(fingerprint: u64, cursor: Cursor) -> String {
    let t = Token { version: VERSION, fingerprint, cursor };
    URL_SAFE_NO_PAD.encode(postcard::to_stdvec(&t).expect("encoding to a Vec cannot fail"))
}

/// The cursor in `token`, or `None` for the first page; violations name `page_token`.
pub fn decode(token: &str, fingerprint: u64) -> Result<Option<Cursor>, Violations> {
    if token.is_empty() {
        return Ok(None);
    }
    let mut v = Violations::new("");
    let t: Option<Token> =
        URL_SAFE_NO_PAD.decode(token).ok().filter(|b| b.len() <= 1024).and_then(|b| postcard::from_bytes(&b).ok());
    match t {
        Some(t) if t.version == VERSION && t.fingerprint == fingerprint => return Ok(Some(t.cursor)),
        Some(t) if t.version == VERSION => {
            v.add("page_token", "was issued for a request with other filters; repeat the first request instead")
        }
        _ => v.add("page_token", "is not a page token issued by this service"),
    }
    Err(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_for_the_same_filters() {
        let c = Cursor { time: 1_668_693_600, a: "fmg-msme".into(), b: String::new() };
        let t = encode(fingerprint("tag=msme"), c.clone());
        assert_eq!(decode(&t, fingerprint("tag=msme")), Ok(Some(c)));
        assert!(decode(&t, fingerprint("tag=wto")).is_err());
        assert!(decode("not a token!", 1).is_err());
        assert!(decode("AAAA", 1).is_err());
        assert_eq!(decode("", 1), Ok(None));
    }
}
