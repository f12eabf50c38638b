//! Synthetic data at scale, deterministic: people and sessions for tests and benchmarks.
//!
//! A [`Spec`] describes a store (how many sessions, slots, people, over which days, from which
//! seed); every record is a pure function of the spec and its index ([`Spec::person`],
//! [`Spec::session`]), drawn from its own SplitMix64 stream, so the same seed gives the same
//! data, any record can be rebuilt on its own, and generation parallelizes. [`load`] writes a
//! spec through [`Agenda`] (the service's own import path: validation, indexes and the change
//! log as in production) with many writes at once, so that concurrent writes share the store's
//! group-commit flushes (one write at a time would wait for one flush each).
//!
//! A development tool, not part of the library: the benchmark driver includes it
//! (`mod synth;`), and so does the integration-test binary (`tests/it/synth.rs`), which checks it.
//!
//! What the data looks like (a large organization's meeting history):
//! - people: names, honorifics, positions, affiliations, mostly with an e-mail address
//!   (placeholders on `example.org`); 1% of them are "regulars" who get a fifth of all speaking
//!   and moderating roles, the rest are drawn uniformly;
//! - sessions: one of a dozen organizers, 1 to 3 tags, one of five time zones (Europe/Zurich,
//!   America/New_York, Asia/Tokyo, Pacific/Auckland, UTC), starting in local business hours
//!   on a day of the span, online, in person or hybrid; 1% last two or three days; 5% private,
//!   3% cancelled;
//! - slots (on average [`Spec::slots_per_session`], from 1 to twice that): consecutive, never
//!   overlapping, inside their session, with speakers and moderators drawn from the people,
//!   opening / presentation / panel / break / discussion / closing, some with slides;
//! - participants: everyone on the agenda plus a few attendees, in groups.
//!
//! [`Spec::small`] is [`Spec::scale`] divided by 100 in sessions, people *and days*: the same
//! organization over a hundredth of the time, so a one-week window or one person's slots hold
//! as much in both, and only the size of the store differs.

// Each includer uses a different part of it.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use agenda::app::Agenda;
use agenda::app::ImportMode;
use agenda::domain::{
    Email, Format, Material, MaterialKind, Organizer, Participant, ParticipationStatus, Person, PersonId, RecordMeta,
    Role, Session, SessionId, SessionStatus, Slot, SlotId, SlotKind, SlotStatus, TimeZoneName, Timestamp, Visibility,
    WebUrl,
};
use agenda::error::Error;
use jiff::tz::TimeZone;
use tokio::task::JoinSet;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift (no modulo bias worth mentioning).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The independent stream of record `index` of kind `kind` (people, sessions, ...).
fn stream(seed: u64, kind: u64, index: u64) -> Rng {
    let mut r = Rng::new(seed ^ kind.wrapping_mul(0xd1b5_4a32_d192_ed03));
    let base = r.next_u64();
    let mut r = Rng::new(base ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    r.next_u64();
    r
}

const KIND_PERSON: u64 = 1;
const KIND_SESSION: u64 = 2;
const KIND_AGENDA: u64 = 3;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub sessions: usize,
    /// The average; each session has from 1 to twice this many.
    pub slots_per_session: usize,
    pub people: usize,
    /// The first day sessions are on (its UTC date is used).
    pub start: Timestamp,
    /// Sessions start on one of this many days from `start`.
    pub span_days: u32,
    pub seed: u64,
}

/// How many of `n` people are regulars (frequent speakers and moderators).
fn regulars(n: usize) -> usize {
    (n / 100).max(1)
}

impl Spec {
    pub const SEED: u64 = 0x0a6e_4da5_eed0_0006;

    /// 100,000 sessions, about 1,000,000 slots and 50,000 people over 3,500 days (9.6 years)
    /// from 2017-01-02: about 200 sessions a week.
    pub fn scale() -> Self {
        Self {
            sessions: 100_000,
            slots_per_session: 10,
            people: 50_000,
            start: "2017-01-02T00:00:00Z".parse().expect("valid"),
            span_days: 3_500,
            seed: Self::SEED,
        }
    }

