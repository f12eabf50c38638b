//! Identifiers of sessions, slots and people.
//!
//! Ids are short, URL- and key-safe (`[a-z0-9-]`, 1 to 63 characters, no leading or trailing
//! hyphen) so they can appear in feed URLs and iCalendar UIDs unescaped, and never contain the
//! `0x00` byte the store uses as a separator in index keys.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 63 characters")]
    TooLong,
    #[error("must contain only lowercase letters a-z, digits and '-', and not start or end with '-'")]
    BadCharacter,
}

fn parse_id(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > 63 {
        return Err(IdError::TooLong);
    }
    let ok = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok || s.starts_with('-') || s.ends_with('-') {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `s` against the id rules.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                parse_id(s).map(|()| Self(s.to_owned()))
            }

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(new_id())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                parse_id(&s).map(|()| Self(s))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies a session across the store.
    SessionId
);
id_type!(
    /// Identifies a slot within its session (and, with the session id, everywhere).
    SlotId
);
id_type!(
    /// Identifies a person across the store.
    PersonId
);

/// A random id: 16 characters of lowercase base32 (80 bits from the OS generator), so
/// generated ids never collide in practice and reveal nothing about order or time.
pub fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    (0..16).map(|i| ALPHABET[((bits >> (75 - 5 * i)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_documented_alphabet() {
        assert!(SessionId::parse("fmg-msme-2022-11-17").is_ok());
        assert_eq!(SessionId::parse(""), Err(IdError::Empty));
        assert_eq!(SessionId::parse("Upper"), Err(IdError::BadCharacter));
        assert_eq!(SessionId::parse("-lead"), Err(IdError::BadCharacter));
        assert_eq!(SessionId::parse("a\0b"), Err(IdError::BadCharacter));
        assert_eq!(SessionId::parse(&"a".repeat(64)), Err(IdError::TooLong));
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 16);
        assert!(SessionId::parse(&a).is_ok(), "{a}");
        assert_ne!(a, b);
    }
}
