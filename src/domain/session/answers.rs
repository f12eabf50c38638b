//! Answers to invites: each slot keeps its speakers' and moderators' answers, each for the
//! version (SEQUENCE) it answered.

use std::collections::BTreeSet;

use super::{ParticipationStatus, Session, SlotAnswer};
use crate::domain::{Error, Kind, PersonId, SlotId};

impl Session {
    /// Sets each slot's answers from the participant list, for a session that has no per-slot
    /// answers (stored before they were kept, or read from an import file, which carries none):
    /// each speaker's and moderator's participant status, their one answer then, on each of
    /// their slots, as an answer to the slot's current version. NEEDS-ACTION is no answer.
    pub fn answers_from_participants(&mut self) {
        let status: std::collections::HashMap<&PersonId, ParticipationStatus> = self
            .participants
            .iter()
            .filter(|p| p.status != ParticipationStatus::NeedsAction)
            .map(|p| (&p.person, p.status))
            .collect();
        for slot in self.slots.iter_mut().chain(self.removed_slots.iter_mut().map(|r| &mut r.slot)) {
            let people: BTreeSet<&PersonId> = slot.speakers.iter().chain(&slot.moderators).collect();
            let sequence = slot.sequence;
            slot.answers = people
                .into_iter()
                .filter_map(|p| Some(SlotAnswer { person: p.clone(), status: *status.get(p)?, sequence }))
                .collect();
        }
    }

    /// Records `person`'s answer to the invite for `slot` that carried `sequence`, on that
    /// slot only (the session's participant list is not touched: its statuses are the
    /// organizer's). An answer to an older version of the slot is refused: it would undo the
    /// answer to the newer invite the person has (or will have) received.
    pub fn record_reply(
        &mut self,
        slot: &SlotId,
        person: &PersonId,
        sequence: u32,
        status: ParticipationStatus,
    ) -> Result<(), Error> {
        let on_slot =
            self.slots.iter_mut().find(|s| &s.id == slot).ok_or_else(|| Error::not_found(Kind::Slot, slot))?;
        if sequence < on_slot.sequence {
            return Err(Error::StaleReply { slot: slot.clone(), answered: sequence, current: on_slot.sequence });
        }
        let answer = SlotAnswer { person: person.clone(), status, sequence };
        match on_slot.answers.iter_mut().find(|a| &a.person == person) {
            Some(a) => *a = answer,
            None => on_slot.answers.push(answer),
        }
        Ok(())
    }

    /// Records a participant's answer to the session's invite that carried `sequence`: their
    /// status on the participant list. Refused for an older version of the session (the
    /// participant has, or will have, the newer invite to answer).
    pub fn record_participant_reply(
        &mut self,
        person: &PersonId,
        sequence: u32,
        status: ParticipationStatus,
    ) -> Result<(), Error> {
        if sequence < self.sequence {
            return Err(Error::StaleSessionReply {
                session: self.id.clone(),
                answered: sequence,
                current: self.sequence,
            });
        }
        self.participant_mut(person)?.status = status;
        Ok(())
    }
}