    /// [`Spec::scale`] over a hundredth of the time: 1,000 sessions, about 10,000 slots and
    /// 500 people over 35 days, the same density per week and per person.
    pub fn small() -> Self {
        Self::scale().scaled_to(1_000)
    }

    /// The same density with `sessions` sessions: people and days in proportion.
    pub fn scaled_to(&self, sessions: usize) -> Self {
        let ratio = sessions as f64 / self.sessions as f64;
        Self {
            sessions,
            people: ((self.people as f64 * ratio).round() as usize).max(10),
            span_days: ((f64::from(self.span_days) * ratio).round() as u32).max(1),
            ..self.clone()
        }
    }

    /// The expected number of slots.
    pub fn slots(&self) -> usize {
        self.sessions * self.slots_per_session
    }

    pub fn person_id(&self, i: usize) -> PersonId {
        PersonId::parse(&format!("p{i:06}")).expect("valid id")
    }

    pub fn session_id(&self, i: usize) -> SessionId {
        SessionId::parse(&format!("s{i:07}")).expect("valid id")
    }

    /// A regular: one of the people with many slots (a full page of `ListPersonSlots`).
    pub fn regular(&self, i: usize) -> PersonId {
        self.person_id(i % regulars(self.people))
    }

    /// The person of `id`, when it is one of this spec's.
    pub fn person_of(&self, id: &PersonId) -> Option<Person> {
        let i: usize = id.as_str().strip_prefix('p')?.parse().ok()?;
        (i < self.people && self.person_id(i) == *id).then(|| self.person(i))
    }

    /// Every person a session names, rebuilt from the spec.
    pub fn people_of(&self, s: &Session) -> Vec<Person> {
        s.referenced_people().iter().filter_map(|p| self.person_of(p)).collect()
    }

    /// Person `i` (`i < people`).
    pub fn person(&self, i: usize) -> Person {
        let mut r = stream(self.seed, KIND_PERSON, i as u64);
        let t = tables();
        let first = *r.pick(FIRST_NAMES);
        let last = *r.pick(LAST_NAMES);
        let name = format!("{first} {last}");
        let honorific = match r.below(100) {
            0..20 => "Amb.",
            20..35 => "Dr",
            35..40 => "Prof.",
            _ => "",
        };
        let email = r.percent(90).then(|| {
            Email::parse(&format!("{}.{}.{i}@example.org", ascii_slug(first), ascii_slug(last))).expect("valid")
        });
        let created = t.epoch.as_second() - 400 * 86_400 + i as i64;
        let created = Timestamp::from_second(created).expect("in range");
        Person {
            id: self.person_id(i),
            name,
            honorific: honorific.into(),
            position: (*r.pick(POSITIONS)).into(),
            affiliation: (*r.pick(AFFILIATIONS)).into(),
            email,
            time_zone: None,
            language: None,
            meta: RecordMeta { create_time: created, update_time: created, revision: 0 },
        }
    }

