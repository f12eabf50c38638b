//! ScheduleService's requests: ListConflicts and QueryFreeBusy.

use super::{FromRequest, PAGE, Page, page_size, search_text, time_window};
use crate::api::convert::{Report, Reported, optional_id, parse_optional_time, person_ids};
use crate::api::page_token::PageCursor;
use crate::app::ConflictQuery;
use crate::domain::{ConflictCursor, PersonId, SessionId, Timestamp, Violations};
use crate::pb;

/// A ListConflicts page resumes after the sort key of the last conflict it showed.
impl PageCursor for ConflictCursor {}

/// The longest window a listing by window or organizer alone, or a free/busy query, may ask
/// for: a year, leap day included. It bounds the work of one request.
pub const MAX_WINDOW_SECONDS: i64 = 366 * 86_400;

/// At most this many people in one free/busy query (Google's freeBusy takes 50 calendars;
/// the benchmark asks for 100).
pub const MAX_FREE_BUSY_PEOPLE: usize = 100;

/// ListConflicts: what to list, and the page.
#[derive(Debug)]
pub struct ListConflicts {
    pub query: ConflictQuery,
    pub page: Page<ConflictCursor>,
}

impl FromRequest<pb::ListConflictsRequest> for ListConflicts {
    fn from_request(v: &mut Violations, r: &pb::ListConflictsRequest) -> Result<Self, Reported> {
        let person = optional_id(v, "person_id", &r.person_id, PersonId::parse);
        let session = optional_id(v, "session_id", &r.session_id, SessionId::parse);
        let organizer = search_text(&r.organizer);
        let (from, to) = time_window(v, r.from_time.as_ref(), r.to_time.as_ref());
        let (person, session) = (person?, session?);
        if person.is_none() && session.is_none() {
            match (from, to) {
                (Some(f), Some(t)) if t.as_second() - f.as_second() > MAX_WINDOW_SECONDS => {
                    v.add("to_time", "must be at most 366 days after from_time without person_id or session_id")
                }
                (Some(_), Some(_)) => {}
                _ => v.add(
                    "from_time",
                    "person_id, session_id, or both from_time and to_time are required (organizer needs the times)",
                ),
            }
        }
        let size = page_size(v, r.page_size, PAGE);
        let canonical = format!(
            "conflicts {:?} {:?} {:?} {from:?} {to:?}",
            r.person_id,
            r.session_id,
            r.organizer.trim().to_lowercase()
        );
        let page = Page::parse(v, size, &r.page_token, &canonical);
        let query = ConflictQuery { person, session, organizer, from, to };
        Ok(ListConflicts { query, page })
    }
}

/// QueryFreeBusy: the people and the window.
#[derive(Debug)]
pub struct QueryFreeBusy {
    pub people: Vec<PersonId>,
    pub from: Timestamp,
    pub to: Timestamp,
}

impl FromRequest<pb::QueryFreeBusyRequest> for QueryFreeBusy {
    fn from_request(v: &mut Violations, r: &pb::QueryFreeBusyRequest) -> Result<Self, Reported> {
        if r.person_ids.is_empty() {
            v.add("person_ids", "name at least one person");
        } else if r.person_ids.len() > MAX_FREE_BUSY_PEOPLE {
            v.add("person_ids", format!("at most {MAX_FREE_BUSY_PEOPLE} people per query"));
        }
        let people = person_ids(v, "person_ids", &r.person_ids);
        let from = parse_optional_time(v, "from_time", r.from_time.as_ref());
        let to = parse_optional_time(v, "to_time", r.to_time.as_ref());
        let window = match (from, to) {
            (Some(f), Some(t)) if t <= f => Err(v.reject("to_time", "must be after from_time")),
            (Some(f), Some(t)) if t.as_second() - f.as_second() > MAX_WINDOW_SECONDS => {
                Err(v.reject("to_time", "must be at most 366 days after from_time"))
            }
            (Some(f), Some(t)) => Ok((f, t)),
            (None, _) => Err(v.reject("from_time", "is required")),
            (_, None) => Err(v.reject("to_time", "is required")),
        };
        let (from, to) = window?;
        Ok(QueryFreeBusy { people: people?, from, to })
    }
}
