//! Key encodings both engines share: parts joined into one byte key, and the keys of the
//! invite outbox, which the engines lay out alike (sled as the keys of its `invites_sent`
//! tree, etcd after its `i/` prefix).
//!
//! Variable-length parts are ended by a `0x00` byte, which ids never contain (validation
//! forbids control characters), so a prefix scan for `session\0` never matches
//! `session-longer\0`.

use crate::domain::{Attempt, SessionId};

/// Concatenates key parts.
fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The first key after every key that starts with `prefix` (the end of a prefix range), or
/// `None` when no such key exists (a prefix of only `0xff` bytes).
#[cfg(feature = "etcd")]
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// `text` followed by the `0x00` terminator: a prefix that matches exactly `text`.
pub fn term(text: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(text.len() + 1);
    k.extend_from_slice(text.as_bytes());
    k.push(0);
    k
}

/// The key of the invite record an attempt updates: `session\0 slot\0 person`, so that a
/// session's records are one prefix range ([`invites_of`]), in (slot, person) order. A
/// participant's invite to the whole session has an empty slot part (no slot id is empty).
pub fn invite(attempt: &Attempt) -> Vec<u8> {
    let m = &attempt.message;
    let slot = m.slot.as_ref().map_or("", |s| s.as_str());
    key(&[&term(m.session.as_str()), &term(slot), m.person.as_str().as_bytes()])
}

/// The prefix of the keys of every invite record of `session`.
pub fn invites_of(session: &SessionId) -> Vec<u8> {
    term(session.as_str())
}
