//! Conditional request headers of the feeds (If-None-Match, If-Modified-Since): any value
//! parses or is ignored, never a panic; an ETag always matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = agenda::http::parse_http_date(text);
    let _ = agenda::http::if_none_match(text, &["\"abc\""]);
    if !text.contains(',') && !text.trim().is_empty() {
        let tag = text.trim();
        assert!(agenda::http::if_none_match(tag, &[tag.trim_start_matches("W/")]));
    }
});
