//! Page tokens: decoding any string as any listing's cursor never panics, and a token made by
//! `encode` decodes to the same cursor for the same fingerprint only.
#![no_main]

use std::fmt::Debug;

use agenda::api::page_token::{PageCursor, decode, encode, fingerprint};
use agenda::domain::{
    ConflictCursor, PersonCursor, PersonId, PersonSlotCursor, SessionCursor, SessionId, SlotId, Timestamp,
};
use agenda::invites::{EntryCursor, MessageCursor};
use libfuzzer_sys::fuzz_target;

/// `cursor` comes back from its token under `fp`, and under no other fingerprint.
fn round_trip<C: PageCursor + PartialEq + Debug>(fp: u64, cursor: C) {
    let token = encode(fp, &cursor);
    // decode refuses tokens over 1,024 bytes (1,365 base64 characters): real cursors are far smaller.
    if token.len() <= 1365 {
        assert_eq!(decode(&token, fp), Ok(Some(cursor)));
    }
    assert!(decode::<C>(&token, fp ^ 1).is_err());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fp = fingerprint("fuzz");
    let _ = decode::<SessionCursor>(text, fp);
    let _ = decode::<PersonCursor>(text, fp);
    let _ = decode::<PersonSlotCursor>(text, fp);
    let _ = decode::<EntryCursor>(text, fp);
    let _ = decode::<MessageCursor>(text, fp);
    let _ = decode::<ConflictCursor>(text, fp);

    let mid = text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i);
    let (a, b) = text.split_at(mid);
    // A cursor holds valid ids only: the input's halves where they parse, fixed ids otherwise.
    let session = SessionId::parse(a).unwrap_or_else(|_| SessionId::parse("fuzz-session").unwrap());
    let slot = SlotId::parse(b).unwrap_or_else(|_| SlotId::parse("fuzz-slot").unwrap());
    let person = PersonId::parse(b).unwrap_or_else(|_| PersonId::parse("fuzz-person").unwrap());
    let nanos = i32::from(data.first().copied().unwrap_or(0)) * 3_000_000;
    let start = Timestamp::new(data.len() as i64 - 1000, nanos).unwrap();

    round_trip(fp, PersonCursor { name: a.to_owned(), id: person.clone() });
    round_trip(fp, PersonSlotCursor { start, session: session.clone(), slot: slot.clone() });
    round_trip(
        fp,
        EntryCursor {
            session: SessionCursor { start, id: session.clone() },
            slot: Some(slot.clone()),
            person: person.clone(),
        },
    );
    round_trip(
        fp,
        EntryCursor { session: SessionCursor { start, id: session.clone() }, slot: None, person: person.clone() },
    );
    round_trip(fp, MessageCursor { slot: Some(slot.clone()) });
    round_trip(fp, MessageCursor { slot: None });
    let side = (session.to_string(), Some(slot.to_string()));
    round_trip(
        fp,
        ConflictCursor { start, second_start: start, person, first: side.clone(), second: (session.to_string(), None) },
    );
});