    /// Every person, in index order.
    pub fn all_people(&self) -> impl Iterator<Item = Person> + '_ {
        (0..self.people).map(|i| self.person(i))
    }

    /// Every session, in index order.
    pub fn all_sessions(&self) -> impl Iterator<Item = Session> + '_ {
        (0..self.sessions).map(|i| self.session(i))
    }

    /// A speaker or moderator: a regular one time in five, anyone otherwise.
    fn someone(&self, r: &mut Rng) -> PersonId {
        let n = if r.percent(20) { regulars(self.people) } else { self.people };
        self.person_id(r.below(n))
    }

    /// Session `i` (`i < sessions`), valid by `Session::validate` with the default limits.
    pub fn session(&self, i: usize) -> Session {
        let mut r = stream(self.seed, KIND_SESSION, i as u64);
        let t = tables();
        let id = self.session_id(i);
        let OrganizerRow(org_name, org_short, org_email) = r.pick(&t.organizers).clone();
        let time_zone = r.pick(&t.zones).clone();
        let day = r.below(self.span_days as usize) as i64;
        let (hour, minute) = (8 + r.below(9) as i8, 15 * r.below(4) as i8);
        let start = utc_date(self.start, day)
            .at(hour, minute, 0, 0)
            .to_zoned_datetime(time_zone.tz())
            .map(|z| z.timestamp())
            .expect("business hours exist in every zone");
        let days = if r.percent(1) { 2 + r.below(2) } else { 1 };
        let n_slots = 1 + r.below(2 * self.slots_per_session.max(1) - 1);
        let topic = *r.pick(TOPICS);
        let moderator = self.someone(&mut r);
        let per_day = n_slots.div_ceil(days);
        let mut slots = Vec::with_capacity(n_slots);
        let mut at = start.as_second();
        for j in 0..n_slots {
            if j > 0 && j % per_day == 0 {
                at = at.max(start.as_second() + (j / per_day) as i64 * 86_400);
            }
            let kind = if j == 0 && n_slots > 2 {
                SlotKind::Opening
            } else if j + 1 == n_slots && n_slots > 2 {
                SlotKind::Closing
            } else if j % 5 == 4 {
                SlotKind::Break
            } else {
                match r.below(10) {
                    0 => SlotKind::Discussion,
                    1 | 2 => SlotKind::Panel,
                    _ => SlotKind::Presentation,
                }
            };
            let minutes: i64 = match kind {
                SlotKind::Break => *r.pick(&[15, 20, 30]),
                SlotKind::Opening | SlotKind::Closing => *r.pick(&[5, 10, 15]),
                _ => *r.pick(&[15, 20, 25, 30, 45, 60]),
            };
            let n_speakers = match kind {
                SlotKind::Break | SlotKind::Discussion => 0,
                SlotKind::Panel => 2 + r.below(3),
                _ => 1 + usize::from(r.percent(10)),
            };
            let mut speakers: Vec<PersonId> = Vec::with_capacity(n_speakers);
            while speakers.len() < n_speakers {
                let p = self.someone(&mut r);
                if !speakers.contains(&p) {
                    speakers.push(p);
                }
            }
            let moderated =
                matches!(kind, SlotKind::Opening | SlotKind::Panel | SlotKind::Discussion | SlotKind::Closing);
            let moderators = if moderated { vec![moderator.clone()] } else { Vec::new() };
            let slot_id = SlotId::parse(&format!("item-{j:03}")).expect("valid id");
            let title = match kind {
                SlotKind::Opening => "Opening remarks".to_owned(),
                SlotKind::Closing => "Closing remarks".to_owned(),
                SlotKind::Break => "Coffee break".to_owned(),
                SlotKind::Discussion => "Open discussion".to_owned(),
                SlotKind::Panel => format!("Panel: {}", r.pick(ANGLES)),
                _ => format!("{} — {}", r.pick(ANGLES), r.pick(TOPICS)),
            };
            let materials = if kind == SlotKind::Presentation && r.percent(30) {
                vec![Material {
                    title: "Slides".into(),
                    url: Some(WebUrl::parse(&format!("https://example.org/slides/{id}/{slot_id}.pdf")).expect("valid")),
                    kind: MaterialKind::Slides,
                    presenter: speakers.first().cloned(),
                }]
            } else {
                Vec::new()
            };
            let description = if r.percent(30) {
                format!("{} Questions from the floor follow.", r.pick(SENTENCES))
            } else {
                String::new()
            };
            let end = at + minutes * 60;
            slots.push(Slot {
                id: slot_id,
                start: Timestamp::from_second(at).expect("in range"),
                end: Timestamp::from_second(end).expect("in range"),
                title,
                kind,
                description,
                speakers,
                moderators,
                materials,
                allow_overlap: false,
                status: if r.percent(2) { SlotStatus::Cancelled } else { SlotStatus::Scheduled },
                sequence: u32::from(r.percent(10)),
                answers: Vec::new(),
            });
            at = end + if r.percent(20) { 5 * 60 } else { 0 };
        }
        let end = Timestamp::from_second(at + 15 * 60 * r.below(2) as i64).expect("in range");
        let participants = participants(self, &mut r, &slots);
        let format = match r.below(10) {
            0..4 => Format::Online,
            4..7 => Format::InPerson,
            _ => Format::Hybrid,
        };
        let join_url = (format != Format::InPerson)
            .then(|| WebUrl::parse(&format!("https://meet.example.org/j/{id}")).expect("valid"));
        let location = if format == Format::Online { String::new() } else { (*r.pick(ROOMS)).to_owned() };
        let recording_url = (join_url.is_some() && r.percent(20))
            .then(|| WebUrl::parse(&format!("https://video.example.org/{id}")).expect("valid"));
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..1 + r.below(3) {
            let tag = *r.pick(TAGS);
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.into());
            }
        }
        let materials = if r.percent(50) {
            vec![Material {
                title: "Programme".into(),
                url: Some(WebUrl::parse(&format!("https://example.org/programmes/{id}.pdf")).expect("valid")),
                kind: MaterialKind::Programme,
                presenter: None,
            }]
        } else {
            Vec::new()
        };
        let created = Timestamp::from_second(start.as_second() - (1 + r.below(60) as i64) * 86_400).expect("in range");
        let updated = Timestamp::from_second(created.as_second() + r.below(10 * 86_400) as i64).expect("in range");
        Session {
            title: format!("{}: {}", topic, r.pick(ANGLES)),
            description: format!(
                "{} organizes a {} on {}. {}",
                if org_short.is_empty() { &org_name } else { &org_short },
                if days > 1 { "conference" } else { "session" },
                topic.to_lowercase(),
                r.pick(SENTENCES)
            ),
            organizer: Organizer { name: org_name, short_name: org_short, email: org_email },
            format,
            location,
            join_url,
            time_zone,
            start,
            end,
            status: if r.percent(3) { SessionStatus::Cancelled } else { SessionStatus::Scheduled },
            tags,
            recording_url,
            materials,
            expected_attendance: r.percent(50).then(|| 20 + r.below(480) as u32),
            actual_attendance: None,
            visibility: if r.percent(5) { Visibility::Private } else { Visibility::Public },
            slots,
            participants,
            invite_participants: false,
            language: None,
            removed_slots: Vec::new(),
            meta: RecordMeta { create_time: created, update_time: updated, revision: 0 },
            sequence: u32::from(r.percent(10)),
            id,
        }
    }

    /// One large agenda: a conference week of `slots` slots in 8 parallel tracks (slots of a
    /// track never overlap; tracks do, with `allow_overlap`), five days from `start` (its UTC
    /// date, 09:00 Europe/Zurich), speakers and moderators from this spec's people. The feed
    /// benchmarks use it with 1,000 slots.
    pub fn agenda(&self, id: &str, start: Timestamp, slots: usize) -> Session {
        const TRACKS: usize = 8;
        const DAYS: usize = 5;
        let mut r = stream(self.seed, KIND_AGENDA, slots as u64);
        let t = tables();
        let zone = t.zones.iter().find(|z| z.as_str() == "Europe/Zurich").expect("in the table").clone();
        let id = SessionId::parse(id).expect("valid session id");
        let day_start = |d: usize| {
            let nine = utc_date(start, d as i64).at(9, 0, 0, 0).to_zoned_datetime(zone.tz());
            nine.expect("09:00 exists").timestamp().as_second()
        };
        let per_track_day = slots.div_ceil(TRACKS * DAYS).max(1);
        let minutes = (9 * 60 / per_track_day as i64).clamp(5, 60);
        let mut out = Vec::with_capacity(slots);
        for j in 0..slots {
            let track = j % TRACKS;
            let k = j / TRACKS;
            let (day, n) = (k / per_track_day, k % per_track_day);
            let at = day_start(day) + n as i64 * minutes * 60;
            let mut speakers = vec![self.someone(&mut r)];
            if r.percent(20) {
                let p = self.someone(&mut r);
                if !speakers.contains(&p) {
                    speakers.push(p);
                }
            }
            let moderators = if n == 0 { vec![self.someone(&mut r)] } else { Vec::new() };
            out.push(Slot {
                id: SlotId::parse(&format!("t{track}-d{day}-{n:03}")).expect("valid id"),
                start: Timestamp::from_second(at).expect("in range"),
                end: Timestamp::from_second(at + minutes * 60 - 5 * 60).expect("in range"),
                title: format!("Track {}: {} — {}", track + 1, r.pick(ANGLES), r.pick(TOPICS)),
                kind: SlotKind::Presentation,
                description: if r.percent(50) { (*r.pick(SENTENCES)).to_owned() } else { String::new() },
                speakers,
                moderators,
                materials: Vec::new(),
                allow_overlap: true,
                status: SlotStatus::Scheduled,
                sequence: 0,
                answers: Vec::new(),
            });
        }
        out.sort_by(|a, b| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
        let first = out.first().map_or(day_start(0), |s| s.start.as_second());
        let last = out.iter().map(|s| s.end.as_second()).max().unwrap_or(first + 3600);
        let participants = participants(self, &mut r, &out);
        let created = Timestamp::from_second(first - 90 * 86_400).expect("in range");
        Session {
            id,
            title: "Annual conference: trade, development and the multilateral system".into(),
            description: "Five days, eight tracks.".into(),
            organizer: t.organizers[0].clone().into_organizer(),
            format: Format::Hybrid,
            location: ROOMS[0].into(),
            join_url: Some(WebUrl::parse("https://meet.example.org/j/annual-conference").expect("valid")),
            time_zone: zone,
            start: Timestamp::from_second(first).expect("in range"),
            end: Timestamp::from_second(last).expect("in range"),
            status: SessionStatus::Scheduled,
            tags: vec!["conference".into(), "trade".into()],
            recording_url: None,
            materials: Vec::new(),
            expected_attendance: Some(2_000),
            actual_attendance: None,
            visibility: Visibility::Public,
            slots: out,
            participants,
            invite_participants: false,
            language: None,
            removed_slots: Vec::new(),
            meta: RecordMeta { create_time: created, update_time: created, revision: 0 },
            sequence: 0,
        }
    }
}

