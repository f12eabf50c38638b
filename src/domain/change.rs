//! Changes to sessions, in commit order: what WatchSessions streams.

use super::Session;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One committed change. `session` is the new state, or for a deletion the last state (so
/// filters by organizer or person still apply to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The store-wide revision of the write.
    pub revision: u64,
    pub kind: ChangeKind,
    pub session: Session,
}
