//! The import file format (`agenda import`, the demo data): never panics, and whatever
//! parses renders back to a file that parses to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((people, sessions)) = agenda::transfer::parse(text) {
        let again = agenda::transfer::render(&people, &sessions);
        let (people2, sessions2) = agenda::transfer::parse(&again).expect("a rendered file parses");
        assert_eq!((people, sessions), (people2, sessions2));
    }
});