/// Everyone on the agenda (as speaker or moderator) and a few attendees, each once.
fn participants(spec: &Spec, r: &mut Rng, slots: &[Slot]) -> Vec<Participant> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in slots {
        for (p, role, group) in s
            .moderators
            .iter()
            .map(|p| (p, Role::Moderator, "Moderators"))
            .chain(s.speakers.iter().map(|p| (p, Role::Speaker, "Speakers")))
        {
            if seen.insert(p.clone()) {
                let status =
                    if r.percent(80) { ParticipationStatus::Accepted } else { ParticipationStatus::NeedsAction };
                out.push(Participant { person: p.clone(), role, group: group.into(), status });
            }
        }
    }
    for _ in 0..r.below(7) {
        let p = spec.person_id(r.below(spec.people));
        if seen.insert(p.clone()) {
            out.push(Participant {
                person: p,
                role: Role::Participant,
                group: (*r.pick(GROUPS)).into(),
                status: ParticipationStatus::Accepted,
            });
        }
    }
    out
}

/// What [`load`] did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub people: usize,
    pub sessions: usize,
    pub slots: usize,
    pub threads: usize,
    pub people_time: Duration,
    pub sessions_time: Duration,
}

/// Writes every person, then every session of `spec` through `agenda`, `concurrency` writes
/// at once (so group commit shares flushes between them). A record already stored as
/// generated is left as it is, so an interrupted load can be run again.
pub async fn load(agenda: &Agenda, spec: &Spec, concurrency: usize) -> Result<LoadReport, Error> {
    let spec = Arc::new(spec.clone());
    let t0 = Instant::now();
    let (a, s) = (agenda.clone(), Arc::clone(&spec));
    parallel(spec.people, concurrency, move |i| {
        let (a, s) = (a.clone(), Arc::clone(&s));
        async move { a.import_person(s.person(i), ImportMode::Replace).await.map(drop) }
    })
    .await?;
    let people_time = t0.elapsed();
    let t1 = Instant::now();
    let slots = Arc::new(AtomicUsize::new(0));
    let (a, s, n) = (agenda.clone(), Arc::clone(&spec), Arc::clone(&slots));
    parallel(spec.sessions, concurrency, move |i| {
        let (a, session, n) = (a.clone(), s.session(i), Arc::clone(&n));
        async move {
            n.fetch_add(session.slots.len(), Ordering::Relaxed);
            a.import_session(session, ImportMode::Replace).await.map(drop)
        }
    })
    .await?;
    Ok(LoadReport {
        people: spec.people,
        sessions: spec.sessions,
        slots: slots.load(Ordering::Relaxed),
        threads: concurrency,
        people_time,
        sessions_time: t1.elapsed(),
    })
}

