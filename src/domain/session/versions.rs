//! Versions of a session: what a write takes over from the stored record, and the SEQUENCE
//! rules (RFC 5545) that tell calendars there is a newer version of an event.

use std::collections::HashSet;

use super::{ParticipationStatus, REMOVED_SLOT_RETENTION_SECONDS, RemovedSlot, Session, Slot, SlotAnswer, SlotStatus};
use crate::domain::{SlotId, Timestamp};

impl Session {
    /// Takes what the store owns over from the stored version `old` (creation time, revision,
    /// sequence numbers, removed slots) and raises the sequence numbers as RFC 5545 asks: the
    /// session's when its times, place or status change; a slot's when its times, status,
    /// speakers or moderators change, or when the session's place or status changes (the
    /// slot's event shows both).
    /// Slots of `old` that are gone become [`RemovedSlot`]s as of `now`; a removed slot that
    /// comes back continues its sequence; removed slots past the retention are dropped.
    pub fn carry_over(&mut self, old: &Session, now: Timestamp) {
        self.meta.create_time = old.meta.create_time;
        self.meta.revision = old.meta.revision;
        let place_changed = self.location != old.location || self.join_url != old.join_url || self.format != old.format;
        let status_changed = self.status != old.status;
        let times_changed = self.start != old.start || self.end != old.end || self.time_zone != old.time_zone;
        self.sequence = old.sequence + u32::from(place_changed || status_changed || times_changed);
        // A moved session asks its invited participants again; turning invites on makes the
        // statuses answers, none given yet.
        if self.invite_participants && (self.sequence > old.sequence || !old.invite_participants) {
            for p in &mut self.participants {
                p.status = ParticipationStatus::NeedsAction;
            }
        }
        for slot in &mut self.slots {
            match old.slots.iter().find(|o| o.id == slot.id) {
                Some(o) => {
                    // People too: a speaker taken off gets a CANCEL and the others an updated
                    // REQUEST (RFC 5546 section 3.2.2), which clients apply only when SEQUENCE grows.
                    let changed = o.start != slot.start
                        || o.end != slot.end
                        || o.status != slot.status
                        || o.speakers != slot.speakers
                        || o.moderators != slot.moderators;
                    slot.sequence = o.sequence + u32::from(changed || place_changed || status_changed);
                    slot.answers = merge_answers(&o.answers, std::mem::take(&mut slot.answers));
                }
                None => {
                    let removed = old.removed_slots.iter().find(|r| r.slot.id == slot.id);
                    slot.sequence = removed.map_or(0, |r| r.slot.sequence + 1);
                    let kept = removed.map(|r| r.slot.answers.as_slice()).unwrap_or_default();
                    slot.answers = merge_answers(kept, std::mem::take(&mut slot.answers));
                }
            }
            // A slot's people are a few: looked up in place, not copied into a set per slot.
            let (speakers, moderators) = (&slot.speakers, &slot.moderators);
            slot.answers.retain(|a| speakers.contains(&a.person) || moderators.contains(&a.person));
        }
        let mut removed: Vec<RemovedSlot> = old
            .removed_slots
            .iter()
            .filter(|r| !self.slots.iter().any(|s| s.id == r.slot.id))
            .filter(|r| now.as_second() - r.removed_at.as_second() <= REMOVED_SLOT_RETENTION_SECONDS)
            .cloned()
            .collect();
        for gone in old.slots.iter().filter(|o| !self.slots.iter().any(|s| s.id == o.id)) {
            let mut slot = gone.clone();
            slot.status = SlotStatus::Cancelled;
            slot.sequence += 1;
            removed.push(RemovedSlot { slot, removed_at: now });
        }
        self.removed_slots = removed;
    }

    /// Makes `self`, a session read from an import file, the replacement of the stored `old`
    /// as an edit would be, and says whether it differs from `old` (when it does not, `self`
    /// equals `old` and nothing needs writing).
    ///
    /// An import must never move a SEQUENCE backwards (calendar clients would ignore the
    /// update, and the invite outbox would forget what it sent): [`Session::carry_over`]
    /// keeps the stored numbers and turns slots the file lacks into removed slots; on top of
    /// that, the session's sequence and each differing slot's go past the stored ones (a
    /// replacement is news to every calendar, whatever field changed), and never below the
    /// file's own. Removed slots the file brings are kept unless the agenda has them again.
    pub fn replace_over(&mut self, old: &Session, now: Timestamp) -> bool {
        // A file's answers only stand in for a new slot's: a stored slot keeps its own.
        let stored = old.slots.iter().chain(old.removed_slots.iter().map(|r| &r.slot));
        let stored: HashSet<&SlotId> = stored.map(|s| &s.id).collect();
        for slot in self.slots.iter_mut().filter(|s| stored.contains(&s.id)) {
            slot.answers.clear();
        }
        let file = self.clone();
        self.carry_over(old, now);
        self.sequence = self.sequence.max(file.sequence);
        for (slot, from_file) in self.slots.iter_mut().zip(&file.slots) {
            if let Some(o) = old.slots.iter().find(|o| o.id == slot.id)
                && !same_but_sequence(o, slot)
            {
                slot.sequence = slot.sequence.max(o.sequence + 1);
            }
            slot.sequence = slot.sequence.max(from_file.sequence);
        }
        for r in file.removed_slots {
            let on_agenda = self.slots.iter().any(|s| s.id == r.slot.id);
            match self.removed_slots.iter_mut().find(|k| k.slot.id == r.slot.id) {
                Some(kept) => kept.slot.sequence = kept.slot.sequence.max(r.slot.sequence),
                None if !on_agenda => self.removed_slots.push(r),
                None => {}
            }
        }
        self.meta.update_time = old.meta.update_time;
        let changed = Session { sequence: old.sequence, ..self.clone() } != *old;
        if changed {
            self.sequence = self.sequence.max(old.sequence + 1);
            self.meta.update_time = now;
        }
        changed
    }
}

/// The stored answers with `new` ones (a reply just recorded) in place of the same person's:
/// an edit that carries no answers (the API's slots never do) keeps the stored ones.
fn merge_answers(stored: &[SlotAnswer], new: Vec<SlotAnswer>) -> Vec<SlotAnswer> {
    let mut out = stored.to_vec();
    for a in new {
        match out.iter_mut().find(|o| o.person == a.person) {
            Some(o) => *o = a,
            None => out.push(a),
        }
    }
    out
}

/// Whether two versions of a slot are the same apart from their sequence numbers.
fn same_but_sequence(a: &Slot, b: &Slot) -> bool {
    Slot { sequence: b.sequence, ..a.clone() } == *b
}
