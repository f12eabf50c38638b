//! Secret feed addresses: unguessable tokens that open private sessions to one calendar,
//! like Google Calendar's "secret address".

use super::{PersonId, SessionId, Timestamp};

/// What a secret feed shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    /// One session's agenda, private or not.
    Session(SessionId),
    /// One person's slots, private sessions included.
    Person(PersonId),
    /// Every session, private ones included.
    AllSessions,
}

/// A secret feed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedToken {
    /// The secret: 32 characters of lowercase base32 (160 random bits).
    pub token: String,
    pub scope: FeedScope,
    /// Who or what it was made for, so it can be found and revoked later.
    pub description: String,
    pub create_time: Timestamp,
}

impl FeedToken {
    /// A fresh secret from the OS random generator.
    pub fn generate_secret() -> String {
        format!("{}{}", super::new_id(), super::new_id())
    }

    /// Whether `s` has the shape of a secret (checked before any lookup, so a malformed
    /// token costs nothing and reveals nothing).
    pub fn is_well_formed(s: &str) -> bool {
        s.len() == 32 && s.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    }
}
