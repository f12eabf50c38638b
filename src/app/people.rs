//! Person operations.

use super::{Agenda, MAX_RETRIES, check_etag, contention, now, paginate, write_failed};
use crate::domain::{
    PeopleQuery, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor, PersonSlotQuery, RecordMeta,
};
use crate::error::{Error, Kind};
use crate::store::{Expect, Once, StoreError};

impl Agenda {
    pub async fn create_person(&self, p: Person) -> Result<Person, Error> {
        self.create_person_with(p, None).await
    }

    /// [`Self::create_person`], kept under a request id when `once` is given.
    pub(super) async fn create_person_with(&self, mut p: Person, once: Option<Once>) -> Result<Person, Error> {
        p.validate()?;
        let t = now();
        p.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        let rev = self
            .write(|st| match &once {
                Some(o) => st.put_person_once(&p, Expect::Absent, o),
                None => st.put_person(&p, Expect::Absent),
            })
            .await
            .map_err(|e| write_failed(Kind::Person, p.id.as_str(), None, e))?;
        p.meta.revision = rev;
        self.counted(&p.id.clone(), Ok(p))
    }

    pub async fn get_person(&self, id: &PersonId) -> Result<Person, Error> {
        self.store.get_person(id).await?.ok_or_else(|| Error::not_found(Kind::Person, id))
    }

    pub async fn update_person(
        &self,
        id: &PersonId,
        etag: Option<&str>,
        change: impl Fn(&mut Person),
    ) -> Result<Person, Error> {
        let _stripe = self.shared.stripes.lock(Kind::Person, id.as_str()).await;
        for _ in 0..MAX_RETRIES {
            let old = self.get_person(id).await?;
            check_etag(Kind::Person, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new);
            new.validate()?;
            if new == old {
                return Ok(old);
            }
            new.meta.update_time = now();
            let expect = Expect::Revision(old.meta.revision);
            match self.write(|st| st.put_person(&new, expect)).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    return self.counted(id, Ok(new));
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => self.retried(),
                Err(e) => return Err(write_failed(Kind::Person, id.as_str(), etag, e)),
            }
        }
        Err(contention(Kind::Person, id.as_str()))
    }

    pub async fn delete_person(&self, id: &PersonId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let r = self
            .write(|st| st.delete_person(id, expect))
            .await
            .map_err(|e| write_failed(Kind::Person, id.as_str(), etag, e));
        self.counted(id, r)
    }

    pub async fn list_people(
        &self,
        text: String,
        after: Option<PersonCursor>,
        page_size: usize,
    ) -> Result<(Vec<Person>, Option<PersonCursor>), Error> {
        let page = self.store.list_people(&PeopleQuery { text, after }, page_size + 1).await?;
        Ok(paginate(page, page_size, |p| PersonCursor { name: p.name.to_lowercase(), id: p.id.clone() }))
    }

    /// One page of the slots `query` asks for, and where the next page starts (if there may
    /// be one); NOT_FOUND for an unknown person.
    pub async fn person_slots(
        &self,
        query: &PersonSlotQuery,
        page_size: usize,
    ) -> Result<(Vec<PersonSlot>, Option<PersonSlotCursor>), Error> {
        self.get_person(&query.person).await?;
        let page = self.store.person_slots(query, page_size + 1).await?;
        Ok(paginate(page, page_size, |p| PersonSlotCursor {
            start: p.slot.start,
            session: p.session_id.clone(),
            slot: p.slot.id.clone(),
        }))
    }

    /// Every slot `person` speaks in or moderates, page by page (recently removed ones too
    /// when `include_removed`).
    pub async fn all_person_slots(&self, person: &PersonId, include_removed: bool) -> Result<Vec<PersonSlot>, Error> {
        let mut query = PersonSlotQuery::all(person.clone(), include_removed);
        let mut out = Vec::new();
        loop {
            let (page, next) = self.person_slots(&query, 1000).await?;
            out.extend(page);
            match next {
                Some(n) => query.after = Some(n),
                None => return Ok(out),
            }
        }
    }
}
