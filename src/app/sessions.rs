//! Session operations: create, read, change (with an etag check or retries), delete, list.

use super::schedule::ConflictPolicy;
use super::{Agenda, MAX_RETRIES, check_etag, contention, now, paginate, unknown_person, write_failed};
use crate::domain::{Conflict, Person, RecordMeta, Session, SessionCursor, SessionFilter, SessionId, SessionQuery};
use crate::error::{Error, Kind};
use crate::store::{Expect, Once, StoreError};

impl Agenda {
    /// Creates a session. Its id must be new; the people it names must exist. No conflict
    /// check (imports, the demo): see [`Agenda::create_session_once`].
    pub async fn create_session(&self, s: Session) -> Result<Session, Error> {
        Ok(self.create_session_with(s, None, ConflictPolicy::Skip).await?.0)
    }

    /// [`Self::create_session`], kept under a request id when `once` is given, saying which
    /// double bookings it creates (or refusing it for them, as `policy` says).
    pub(super) async fn create_session_with(
        &self,
        mut s: Session,
        once: Option<Once>,
        policy: ConflictPolicy,
    ) -> Result<(Session, Vec<Conflict>), Error> {
        s.validate(&self.limits)?;
        s.sort_slots();
        let t = now();
        s.meta = RecordMeta { create_time: t, update_time: t, revision: 0 };
        s.sequence = 0;
        s.removed_slots.clear();
        for slot in &mut s.slots {
            slot.sequence = 0;
            slot.answers.clear();
        }
        let conflicts = self.check_conflicts(policy, None, &s).await?;
        let rev = self
            .write(|st| match &once {
                Some(o) => st.put_session_once(&s, Expect::Absent, o),
                None => st.put_session(&s, Expect::Absent),
            })
            .await
            .map_err(|e| match e {
                StoreError::UnknownPerson(p) => unknown_person(&s, &p),
                e => write_failed(Kind::Session, s.id.as_str(), None, e),
            })?;
        s.meta.revision = rev;
        self.committed(rev);
        Ok((s, conflicts))
    }

    pub async fn get_session(&self, id: &SessionId) -> Result<Session, Error> {
        self.store.get_session(id).await?.ok_or_else(|| Error::not_found(Kind::Session, id))
    }

    /// The people a session names, in the order they first appear in it.
    pub async fn people_of(&self, s: &Session) -> Result<Vec<Person>, Error> {
        let mut people = Vec::new();
        for id in s.referenced_people() {
            people.extend(self.store.get_person(&id).await?);
        }
        Ok(people)
    }

    /// Changes a session by `change`, checking `etag` when given. Without an etag a write
    /// that raced with another is retried on the fresh record; with one, it is refused.
    pub async fn update_session(
        &self,
        id: &SessionId,
        etag: Option<&str>,
        change: impl Fn(&mut Session) -> Result<(), crate::domain::Error>,
    ) -> Result<Session, Error> {
        Ok(self.update_session_with(id, etag, None, ConflictPolicy::Skip, change).await?.0)
    }

    /// [`Self::update_session`], kept under a request id when `once` is given, saying which
    /// double bookings the change creates (or refusing it for them, as `policy` says). The
    /// check runs on each attempt, against the record that attempt changes.
    pub(super) async fn update_session_with(
        &self,
        id: &SessionId,
        etag: Option<&str>,
        once: Option<Once>,
        policy: ConflictPolicy,
        change: impl Fn(&mut Session) -> Result<(), crate::domain::Error>,
    ) -> Result<(Session, Vec<Conflict>), Error> {
        let _stripe = self.shared.stripes.lock(Kind::Session, id.as_str()).await;
        for _ in 0..MAX_RETRIES {
            let old = self.get_session(id).await?;
            check_etag(Kind::Session, id.as_str(), etag, &old.meta)?;
            let mut new = old.clone();
            change(&mut new)?;
            new.validate(&self.limits)?;
            new.sort_slots();
            let t = now();
            new.carry_over(&old, t);
            if new == old {
                return Ok((old, Vec::new()));
            }
            new.meta.update_time = t;
            let conflicts = self.check_conflicts(policy, Some(&old), &new).await?;
            let expect = Expect::Revision(old.meta.revision);
            match self.write(|st| st.put_session_over(&new, &old, expect, once.as_ref())).await {
                Ok(rev) => {
                    new.meta.revision = rev;
                    self.committed(rev);
                    return Ok((new, conflicts));
                }
                Err(StoreError::RevisionMismatch { .. }) if etag.is_none() => self.retried(),
                Err(StoreError::UnknownPerson(p)) => return Err(unknown_person(&new, &p)),
                Err(e) => return Err(write_failed(Kind::Session, id.as_str(), etag, e)),
            }
        }
        Err(contention(Kind::Session, id.as_str()))
    }

    pub async fn delete_session(&self, id: &SessionId, etag: Option<&str>) -> Result<(), Error> {
        let expect = etag.map(|e| e.parse::<u64>().unwrap_or(0));
        let rev = self
            .write(|st| st.delete_session(id, expect))
            .await
            .map_err(|e| write_failed(Kind::Session, id.as_str(), etag, e))?;
        self.committed(rev);
        Ok(())
    }

    /// One page of sessions, and where the next page starts (if there may be one).
    pub async fn list_sessions(
        &self,
        filter: SessionFilter,
        after: Option<SessionCursor>,
        page_size: usize,
    ) -> Result<(Vec<Session>, Option<SessionCursor>), Error> {
        let page = self.store.list_sessions(&SessionQuery { filter, after }, page_size + 1).await?;
        Ok(paginate(page, page_size, |s| SessionCursor { start: s.start, id: s.id.clone() }))
    }

    /// Every session matching `filter`, page by page.
    pub async fn all_sessions(&self, filter: SessionFilter) -> Result<Vec<Session>, Error> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.list_sessions(filter.clone(), after, 1000).await?;
            out.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }
}
