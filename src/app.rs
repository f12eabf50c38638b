//! The service's operations: read, apply a domain change, validate, write with an etag check.
//!
//! This is where the API layers (gRPC, HTTP, the command line) meet the domain and the store.
//! It knows nothing of protobuf: requests arrive as domain values, failures leave as
//! [`Error`]. The store's blocking calls run on tokio's blocking pool so they never stall the
//! async reactor.

use std::sync::Arc;

use crate::domain::{
    Limits, Person, PersonCursor, PersonId, PersonSlot, PersonSlotCursor, RecordMeta, Session, SessionCursor,
    SessionFilter, SessionId, Timestamp,
};
use crate::error::{Error, Kind};
use crate::store::{Expect, Store, StoreError};

/// How often a read-modify-write without an etag is retried when another write got in
/// between. Each retry re-reads, so this only bounds pathological contention.
const MAX_RETRIES: usize = 16;

/// The operations of the service, over a store.
#[derive(Clone)]
pub struct Agenda {
    store: Arc<dyn Store>,
    limits: Limits,
}

/// Now, at the precision records keep (microseconds), so what a write returns equals what a
/// later read returns.
fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond()).expect("now is in range")
}

/// The revision an etag names, or a stale-etag error for anything unparsable (an etag from
/// elsewhere can never match).
fn check_etag(kind: Kind, id: &str, etag: Option<&str>, meta: &RecordMeta) -> Result<(), Error> {
    match etag {
        Some(e) if e != meta.etag() => {
            Err(Error::StaleEtag { kind, id: id.to_owned(), given: e.to_owned(), current: meta.etag() })
        }
        _ => Ok(()),
    }
}

fn unknown_person(s: &Session, p: &PersonId) -> Error {
    Error::invalid(s.field_naming(p), format!("names person {p:?}, who does not exist"))
}

impl Agenda {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        Self { store, limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs a blocking store call on the blocking pool.
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    // ----- sessions -----

    /// Creates a session. Its id must be new; the people it names must exist.
    pub async fn create_session(&self, mut s: Session) -> Result<Session, Error> {
        s.validate(&self.limits).map_err(Error::Invalid)?;
        s.sort_slots();
        let t = now();
        s.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        s.sequence = 0;
        for slot in &mut s.slots {
            slot.sequence = 0;
        }
        let stored = s.clone();
        let rev = self.store(move |st| st.put_session(&stored, Expect::Absent)).await.map_err(|e| match e {
            StoreError::Exists => Error::already_exists(Kind::Session, &s.id),
            StoreError::UnknownPerson(p) => unknown_person(&s, &p),
            e => e.into(),
        })?;
        s.meta.revision = rev;
        Ok(s)
    }

    /// Writes a session as loaded from an export (`import`): kept as given (times, sequence
    /// numbers), created or replaced by id. Returns whether anything changed.
    pub async fn import_session(&self, mut s: Session) -> Result<bool, Error> {
        s.validate(&self.limits).map_err(Error::Invalid)?;
        s.sort_slots();
        let id = s.id.clone();
        let current = self.store(move |st| st.get_session(&id)).await?;
        let expect = match &current {
            Some(c) => {
                s.meta.revision = c.meta.revision;
                if *c == s {
                    return Ok(false);
                }
                Expect::Revision(c.meta.revision)
            }
            None => Expect::Absent,
        };
        let stored = s.clone();
        self.store(move |st| st.put_session(&stored, expect)).await.map_err(|e| match e {
            StoreError::UnknownPerson(p) => unknown_person(&s, &p),
            e => e.into(),
        })?;
        Ok(true)
    }

    pub async fn get_session(&self, id: &SessionId) -> Result<Session, Error> {
        let key = id.clone();
        self.store(move |st| st.get_session(&key)).await?.ok_or_else(|| Error::not_found(Kind::Session, id))
    }

    /// The people a session names, in the order they first appear in it.
    pub async fn people_of(&self, s: &Session) -> Result<Vec<Person>, Error> {
        let ids: Vec<PersonId> = s.referenced_people().into_iter().collect();
        let people =
            self.store(move |st| ids.iter().map(|id| st.get_person(id)).collect::<Result<Vec<_>, _>>()).await?;
        Ok(people.into_iter().flatten().collect())
    }

