//! Edits of a session's agenda and participants, one change at a time, and the patches of its
//! writable fields.

use std::collections::HashSet;

use super::{Format, Material, Organizer, Participant, Session, SessionStatus, Slot, SlotKind, SlotStatus, Visibility};
use crate::domain::{Error, Kind, LanguageTag, PersonId, SlotId, TimeZoneName, Timestamp, Violations, WebUrl};

impl Session {
    /// The slot with `id`.
    pub fn slot(&self, id: &SlotId) -> Result<&Slot, Error> {
        self.slots.iter().find(|s| &s.id == id).ok_or_else(|| Error::not_found(Kind::Slot, id))
    }

    /// Adds a slot; its id must be new in the session.
    pub fn add_slot(&mut self, slot: Slot) -> Result<(), Error> {
        if self.slots.iter().any(|s| s.id == slot.id) {
            return Err(Error::already_exists(Kind::Slot, &slot.id));
        }
        self.slots.push(slot);
        Ok(())
    }

    /// Changes a slot.
    pub fn update_slot(&mut self, id: &SlotId, patch: SlotPatch) -> Result<(), Error> {
        let slot = self.slots.iter_mut().find(|s| &s.id == id).ok_or_else(|| Error::not_found(Kind::Slot, id))?;
        patch.apply(slot);
        Ok(())
    }

    /// Removes a slot.
    pub fn remove_slot(&mut self, id: &SlotId) -> Result<Slot, Error> {
        let i = self.slots.iter().position(|s| &s.id == id).ok_or_else(|| Error::not_found(Kind::Slot, id))?;
        Ok(self.slots.remove(i))
    }

    /// Adds a participant at `position` within their group (last when absent or past the end).
    pub fn add_participant(&mut self, p: Participant, position: Option<usize>) -> Result<(), Error> {
        if self.participants.iter().any(|q| q.person == p.person) {
            return Err(Error::already_exists(Kind::Participant, &p.person));
        }
        let in_group: Vec<usize> =
            self.participants.iter().enumerate().filter(|(_, q)| q.group == p.group).map(|(i, _)| i).collect();
        let at = match (position, in_group.last()) {
            (Some(k), _) if k < in_group.len() => in_group[k],
            (_, Some(&last)) => last + 1,
            (_, None) => self.participants.len(),
        };
        self.participants.insert(at, p);
        Ok(())
    }

    /// The participant entry of `person`.
    pub fn participant_mut(&mut self, person: &PersonId) -> Result<&mut Participant, Error> {
        self.participants
            .iter_mut()
            .find(|p| &p.person == person)
            .ok_or_else(|| Error::not_found(Kind::Participant, person))
    }

    /// Removes a participant.
    pub fn remove_participant(&mut self, person: &PersonId) -> Result<(), Error> {
        let i = self
            .participants
            .iter()
            .position(|p| &p.person == person)
            .ok_or_else(|| Error::not_found(Kind::Participant, person))?;
        self.participants.remove(i);
        Ok(())
    }

    /// Sets the order within one group. `order` must name every member of the group once;
    /// the group keeps its place among the other groups.
    pub fn reorder_participants(&mut self, group: &str, order: &[PersonId]) -> Result<(), Error> {
        let slots: Vec<usize> =
            self.participants.iter().enumerate().filter(|(_, p)| p.group == group).map(|(i, _)| i).collect();
        if slots.is_empty() {
            return Err(Error::not_found(Kind::Group, group));
        }
        let mut v = Violations::new("");
        let members: HashSet<&PersonId> = slots.iter().map(|&i| &self.participants[i].person).collect();
        let given: HashSet<&PersonId> = order.iter().collect();
        if given.len() != order.len() {
            v.add("person_ids", "names a person twice");
        }
        if given != members {
            v.add("person_ids", format!("must list exactly the {} members of group \"{group}\"", members.len()));
        }
        v.into_result().map_err(Error::Invalid)?;
        let mut reordered: Vec<Participant> = order
            .iter()
            .map(|id| self.participants.iter().find(|p| &p.person == id).cloned().expect("member checked above"))
            .collect();
        for &i in slots.iter().rev() {
            self.participants[i] = reordered.pop().expect("same length");
        }
        Ok(())
    }
}

/// A change to some of a session's writable fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SessionPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub organizer: Option<Organizer>,
    pub format: Option<Format>,
    pub location: Option<String>,
    pub join_url: Option<Option<WebUrl>>,
    pub time_zone: Option<TimeZoneName>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub status: Option<SessionStatus>,
    pub tags: Option<Vec<String>>,
    pub recording_url: Option<Option<WebUrl>>,
    pub materials: Option<Vec<Material>>,
    pub expected_attendance: Option<Option<u32>>,
    pub actual_attendance: Option<Option<u32>>,
    pub visibility: Option<Visibility>,
    pub slots: Option<Vec<Slot>>,
    pub participants: Option<Vec<Participant>>,
    pub invite_participants: Option<bool>,
    pub language: Option<Option<LanguageTag>>,
}

macro_rules! apply_fields {
    ($patch:expr, $target:expr, $($field:ident),*) => {
        $(if let Some(v) = $patch.$field { $target.$field = v; })*
    };
}

impl SessionPatch {
    pub fn apply(self, s: &mut Session) {
        apply_fields!(
            self,
            s,
            title,
            description,
            organizer,
            format,
            location,
            join_url,
            time_zone,
            start,
            end,
            status,
            tags,
            recording_url,
            materials,
            expected_attendance,
            actual_attendance,
            visibility,
            slots,
            participants,
            invite_participants,
            language
        );
    }
}

/// A change to some of a slot's writable fields.
#[derive(Debug, Clone, Default)]
pub struct SlotPatch {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub title: Option<String>,
    pub kind: Option<SlotKind>,
    pub description: Option<String>,
    pub speakers: Option<Vec<PersonId>>,
    pub moderators: Option<Vec<PersonId>>,
    pub materials: Option<Vec<Material>>,
    pub allow_overlap: Option<bool>,
    pub status: Option<SlotStatus>,
}

impl SlotPatch {
    pub fn apply(self, s: &mut Slot) {
        apply_fields!(
            self,
            s,
            start,
            end,
            title,
            kind,
            description,
            speakers,
            moderators,
            materials,
            allow_overlap,
            status
        );
    }
}
