//! The framing of the change log (the sled engine's `changes` tree): one entry per write of
//! a session or person, a tag byte then the record (or id) the write leaves.
//!
//! Why a log of people too: in the sled engine the log entry is the commit point of every
//! write, so recovery can finish any of them; watchers ([`decode_change`]) see sessions only.
//! [`LogEntry`] is both what is written and what is read, so the tags below are defined once.

use super::{StoreError, Unrevisioned, corrupt, decode_session};
use crate::domain::{Change, ChangeKind};

// The tag bytes, as stored: never renumber one (the round-trip test pins them).
const SESSION_CREATED: u8 = 1;
const SESSION_UPDATED: u8 = 2;
const SESSION_DELETED: u8 = 3;
const PERSON_PUT: u8 = 4;
const PERSON_DELETED: u8 = 5;

/// A log entry: a session change (watchers see these), or a write of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// A session created or updated, with its record as written; or deleted, with its last
    /// record.
    Session { kind: ChangeKind, record: &'a [u8] },
    /// A person written, with the record.
    PutPerson(&'a [u8]),
    /// A person deleted: only the id.
    DeletePerson(&'a str),
}

impl<'a> LogEntry<'a> {
    fn tag(&self) -> u8 {
        match self {
            LogEntry::Session { kind: ChangeKind::Created, .. } => SESSION_CREATED,
            LogEntry::Session { kind: ChangeKind::Updated, .. } => SESSION_UPDATED,
            LogEntry::Session { kind: ChangeKind::Deleted, .. } => SESSION_DELETED,
            LogEntry::PutPerson(_) => PERSON_PUT,
            LogEntry::DeletePerson(_) => PERSON_DELETED,
        }
    }

    fn body(&self) -> &'a [u8] {
        match self {
            LogEntry::Session { record, .. } | LogEntry::PutPerson(record) => record,
            LogEntry::DeletePerson(id) => id.as_bytes(),
        }
    }

    /// The entry of a session put (`kind` created or updated) or, with `kind` `None`, a
    /// person put, whose record `enc` gets `revision`: the stored entry, the record being
    /// `entry[1..]` (what the sequencer also stores under the record's key).
    pub fn put_at(kind: Option<ChangeKind>, enc: &Unrevisioned, revision: u64) -> Vec<u8> {
        let tag = match kind {
            Some(kind) => LogEntry::Session { kind, record: &[] }.tag(),
            None => PERSON_PUT,
        };
        enc.after(&[tag], revision)
    }

    /// The stored entry: the tag, then the record (or id).
    pub fn encode(&self) -> Vec<u8> {
        let body = self.body();
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(self.tag());
        out.extend_from_slice(body);
        out
    }

    /// Reads a stored entry (the record stays encoded: recovery only needs its id).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let (tag, body) = bytes.split_first().ok_or_else(|| StoreError::Corrupt("empty change record".into()))?;
        let session = |kind| Ok(LogEntry::Session { kind, record: body });
        match *tag {
            SESSION_CREATED => session(ChangeKind::Created),
            SESSION_UPDATED => session(ChangeKind::Updated),
            SESSION_DELETED => session(ChangeKind::Deleted),
            PERSON_PUT => Ok(LogEntry::PutPerson(body)),
            PERSON_DELETED => Ok(LogEntry::DeletePerson(std::str::from_utf8(body).map_err(corrupt)?)),
            c => Err(StoreError::Corrupt(format!("unknown change kind {c}"))),
        }
    }
}

/// The session change of a log entry, `None` for an entry about a person.
pub fn decode_change(revision: u64, bytes: &[u8]) -> Result<Option<Change>, StoreError> {
    match LogEntry::decode(bytes)? {
        LogEntry::Session { kind, record } => Ok(Some(Change { revision, kind, session: decode_session(record)? })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of entry reads back as itself, under the tag byte stores already hold.
    #[test]
    fn every_log_entry_reads_back_as_written_under_its_stored_tag() {
        let record = b"\x03abc-record".as_slice();
        let entries = [
            (LogEntry::Session { kind: ChangeKind::Created, record }, 1),
            (LogEntry::Session { kind: ChangeKind::Updated, record }, 2),
            (LogEntry::Session { kind: ChangeKind::Deleted, record }, 3),
            (LogEntry::PutPerson(record), 4),
            (LogEntry::DeletePerson("ann"), 5),
        ];
        for (entry, tag) in entries {
            let bytes = entry.encode();
            assert_eq!((bytes[0], &bytes[1..]), (tag, entry.body()), "{entry:?}");
            assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
        }
        assert!(matches!(LogEntry::decode(&[]), Err(StoreError::Corrupt(_))));
        assert!(matches!(LogEntry::decode(&[6]), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_session_entry_is_a_change_and_a_person_entry_is_not() {
        let mut s = super::super::demo().1.into_iter().next().unwrap();
        s.meta.revision = 9;
        let record = super::super::encode_session(&s);
        let entry = LogEntry::Session { kind: ChangeKind::Deleted, record: &record }.encode();
        let change = decode_change(9, &entry).unwrap().unwrap();
        assert_eq!((change.revision, change.kind, change.session), (9, ChangeKind::Deleted, s));
        assert!(decode_change(10, &LogEntry::DeletePerson("ann").encode()).unwrap().is_none());
    }
}