    /// Changes a session by `change`, checking `etag` when given. Without an etag a write
    /// that raced with another is retried on the fresh record; with one, it is refused.
    pub async fn update_session(
        &self,
        id: &SessionId,
        etag: Option<&str>,
        change: impl Fn(&mut Session) -> Result<(), Error>,
    ) -> Result<Session, Error> {
        for _ in 0..MAX_RETRIES {
            let old = self.get_session(id).await?;
            check_etag(Kind::Session, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new)?;
            new.validate(&self.limits).map_err(Error::Invalid)?;
            new.sort_slots();
            new.carry_over(&old);
            if new == old {
                return Ok(old);
            }
            new.meta.update_time = now();
            let stored = new.clone();
            let expect = Expect::Revision(old.meta.revision);
            match self.store(move |st| st.put_session(&stored, expect)).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    return Ok(new);
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => continue,
                Err(StoreError::RevisionMismatch { current }) => {
                    return Err(Error::StaleEtag {
                        kind: Kind::Session,
                        id: id.to_string(),
                        given: etag.unwrap_or_default().to_owned(),
                        current: current.to_string(),
                    });
                }
                Err(StoreError::NotFound) => return Err(Error::not_found(Kind::Session, id)),
                Err(StoreError::UnknownPerson(p)) => return Err(unknown_person(&new, &p)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::FailedPrecondition {
            reason: "CONTENTION",
            message: format!("session {id:?} changed too often to apply the update; retry"),
        })
    }

    pub async fn delete_session(&self, id: &SessionId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let key = id.clone();
        self.store(move |st| st.delete_session(&key, expect)).await.map_err(|e| match e {
            StoreError::NotFound => Error::not_found(Kind::Session, id),
            StoreError::RevisionMismatch { current } => Error::StaleEtag {
                kind: Kind::Session,
                id: id.to_string(),
                given: etag.unwrap_or_default().to_owned(),
                current: current.to_string(),
            },
            e => e.into(),
        })
    }

    /// One page of sessions, and where the next page starts (if there may be one).
    pub async fn list_sessions(
        &self,
        filter: SessionFilter,
        after: Option<SessionCursor>,
        page_size: usize,
    ) -> Result<(Vec<Session>, Option<SessionCursor>), Error> {
        let mut page = self.store(move |st| st.list_sessions(&filter, after.as_ref(), page_size + 1)).await?;
        let next = if page.len() > page_size {
            page.truncate(page_size);
            page.last().map(|s| SessionCursor { start: s.start, id: s.id.clone() })
        } else {
            None
        };
        Ok((page, next))
    }

    // ----- people -----

    pub async fn create_person(&self, mut p: Person) -> Result<Person, Error> {
        p.validate().map_err(Error::Invalid)?;
        let t = now();
        p.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        let stored = p.clone();
        let rev = self.store(move |st| st.put_person(&stored, Expect::Absent)).await.map_err(|e| match e {
            StoreError::Exists => Error::already_exists(Kind::Person, &p.id),
            e => e.into(),
        })?;
        p.meta.revision = rev;
        Ok(p)
    }

    /// Writes a person as loaded from an export; returns whether anything changed.
    pub async fn import_person(&self, mut p: Person) -> Result<bool, Error> {
        p.validate().map_err(Error::Invalid)?;
        let id = p.id.clone();
        let current = self.store(move |st| st.get_person(&id)).await?;
        let expect = match &current {
            Some(c) => {
                p.meta.revision = c.meta.revision;
                if *c == p {
                    return Ok(false);
                }
                Expect::Revision(c.meta.revision)
            }
            None => Expect::Absent,
        };
        self.store(move |st| st.put_person(&p, expect)).await?;
        Ok(true)
    }

    pub async fn get_person(&self, id: &PersonId) -> Result<Person, Error> {
        let key = id.clone();
        self.store(move |st| st.get_person(&key)).await?.ok_or_else(|| Error::not_found(Kind::Person, id))
    }

    pub async fn update_person(
        &self,
        id: &PersonId,
        etag: Option<&str>,
        change: impl Fn(&mut Person),
    ) -> Result<Person, Error> {
        for _ in 0..MAX_RETRIES {
            let old = self.get_person(id).await?;
            check_etag(Kind::Person, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new);
            new.validate().map_err(Error::Invalid)?;
            if new == old {
                return Ok(old);
            }
            new.meta.update_time = now();
            let stored = new.clone();
            let expect = Expect::Revision(old.meta.revision);
            match self.store(move |st| st.put_person(&stored, expect)).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    return Ok(new);
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => continue,
                Err(StoreError::RevisionMismatch { current }) => {
                    return Err(Error::StaleEtag {
                        kind: Kind::Person,
                        id: id.to_string(),
                        given: etag.unwrap_or_default().to_owned(),
                        current: current.to_string(),
                    });
                }
                Err(StoreError::NotFound) => return Err(Error::not_found(Kind::Person, id)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::FailedPrecondition {
            reason: "CONTENTION",
            message: format!("person {id:?} changed too often to apply the update; retry"),
        })
    }

    pub async fn delete_person(&self, id: &PersonId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let key = id.clone();
        self.store(move |st| st.delete_person(&key, expect)).await.map_err(|e| match e {
            StoreError::NotFound => Error::not_found(Kind::Person, id),
            StoreError::RevisionMismatch { current } => Error::StaleEtag {
                kind: Kind::Person,
                id: id.to_string(),
                given: etag.unwrap_or_default().to_owned(),
                current: current.to_string(),
            },
            StoreError::PersonInUse { sessions } => Error::FailedPrecondition {
                reason: "PERSON_IN_USE",
                message: format!(
                    "person {id:?} is named by {sessions} session(s); remove them from those agendas first"
                ),
            },
            e => e.into(),
        })
    }

    pub async fn list_people(
        &self,
        text: String,
        after: Option<PersonCursor>,
        page_size: usize,
    ) -> Result<(Vec<Person>, Option<PersonCursor>), Error> {
        let mut page = self.store(move |st| st.list_people(&text, after.as_ref(), page_size + 1)).await?;
        let next = if page.len() > page_size {
            page.truncate(page_size);
            page.last().map(|p| PersonCursor { name: p.name.to_lowercase(), id: p.id.clone() })
        } else {
            None
        };
        Ok((page, next))
    }

    pub async fn person_slots(
        &self,
        person: &PersonId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<PersonSlotCursor>,
        page_size: usize,
    ) -> Result<(Vec<PersonSlot>, Option<PersonSlotCursor>), Error> {
        self.get_person(person).await?;
        let key = person.clone();
        let mut page = self.store(move |st| st.person_slots(&key, from, to, after.as_ref(), page_size + 1)).await?;
        let next = if page.len() > page_size {
            page.truncate(page_size);
            page.last().map(|p| PersonSlotCursor {
                start: p.slot.start,
                session: p.session_id.clone(),
                slot: p.slot.id.clone(),
            })
        } else {
            None
        };
        Ok((page, next))
    }
}
