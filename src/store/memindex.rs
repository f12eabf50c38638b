//! The sled engine's indexes, kept in memory (the informer pattern: list, then follow the log).
//!
//! Why in memory: on disk, the indexes of one session cost about 50 keys per create, at 7-10 us
//! of sled CPU each, inside one transaction that sled 0.34 serializes process-wide. Here they
//! are built once at open from the records, then maintained by the write path under the same
//! short lock that orders the writes, so they can never drift from the records the log says
//! are applied. Queries read candidate keys here and the records they return from sled.
//!
//! Compact by construction (100,000 sessions, 1,000,000 slots): people, tags, organizer names,
//! slot ids and session ids are interned to `u32`, and each person's, tag's or organizer's
//! entries are one sorted vector of small integers kept in (start, id) order by comparing the
//! starts and ids they stand for: a session posting is the session's number (4 bytes; the
//! start is kept once per session), a slot posting (slot start, session, slot) 16 bytes. Only
//! the start-time index of all sessions is a B-tree. A session's own entries are not kept beside it: the write path computes the old
//! entries from the old record, which it reads anyway to check the expected revision.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use fxhash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::Arc;

use crate::domain::{Person, Session};

/// A session id, shared by every index entry of the session.
pub type Sid = Arc<str>;

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

/// One slot's part of a [`Doc`]: id, start, end, and the people who speak or moderate (in any
/// order, repeats allowed).
pub type SlotParts<'a> = (&'a str, i64, i64, Vec<&'a str>);

impl Doc {
    pub fn of(s: &Session) -> Doc {
        let slots = s.slots.iter().chain(s.removed_slots.iter().map(|r| &r.slot)).map(|slot| {
            let people = slot.speakers.iter().chain(&slot.moderators).map(|p| p.as_str()).collect();
            (slot.id.as_str(), slot.start.as_second(), slot.end.as_second(), people)
        });
        Doc::from_parts(
            (s.start.as_second(), s.end.as_second()),
            s.named_people().map(|p| p.as_str()).collect(),
            [&s.organizer.name, &s.organizer.short_name],
            s.tags.iter().map(String::as_str),
            slots,
        )
    }

    /// The entries of `self` that `other` lacks, for a session whose start is the same in both
    /// (entries are keyed by start): what a write removes (old minus new) or adds (new minus
    /// old). An update that leaves an entry as it was (a renamed slot) neither removes nor
    /// re-inserts it, which would move a long list (a tag's) twice for nothing.
    fn minus(&self, other: &Doc) -> Doc {
        let lacking = |mine: &[String], theirs: &[String]| -> Vec<String> {
            mine.iter().filter(|t| theirs.binary_search(t).is_err()).cloned().collect()
        };
        // Borrowed keys: this runs under the sequencer, twice per update, and owned keys
        // (two strings copied per slot entry, per lookup too) were most of its cost (issue 22).
        fn slot_key(e: &(String, i64, i64, String)) -> (&str, i64, &str) {
            (e.0.as_str(), e.1, e.3.as_str())
        }
        let mut theirs: Vec<(&str, i64, &str)> = other.slots.iter().map(slot_key).collect();
        theirs.sort_unstable();
        Doc {
            start: self.start,
            end: self.end,
            people: lacking(&self.people, &other.people),
            organizers: lacking(&self.organizers, &other.organizers),
            tags: lacking(&self.tags, &other.tags),
            slots: self.slots.iter().filter(|e| theirs.binary_search(&slot_key(e)).is_err()).cloned().collect(),
        }
    }

    /// The one place a `Doc` is put together, from a domain session ([`Doc::of`]) or straight
    /// from a stored record (`records::session_doc`, at open): `people` are every person the
    /// session names (any order, repeats allowed), `slots` its current and removed slots.
    /// Lists are sorted and deduplicated in place: a `BTreeSet` per list (one per slot) was
    /// most of the cost of a `Doc` in the write profile (issue 22), for lists of a few entries.
    pub fn from_parts<'a>(
        (start, end): (i64, i64),
        people: Vec<&'a str>,
        organizer: [&'a str; 2],
        tags: impl Iterator<Item = &'a str>,
        slots: impl Iterator<Item = SlotParts<'a>>,
    ) -> Doc {
        fn sorted<T: Ord>(mut list: Vec<T>) -> Vec<T> {
            list.sort_unstable();
            list.dedup();
            list
        }
        let organizers = sorted(organizer.into_iter().filter(|n| !n.is_empty()).map(str::to_lowercase).collect());
        let tags = sorted(tags.map(str::to_lowercase).collect());
        let mut slot_entries = Vec::new();
        for (id, slot_start, slot_end, people) in slots {
            for p in sorted(people) {
                slot_entries.push((p.to_owned(), slot_start, slot_end, id.to_owned()));
            }
        }
        Doc {
            start,
            end,
            people: sorted(people).into_iter().map(str::to_owned).collect(),
            organizers,
            tags,
            slots: slot_entries,
        }
    }
}

