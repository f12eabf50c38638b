//! Conditional request headers of the feeds (If-None-Match, If-Modified-Since), through the
//! same `not_modified` the routes call: any value parses or is ignored, never a panic; an ETag
//! always matches itself; a date is never newer than itself; If-None-Match decides alone.
#![no_main]

use agenda::domain::Timestamp;
use agenda::http::{not_modified, parse_http_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let etags = ["\"abc\"", "\"abc-gzip\""];
    let _ = not_modified(Some(text), Some(text), &etags, Some(Timestamp::UNIX_EPOCH));
    let _ = not_modified(None, Some(text), &etags, None);
    if let Some(date) = parse_http_date(text) {
        assert!(not_modified(None, Some(text), &etags, Some(date)));
        assert!(!not_modified(None, Some(text), &etags, None));
    }
    if !text.contains(',') && !text.trim().is_empty() {
        let tag = text.trim();
        assert!(not_modified(Some(tag), None, &[tag.trim_start_matches("W/")], None));
    }
});
