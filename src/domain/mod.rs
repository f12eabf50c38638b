//! The domain: sessions, their agendas, people and participants, and the rules they obey.
//!
//! Nothing here knows about protobuf, tonic, HTTP or sled. Values are validated when they
//! are built (ids, e-mail addresses, URLs, time zones are newtypes with `parse`), and whole
//! records are checked by `validate` methods that report every violation at once, each with
//! the path of the field it concerns, so an API can return them all in one answer.

mod change;
mod error;
mod feed_token;
mod ids;
mod invite;
mod person;
mod query;
mod schedule;
mod session;
mod values;

pub use change::{Change, ChangeKind};
pub use error::{Error, FieldPath, FieldViolation, Kind, Violations, push_digits};
pub use feed_token::{FeedScope, FeedToken};
pub use ids::{IdError, PersonId, SessionId, SlotId, new_id};
pub use invite::{
    Attempt, AttemptResult, BlockedBy, Delivery, Failure, InviteMessage, InviteMethod, InviteRecord, InviteState,
    OutboxEntry, outbox, participant_role, pending as pending_invites, role_on, wanted as wanted_invites,
};
pub use person::{Person, PersonPatch};
pub use query::{
    PeopleQuery, PersonCursor, PersonSlot, PersonSlotCursor, PersonSlotQuery, SessionCursor, SessionFilter,
    SessionQuery,
};
pub use schedule::{
    Commitment, Conflict, ConflictCursor, Engagement, busy_periods, commitments_of, committed_people, conflicts_among,
    conflicts_created,
};
pub use session::{
    Format, Limits, Material, MaterialKind, Organizer, Participant, ParticipationStatus,
    REMOVED_SLOT_RETENTION_SECONDS, RemovedSlot, Role, Session, SessionPatch, SessionStatus, Slot, SlotAnswer,
    SlotKind, SlotPatch, SlotStatus, Visibility,
};
pub use values::{
    EARLIEST_TIME, END_OF_TIME, Email, LanguageTag, TIME_RANGE_RULE, TimeZoneName, Timestamp, ValueError, WebUrl,
    check_text, check_time_range,
};

/// Bookkeeping every stored record carries: when it was made and changed, and its revision.
///
/// The revision is assigned by the store on every write and is unique across the store, so
/// it doubles as the record's etag and, later, as a position in the change stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordMeta {
    /// When the record was created.
    pub create_time: Timestamp,
    /// When the record last changed.
    pub update_time: Timestamp,
    /// Store-wide revision of the last write; 0 for a record not stored yet.
    pub revision: u64,
}

impl RecordMeta {
    /// The etag clients see: the revision in decimal, so it is opaque but easy to log.
    pub fn etag(&self) -> String {
        self.revision.to_string()
    }
}