/// Strings to dense numbers, never forgotten (a deleted person's number is reused if the id
/// comes back; the strings are few).
#[derive(Default)]
struct Interner {
    numbers: FxHashMap<Arc<str>, u32>,
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

    fn name(&self, n: u32) -> &Arc<str> {
        &self.strings[n as usize]
    }
}

/// What the indexes hold of one session, by its number.
struct SessionState {
    id: Sid,
    /// The etag a write's `Expect` is checked against.
    revision: u64,
    /// Where the session's postings sort: kept here once rather than in each of its postings
    /// (a session has about 25 of them at scale; see [`SessionEntry`]).
    start: i64,
}

/// Session ids to numbers, for compact index entries; a deleted session's number is reused.
#[derive(Default)]
struct SessionIds {
    numbers: FxHashMap<Sid, u32>,
    /// By number; `None` for a free number.
    entries: Vec<Option<SessionState>>,
    free: Vec<u32>,
}

impl SessionIds {
    fn state(&self, n: u32) -> &SessionState {
        self.entries[n as usize].as_ref().expect("an indexed session has a number")
    }

    fn state_mut(&mut self, n: u32) -> &mut SessionState {
        self.entries[n as usize].as_mut().expect("an indexed session has a number")
    }

    fn id(&self, n: u32) -> &Sid {
        &self.state(n).id
    }

    /// The start the session's postings sort by.
    fn start(&self, n: u32) -> i64 {
        self.state(n).start
    }

    fn number(&mut self, id: &str) -> u32 {
        if let Some(n) = self.numbers.get(id) {
            return *n;
        }
        let sid: Sid = Arc::from(id);
        let n = match self.free.pop() {
            Some(n) => n,
            None => {
                self.entries.push(None);
                u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 sessions")
            }
        };
        self.entries[n as usize] = Some(SessionState { id: Arc::clone(&sid), revision: 0, start: 0 });
        self.numbers.insert(sid, n);
        n
    }

    fn release(&mut self, id: &str) {
        if let Some(n) = self.numbers.remove(id) {
            self.entries[n as usize] = None;
            self.free.push(n);
        }
    }
}

/// One term's entries (a person's sessions or slots, a tag's or organizer's sessions) as a
/// sorted vector of small integers: 4 bytes a session entry and 16 a slot entry, where a
/// B-tree of tuples holding ids took about 60. A change moves the entries after it, which is cheap because a term's
/// list is short (a person's sessions) or the write rate of one tag is modest.
struct Postings<E>(Vec<E>);

impl<E> Default for Postings<E> {
    fn default() -> Self {
        Postings(Vec::new())
    }
}

/// What a write does to an index entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Add,
    Remove,
    /// Add at the end, out of order: loading at open, sorted once at the end
    /// ([`Indexes::finish_load`]), where inserting each entry in place would move long lists
    /// (a tag's) once per session.
    Append,
}

impl<E: Copy> Postings<E> {
    /// Adds or removes `e`, whose place `cmp` (entry vs `e`) finds; true when the list is left
    /// empty.
    fn edit(&mut self, e: E, cmp: impl Fn(&E) -> Ordering, edit: Edit) -> bool {
        match edit {
            Edit::Append => self.0.push(e),
            Edit::Add => {
                if let Err(i) = self.0.binary_search_by(cmp) {
                    self.0.insert(i, e);
                }
            }
            Edit::Remove => {
                if let Ok(i) = self.0.binary_search_by(cmp) {
                    self.0.remove(i);
                }
            }
        }
        self.0.is_empty()
    }

    /// The entries from the first one that `before` does not hold for.
    fn from(&self, before: impl Fn(&E) -> bool) -> &[E] {
        &self.0[self.0.partition_point(before)..]
    }
}

/// Postings by term number (person, tag or organizer name): a vector, as the numbers are dense.
struct Lists<E>(Vec<Postings<E>>);

impl<E> Default for Lists<E> {
    fn default() -> Self {
        Lists(Vec::new())
    }
}

impl<E: Copy> Lists<E> {
    fn get(&self, t: u32) -> Option<&Postings<E>> {
        self.0.get(t as usize).filter(|l| !l.0.is_empty())
    }

    fn edit(&mut self, t: u32, e: E, cmp: impl Fn(&E) -> Ordering, edit: Edit) {
        let t = t as usize;
        if self.0.len() <= t {
            self.0.resize_with(t + 1, Postings::default);
        }
        if self.0[t].edit(e, cmp, edit) {
            self.0[t].0 = Vec::new();
        }
    }

