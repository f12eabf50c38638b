//! Page tokens: decoding any string never panics, and a token made by `encode` decodes to the
//! same cursor for the same fingerprint only.
#![no_main]

use agenda::api::page_token::{Cursor, decode, encode, fingerprint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fp = fingerprint("fuzz");
    let _ = decode(text, fp);
    let mid = text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i);
    let (a, b) = text.split_at(mid);
    let cursor = Cursor { time: data.len() as i64 - 1000, a: a.to_owned(), b: b.to_owned() };
    let token = encode(fp, cursor.clone());
    // decode refuses tokens over 1,024 bytes (1,365 base64 characters): real cursors are far smaller.
    if token.len() <= 1365 {
        assert_eq!(decode(&token, fp), Ok(Some(cursor)));
    }
    assert!(decode(&token, fp ^ 1).is_err());
});