/// Runs `f(i)` for every `i` in `0..n`, `concurrency` at a time; the first error wins.
pub async fn parallel<F, Fut>(n: usize, concurrency: usize, f: F) -> Result<(), Error>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (next, f) = (Arc::clone(&next), Arc::clone(&f));
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok(());
                }
                if let Err(e) = f(i).await {
                    next.store(n, Ordering::Relaxed);
                    return Err(e);
                }
            }
        });
    }
    let mut first = Ok(());
    while let Some(r) = workers.join_next().await {
        let r = r.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// The UTC date `days` days after `t`'s.
fn utc_date(t: Timestamp, days: i64) -> jiff::civil::Date {
    Timestamp::from_second(t.as_second() + days * 86_400).expect("in range").to_zoned_datetime(TimeZone::UTC).date()
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            'á' | 'à' | 'ã' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ô' | 'ö' | 'ø' | 'Ø' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Tables built once: parsed time zones and organizers.
struct Tables {
    zones: Vec<TimeZoneName>,
    organizers: Vec<OrganizerRow>,
    epoch: Timestamp,
}

#[derive(Clone)]
struct OrganizerRow(String, String, Option<Email>);

impl OrganizerRow {
    fn into_organizer(self) -> Organizer {
        Organizer { name: self.0, short_name: self.1, email: self.2 }
    }
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| Tables {
        zones: ZONES.iter().map(|z| TimeZoneName::parse(z).expect("known zone")).collect(),
        organizers: ORGANIZERS
            .iter()
            .map(|(name, short, mail)| {
                OrganizerRow(
                    (*name).into(),
                    (*short).into(),
                    (!mail.is_empty()).then(|| Email::parse(mail).expect("valid")),
                )
            })
            .collect(),
        epoch: "2017-01-02T00:00:00Z".parse().expect("valid"),
    })
}

const ZONES: &[&str] = &["Europe/Zurich", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "UTC"];

const ORGANIZERS: &[(&str, &str, &str)] = &[
    ("Friends of Multilateralism Group", "FMG", "fmg@example.org"),
    ("Trade and Development Committee", "CTD", "ctd@example.org"),
    ("Council for Trade in Services", "CTS", "cts@example.org"),
    ("Working Party on Domestic Regulation", "WPDR", "wpdr@example.org"),
    ("Informal Working Group on MSMEs", "IWG MSME", "msme@example.org"),
    ("Trade and Environmental Sustainability Structured Discussions", "TESSD", "tessd@example.org"),
    ("Committee on Agriculture", "", "agriculture@example.org"),
    ("Aid for Trade Secretariat", "AfT", "aft@example.org"),
    ("Geneva Trade Platform", "GTP", ""),
    ("Institute for Training and Technical Cooperation", "ITTC", "ittc@example.org"),
    ("Public Forum Team", "", "forum@example.org"),
    ("Economic Research Division", "ERSD", "ersd@example.org"),
];

const TAGS: &[&str] = &[
    "msme",
    "e-commerce",
    "agriculture",
    "services",
    "fisheries",
    "environment",
    "development",
    "ldc",
    "gender",
    "digital",
    "investment",
    "subsidies",
    "tariffs",
    "standards",
    "aid-for-trade",
    "dispute-settlement",
    "reform",
    "climate",
    "health",
    "intellectual-property",
    "public-forum",
    "training",
];

const TOPICS: &[&str] = &[
    "Integration of MSMEs within the MTS",
    "Digital trade and development",
    "Fisheries subsidies after MC12",
    "Trade and climate change",
    "Food security and agricultural markets",
    "Services domestic regulation",
    "Women's economic empowerment",
    "Investment facilitation for development",
    "Reform of the dispute settlement system",
    "Aid for Trade in LDCs",
    "Technical barriers to trade",
    "Supply chain resilience",
    "Trade in medical goods",
    "The circular economy",
    "E-commerce moratorium",
];

const ANGLES: &[&str] = &[
    "Where do we stand?",
    "Lessons from the regions",
    "The view from capitals",
    "Data and evidence",
    "What business needs",
    "Options for ministers",
    "Capacity building",
    "Implementation challenges",
    "A research agenda",
    "Next steps",
];

const SENTENCES: &[&str] = &[
    "Delegations share their experience and priorities.",
    "The secretariat presents recent findings, followed by comments from members.",
    "Speakers from business associations describe the obstacles firms face.",
    "The discussion prepares the ground for the next ministerial conference.",
    "Participants are invited to send written contributions in advance.",
    "Interpretation is available in English, French and Spanish.",
];

const ROOMS: &[&str] = &[
    "Centre William Rappard, Room W",
    "Centre William Rappard, Room D",
    "Palais des Nations, Room XXIII",
    "Maison de la Paix, Auditorium A1",
    "Conference centre, Room 3 (2nd floor)",
];

const GROUPS: &[&str] =
    &["WTO Missions", "International organizations", "Academia", "Private sector", "Civil society", "Secretariat"];

const FIRST_NAMES: &[&str] = &[
    "Patrick",
    "Valentina",
    "José Luís",
    "Petter",
    "Marion",
    "Aiko",
    "Chiara",
    "Kwame",
    "Olena",
    "Rafael",
    "Ingrid",
    "Mei",
    "Tomás",
    "Amara",
    "Hiroshi",
    "Leila",
    "Sébastien",
    "Nomvula",
    "Matías",
    "Anke",
    "Rohan",
    "Fatou",
    "Björn",
    "Isabel",
    "Yusuf",
    "Camila",
    "Dmitri",
    "Grace",
    "Ahmed",
    "Sofía",
    "Jonas",
    "Priya",
    "Luca",
    "Ngozi",
    "Elif",
    "Mateo",
    "Hana",
    "Owen",
    "Zainab",
    "François",
];

const LAST_NAMES: &[&str] = &[
    "Low",
    "Rollo",
    "Cancela",
    "Ølberg",
    "Jansen",
    "Tanaka",
    "Rossi",
    "Mensah",
    "Kovalenko",
    "Silva",
    "Berg",
    "Chen",
    "García",
    "Diallo",
    "Sato",
    "Haddad",
    "Dubois",
    "Dlamini",
    "Fernández",
    "Müller",
    "Mehta",
    "Ndiaye",
    "Lindqvist",
    "Moreno",
    "Yılmaz",
    "Costa",
    "Ivanov",
    "Okafor",
    "Hassan",
    "López",
    "Weber",
    "Sharma",
    "Bianchi",
    "Eze",
    "Demir",
    "Vargas",
    "Kim",
    "Evans",
    "Bello",
    "Martin",
    "Nakamura",
    "Schmidt",
    "Osei",
    "Novak",
    "Ramírez",
    "Nielsen",
    "Adeyemi",
    "Khan",
    "Pereira",
    "Suzuki",
    "Andersen",
    "Nguyen",
    "Kowalski",
    "Hernández",
    "Abebe",
    "Fischer",
    "Torres",
    "Rahman",
    "Laurent",
    "Mwangi",
];

const POSITIONS: &[&str] = &[
    "Ambassador",
    "Deputy Permanent Representative",
    "Counsellor",
    "First Secretary",
    "Economist",
    "Senior Trade Policy Officer",
    "Director",
    "Professor of International Economics",
    "Head of Trade Policy",
    "Research Fellow",
    "",
];

const AFFILIATIONS: &[&str] = &[
    "Norway",
    "Uruguay",
    "Switzerland",
    "Kenya",
    "Japan",
    "Chile",
    "Singapore",
    "Nigeria",
    "Canada",
    "European Union",
    "Indonesia",
    "ITC",
    "UNCTAD",
    "OECD",
    "World Bank",
    "Graduate Institute Geneva",
    "International Chamber of Commerce",
    "South Centre",
    "WTO Secretariat",
    "",
];
