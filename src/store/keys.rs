//! Key encodings of the sled trees.
//!
//! Variable-length parts are ended by a `0x00` byte, which ids never contain (validation
//! forbids control characters), so a prefix scan for `session\0` never matches
//! `session-longer\0`.

/// Concatenates key parts.
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// `text` followed by the `0x00` terminator: a prefix that matches exactly `text`.
pub fn term(text: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(text.len() + 1);
    k.extend_from_slice(text.as_bytes());
    k.push(0);
    k
}