    /// The non-empty lists with their term numbers.
    fn iter(&self) -> impl Iterator<Item = (u32, &Postings<E>)> {
        self.0.iter().enumerate().filter(|(_, l)| !l.0.is_empty()).map(|(t, l)| (t as u32, l))
    }

    fn bytes(&self) -> u64 {
        let lists = self.0.capacity() * std::mem::size_of::<Postings<E>>();
        (lists + self.0.iter().map(|l| l.0.capacity() * std::mem::size_of::<E>()).sum::<usize>()) as u64
    }
}

/// A session posting: the session number, in (start, session id) order, the start being the
/// session's own ([`SessionState::start`]). 4 bytes where `(start, number)` took 16 (with
/// padding): the session postings are most of the index (about 2.5 million at 100,000
/// sessions), and the extra load per comparison is one array read.
type SessionEntry = u32;
/// A slot posting: (slot start, session number, slot number), in (start, session id, slot id)
/// order.
type SlotEntry = (i64, u32, u32);

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
    /// Slot ids ("item-001", "talk": they recur across sessions).
    slot_ids: Interner,
    /// Session id <-> number, and each session's current revision (the etag a write's
    /// `Expect` is checked against).
    sessions: SessionIds,
    /// `(start, session) -> end`, seconds: one ordered map for the one index every listing
    /// without a filter reads (a vector this long would move too much on each insert).
    by_start: BTreeMap<(i64, Sid), i64>,
    /// By person number: the sessions naming the person (its length is the reference count).
    by_person: Lists<SessionEntry>,
    by_organizer: Lists<SessionEntry>,
    by_tag: Lists<SessionEntry>,
    /// By person number: the slots where the person speaks or moderates.
    slots_by_person: Lists<SlotEntry>,
    /// By person number; `None` for a number whose person was deleted.
    people: Vec<Option<PersonState>>,
    /// `(lower-case name, id)`.
    people_by_name: BTreeSet<(Box<str>, Arc<str>)>,
    /// The longest session stored (seconds): a time-window scan starts this much before the
    /// window, so a session that started earlier but still runs in it is found.
    max_span: i64,
}

/// The canonical content of the indexes, with numbers resolved to strings: what `verify`
/// compares between the live indexes and a recomputation from the records.
#[derive(Debug, PartialEq, Eq)]
pub struct Canonical {
    entries: BTreeSet<String>,
}

/// Edits the posting of session `n` under each of `terms`; the session's start in `ids` is
/// the one its postings were (or are to be) sorted by.
fn change_postings(
    map: &mut Lists<SessionEntry>,
    interner: &mut Interner,
    terms: &[String],
    ids: &SessionIds,
    n: SessionEntry,
    edit: Edit,
) {
    let key = (ids.start(n), &**ids.id(n));
    let at = |e: &SessionEntry| session_order(ids, *e, key);
    for t in terms {
        let t = interner.intern(t);
        map.edit(t, n, at, edit);
    }
}

/// Orders `(start, session n)` against `(start, id)`.
fn order(ids: &SessionIds, (start, n): (i64, u32), (other_start, id): (i64, &str)) -> Ordering {
    start.cmp(&other_start).then_with(|| (**ids.id(n)).cmp(id))
}

/// Orders a session posting against `(start, id)`.
fn session_order(ids: &SessionIds, e: SessionEntry, key: (i64, &str)) -> Ordering {
    order(ids, (ids.start(e), e), key)
}

/// Orders a slot posting against `(start, session id, slot id)`.
fn slot_order(ids: &SessionIds, slots: &Interner, e: &SlotEntry, (start, id, slot): (i64, &str, &str)) -> Ordering {
    order(ids, (e.0, e.1), (start, id)).then_with(|| (**slots.name(e.2)).cmp(slot))
}

impl Indexes {
    pub fn session_revision(&self, id: &str) -> Option<u64> {
        let n = self.sessions.numbers.get(id)?;
        self.sessions.entries[*n as usize].as_ref().map(|e| e.revision)
    }

    pub fn person_revision(&self, id: &str) -> Option<u64> {
        let n = self.people_ix.get(id)?;
        self.people.get(n as usize)?.as_ref().map(|p| p.revision)
    }

    /// How many sessions name the person.
    pub fn refs(&self, id: &str) -> u64 {
        let n = self.people_ix.get(id);
        n.and_then(|n| self.by_person.get(n)).map_or(0, |p| p.0.len() as u64)
    }

