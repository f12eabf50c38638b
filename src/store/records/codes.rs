//! The stable one-byte codes domain enums are stored as.
//!
//! Why codes and not positions: reordering or extending a domain enum must not change what
//! an old record means. A code, once stored, keeps its meaning for good; a new variant takes
//! a new code.

use super::StoreError;
use crate::domain::{
    Format, InviteMethod, MaterialKind, ParticipationStatus, Role, SessionStatus, SlotKind, SlotStatus, Visibility,
};

/// Maps a domain enum to stable one-byte codes and back.
macro_rules! codes {
    ($enum:ident, $to:ident, $from:ident { $($variant:ident = $code:literal),* $(,)? }) => {
        pub(super) fn $to(v: $enum) -> u8 {
            match v { $($enum::$variant => $code),* }
        }
        pub(super) fn $from(c: u8) -> Result<$enum, StoreError> {
            match c {
                $($code => Ok($enum::$variant),)*
                _ => Err(StoreError::Corrupt(format!("unknown {} code {c}", stringify!($enum)))),
            }
        }
    };
}

codes!(Format, format_code, format_of { Online = 1, InPerson = 2, Hybrid = 3 });
codes!(SessionStatus, session_status_code, session_status_of { Scheduled = 1, Cancelled = 2, Completed = 3 });
codes!(Visibility, visibility_code, visibility_of { Public = 1, Private = 2 });
codes!(MaterialKind, material_kind_code, material_kind_of {
    Slides = 1, Programme = 2, ParticipantList = 3, Recording = 4, Document = 5, Other = 6,
});
codes!(SlotKind, slot_kind_code, slot_kind_of {
    Opening = 1, Presentation = 2, Panel = 3, Discussion = 4, Break = 5, Closing = 6, Other = 7,
});
codes!(SlotStatus, slot_status_code, slot_status_of { Scheduled = 1, Cancelled = 2 });
codes!(Role, role_code, role_of { Organizer = 1, Moderator = 2, Speaker = 3, Participant = 4 });
codes!(ParticipationStatus, partstat_code, partstat_of { NeedsAction = 1, Accepted = 2, Tentative = 3, Declined = 4 });

pub(super) fn method_code(m: InviteMethod) -> u8 {
    match m {
        InviteMethod::Request => 1,
        InviteMethod::Cancel => 2,
    }
}

pub(super) fn method_of(c: u8) -> Result<InviteMethod, StoreError> {
    match c {
        1 => Ok(InviteMethod::Request),
        2 => Ok(InviteMethod::Cancel),
        c => Err(StoreError::Corrupt(format!("unknown invite method code {c}"))),
    }
}
