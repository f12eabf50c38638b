//! `agenda.v1.PersonService`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::cache::{Key, ReadCache};
use super::codec::{Answer, EncodedMethod};
use super::convert::{self as c, person_id};
use super::{check, page_size, page_token, remap, under};
use crate::app::Agenda;
use crate::domain::{PersonCursor, PersonId, PersonSlotCursor, SessionId, SlotId, Timestamp, Violations};
use crate::links::FeedLinks;
use crate::pb::{self, person_service_server::PersonService};

/// The PersonService implementation.
pub struct PersonApi {
    agenda: Agenda,
    links: FeedLinks,
    /// GetPerson's encoded answers (shared with SessionService's GetSession).
    cache: ReadCache,
}

impl PersonApi {
    pub fn new(agenda: Agenda, links: FeedLinks, cache: ReadCache) -> Self {
        Self { agenda, links, cache }
    }

    /// GetPerson's answer and the person's revision.
    async fn get_person_answer(&self, r: &pb::GetPersonRequest) -> Result<(pb::GetPersonResponse, u64), Status> {
        let mut v = Violations::new("");
        let id = person_id(&mut v, "person_id", &r.person_id);
        check(v)?;
        let p = self.agenda.get_person(&id.expect("checked")).await?;
        Ok((pb::GetPersonResponse { person: Some(c::person_out(&p, &self.links)) }, p.meta.revision))
    }
}

/// The gRPC path of GetPerson, answered by [`GetPersonEncoded`].
pub const GET_PERSON: &str = "/agenda.v1.PersonService/GetPerson";

/// GetPerson from the read cache, as GetSession (`sessions.rs`).
#[derive(Clone)]
pub struct GetPersonEncoded(pub Arc<PersonApi>);

impl EncodedMethod<pb::GetPersonRequest> for GetPersonEncoded {
    fn answer(&self, req: Request<pb::GetPersonRequest>) -> Answer {
        let api = Arc::clone(&self.0);
        Box::pin(async move {
            let r = req.into_inner();
            api.cache.answer(Key::Person(r.person_id.as_str().into()), api.get_person_answer(&r)).await
        })
    }
}

type Reply<T> = Result<Response<T>, Status>;

const BAD_TOKEN: &str = "is not a page token issued by this service";

#[tonic::async_trait]
impl PersonService for PersonApi {
    async fn create_person(&self, req: Request<pb::CreatePersonRequest>) -> Reply<pb::CreatePersonResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = c::id(&mut v, "person_id", &r.person_id, true, PersonId::parse, PersonId::generate);
        // An absent person is read as an empty one, so the answer names each required field.
        let person = c::new_person(&mut v, "person", id, &r.person.unwrap_or_default());
        check(v)?;
        let p = self.agenda.create_person(person).await.map_err(|e| remap(e, under("person")))?;
        Ok(Response::new(pb::CreatePersonResponse { person: Some(c::person_out(&p, &self.links)) }))
    }

    async fn get_person(&self, req: Request<pb::GetPersonRequest>) -> Reply<pb::GetPersonResponse> {
        Ok(Response::new(self.get_person_answer(req.get_ref()).await?.0))
    }

    async fn update_person(&self, req: Request<pb::UpdatePersonRequest>) -> Reply<pb::UpdatePersonResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let Some(p) = &r.person else {
            v.add("person", "is required");
            return Err(super::status::invalid(&v));
        };
        let id = person_id(&mut v, "person.id", &p.id);
        let patch = c::person_patch(&mut v, "person", p, r.update_mask.as_ref());
        check(v)?;
        let updated = self
            .agenda
            .update_person(&id.expect("checked"), c::etag(&p.etag), |person| patch.clone().apply(person))
            .await
            .map_err(|e| remap(e, under("person")))?;
        Ok(Response::new(pb::UpdatePersonResponse { person: Some(c::person_out(&updated, &self.links)) }))
    }

    async fn delete_person(&self, req: Request<pb::DeletePersonRequest>) -> Reply<pb::DeletePersonResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = person_id(&mut v, "person_id", &r.person_id);
        check(v)?;
        self.agenda.delete_person(&id.expect("checked"), c::etag(&r.etag)).await?;
        Ok(Response::new(pb::DeletePersonResponse {}))
    }

    async fn list_people(&self, req: Request<pb::ListPeopleRequest>) -> Reply<pb::ListPeopleResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let size = page_size(&mut v, r.page_size);
        let text = r.query.trim().to_lowercase();
        let fingerprint = page_token::fingerprint(&format!("people {text:?}"));
        let after = match page_token::decode(&r.page_token, fingerprint) {
            Ok(cursor) => cursor.and_then(|cur| match PersonId::parse(&cur.b) {
                Ok(id) => Some(PersonCursor { name: cur.a, id }),
                Err(_) => {
                    v.add("page_token", BAD_TOKEN);
                    None
                }
            }),
            Err(e) => {
                v.extend(e);
                None
            }
        };
        check(v)?;
        let (people, next) = self.agenda.list_people(text, after, size).await?;
        Ok(Response::new(pb::ListPeopleResponse {
            people: people.iter().map(|p| c::person_out(p, &self.links)).collect(),
            next_page_token: next
                .map(|n| {
                    page_token::encode(fingerprint, page_token::Cursor { time: 0, a: n.name, b: n.id.to_string() })
                })
                .unwrap_or_default(),
        }))
    }

    async fn list_person_slots(&self, req: Request<pb::ListPersonSlotsRequest>) -> Reply<pb::ListPersonSlotsResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let id = person_id(&mut v, "person_id", &r.person_id);
        let size = page_size(&mut v, r.page_size);
        let from = c::parse_optional_time(&mut v, "from_time", r.from_time.as_ref());
        let to = c::parse_optional_time(&mut v, "to_time", r.to_time.as_ref());
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            v.add("to_time", "must be after from_time");
        }
        let fingerprint = page_token::fingerprint(&format!("person slots {:?} {from:?} {to:?}", r.person_id));
        let after = match page_token::decode(&r.page_token, fingerprint) {
            Ok(cursor) => cursor.and_then(|cur| {
                let parsed =
                    (Timestamp::from_second(cur.time).ok(), SessionId::parse(&cur.a).ok(), SlotId::parse(&cur.b).ok());
                match parsed {
                    (Some(start), Some(session), Some(slot)) => Some(PersonSlotCursor { start, session, slot }),
                    _ => {
                        v.add("page_token", BAD_TOKEN);
                        None
                    }
                }
            }),
            Err(e) => {
                v.extend(e);
                None
            }
        };
        check(v)?;
        let (slots, next) = self.agenda.person_slots(&id.expect("checked"), from, to, after, size, false).await?;
        Ok(Response::new(pb::ListPersonSlotsResponse {
            slots: slots.iter().map(c::person_slot_out).collect(),
            next_page_token: next
                .map(|n| {
                    page_token::encode(
                        fingerprint,
                        page_token::Cursor {
                            time: n.start.as_second(),
                            a: n.session.to_string(),
                            b: n.slot.to_string(),
                        },
                    )
                })
                .unwrap_or_default(),
        }))
    }
}
