//! The sled engine's indexes, kept in memory (the informer pattern: list, then follow the log).
//!
//! Why in memory: on disk, the indexes of one session cost about 50 keys per create, at 7-10 us
//! of sled CPU each, inside one transaction that sled 0.34 serializes process-wide. Here they
//! are built once at open from the records, then maintained by the write path under the same
//! short lock that orders the writes, so they can never drift from the records the log says
//! are applied. Queries read candidate keys here and the records they return from sled.
//!
//! Compact by construction (100,000 sessions, 1,000,000 slots): people, tags and organizer
//! names are interned to `u32`; session ids and slot ids are shared `Arc<str>`s, one
//! allocation per distinct string, so an index entry is a few words and no heap block. A
//! session's own entries are not kept beside it: the write path computes the old entries from
//! the old record, which it reads anyway to check the expected revision.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use crate::domain::{Person, Session};

/// A session id, shared by every index entry of the session.
pub type Sid = Arc<str>;

/// An index of sessions: `(term, start, session) -> end`, seconds. `by_start` uses term 0.
type SessionIndex = BTreeMap<(u32, i64, Sid), i64>;
/// `(person, slot start, session, slot) -> slot end`.
type SlotIndex = BTreeMap<(u32, i64, Sid, Arc<str>), i64>;

/// Which session index a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ix {
    Start,
    Person,
    Organizer,
    Tag,
}

/// The index fields of one session: a pure function of the record, so the entries a write
/// removes are exactly the ones an earlier write of that record inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub start: i64,
    pub end: i64,
    /// Every person the session names (any role), sorted, unique.
    pub people: Vec<String>,
    /// Organizer name and short name, lower case, non-empty, unique.
    pub organizers: Vec<String>,
    /// Tags, lower case, unique.
    pub tags: Vec<String>,
    /// `(person, slot start, slot end, slot id)`, removed slots too (a person's feed shows
    /// them cancelled).
    pub slots: Vec<(String, i64, i64, String)>,
}

/// One slot's part of a [`Doc`]: id, start, end, and the people who speak or moderate.
pub type SlotParts<'a> = (&'a str, i64, i64, BTreeSet<&'a str>);

impl Doc {
    pub fn of(s: &Session) -> Doc {
        let slots = s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot)).map(|slot| {
            let people = slot.speakers.iter().chain(&slot.moderators).map(|p| p.as_str()).collect();
            (slot.id.as_str(), slot.start.as_second(), slot.end.as_second(), people)
        });
        let people = s.referenced_people();
        Doc::from_parts(
            (s.start.as_second(), s.end.as_second()),
            people.iter().map(|p| p.as_str()).collect(),
            [&s.organizer.name, &s.organizer.short_name],
            s.tags.iter().map(String::as_str),
            slots,
        )
    }

    /// The one place a `Doc` is put together, from a domain session ([`Doc::of`]) or straight
    /// from a stored record (`records::session_doc`, at open): `people` are every person the
    /// session names, `slots` its current and removed slots.
    pub fn from_parts<'a>(
        (start, end): (i64, i64),
        people: BTreeSet<&'a str>,
        organizer: [&'a str; 2],
        tags: impl Iterator<Item = &'a str>,
        slots: impl Iterator<Item = SlotParts<'a>>,
    ) -> Doc {
        let organizers: BTreeSet<String> =
            organizer.into_iter().filter(|n| !n.is_empty()).map(str::to_lowercase).collect();
        let tags: BTreeSet<String> = tags.map(str::to_lowercase).collect();
        let mut slot_entries = Vec::new();
        for (id, slot_start, slot_end, people) in slots {
            for p in people {
                slot_entries.push((p.to_owned(), slot_start, slot_end, id.to_owned()));
            }
        }
        Doc {
            start,
            end,
            people: people.into_iter().map(str::to_owned).collect(),
            organizers: organizers.into_iter().collect(),
            tags: tags.into_iter().collect(),
            slots: slot_entries,
        }
    }
}