    /// The first person `doc` names who does not exist.
    pub fn missing_person<'a>(&self, doc: &'a Doc) -> Option<&'a str> {
        doc.people.iter().map(String::as_str).find(|p| self.person_revision(p).is_none())
    }

    pub fn max_span(&self) -> i64 {
        self.max_span
    }

    pub fn session_count(&self) -> usize {
        self.sessions.numbers.len()
    }

    /// Adds or removes the entries of `doc` for session number `n`, whose start in
    /// `self.sessions` must be `doc.start` (see [`Indexes::set_start`]).
    fn entries(&mut self, n: u32, doc: &Doc, edit: Edit) {
        debug_assert_eq!(self.sessions.start(n), doc.start, "postings sort by the session's start");
        let ids = &self.sessions;
        let sid = Arc::clone(ids.id(n));
        if edit == Edit::Remove {
            self.by_start.remove(&(doc.start, Arc::clone(&sid)));
        } else {
            self.by_start.insert((doc.start, Arc::clone(&sid)), doc.end);
        }
        change_postings(&mut self.by_person, &mut self.people_ix, &doc.people, ids, n, edit);
        change_postings(&mut self.by_organizer, &mut self.terms, &doc.organizers, ids, n, edit);
        change_postings(&mut self.by_tag, &mut self.terms, &doc.tags, ids, n, edit);
        for (p, slot_start, _, slot) in &doc.slots {
            let (p, slot_n) = (self.people_ix.intern(p), self.slot_ids.intern(slot));
            let at = |e: &SlotEntry| slot_order(ids, &self.slot_ids, e, (*slot_start, &sid, slot));
            self.slots_by_person.edit(p, (*slot_start, n, slot_n), at, edit);
        }
    }

    /// Adds a session while loading (no other session with this id is indexed); the lists are
    /// put in order by [`Indexes::finish_load`].
    pub fn load_session(&mut self, id: &str, revision: u64, doc: &Doc) {
        let n = self.sessions.number(id);
        self.set_start(n, doc.start);
        self.entries(n, doc, Edit::Append);
        self.max_span = self.max_span.max(doc.end - doc.start);
        self.sessions.state_mut(n).revision = revision;
    }

    /// Sets the start the postings of session `n` sort by: only while none of them is listed
    /// (a new session, or between removing a moved session's entries and adding them back).
    fn set_start(&mut self, n: u32, start: i64) {
        self.sessions.state_mut(n).start = start;
    }

    /// Sorts every list after [`Indexes::load_session`], dropping duplicate entries (as
    /// adding them one by one would have), and frees the vectors' spare room.
    pub fn finish_load(&mut self) {
        let (ids, slot_ids) = (&self.sessions, &self.slot_ids);
        let session_key = |e: &SessionEntry| (ids.start(*e), Arc::clone(ids.id(*e)));
        for list in self.by_person.0.iter_mut().chain(&mut self.by_organizer.0).chain(&mut self.by_tag.0) {
            list.0.sort_by_cached_key(session_key);
            list.0.dedup();
            list.0.shrink_to_fit();
        }
        for list in &mut self.slots_by_person.0 {
            list.0.sort_by_cached_key(|e| (e.0, Arc::clone(ids.id(e.1)), Arc::clone(slot_ids.name(e.2))));
            list.0.dedup();
            list.0.shrink_to_fit();
        }
    }

    /// A session written at `revision`: `old` is the record it replaces (if any).
    pub fn put_session(&mut self, id: &str, revision: u64, old: Option<&Doc>, new: &Doc) {
        let n = self.sessions.number(id);
        match old {
            Some(old) if old.start == new.start => {
                self.entries(n, &old.minus(new), Edit::Remove);
                self.entries(n, &new.minus(old), Edit::Add);
            }
            Some(old) => {
                self.entries(n, old, Edit::Remove);
                self.set_start(n, new.start);
                self.entries(n, new, Edit::Add);
            }
            None => {
                self.set_start(n, new.start);
                self.entries(n, new, Edit::Add);
            }
        }
        self.max_span = self.max_span.max(new.end - new.start);
        self.sessions.state_mut(n).revision = revision;
    }

    pub fn delete_session(&mut self, id: &str, old: &Doc) {
        let Some(&n) = self.sessions.numbers.get(id) else { return };
        self.entries(n, old, Edit::Remove);
        self.sessions.release(id);
    }

    fn person_number(&mut self, id: &str) -> u32 {
        let n = self.people_ix.intern(id);
        if self.people.len() <= n as usize {
            self.people.resize(n as usize + 1, None);
        }
        n
    }

    pub fn put_person(&mut self, id: &str, revision: u64, name: &str) {
        let n = self.person_number(id);
        let shared = Arc::clone(self.people_ix.name(n));
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
            let shared = Arc::clone(self.people_ix.name(n));
            self.people_by_name.remove(&(old.name_lower, shared));
        }
    }

    /// Up to `n` entries `(start, session, end if the index knows it)` of a session index, from
    /// `lower` (start, session) to before `to`.
    pub fn sessions_range(
        &self,
        ix: Ix,
        term: Option<&str>,
        lower: Bound<(i64, Sid)>,
        to: Option<i64>,
        n: usize,
    ) -> Vec<(i64, Sid, Option<i64>)> {
        let before_to = |start: i64| to.is_none_or(|to| start < to);
        let (map, interner) = match ix {
            Ix::Start => {
                let lower = match lower {
                    Bound::Unbounded => Bound::Included((i64::MIN, Sid::from(""))),
                    b => b,
                };
                return self
                    .by_start
                    .range((lower, Bound::Unbounded))
                    .take_while(|((start, _), _)| before_to(*start))
                    .take(n)
                    .map(|((start, id), end)| (*start, Arc::clone(id), Some(*end)))
                    .collect();
            }
            Ix::Person => (&self.by_person, &self.people_ix),
            Ix::Organizer => (&self.by_organizer, &self.terms),
            Ix::Tag => (&self.by_tag, &self.terms),
        };
        let Some(list) = term.and_then(|t| interner.get(t)).and_then(|t| map.get(t)) else { return Vec::new() };
        let ids = &self.sessions;
        let entries = match &lower {
            Bound::Included((s, id)) => list.from(|e| session_order(ids, *e, (*s, id)).is_lt()),
            Bound::Excluded((s, id)) => list.from(|e| session_order(ids, *e, (*s, id)).is_le()),
            Bound::Unbounded => &list.0[..],
        };
        entries
            .iter()
            .map(|&s| (ids.start(s), s))
            .take_while(|e| before_to(e.0))
            .take(n)
            .map(|(start, s)| (start, Arc::clone(ids.id(s)), None))
            .collect()
    }

    /// Up to `n` slot entries `(start, session, slot)` of `person`, from `lower` to before `to`.
    pub fn slots_range(
        &self,
        person: &str,
        lower: Bound<(i64, Sid, Arc<str>)>,
        to: Option<i64>,
        n: usize,
    ) -> Vec<(i64, Sid, Arc<str>)> {
        let Some(list) = self.people_ix.get(person).and_then(|p| self.slots_by_person.get(p)) else {
            return Vec::new();
        };
        let (ids, slots) = (&self.sessions, &self.slot_ids);
        let entries = match &lower {
            Bound::Included((s, id, slot)) => list.from(|e| slot_order(ids, slots, e, (*s, id, slot)).is_lt()),
            Bound::Excluded((s, id, slot)) => list.from(|e| slot_order(ids, slots, e, (*s, id, slot)).is_le()),
            Bound::Unbounded => &list.0[..],
        };
        entries
            .iter()
            .take_while(|e| to.is_none_or(|to| e.0 < to))
            .take(n)
            .map(|&(start, s, slot)| (start, Arc::clone(ids.id(s)), Arc::clone(slots.name(slot))))
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
    /// records the same way (entries in their lists' order).
    pub fn canonical(&self) -> Canonical {
        let mut entries = BTreeSet::new();
        for (id, n) in &self.sessions.numbers {
            let rev = self.sessions.entries[*n as usize].as_ref().map(|e| e.revision);
            entries.insert(format!("session {id} @{rev:?}"));
        }
        for ((start, id), end) in &self.by_start {
            entries.insert(format!("start {start} {id} {end}"));
        }
        let lists = [
            ("person", &self.by_person, &self.people_ix),
            ("org", &self.by_organizer, &self.terms),
            ("tag", &self.by_tag, &self.terms),
        ];
        for (name, map, interner) in lists {
            for (t, list) in map.iter() {
                let listed: Vec<String> =
                    list.0.iter().map(|s| format!("{} {}", self.sessions.start(*s), self.sessions.id(*s))).collect();
                entries.insert(format!("{name} {}: {listed:?}", interner.name(t)));
            }
        }
        for (p, list) in self.slots_by_person.iter() {
            let listed: Vec<String> = list
                .0
                .iter()
                .map(|(start, s, slot)| format!("{start} {}/{}", self.sessions.id(*s), self.slot_ids.name(*slot)))
                .collect();
            entries.insert(format!("slots {}: {listed:?}", self.people_ix.name(p)));
        }
        for (n, p) in self.people.iter().enumerate() {
            if let Some(p) = p {
                entries.insert(format!("person {} @{} {}", self.people_ix.name(n as u32), p.revision, p.name_lower));
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

    /// An estimate of the heap the indexes take, in bytes: vectors by capacity, B-tree and hash
    /// entries with their usual slack (about 1.5x and 2x), and the shared strings.
    pub fn approx_bytes(&self) -> u64 {
        use std::mem::size_of;
        let word = size_of::<usize>() as u64;
        let string = |s: &Arc<str>| s.len() as u64 + 2 * word + 16;
        let strings: u64 = [&self.people_ix, &self.terms, &self.slot_ids]
            .iter()
            .flat_map(|i| &i.strings)
            .chain(self.sessions.numbers.keys())
            .map(string)
            .sum();
        let hashed = (self.people_ix.numbers.len()
            + self.terms.numbers.len()
            + self.slot_ids.numbers.len()
            + self.sessions.numbers.len()) as u64
            * 2
            * (3 * word);
        let lists =
            self.by_person.bytes() + self.by_organizer.bytes() + self.by_tag.bytes() + self.slots_by_person.bytes();
        let by_start = self.by_start.len() as u64 * size_of::<((i64, Sid), i64)>() as u64 * 3 / 2;
        let names: u64 = self.people_by_name.iter().map(|(n, _)| (n.len() as u64 * 2 + 4 * word) * 3 / 2).sum();
        let records = (self.sessions.entries.capacity() * size_of::<Option<SessionState>>()
            + self.people.capacity() * size_of::<Option<PersonState>>()) as u64;
        strings + hashed + lists + by_start + names + records
    }
}

/// The whole of [`Indexes`] as plain lists, numbers as they are: what the sled engine writes
/// to its index file at a clean stop and reads back at open instead of listing every record
/// (`sled/index_file.rs`). Borrowed when written (no copy of the postings), owned when read.
///
/// Why numbers and not the [`Doc`]s: the postings are already sorted integer lists; read back
/// they are moved into place as they are, where rebuilding from documents would intern every
/// string again and sort every list (most of the scan's CPU after sled's reads).
#[derive(Serialize, Deserialize)]
pub struct Image<'a> {
    people_ids: Vec<Cow<'a, str>>,
    terms: Vec<Cow<'a, str>>,
    slot_ids: Vec<Cow<'a, str>>,
    /// By session number; `None` for a free number.
    sessions: Vec<Option<SessionImage<'a>>>,
    by_person: Vec<Cow<'a, [SessionEntry]>>,
    by_organizer: Vec<Cow<'a, [SessionEntry]>>,
    by_tag: Vec<Cow<'a, [SessionEntry]>>,
    slots_by_person: Vec<Cow<'a, [SlotEntry]>>,
    /// By person number: `(revision, lower-case name)`, `None` for a deleted person.
    people: Vec<Option<(u64, Cow<'a, str>)>>,
    max_span: i64,
}

/// A session in an [`Image`]: `(id, revision, start, end)`.
type SessionImage<'a> = (Cow<'a, str>, u64, i64, i64);

/// Why an [`Image`] cannot be the indexes: a number that points nowhere, a name twice. Only a
/// damaged or foreign file gets here (the file's checksum has passed).
#[derive(Debug, thiserror::Error)]
#[error("index image: {0}")]
pub struct ImageError(&'static str);

impl Indexes {
    /// The image of these indexes, borrowing their strings and lists.
    pub fn image(&self) -> Image<'_> {
        fn strings(i: &Interner) -> Vec<Cow<'_, str>> {
            i.strings.iter().map(|s| Cow::Borrowed(&**s)).collect()
        }
        fn lists<E: Clone>(l: &Lists<E>) -> Vec<Cow<'_, [E]>> {
            l.0.iter().map(|p| Cow::Borrowed(&p.0[..])).collect()
        }
        let sessions = self
            .sessions
            .entries
            .iter()
            .map(|e| {
                e.as_ref().map(|s| {
                    // Every indexed session has its one `by_start` entry (see `entries`).
                    let end = self.by_start.get(&(s.start, Arc::clone(&s.id))).copied().unwrap_or(s.start);
                    (Cow::Borrowed(&*s.id), s.revision, s.start, end)
                })
            })
            .collect();
        Image {
            people_ids: strings(&self.people_ix),
            terms: strings(&self.terms),
            slot_ids: strings(&self.slot_ids),
            sessions,
            by_person: lists(&self.by_person),
            by_organizer: lists(&self.by_organizer),
            by_tag: lists(&self.by_tag),
            slots_by_person: lists(&self.slots_by_person),
            people: self
                .people
                .iter()
                .map(|p| p.as_ref().map(|p| (p.revision, Cow::Borrowed(&*p.name_lower))))
                .collect(),
            max_span: self.max_span,
        }
    }

    /// The indexes an image holds, after checking that every number in it points somewhere
    /// (a list's entries are taken in the order written: the file's checksum vouches for
    /// them, and `agenda check` compares the result with the records).
    pub fn from_image(image: Image<'_>) -> Result<Indexes, ImageError> {
        fn interner(strings: Vec<Cow<'_, str>>) -> Result<Interner, ImageError> {
            let mut i = Interner::default();
            for s in strings {
                let shared: Arc<str> = Arc::from(&*s);
                let n = u32::try_from(i.strings.len()).map_err(|_| ImageError("too many names"))?;
                if i.numbers.insert(Arc::clone(&shared), n).is_some() {
                    return Err(ImageError("a name listed twice"));
                }
                i.strings.push(shared);
            }
            Ok(i)
        }
        let Image {
            people_ids,
            terms,
            slot_ids,
            sessions,
            by_person,
            by_organizer,
            by_tag,
            slots_by_person,
            people,
            max_span,
        } = image;
        let (people_ix, terms, slot_ids) = (interner(people_ids)?, interner(terms)?, interner(slot_ids)?);
        let mut ids = SessionIds::default();
        let mut by_start = BTreeMap::new();
        // Room for the sessions created after open: at exactly their number, the first create
        // would move the whole vector (3 MB at 100,000 sessions) under the sequencer.
        ids.entries.reserve_exact(sessions.len() + sessions.len() / 8);
        for (n, entry) in sessions.into_iter().enumerate() {
            let n = u32::try_from(n).map_err(|_| ImageError("too many sessions"))?;
            let Some((id, revision, start, end)) = entry else {
                ids.entries.push(None);
                ids.free.push(n);
                continue;
            };
            let sid: Sid = Arc::from(&*id);
            if ids.numbers.insert(Arc::clone(&sid), n).is_some() {
                return Err(ImageError("a session listed twice"));
            }
            by_start.insert((start, Arc::clone(&sid)), end);
            ids.entries.push(Some(SessionState { id: sid, revision, start }));
        }
        // Freed numbers are taken from the end of the list: the lowest first, as good as any.
        ids.free.reverse();
        let live = |n: u32| ids.entries.get(n as usize).is_some_and(Option::is_some);
        fn lists<E>(lists: Vec<Cow<'_, [E]>>, terms: usize, valid: impl Fn(&E) -> bool) -> Result<Lists<E>, ImageError>
        where
            [E]: ToOwned<Owned = Vec<E>>,
        {
            if lists.len() > terms {
                return Err(ImageError("a list for a name that is not there"));
            }
            let lists: Vec<Postings<E>> = lists.into_iter().map(|l| Postings(l.into_owned())).collect();
            if !lists.iter().all(|l| l.0.iter().all(&valid)) {
                return Err(ImageError("an entry for a session that is not there"));
            }
            Ok(Lists(lists))
        }
        let by_person = lists(by_person, people_ix.strings.len(), |e| live(*e))?;
        let by_organizer = lists(by_organizer, terms.strings.len(), |e| live(*e))?;
        let by_tag = lists(by_tag, terms.strings.len(), |e| live(*e))?;
        let slot_count = slot_ids.strings.len();
        let slots_by_person =
            lists(slots_by_person, people_ix.strings.len(), |e| live(e.1) && (e.2 as usize) < slot_count)?;
        if people.len() > people_ix.strings.len() {
            return Err(ImageError("a person whose id is not there"));
        }
        let mut people_by_name = BTreeSet::new();
        let people = people
            .into_iter()
            .enumerate()
            .map(|(n, p)| {
                p.map(|(revision, name)| {
                    let name_lower: Box<str> = Box::from(&*name);
                    people_by_name.insert((name_lower.clone(), Arc::clone(&people_ix.strings[n])));
                    PersonState { revision, name_lower }
                })
            })
            .collect();
        Ok(Indexes {
            people_ix,
            terms,
            slot_ids,
            sessions: ids,
            by_start,
            by_person,
            by_organizer,
            by_tag,
            slots_by_person,
            people,
            people_by_name,
            max_span,
        })
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
        ix.load_session(id, revision, doc);
    }
    ix.finish_load();
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
        assert_eq!(found, vec![(200, Sid::from("s1"), None)]);
        assert!(ix.sessions_range(Ix::Tag, Some("x"), Bound::Unbounded, None, 10).is_empty());
        // Same start, one tag and one slot's speaker changed: only those entries move.
        let mut c = b.clone();
        c.tags = vec!["y".into(), "z".into()];
        c.slots[0].0 = "ana".into();
        c.people = vec!["ana".into(), "ben".into()];
        ix.put_session("s1", 5, Some(&b), &c);
        let fresh_c = {
            let mut f = Indexes::default();
            f.put_person("ana", 1, "Ana");
            f.put_person("ben", 2, "Ben");
            f.put_session("s1", 5, None, &c);
            f
        };
        assert_eq!(ix.canonical(), fresh_c.canonical());
        ix.delete_session("s1", &c);
        assert_eq!(ix.canonical(), empty);
    }

    #[test]
    fn postings_keep_start_then_id_order_whatever_the_numbers() {
        let mut ix = Indexes::default();
        ix.put_person("ana", 1, "Ana");
        for id in ["c", "a", "b"] {
            ix.put_session(id, 2, None, &doc(100, &["ana"], &["x"]));
        }
        ix.put_session("0-early", 3, None, &doc(50, &["ana"], &["x"]));
        let ids = |v: Vec<(i64, Sid, Option<i64>)>| v.into_iter().map(|e| e.1.to_string()).collect::<Vec<_>>();
        let all = ix.sessions_range(Ix::Person, Some("ana"), Bound::Unbounded, None, 10);
        assert_eq!(ids(all), ["0-early", "a", "b", "c"]);
        let after_a = ix.sessions_range(Ix::Tag, Some("x"), Bound::Excluded((100, Sid::from("a"))), None, 10);
        assert_eq!(ids(after_a), ["b", "c"]);
        let slots = ix.slots_range("ana", Bound::Excluded((100, Sid::from("b"), Arc::from("talk"))), None, 10);
        assert_eq!(slots.iter().map(|e| &*e.1).collect::<Vec<_>>(), ["c"]);
        assert_eq!(ix.refs("ana"), 4);
    }

    #[test]
    fn a_session_that_moves_is_listed_at_its_new_start() {
        let mut ix = Indexes::default();
        ix.put_person("ana", 1, "Ana");
        let (a, b, c) = (doc(100, &["ana"], &["x"]), doc(200, &["ana"], &["x"]), doc(300, &["ana"], &["x"]));
        ix.put_session("a", 2, None, &a);
        ix.put_session("b", 3, None, &b);
        ix.put_session("c", 4, None, &c);
        let moved = doc(400, &["ana"], &["x"]);
        ix.put_session("a", 5, Some(&a), &moved);
        let listed = |ix: &Indexes, index: Ix, term: &str| -> Vec<(i64, String)> {
            let found = ix.sessions_range(index, Some(term), Bound::Unbounded, None, 10);
            found.into_iter().map(|(start, id, _)| (start, id.to_string())).collect()
        };
        let expected = [(200, "b".to_string()), (300, "c".into()), (400, "a".into())];
        assert_eq!(listed(&ix, Ix::Person, "ana"), expected);
        assert_eq!(listed(&ix, Ix::Tag, "x"), expected);
        let after_c = ix.sessions_range(Ix::Tag, Some("x"), Bound::Excluded((300, Sid::from("c"))), None, 10);
        assert_eq!(after_c, vec![(400, Sid::from("a"), None)]);
        let fresh = build(std::iter::empty(), [("a", 5, &moved), ("b", 3, &b), ("c", 4, &c)]);
        let mut fresh_with_ana = fresh;
        fresh_with_ana.put_person("ana", 1, "Ana");
        assert_eq!(ix.canonical(), fresh_with_ana.canonical());
    }

    /// Through postcard as the index file stores it.
    fn reread(ix: &Indexes) -> Result<Indexes, ImageError> {
        let bytes = postcard::to_allocvec(&ix.image()).unwrap();
        Indexes::from_image(postcard::from_bytes::<Image<'static>>(&bytes).unwrap())
    }

    #[test]
    fn an_image_read_back_is_the_same_indexes_and_takes_writes_alike() {
        let mut ix = Indexes::default();
        for (id, name) in [("ana", "Ana"), ("ben", "Ben"), ("gone", "Gone")] {
            ix.put_person(id, 1, name);
        }
        ix.delete_person("gone");
        let (a, b, c) = (doc(100, &["ana"], &["x"]), doc(200, &["ana", "ben"], &["x", "y"]), doc(300, &["ben"], &[]));
        ix.put_session("a", 2, None, &a);
        ix.put_session("b", 3, None, &b);
        ix.put_session("c", 4, None, &c);
        ix.delete_session("a", &a); // a free number
        let mut back = reread(&ix).unwrap();
        assert_eq!(back.canonical(), ix.canonical());
        assert_eq!(back.max_span(), ix.max_span());
        assert_eq!(back.refs("ben"), 2);
        // Numbers (the freed one reused, new names interned) work on as in the original.
        let d = doc(150, &["ana", "ben"], &["z"]);
        for i in [&mut ix, &mut back] {
            i.put_session("d", 5, None, &d);
            i.put_session("c", 6, Some(&c), &doc(50, &["ana"], &["y"]));
            i.put_person("carl", 7, "Carl");
        }
        assert_eq!(back.canonical(), ix.canonical());
        let listed = |i: &Indexes| i.sessions_range(Ix::Tag, Some("y"), Bound::Unbounded, None, 10);
        assert_eq!(listed(&back), listed(&ix));
        assert_eq!(back.people_range(None, 10), ix.people_range(None, 10));
    }

    #[test]
    fn an_image_whose_numbers_point_nowhere_is_refused() {
        let mut ix = Indexes::default();
        ix.put_person("ana", 1, "Ana");
        ix.put_session("a", 2, None, &doc(100, &["ana"], &["x"]));
        let mut image = ix.image();
        image.by_tag = vec![Cow::Owned(vec![7])];
        assert!(Indexes::from_image(image).is_err());
        let mut image = ix.image();
        image.people_ids.push(Cow::Borrowed("ana"));
        assert!(Indexes::from_image(image).is_err());
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
