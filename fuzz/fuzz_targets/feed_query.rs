//! Query parameters of /feeds/sessions.ics: any string is a filter or a 400 message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = agenda::http::parse_feed_query(text, 31, 366) {
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            assert!(from < to, "an accepted window is never empty or backwards");
        }
    }
});