/// Strings to dense numbers, never forgotten (a deleted person's number is reused if the id
/// comes back; the strings are few).
#[derive(Default)]
struct Interner {
    numbers: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    fn get(&self, s: &str) -> Option<u32> {
        self.numbers.get(s).copied()
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(n) = self.get(s) {
            return n;
        }
        let n = u32::try_from(self.strings.len()).expect("fewer than 2^32 distinct names");
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(Arc::clone(&shared));
        self.numbers.insert(shared, n);
        n
    }

    fn name(&self, n: u32) -> &str {
        &self.strings[n as usize]
    }
}

/// What the indexes hold of a person.
#[derive(Clone)]
struct PersonState {
    revision: u64,
    name_lower: Box<str>,
}

/// Every index of the sled engine, and the per-record state the write path checks.
#[derive(Default)]
pub struct Indexes {
    people_ix: Interner,
    /// Tags and organizer names (lower case).
    terms: Interner,
    /// Slot ids, shared across sessions ("talk", "opening" recur).
    slot_ids: HashSet<Arc<str>>,
    /// Session id -> its current revision (the etag a write's `Expect` is checked against).
    sessions: HashMap<Sid, u64>,
    by_start: SessionIndex,
    by_person: SessionIndex,
    by_organizer: SessionIndex,
    by_tag: SessionIndex,
    slots_by_person: SlotIndex,
    /// By person number; `None` for a number whose person was deleted.
    people: Vec<Option<PersonState>>,
    /// By person number: how many sessions name the person.
    refs: Vec<u64>,
    /// `(lower-case name, id)`.
    people_by_name: BTreeSet<(Box<str>, Arc<str>)>,
    /// The longest session ever stored (seconds): a time-window scan starts this much before
    /// the window, so a session that started earlier but still runs in it is found.
    max_span: i64,
}

/// The canonical content of the indexes, with numbers resolved to strings: what `verify`
/// compares between the live indexes and a recomputation from the records.
#[derive(Debug, PartialEq, Eq)]
pub struct Canonical {
    entries: BTreeSet<String>,
}

impl Indexes {
    pub fn session_revision(&self, id: &str) -> Option<u64> {
        self.sessions.get(id).copied()
    }

    pub fn person_revision(&self, id: &str) -> Option<u64> {
        let n = self.people_ix.get(id)?;
        self.people[n as usize].as_ref().map(|p| p.revision)
    }

    /// How many sessions name the person.
    pub fn refs(&self, id: &str) -> u64 {
        self.people_ix.get(id).map_or(0, |n| self.refs[n as usize])
    }

