//! `agenda.v1.PersonService`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::cache::{Key, ReadCache};
use super::codec::{Answer, EncodedMethod};
use super::convert as c;
use super::requests::{CreatePerson, DeletePerson, GetPerson, ListPeople, ListPersonSlots, UpdatePerson, parse};
use super::{remap, under};
use crate::app::Agenda;
use crate::domain::PersonSlotQuery;
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
        let GetPerson { id } = parse(r)?;
        let p = self.agenda.get_person(&id).await?;
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

#[tonic::async_trait]
impl PersonService for PersonApi {
    async fn create_person(&self, req: Request<pb::CreatePersonRequest>) -> Reply<pb::CreatePersonResponse> {
        let CreatePerson { person, request } = parse(req.get_ref())?;
        let p =
            self.agenda.create_person_once(person, request.as_ref()).await.map_err(|e| remap(e, under("person")))?;
        Ok(Response::new(pb::CreatePersonResponse { person: Some(c::person_out(&p, &self.links)) }))
    }

    async fn get_person(&self, req: Request<pb::GetPersonRequest>) -> Reply<pb::GetPersonResponse> {
        Ok(Response::new(self.get_person_answer(req.get_ref()).await?.0))
    }

    async fn update_person(&self, req: Request<pb::UpdatePersonRequest>) -> Reply<pb::UpdatePersonResponse> {
        let UpdatePerson { target, patch } = parse(req.get_ref())?;
        let updated = self
            .agenda
            .update_person(&target.id, target.etag(), |person| patch.clone().apply(person))
            .await
            .map_err(|e| remap(e, under("person")))?;
        Ok(Response::new(pb::UpdatePersonResponse { person: Some(c::person_out(&updated, &self.links)) }))
    }

    async fn delete_person(&self, req: Request<pb::DeletePersonRequest>) -> Reply<pb::DeletePersonResponse> {
        let DeletePerson { target } = parse(req.get_ref())?;
        self.agenda.delete_person(&target.id, target.etag()).await?;
        Ok(Response::new(pb::DeletePersonResponse {}))
    }

    async fn list_people(&self, req: Request<pb::ListPeopleRequest>) -> Reply<pb::ListPeopleResponse> {
        let ListPeople { text, mut page } = parse(req.get_ref())?;
        let (people, next) = self.agenda.list_people(text, page.after.take(), page.size).await?;
        Ok(Response::new(pb::ListPeopleResponse {
            people: people.iter().map(|p| c::person_out(p, &self.links)).collect(),
            next_page_token: page.next_token(next.as_ref()),
        }))
    }

    async fn list_person_slots(&self, req: Request<pb::ListPersonSlotsRequest>) -> Reply<pb::ListPersonSlotsResponse> {
        let ListPersonSlots { person, from, to, mut page } = parse(req.get_ref())?;
        let query = PersonSlotQuery { person, from, to, after: page.after.take(), include_removed: false };
        let (slots, next) = self.agenda.person_slots(&query, page.size).await?;
        Ok(Response::new(pb::ListPersonSlotsResponse {
            slots: slots.iter().map(c::person_slot_out).collect(),
            next_page_token: page.next_token(next.as_ref()),
        }))
    }
}
