//! Conflicts, commitments and busy periods out, as ScheduleService and the write answers show
//! them.

use super::scalars::{role, timestamp};
use crate::domain::{Commitment, Conflict, Engagement, Timestamp, Visibility};
use crate::pb;

/// One side of a conflict; a private session's side shows only its times unless
/// `sees_private` (see `Commitment.withheld` in the proto).
fn commitment_out(c: &Commitment, sees_private: bool) -> pb::Commitment {
    let withheld = c.visibility == Visibility::Private && !sees_private;
    let (slot_id, slot_title, roles, attendance) = match &c.engagement {
        Engagement::Slot { slot, title, roles } => (slot.to_string(), title.clone(), roles.clone(), false),
        Engagement::Attendance { role } => (String::new(), String::new(), vec![*role], true),
    };
    let mut out = pb::Commitment {
        session_id: c.session.to_string(),
        session_title: c.session_title.clone(),
        slot_id,
        slot_title,
        roles: roles.into_iter().map(role).collect(),
        start_time: Some(timestamp(c.start)),
        end_time: Some(timestamp(c.end)),
        time_zone: c.time_zone.to_string(),
        withheld,
        attendance,
    };
    if withheld {
        out.session_id.clear();
        out.session_title.clear();
        out.slot_id.clear();
        out.slot_title.clear();
        out.roles.clear();
    }
    out
}

pub fn conflict_out(c: &Conflict, sees_private: bool) -> pb::Conflict {
    let (start, end) = c.overlap();
    pb::Conflict {
        person_id: c.person().to_string(),
        first: Some(commitment_out(&c.first, sees_private)),
        second: Some(commitment_out(&c.second, sees_private)),
        overlap_start_time: Some(timestamp(start)),
        overlap_end_time: Some(timestamp(end)),
    }
}

/// The conflicts a write created, as its answer carries them: a writer's token covers every
/// session (scope `write`), so nothing is withheld.
pub fn created_out(conflicts: &[Conflict]) -> Vec<pb::Conflict> {
    conflicts.iter().map(|c| conflict_out(c, true)).collect()
}

pub fn busy_out(periods: &[(Timestamp, Timestamp)]) -> Vec<pb::BusyPeriod> {
    periods
        .iter()
        .map(|(start, end)| pb::BusyPeriod { start_time: Some(timestamp(*start)), end_time: Some(timestamp(*end)) })
        .collect()
}

/// A conflict in words, for a PreconditionFailure violation of a refused write.
pub fn describe(c: &Conflict) -> String {
    let side = |x: &Commitment| match &x.engagement {
        Engagement::Slot { slot, .. } => {
            format!("slot \"{slot}\" of session \"{}\" ({} to {})", x.session, x.start, x.end)
        }
        Engagement::Attendance { .. } => {
            format!("session \"{}\" as a participant ({} to {})", x.session, x.start, x.end)
        }
    };
    format!("{} is booked for {} and for {}", c.person(), side(&c.first), side(&c.second))
}