    /// The first person `doc` names who does not exist.
    pub fn missing_person<'a>(&self, doc: &'a Doc) -> Option<&'a str> {
        doc.people.iter().map(String::as_str).find(|p| self.person_revision(p).is_none())
    }

    pub fn max_span(&self) -> i64 {
        self.max_span
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn person_number(&mut self, id: &str) -> u32 {
        let n = self.people_ix.intern(id);
        if self.people.len() <= n as usize {
            self.people.resize(n as usize + 1, None);
            self.refs.resize(n as usize + 1, 0);
        }
        n
    }

    fn shared_sid(&self, id: &str) -> Sid {
        self.sessions.get_key_value(id).map_or_else(|| Arc::from(id), |(k, _)| Arc::clone(k))
    }

    fn slot_id(&mut self, id: &str) -> Arc<str> {
        if let Some(s) = self.slot_ids.get(id) {
            return Arc::clone(s);
        }
        let s: Arc<str> = Arc::from(id);
        self.slot_ids.insert(Arc::clone(&s));
        s
    }

    /// Adds (`add`) or removes the entries of `doc` for session `sid`, and its references.
    fn entries(&mut self, sid: &Sid, doc: &Doc, add: bool) {
        let (start, end) = (doc.start, doc.end);
        apply_to(&mut self.by_start, (0, start, Arc::clone(sid)), end, add);
        for p in &doc.people {
            let n = self.person_number(p);
            self.refs[n as usize] =
                if add { self.refs[n as usize] + 1 } else { self.refs[n as usize].saturating_sub(1) };
            apply_to(&mut self.by_person, (n, start, Arc::clone(sid)), end, add);
        }
        for o in &doc.organizers {
            let n = self.terms.intern(o);
            apply_to(&mut self.by_organizer, (n, start, Arc::clone(sid)), end, add);
        }
        for t in &doc.tags {
            let n = self.terms.intern(t);
            apply_to(&mut self.by_tag, (n, start, Arc::clone(sid)), end, add);
        }
        for (p, slot_start, slot_end, slot) in &doc.slots {
            let n = self.person_number(p);
            let slot = self.slot_id(slot);
            apply_to(&mut self.slots_by_person, (n, *slot_start, Arc::clone(sid), slot), *slot_end, add);
        }
    }

    /// A session written at `revision`: `old` is the record it replaces (if any).
    pub fn put_session(&mut self, id: &str, revision: u64, old: Option<&Doc>, new: &Doc) {
        let sid = self.shared_sid(id);
        if let Some(old) = old {
            self.entries(&sid, old, false);
        }
        self.entries(&sid, new, true);
        self.max_span = self.max_span.max(new.end - new.start);
        self.sessions.insert(sid, revision);
    }

    pub fn delete_session(&mut self, id: &str, old: &Doc) {
        let sid = self.shared_sid(id);
        self.entries(&sid, old, false);
        self.sessions.remove(id);
    }

    pub fn put_person(&mut self, id: &str, revision: u64, name: &str) {
        let n = self.person_number(id);
        let shared = Arc::clone(&self.people_ix.strings[n as usize]);
        if let Some(old) = self.people[n as usize].take() {
            self.people_by_name.remove(&(old.name_lower, Arc::clone(&shared)));
        }
        let name_lower: Box<str> = name.to_lowercase().into();
        self.people_by_name.insert((name_lower.clone(), shared));
        self.people[n as usize] = Some(PersonState { revision, name_lower });
    }

    pub fn delete_person(&mut self, id: &str) {
        let Some(n) = self.people_ix.get(id) else { return };
        if let Some(old) = self.people[n as usize].take() {
            let shared = Arc::clone(&self.people_ix.strings[n as usize]);
            self.people_by_name.remove(&(old.name_lower, shared));
        }
    }

    /// Up to `n` entries `(start, session, end)` of a session index, from `lower` (`start`,
    /// session; `None` for the beginning) to before `to`.
    pub fn sessions_range(
        &self,
        ix: Ix,
        term: Option<&str>,
        lower: Bound<(i64, Sid)>,
        to: Option<i64>,
        n: usize,
    ) -> Vec<(i64, Sid, i64)> {
        let (map, t) = match (ix, term) {
            (Ix::Start, _) => (&self.by_start, Some(0)),
            (Ix::Person, Some(p)) => (&self.by_person, self.people_ix.get(p)),
            (Ix::Organizer, Some(o)) => (&self.by_organizer, self.terms.get(o)),
            (Ix::Tag, Some(tag)) => (&self.by_tag, self.terms.get(tag)),
            _ => return Vec::new(),
        };
        let Some(t) = t else { return Vec::new() };
        let lower = lower.map(|(s, id)| (t, s, id));
        let low_key = match &lower {
            Bound::Included(k) | Bound::Excluded(k) => Some(k),
            Bound::Unbounded => None,
        };
        let upper = match to {
            Some(to) => {
                let up = (t, to, Sid::from(""));
                if low_key.is_some_and(|k| *k >= up) {
                    return Vec::new();
                }
                Bound::Excluded(up)
            }
            None => Bound::Unbounded,
        };
        let lower = match lower {
            Bound::Unbounded => Bound::Included((t, i64::MIN, Sid::from(""))),
            b => b,
        };
        map.range((lower, upper))
            .take_while(|((term, _, _), _)| *term == t)
            .take(n)
            .map(|((_, start, id), end)| (*start, Arc::clone(id), *end))
            .collect()
    }

    /// Up to `n` slot entries `(start, session, slot, end)` of `person`, from `lower` to
    /// before `to`.
    pub fn slots_range(
        &self,
        person: &str,
        lower: Bound<(i64, Sid, Arc<str>)>,
        to: Option<i64>,
        n: usize,
    ) -> Vec<(i64, Sid, Arc<str>, i64)> {
        let Some(p) = self.people_ix.get(person) else { return Vec::new() };
        let lower = match lower {
            Bound::Unbounded => Bound::Included((p, i64::MIN, Sid::from(""), Arc::from(""))),
            b => b.map(|(s, id, slot)| (p, s, id, slot)),
        };
        let upper = match to {
            Some(to) => {
                let up = (p, to, Sid::from(""), Arc::from(""));
                if let Bound::Included(k) | Bound::Excluded(k) = &lower
                    && *k >= up
                {
                    return Vec::new();
                }
                Bound::Excluded(up)
            }
            None => Bound::Unbounded,
        };
        self.slots_by_person
            .range((lower, upper))
            .take_while(|((q, ..), _)| *q == p)
            .take(n)
            .map(|((_, start, sid, slot), end)| (*start, Arc::clone(sid), Arc::clone(slot), *end))
            .collect()
    }

    /// Up to `n` person ids in (lower-case name, id) order, after `after`.
    pub fn people_range(&self, after: Option<(&str, &str)>, n: usize) -> Vec<Arc<str>> {
        let lower = match after {
            Some((name, id)) => Bound::Excluded((Box::from(name), Arc::from(id))),
            None => Bound::Unbounded,
        };
        self.people_by_name.range((lower, Bound::Unbounded)).take(n).map(|(_, id)| Arc::clone(id)).collect()
    }

    /// Every entry, numbers resolved: equal for two `Indexes` exactly when they index the same
    /// records the same way.
    pub fn canonical(&self) -> Canonical {
        let mut entries = BTreeSet::new();
        for (id, rev) in &self.sessions {
            entries.insert(format!("session {id} @{rev}"));
        }
        let maps = [
            ("start", &self.by_start),
            ("person", &self.by_person),
            ("org", &self.by_organizer),
            ("tag", &self.by_tag),
        ];
        for (name, map) in maps {
            for ((t, start, id), end) in map {
                let term = match name {
                    "start" => "",
                    "person" => self.people_ix.name(*t),
                    _ => self.terms.name(*t),
                };
                entries.insert(format!("{name} {term}\0{start} {id} {end}"));
            }
        }
        for ((p, start, sid, slot), end) in &self.slots_by_person {
            entries.insert(format!("slot {}\0{start} {sid}\0{slot} {end}", self.people_ix.name(*p)));
        }
        for (n, p) in self.people.iter().enumerate() {
            let id = self.people_ix.name(n as u32);
            if let Some(p) = p {
                entries.insert(format!("person {id} @{} {}", p.revision, p.name_lower));
            }
            if self.refs[n] > 0 {
                entries.insert(format!("refs {id} {}", self.refs[n]));
            }
        }
        for (name, id) in &self.people_by_name {
            entries.insert(format!("name {name}\0{id}"));
        }
        Canonical { entries }
    }

    /// The differences between two canonical forms, for `agenda check`.
    pub fn differences(live: &Canonical, recomputed: &Canonical) -> Vec<String> {
        let extra =
            live.entries.difference(&recomputed.entries).map(|e| format!("index entry no record explains: {e:?}"));
        let missing = recomputed.entries.difference(&live.entries).map(|e| format!("index lacks an entry: {e:?}"));
        extra.chain(missing).collect()
    }

    /// An estimate of the heap the indexes take, in bytes: entries times their size plus
    /// B-tree and hash overheads (about 1.5x and 2x) and the shared strings.
    pub fn approx_bytes(&self) -> u64 {
        let word = std::mem::size_of::<usize>() as u64;
        let strings: u64 = [&self.people_ix, &self.terms]
            .iter()
            .flat_map(|i| &i.strings)
            .chain(self.slot_ids.iter())
            .chain(self.sessions.keys())
            .map(|s| s.len() as u64 + 2 * word + 16)
            .sum();
        let session_ix = (self.by_start.len() + self.by_person.len() + self.by_organizer.len() + self.by_tag.len())
            as u64
            * std::mem::size_of::<((u32, i64, Sid), i64)>() as u64;
        let slot_ix =
            self.slots_by_person.len() as u64 * std::mem::size_of::<((u32, i64, Sid, Arc<str>), i64)>() as u64;
        let names: u64 = self.people_by_name.iter().map(|(n, _)| n.len() as u64 * 2 + 4 * word).sum();
        let maps = (self.sessions.len() as u64 * (3 * word)
            + (self.people_ix.numbers.len() + self.terms.numbers.len() + self.slot_ids.len()) as u64 * 3 * word)
            * 2;
        strings + (session_ix + slot_ix) * 3 / 2 + names + maps + self.people.len() as u64 * 4 * word
    }
}

