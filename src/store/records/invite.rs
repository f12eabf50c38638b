//! The stored form of the invite outbox: the last message delivered, and the last failure,
//! per (session, slot, person) (the `invites_sent` tree; etcd's `i/` keys).

use serde::{Deserialize, Serialize};

use super::codes::{method_code, method_of, role_code, role_of};
use super::{StoreError, corrupt, micros, with_tail};
use crate::domain::{Delivery, Failure, InviteRecord, PersonId, SessionId, SlotId};

/// The last message delivered for one (session, slot, person), as stored since invites were
/// first recorded. `method` 0 means none was delivered yet (only a failure is recorded:
/// see [`SentInviteTail`]).
#[derive(Serialize, Deserialize)]
struct SentInviteRecord {
    session: String,
    /// Empty for a participant's invite to the whole session (no slot id is empty).
    slot: String,
    person: String,
    /// 0 none, 1 REQUEST, 2 CANCEL.
    method: u8,
    sequence: u32,
    session_created_micros: i64,
}

/// Encoded after a [`SentInviteRecord`]: what the outbox keeps since. Absent in records
/// written before: those read as delivered at an unknown time, in an unknown role, with no
/// failure.
#[derive(Serialize, Deserialize)]
struct SentInviteTail {
    sent_micros: Option<i64>,
    /// The role the delivered message carried: 0 unknown, else a role code.
    role: u8,
    failure: Option<FailureRecord>,
}

#[derive(Serialize, Deserialize)]
struct FailureRecord {
    method: u8,
    sequence: u32,
    micros: i64,
    reason: String,
}

/// Encodes an invite record for the `invites_sent` tree.
pub fn encode_sent_invite(r: &InviteRecord) -> Vec<u8> {
    let rec = SentInviteRecord {
        session: r.session.as_str().to_owned(),
        slot: r.slot.as_ref().map_or_else(String::new, |s| s.as_str().to_owned()),
        person: r.person.as_str().to_owned(),
        method: r.sent.as_ref().map_or(0, |d| method_code(d.method)),
        sequence: r.sent.as_ref().map_or(0, |d| d.sequence),
        session_created_micros: r.session_created.as_microsecond(),
    };
    let tail = SentInviteTail {
        sent_micros: r.sent.as_ref().and_then(|d| d.time).map(|t| t.as_microsecond()),
        role: r.sent.as_ref().and_then(|d| d.role).map_or(0, role_code),
        failure: r.failed.as_ref().map(|f| FailureRecord {
            method: method_code(f.method),
            sequence: f.sequence,
            micros: f.time.as_microsecond(),
            reason: f.reason.clone(),
        }),
    };
    with_tail(&rec, &tail)
}

/// Decodes a record of the `invites_sent` tree (with or without its tail).
pub fn decode_sent_invite(bytes: &[u8]) -> Result<InviteRecord, StoreError> {
    let (r, rest): (SentInviteRecord, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let tail = if rest.is_empty() {
        SentInviteTail { sent_micros: None, role: 0, failure: None }
    } else {
        postcard::from_bytes(rest).map_err(corrupt)?
    };
    let sent = match r.method {
        0 => None,
        c => Some(Delivery {
            method: method_of(c)?,
            sequence: r.sequence,
            time: tail.sent_micros.map(micros).transpose()?,
            role: match tail.role {
                0 => None,
                c => Some(role_of(c)?),
            },
        }),
    };
    let failed = tail
        .failure
        .map(|f| {
            Ok::<_, StoreError>(Failure {
                method: method_of(f.method)?,
                sequence: f.sequence,
                time: micros(f.micros)?,
                reason: f.reason,
            })
        })
        .transpose()?;
    Ok(InviteRecord {
        session: SessionId::try_from(r.session).map_err(corrupt)?,
        slot: if r.slot.is_empty() { None } else { Some(SlotId::try_from(r.slot).map_err(corrupt)?) },
        person: PersonId::try_from(r.person).map_err(corrupt)?,
        session_created: micros(r.session_created_micros)?,
        sent,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InviteMethod, Timestamp};

    #[test]
    fn an_invite_record_stored_before_the_outbox_reads_as_sent_at_an_unknown_time() {
        let old = SentInviteRecord {
            session: "s".into(),
            slot: "a".into(),
            person: "ann".into(),
            method: 1,
            sequence: 2,
            session_created_micros: 5,
        };
        let r = decode_sent_invite(&postcard::to_stdvec(&old).unwrap()).unwrap();
        let d = Delivery { method: InviteMethod::Request, sequence: 2, time: None, role: None };
        assert_eq!((r.sent, r.failed, r.session_created.as_microsecond()), (Some(d), None, 5));
        let full = InviteRecord {
            sent: None,
            failed: Some(Failure {
                method: InviteMethod::Cancel,
                sequence: 3,
                time: Timestamp::UNIX_EPOCH,
                reason: "550".into(),
            }),
            ..r
        };
        assert_eq!(decode_sent_invite(&encode_sent_invite(&full)).unwrap(), full);
    }
}
