//! PersonService requests as commands: a person, and the slots a person takes part in.

use super::{FromRequest, PAGE, Page, Target, page_size, search_text, time_window};
use crate::api::convert::{self as c, Report, Reported, person_id};
use crate::api::page_token::PageCursor;
use crate::domain::{Person, PersonCursor, PersonId, PersonPatch, PersonSlotCursor, Timestamp, Violations};
use crate::pb;

/// A ListPeople page resumes after the (lower-case name, id) of the last person it showed.
impl PageCursor for PersonCursor {}

/// A ListPersonSlots page resumes after the (start, session, slot) of the last slot it showed.
impl PageCursor for PersonSlotCursor {}

/// CreatePerson: a whole new person, checked against the domain's rules.
#[derive(Debug)]
pub struct CreatePerson {
    pub person: Person,
    /// The request id, when the client sent one (AIP-155).
    pub request: Option<crate::app::RequestKey>,
}

impl FromRequest<pb::CreatePersonRequest> for CreatePerson {
    fn from_request(v: &mut Violations, r: &pb::CreatePersonRequest) -> Result<Self, Reported> {
        let id = c::id(v, "person_id", &r.person_id, true, PersonId::parse, PersonId::generate);
        // An absent person is read as an empty one, so the answer names each required field.
        let person = c::new_person(v, "person", id.ok(), r.person.as_ref().unwrap_or(&pb::Person::default()));
        let request = super::request_key(v, "CreatePerson", r, &r.request_id, |r| r.request_id.clear());
        Ok(CreatePerson { person, request: request? })
    }
}

/// GetPerson.
#[derive(Debug)]
pub struct GetPerson {
    pub id: PersonId,
}

impl FromRequest<pb::GetPersonRequest> for GetPerson {
    fn from_request(v: &mut Violations, r: &pb::GetPersonRequest) -> Result<Self, Reported> {
        let id = person_id(v, "person_id", &r.person_id);
        Ok(GetPerson { id: id? })
    }
}

/// UpdatePerson: the fields its mask names (or that it sets), parsed.
#[derive(Debug)]
pub struct UpdatePerson {
    pub target: Target<PersonId>,
    pub patch: PersonPatch,
}

impl FromRequest<pb::UpdatePersonRequest> for UpdatePerson {
    fn from_request(v: &mut Violations, r: &pb::UpdatePersonRequest) -> Result<Self, Reported> {
        let Some(p) = &r.person else { return Err(v.reject("person", "is required")) };
        let target = Target::new(person_id(v, "person.id", &p.id), &p.etag);
        let patch = c::person_patch(v, "person", p, r.update_mask.as_ref());
        Ok(UpdatePerson { target: target?, patch })
    }
}

/// DeletePerson.
#[derive(Debug)]
pub struct DeletePerson {
    pub target: Target<PersonId>,
}

impl FromRequest<pb::DeletePersonRequest> for DeletePerson {
    fn from_request(v: &mut Violations, r: &pb::DeletePersonRequest) -> Result<Self, Reported> {
        let target = Target::new(person_id(v, "person_id", &r.person_id), &r.etag);
        Ok(DeletePerson { target: target? })
    }
}

/// ListPeople: the text to find in names and affiliations, and the page.
#[derive(Debug)]
pub struct ListPeople {
    /// Lower case; empty lists everyone.
    pub text: String,
    pub page: Page<PersonCursor>,
}

impl FromRequest<pb::ListPeopleRequest> for ListPeople {
    fn from_request(v: &mut Violations, r: &pb::ListPeopleRequest) -> Result<Self, Reported> {
        let size = page_size(v, r.page_size, PAGE);
        let text = search_text(&r.query).unwrap_or_default();
        let page = Page::parse(v, size, &r.page_token, &format!("people {text:?}"));
        Ok(ListPeople { text, page })
    }
}

/// ListPersonSlots: one person's slots in a time window, and the page.
#[derive(Debug)]
pub struct ListPersonSlots {
    pub person: PersonId,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub page: Page<PersonSlotCursor>,
}

impl FromRequest<pb::ListPersonSlotsRequest> for ListPersonSlots {
    fn from_request(v: &mut Violations, r: &pb::ListPersonSlotsRequest) -> Result<Self, Reported> {
        let person = person_id(v, "person_id", &r.person_id);
        let size = page_size(v, r.page_size, PAGE);
        let (from, to) = time_window(v, r.from_time.as_ref(), r.to_time.as_ref());
        let query = format!("person slots {:?} {from:?} {to:?}", r.person_id);
        let page = Page::parse(v, size, &r.page_token, &query);
        Ok(ListPersonSlots { person: person?, from, to, page })
    }
}
