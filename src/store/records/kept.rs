//! The stored form of a request id's first result (AIP-155, `store::Kept`): the sled
//! engine's `requests` tree, etcd's `q/` keys.

use serde::{Deserialize, Serialize};

use super::{StoreError, corrupt, encode, micros};
use crate::domain::Timestamp;

/// What kind of record `record` holds.
pub const KEPT_SESSION: u8 = 1;
pub const KEPT_PERSON: u8 = 2;
pub const KEPT_FEED_TOKEN: u8 = 3;

#[derive(Serialize, Deserialize)]
struct KeptRecord {
    fingerprint: Vec<u8>,
    at_micros: i64,
    note: String,
    /// [`KEPT_SESSION`], [`KEPT_PERSON`] or [`KEPT_FEED_TOKEN`].
    kind: u8,
    /// The record as the write stored it (its own encoding, `records/`).
    record: Vec<u8>,
    /// The write's revision (0 for a feed token; on etcd the key's mod revision says it).
    revision: u64,
}

/// A kept result as stored, its record still encoded.
pub struct KeptBytes {
    pub fingerprint: Vec<u8>,
    pub at: Timestamp,
    pub note: String,
    pub kind: u8,
    pub record: Vec<u8>,
    pub revision: u64,
}

pub fn encode_kept(once: &crate::store::Once, kind: u8, record: &[u8], revision: u64) -> Vec<u8> {
    encode(&KeptRecord {
        fingerprint: once.fingerprint.clone(),
        at_micros: once.at.as_microsecond(),
        note: once.note.clone(),
        kind,
        record: record.to_vec(),
        revision,
    })
}

pub fn decode_kept(bytes: &[u8]) -> Result<KeptBytes, StoreError> {
    let r: KeptRecord = postcard::from_bytes(bytes).map_err(corrupt)?;
    Ok(KeptBytes {
        fingerprint: r.fingerprint,
        at: micros(r.at_micros)?,
        note: r.note,
        kind: r.kind,
        record: r.record,
        revision: r.revision,
    })
}
