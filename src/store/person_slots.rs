//! What a session gives [`Store::person_slots`](super::Store::person_slots), the same in
//! every engine: which of its slots count, and the entry each one makes. The engines differ
//! only in where they read the sessions the slot index names (sled: its trees; etcd: its
//! local copy).

use crate::domain::{PersonId, PersonSlot, Session, Slot};

/// The slots of `session`, each with whether it was removed: its current slots, then, with
/// `include_removed`, its removed ones.
pub fn slots_of(session: &Session, include_removed: bool) -> impl Iterator<Item = (&Slot, bool)> {
    let current = session.slots.iter().map(|s| (s, false));
    let removed = session.removed_slots.iter().map(|r| (&r.slot, true)).filter(move |_| include_removed);
    current.chain(removed)
}

/// The entry for `slot` of `session` (removed or not), `None` when `person` has no role in it.
pub fn entry(session: &Session, slot: &Slot, removed: bool, person: &PersonId) -> Option<PersonSlot> {
    let roles = slot.roles_of(person);
    (!roles.is_empty()).then(|| PersonSlot {
        session_id: session.id.clone(),
        session_title: session.title.clone(),
        time_zone: session.time_zone.clone(),
        session_status: session.status,
        session_visibility: session.visibility,
        slot: slot.clone(),
        roles,
        removed,
    })
}
