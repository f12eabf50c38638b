//! iTIP REPLY parsing (InviteService.ApplyReply): any bytes give an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = agenda::ics::itip::parse_reply(data) {
        assert!(reply.attendee.contains('@'));
    }
});
