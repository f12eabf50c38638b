//! The key layout (the table in the module documentation): every key of a store, under its
//! prefix and the layout's version.

use crate::domain::{Attempt, PersonId, SessionId};
use crate::store::keys::{self, prefix_end, term};

/// The key layout (see the module documentation).
#[derive(Debug, Clone)]
pub(super) struct Keys {
    /// `<prefix>a1/`: every key of the store starts with it.
    pub(super) root: Vec<u8>,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self { root: format!("{prefix}a1/").into_bytes() }
    }

    /// `root`, `kind`, `/`, then `parts`.
    fn key(&self, kind: &str, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = self.root.clone();
        k.extend_from_slice(kind.as_bytes());
        k.push(b'/');
        for p in parts {
            k.extend_from_slice(p);
        }
        k
    }

    pub(super) fn session(&self, id: &SessionId) -> Vec<u8> {
        self.key("s", &[id.as_str().as_bytes()])
    }

    pub(super) fn person(&self, id: &PersonId) -> Vec<u8> {
        self.key("p", &[id.as_str().as_bytes()])
    }

    pub(super) fn reference(&self, person: &PersonId, session: &SessionId) -> Vec<u8> {
        self.key("r", &[&term(person.as_str()), session.as_str().as_bytes()])
    }

    /// Every reference to `person`: the range the in-use compare runs over.
    pub(super) fn references_of(&self, person: &PersonId) -> Vec<u8> {
        self.key("r", &[&term(person.as_str())])
    }

    pub(super) fn token(&self, token: &str) -> Vec<u8> {
        self.key("t", &[token.as_bytes()])
    }

    /// Every feed token's key starts with it.
    pub(super) fn tokens(&self) -> Vec<u8> {
        self.key("t", &[])
    }

    /// Every session's key starts with it.
    pub(super) fn sessions(&self) -> Vec<u8> {
        self.key("s", &[])
    }

    /// Every person's key starts with it.
    pub(super) fn people(&self) -> Vec<u8> {
        self.key("p", &[])
    }

    /// The invite record an attempt updates, laid out as in the sled engine.
    pub(super) fn invite(&self, attempt: &Attempt) -> Vec<u8> {
        self.key("i", &[&keys::invite(attempt)])
    }

    pub(super) fn invites_of(&self, session: &SessionId) -> Vec<u8> {
        self.key("i", &[&keys::invites_of(session)])
    }

    pub(super) fn revision(&self) -> Vec<u8> {
        self.key("m", &[b"rev"])
    }

    /// The key of a role's holder ([`super::leader`]): its value the replica's name, its
    /// create revision the fencing token.
    pub(super) fn leader(&self, role: &str) -> Vec<u8> {
        self.key("l", &[role.as_bytes()])
    }

    /// A request id's first result (`requests`).
    pub(super) fn kept(&self, id: &[u8; 16]) -> Vec<u8> {
        self.key("q", &[id])
    }

    /// The sweep's key of a result kept at `at` under `id`: time-ordered.
    pub(super) fn kept_time(&self, at: crate::domain::Timestamp, id: &[u8; 16]) -> Vec<u8> {
        let micros = u64::try_from(at.as_microsecond()).unwrap_or(0);
        self.key("qt", &[&micros.to_be_bytes(), id])
    }

    /// Every sweep key starts with it.
    pub(super) fn kept_times(&self) -> Vec<u8> {
        self.key("qt", &[])
    }

    pub(super) fn compacted(&self) -> Vec<u8> {
        self.key("m", &[b"compacted"])
    }
}

/// The end of the range of keys starting with `prefix` (ours never end in 0xff bytes only).
pub(super) fn end_of(prefix: &[u8]) -> Vec<u8> {
    prefix_end(prefix).unwrap_or_else(|| vec![0])
}
