//! `agenda check`: the whole store checked against itself.

use std::sync::atomic::Ordering;

use super::recovery::unapplied;
use super::{SledStore, revision_key};
use crate::store::StoreError;
use crate::store::memindex::{self, Doc, Indexes};
use crate::store::records::{decode_person, decode_session};

impl SledStore {
    /// Checks the whole store: every record decodes under its own id at a revision no later
    /// than the store's, the last log entry's write is applied, every person a session names
    /// exists, and the in-memory indexes (reference counts included) equal a recomputation
    /// from the records. The list of problems, empty when all holds. Reads the whole store,
    /// holding writes off meanwhile.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let live = self.read_ix();
        let store_rev = self.revision.load(Ordering::Acquire);
        let mut problems = Vec::new();
        let mut people = Vec::new();
        for item in self.people.iter() {
            let (k, v) = item?;
            let p = decode_person(&v)?;
            check_record(&mut problems, "person", &k, p.id.as_str(), p.meta.revision, store_rev);
            people.push(p);
        }
        let mut sessions = Vec::new();
        for item in self.sessions.iter() {
            let (k, v) = item?;
            let s = decode_session(&v)?;
            check_record(&mut problems, "session", &k, s.id.as_str(), s.meta.revision, store_rev);
            let doc = Doc::of(&s);
            sessions.push((s, doc));
        }
        if let Some((k, v)) = self.changes.last()? {
            let rev = revision_key(&k)?;
            if let Some(problem) = unapplied(&self.sessions, &self.people, rev, &v)? {
                problems.push(problem);
            }
        }
        let recomputed =
            memindex::build(&people, sessions.iter().map(|(s, doc)| (s.id.as_str(), s.meta.revision, doc)));
        for (s, doc) in &sessions {
            if let Some(p) = recomputed.missing_person(doc) {
                problems.push(format!("session {} names missing person {p}", s.id));
            }
        }
        problems.extend(Indexes::differences(&live.canonical(), &recomputed.canonical()));
        Ok(problems)
    }
}

/// A record is stored under its own id, at a revision the store has reached.
fn check_record(problems: &mut Vec<String>, kind: &str, key: &[u8], id: &str, revision: u64, store_rev: u64) {
    if key != id.as_bytes() {
        problems.push(format!("{kind} record under key {:?} has id {id}", String::from_utf8_lossy(key)));
    }
    if revision > store_rev {
        problems.push(format!("{kind} {id} is at revision {revision}, after the store's {store_rev}"));
    }
}
