//! The stored form of a secret feed token (the `feed_tokens` tree; etcd's `t/` keys).

use serde::{Deserialize, Serialize};

use super::{StoreError, corrupt, encode, micros};
use crate::domain::{FeedScope, FeedToken, PersonId, SessionId};

#[derive(Serialize, Deserialize)]
struct FeedTokenRecord {
    token: String,
    /// 1 session, 2 person, 3 all sessions.
    scope: u8,
    id: String,
    description: String,
    create_micros: i64,
}

/// Encodes a secret feed token for the `feed_tokens` tree.
pub fn encode_feed_token(t: &FeedToken) -> Vec<u8> {
    let (scope, id) = match &t.scope {
        FeedScope::Session(id) => (1, id.as_str().to_owned()),
        FeedScope::Person(id) => (2, id.as_str().to_owned()),
        FeedScope::AllSessions => (3, String::new()),
    };
    let rec = FeedTokenRecord {
        token: t.token.clone(),
        scope,
        id,
        description: t.description.clone(),
        create_micros: t.create_time.as_microsecond(),
    };
    encode(&rec)
}

/// Decodes a record of the `feed_tokens` tree.
pub fn decode_feed_token(bytes: &[u8]) -> Result<FeedToken, StoreError> {
    let r: FeedTokenRecord = postcard::from_bytes(bytes).map_err(corrupt)?;
    let scope = match r.scope {
        1 => FeedScope::Session(SessionId::try_from(r.id).map_err(corrupt)?),
        2 => FeedScope::Person(PersonId::try_from(r.id).map_err(corrupt)?),
        3 => FeedScope::AllSessions,
        c => return Err(StoreError::Corrupt(format!("unknown feed scope code {c}"))),
    };
    Ok(FeedToken { token: r.token, scope, description: r.description, create_time: micros(r.create_micros)? })
}
