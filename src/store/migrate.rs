//! `agenda migrate`: copies one store into another (sled to etcd and back) through the
//! [`Store`] contract only, so it works between any two engines and knows none of their keys.
//!
//! Order matters: people first, so that every session the copy writes names people that
//! already exist (the contract refuses anything else); then each session with the invites
//! recorded as sent for it; then the feed tokens. Records keep their ids, times and sequence
//! numbers; revisions are the destination's own (a revision is an etag, meaningful only in
//! the store that gave it), which is why an export, which carries no revision, compares equal.
//! It is meant for a store no server is writing meanwhile: a source written during the copy
//! is copied as the pages happen to read it.

use std::fmt;

use super::{Expect, Store, StoreError};
use crate::domain::{FeedToken, PeopleQuery, PersonCursor, SessionCursor, SessionFilter, SessionQuery};

/// Records read from the source per call.
const PAGE: usize = 500;

/// What a migration copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateSummary {
    pub people: usize,
    pub sessions: usize,
    pub sent_invites: usize,
    pub feed_tokens: usize,
}

impl fmt::Display for MigrateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "copied {} people, {} sessions, {} sent invite records, {} feed tokens",
            self.people, self.sessions, self.sent_invites, self.feed_tokens
        )
    }
}

/// Why a migration stopped. Records copied before it stay in the destination: run it again
/// with `--force` once the cause is fixed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The destination holds records: copying over them needs the caller's explicit consent.
    #[error("the destination already holds people, sessions or feed tokens; pass --force to copy over them")]
    NotEmpty,
    #[error("reading the source: {0}")]
    Source(StoreError),
    #[error("writing {kind} {id} to the destination: {source}")]
    Destination { kind: &'static str, id: String, source: StoreError },
    #[error("reading the destination: {0}")]
    Inspect(StoreError),
}

/// Copies every person, session (with its sent invites) and feed token of `from` into `to`.
/// Refuses a destination that holds any of them unless `force`, which replaces a record of
/// the same id (tokens and invites included) and leaves the others there.
pub async fn migrate(from: &dyn Store, to: &dyn Store, force: bool) -> Result<MigrateSummary, MigrateError> {
    if !force && !is_empty(to).await.map_err(MigrateError::Inspect)? {
        return Err(MigrateError::NotEmpty);
    }
    let mut summary = MigrateSummary::default();

    let mut after = None;
    loop {
        let query = PeopleQuery { text: String::new(), after: after.clone() };
        let page = from.list_people(&query, PAGE).await.map_err(MigrateError::Source)?;
        for person in &page {
            let failed = |source| MigrateError::Destination { kind: "person", id: person.id.to_string(), source };
            let current = to.get_person(&person.id).await.map_err(MigrateError::Inspect)?;
            to.put_person(person, expect_over(current.map(|p| p.meta.revision))).await.map_err(failed)?;
        }
        summary.people += page.len();
        match page.last() {
            Some(last) if page.len() == PAGE => {
                after = Some(PersonCursor { name: last.name.to_lowercase(), id: last.id.clone() });
            }
            _ => break,
        }
    }

    let mut after = None;
    loop {
        let page =
            from.list_sessions(&SessionQuery { filter: SessionFilter::default(), after: after.clone() }, PAGE).await;
        let page = page.map_err(MigrateError::Source)?;
        for session in &page {
            let failed = |source| MigrateError::Destination { kind: "session", id: session.id.to_string(), source };
            let current = to.get_session(&session.id).await.map_err(MigrateError::Inspect)?;
            to.put_session(session, expect_over(current.map(|s| s.meta.revision))).await.map_err(failed)?;
            let sent = from.invite_records(&session.id).await.map_err(MigrateError::Source)?;
            if !sent.is_empty() {
                let attempts: Vec<_> = sent.iter().flat_map(|r| r.attempts()).collect();
                to.record_invites(&attempts, None).await.map_err(failed)?;
            }
            summary.sent_invites += sent.len();
        }
        summary.sessions += page.len();
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(SessionCursor { start: last.start, id: last.id.clone() }),
            _ => break,
        }
    }

    let mut after: Option<String> = None;
    loop {
        let page = from.list_feed_tokens(after.as_deref(), PAGE).await.map_err(MigrateError::Source)?;
        for token in &page {
            put_token(to, token).await.map_err(|source| MigrateError::Destination {
                kind: "feed token",
                id: "(secret)".into(),
                source,
            })?;
        }
        summary.feed_tokens += page.len();
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.token.clone()),
            _ => break,
        }
    }
    Ok(summary)
}

/// Whether `store` holds no person, session or feed token.
async fn is_empty(store: &dyn Store) -> Result<bool, StoreError> {
    Ok(store.list_people(&PeopleQuery::default(), 1).await?.is_empty()
        && store.list_sessions(&SessionQuery::default(), 1).await?.is_empty()
        && store.list_feed_tokens(None, 1).await?.is_empty())
}

/// The expectation that writes a record over whatever the destination holds at its id.
fn expect_over(current: Option<u64>) -> Expect {
    current.map_or(Expect::Absent, Expect::Revision)
}

/// Writes `token`, replacing one of the same secret (tokens have no revision to compare).
async fn put_token(to: &dyn Store, token: &FeedToken) -> Result<(), StoreError> {
    match to.put_feed_token(token).await {
        Err(StoreError::Exists) => {
            to.delete_feed_token(&token.token).await?;
            to.put_feed_token(token).await
        }
        r => r,
    }
}
