//! Key encodings of the sled trees.
//!
//! Keys sort the way queries read them: times are big-endian with the sign bit flipped (so
//! byte order is time order, negatives included), and variable-length parts are ended by a
//! `0x00` byte, which ids, tags and names never contain (validation forbids control
//! characters), so a prefix scan for `tag\0` never matches `tag-longer\0`.

use crate::domain::Timestamp;

/// 8 bytes that sort like the instant (whole seconds).
pub fn time(t: Timestamp) -> [u8; 8] {
    ((t.as_second() as u64) ^ (1 << 63)).to_be_bytes()
}

/// Inverse of [`time`].
pub fn decode_time(b: &[u8]) -> Option<Timestamp> {
    let raw: [u8; 8] = b.get(..8)?.try_into().ok()?;
    let secs = (u64::from_be_bytes(raw) ^ (1 << 63)) as i64;
    Timestamp::from_second(secs).ok()
}

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

/// The smallest key greater than every key starting with `prefix`, or `None` if there is
/// none (all bytes 0xff).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_time() {
        let times = ["1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2022-11-17T14:00:00Z", "2099-01-01T00:00:00Z"];
        let keys: Vec<[u8; 8]> = times.iter().map(|t| time(t.parse().unwrap())).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for (t, k) in times.iter().zip(&keys) {
            assert_eq!(decode_time(k).unwrap(), t.parse::<Timestamp>().unwrap());
        }
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"ab\0"), Some(b"ab\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
    }
}
