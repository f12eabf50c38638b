//! iCalendar: pure functions from domain values to calendar text (and, for invites, back).
//!
//! - `lines`: the content-line rules (escaping, RFC 6868 parameters, folding).
//! - `vtimezone`: VTIMEZONE components from the bundled tz database.
//! - `feed`: the PUBLISH calendars served as subscription feeds.
//! - `itip`: invites (REQUEST, CANCEL) and replies (REPLY), RFC 5546.
//! - `freebusy`: a person's busy time as a published VFREEBUSY.

pub mod feed;
pub mod freebusy;
pub mod itip;
pub mod lines;
pub mod vtimezone;