fn apply_to<K: Ord>(map: &mut BTreeMap<K, i64>, k: K, v: i64, add: bool) {
    if add {
        map.insert(k, v);
    } else {
        map.remove(&k);
    }
}

/// Builds the indexes from every record: people, then `(id, revision, index fields)` of
/// every session.
pub fn build<'a>(
    people: impl IntoIterator<Item = &'a Person>,
    sessions: impl IntoIterator<Item = (&'a str, u64, &'a Doc)>,
) -> Indexes {
    let mut ix = Indexes::default();
    for p in people {
        ix.put_person(p.id.as_str(), p.meta.revision, &p.name);
    }
    for (id, revision, doc) in sessions {
        ix.put_session(id, revision, None, doc);
    }
    ix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(start: i64, people: &[&str], tags: &[&str]) -> Doc {
        Doc {
            start,
            end: start + 3600,
            people: people.iter().map(|p| p.to_string()).collect(),
            organizers: vec!["acme".into()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            slots: people.iter().map(|p| (p.to_string(), start, start + 600, "talk".to_string())).collect(),
        }
    }

    #[test]
    fn an_update_moves_every_entry_and_a_delete_leaves_nothing() {
        let mut ix = Indexes::default();
        ix.put_person("ana", 1, "Ana");
        ix.put_person("ben", 2, "Ben");
        let empty = ix.canonical();
        let (a, b) = (doc(100, &["ana"], &["x"]), doc(200, &["ben"], &["y"]));
        ix.put_session("s1", 3, None, &a);
        assert_eq!(ix.refs("ana"), 1);
        ix.put_session("s1", 4, Some(&a), &b);
        assert_eq!((ix.refs("ana"), ix.refs("ben")), (0, 1));
        let fresh = {
            let mut f = Indexes::default();
            f.put_person("ana", 1, "Ana");
            f.put_person("ben", 2, "Ben");
            f.put_session("s1", 4, None, &b);
            f
        };
        assert_eq!(ix.canonical(), fresh.canonical());
        let found = ix.sessions_range(Ix::Tag, Some("y"), Bound::Unbounded, None, 10);
        assert_eq!(found, vec![(200, Sid::from("s1"), 3800)]);
        assert!(ix.sessions_range(Ix::Tag, Some("x"), Bound::Unbounded, None, 10).is_empty());
        ix.delete_session("s1", &b);
        assert_eq!(ix.canonical(), empty);
    }

    #[test]
    fn ranges_respect_cursor_and_window() {
        let mut ix = Indexes::default();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            ix.put_session(id, 1, None, &doc(100 * i as i64, &[], &[]));
        }
        let all = ix.sessions_range(Ix::Start, None, Bound::Unbounded, None, 10);
        assert_eq!(all.iter().map(|e| &*e.1).collect::<Vec<_>>(), ["a", "b", "c"]);
        let after_a = ix.sessions_range(Ix::Start, None, Bound::Excluded((0, Sid::from("a"))), Some(200), 10);
        assert_eq!(after_a.iter().map(|e| &*e.1).collect::<Vec<_>>(), ["b"]);
        assert!(ix.sessions_range(Ix::Start, None, Bound::Included((300, Sid::from(""))), Some(200), 10).is_empty());
    }
}
