//! What a query asks for: the filters of ListSessions and the feeds, and a person's slots.
//!
//! The cursors say where a listing resumes; they are serde values because the API's page
//! tokens carry them, and reading one back parses its ids as any other input.

use serde::{Deserialize, Serialize};

use super::{PersonId, Role, Session, SessionId, SessionStatus, Slot, SlotId, TimeZoneName, Timestamp, Visibility};

/// Filters of a session listing. Every field narrows the result; the default lists every
/// session, past ones included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionFilter {
    /// Sessions that end after this instant.
    pub from: Option<Timestamp>,
    /// Sessions that start before this instant.
    pub to: Option<Timestamp>,
    /// Organizer name or short name, lower case, exact.
    pub organizer: Option<String>,
    /// Tag, lower case, exact.
    pub tag: Option<String>,
    /// Sessions naming this person in any role.
    pub person: Option<PersonId>,
    pub status: Option<SessionStatus>,
    /// Only public or only private sessions.
    pub visibility: Option<Visibility>,
    /// Lower-case text to find in the title, the description or a named person's name.
    pub text: Option<String>,
}

impl SessionFilter {
    /// Whether `s` passes every filter but `text` that the store cannot answer from indexes
    /// alone. `name_of` looks people up for the text filter.
    pub fn matches(&self, s: &Session, name_of: impl Fn(&PersonId) -> Option<String>) -> bool {
        if self.from.is_some_and(|from| s.end <= from) || self.to.is_some_and(|to| s.start >= to) {
            return false;
        }
        if self.status.is_some_and(|st| st != s.status) || self.visibility.is_some_and(|v| v != s.visibility) {
            return false;
        }
        if let Some(org) = &self.organizer
            && &s.organizer.name.to_lowercase() != org
            && &s.organizer.short_name.to_lowercase() != org
        {
            return false;
        }
        if let Some(tag) = &self.tag
            && !s.tags.iter().any(|t| &t.to_lowercase() == tag)
        {
            return false;
        }
        if let Some(p) = &self.person
            && !s.referenced_people().contains(p)
        {
            return false;
        }
        if let Some(text) = &self.text {
            let in_text =
                s.title.to_lowercase().contains(text.as_str()) || s.description.to_lowercase().contains(text.as_str());
            if !in_text
                && !s
                    .referenced_people()
                    .iter()
                    .any(|p| name_of(p).is_some_and(|n| n.to_lowercase().contains(text.as_str())))
            {
                return false;
            }
        }
        true
    }
}

/// Where a session listing resumes: after this (start, id). Keyset pagination stays correct
/// while sessions are inserted or deleted, unlike offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCursor {
    pub start: Timestamp,
    pub id: SessionId,
}

/// Where a people listing resumes: after this (lower-case name, id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonCursor {
    pub name: String,
    pub id: PersonId,
}

/// Where a person's slot listing resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSlotCursor {
    pub start: Timestamp,
    pub session: SessionId,
    pub slot: SlotId,
}

/// A slot seen from one person's side, with enough of its session to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSlot {
    pub session_id: SessionId,
    pub session_title: String,
    pub time_zone: TimeZoneName,
    pub session_status: SessionStatus,
    pub session_visibility: Visibility,
    pub slot: Slot,
    pub roles: Vec<Role>,
    /// The slot was taken off the agenda recently (see `RemovedSlot`).
    pub removed: bool,
}

/// A page of a session listing as a store reads it: the sessions `filter` matches, in
/// (start, id) order, after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    pub filter: SessionFilter,
    pub after: Option<SessionCursor>,
}

/// A page of the people listing as a store reads it: people whose name or affiliation contains
/// `text` (lower case; empty for everyone), in (lower-case name, id) order, after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleQuery {
    pub text: String,
    pub after: Option<PersonCursor>,
}

/// What a person's slot listing asks for: the slots where `person` speaks or moderates,
/// overlapping [`from`, `to`), in (start, session, slot) order, resuming after `after`. One
/// value, so the listing's many parts travel together through the app and both engines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSlotQuery {
    pub person: PersonId,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub after: Option<PersonSlotCursor>,
    /// Recently removed slots too (feeds show them cancelled; the sender cancels them).
    pub include_removed: bool,
}

impl PersonSlotQuery {
    /// Every slot of `person`, past and coming, from the first.
    pub fn all(person: PersonId, include_removed: bool) -> Self {
        Self { person, from: None, to: None, after: None, include_removed }
    }
}
