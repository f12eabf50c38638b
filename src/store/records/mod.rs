//! The stored form of every record kind: serde structs encoded with postcard, one file per
//! kind ([`session`], [`person`], [`feed_token`], [`invite`]), the framing of the change log
//! ([`log`]), and [`Unrevisioned`], a record encoded before its revision is known.
//!
//! These are separate from the domain types on purpose: the stored format changes only when
//! this module does (and then the format version in `sled` goes up), whatever happens to
//! the API or the domain. Enums are stored as explicit numeric codes ([`codes`]), never as
//! positions, so reordering a domain enum cannot silently change what old records mean. Both
//! engines store these records: sled as tree values, etcd as key values (in an envelope).
//!
//! postcard: compact (varints, no field names), fast, with a documented stable wire format;
//! the price is that it is not self-describing, which the format version covers.
//!
//! Tails: a field added later goes in a struct encoded *after* the record (`SessionTail`,
//! `PersonTail`, `SentInviteTail`), not into it. postcard's `from_bytes` ignores trailing
//! bytes, so a build that predates a tail still reads the record, and a record without its
//! tail (written before it existed) reads with the tail's stated defaults: no rewrite, no
//! format bump.

mod codes;
mod feed_token;
mod invite;
mod kept;
mod log;
mod person;
mod session;
mod unrevisioned;

use serde::{Deserialize, Serialize};

pub use feed_token::{decode_feed_token, encode_feed_token};
pub use invite::{decode_sent_invite, encode_sent_invite};
pub use kept::{KEPT_FEED_TOKEN, KEPT_PERSON, KEPT_SESSION, decode_kept, encode_kept};
pub use log::{LogEntry, decode_change};
#[cfg(feature = "etcd")]
pub use person::encode_person;
pub use person::{decode_person, unrevisioned_person};
#[cfg(any(test, feature = "etcd"))]
pub use session::encode_session;
pub use session::{decode_session, session_doc, unrevisioned_session};
pub use unrevisioned::Unrevisioned;

use super::StoreError;
use crate::domain::{PersonId, RecordMeta, Timestamp, WebUrl};

/// The times and revision every session and person record carries.
#[derive(Serialize, Deserialize)]
struct MetaRecord {
    create_micros: i64,
    update_micros: i64,
    revision: u64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn secs(t: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(t).map_err(corrupt)
}

fn micros(t: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(t).map_err(corrupt)
}

fn meta_record(m: &RecordMeta, revision: u64) -> MetaRecord {
    MetaRecord {
        create_micros: m.create_time.as_microsecond(),
        update_micros: m.update_time.as_microsecond(),
        revision,
    }
}

fn meta_of(m: MetaRecord) -> Result<RecordMeta, StoreError> {
    Ok(RecordMeta {
        create_time: micros(m.create_micros)?,
        update_time: micros(m.update_micros)?,
        revision: m.revision,
    })
}

fn ids(v: &[PersonId]) -> Vec<String> {
    v.iter().map(|p| p.as_str().to_owned()).collect()
}

fn person_ids(v: Vec<String>) -> Result<Vec<PersonId>, StoreError> {
    v.into_iter().map(|s| PersonId::try_from(s).map_err(corrupt)).collect()
}

fn url_of(s: Option<String>) -> Result<Option<WebUrl>, StoreError> {
    s.map(|u| WebUrl::try_from(u).map_err(corrupt)).transpose()
}

/// `record` followed by `tail`.
fn with_tail<R: Serialize, T: Serialize>(record: &R, tail: &T) -> Vec<u8> {
    let mut out = encode(record);
    out.extend(encode(tail));
    out
}

/// postcard's encoding of `value`.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("encoding to a Vec cannot fail")
}

/// The demo data's sessions and people, the subjects of the round-trip tests.
#[cfg(test)]
fn demo() -> (Vec<crate::domain::Person>, Vec<crate::domain::Session>) {
    crate::transfer::parse(include_str!("../../../data/demo/fmg-msme-2022-11-17.json")).unwrap()
}
