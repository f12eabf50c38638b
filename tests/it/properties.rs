//! Property tests: any sequence of operations keeps the indexes equal to a recomputation
//! from the records; any rendered feed round-trips through the icalendar crate's parser to
//! the same events; no text, however hostile, breaks a feed's structure.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use agenda::app::Agenda;
use agenda::domain::{
    Format, Limits, Organizer, Person, PersonId, RecordMeta, Session, SessionId, SessionStatus, Slot, SlotId, SlotKind,
    SlotStatus, TimeZoneName, Timestamp, Visibility,
};
use agenda::ics::feed::{CalendarInfo, CalendarSettings, agenda_events, render};
use agenda::store::SledStore;
use icalendar::Component;
use proptest::prelude::*;

const ZONES: [&str; 5] = ["Europe/Zurich", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "UTC"];

fn person(i: usize) -> Person {
    Person {
        id: PersonId::parse(&format!("p{i}")).unwrap(),
        name: format!("Person {i}"),
        honorific: String::new(),
        position: String::new(),
        affiliation: String::new(),
        email: None,
        time_zone: None,
        language: None,
        meta: RecordMeta::default(),
    }
}

/// A valid session: `slots` back-to-back slots of 30 minutes from `start` (hours after a base
/// date), in zone `zone`, with speakers among `people` people.
fn session(
    id: &str,
    start_hours: i64,
    zone: usize,
    slots: usize,
    speakers: &[usize],
    tags: &[&str],
    title: &str,
) -> Session {
    let base: Timestamp = "2026-03-20T00:00:00Z".parse().unwrap();
    let start = Timestamp::from_second(base.as_second() + start_hours * 3600).unwrap();
    let slot = |i: usize| Slot {
        id: SlotId::parse(&format!("s{i}")).unwrap(),
        start: Timestamp::from_second(start.as_second() + i as i64 * 1800).unwrap(),
        end: Timestamp::from_second(start.as_second() + (i as i64 + 1) * 1800).unwrap(),
        title: format!("{title} part {i}"),
        kind: SlotKind::Presentation,
        description: String::new(),
        speakers: speakers
            .iter()
            .skip(i % speakers.len().max(1))
            .take(1)
            .map(|p| PersonId::parse(&format!("p{p}")).unwrap())
            .collect(),
        moderators: Vec::new(),
        materials: Vec::new(),
        allow_overlap: false,
        status: SlotStatus::Scheduled,
        sequence: 0,
        answers: Vec::new(),
    };
    Session {
        id: SessionId::parse(id).unwrap(),
        title: title.to_owned(),
        description: String::new(),
        organizer: Organizer { name: "Friends of Multilateralism Group".into(), short_name: "FMG".into(), email: None },
        format: Format::Online,
        location: String::new(),
        join_url: None,
        time_zone: TimeZoneName::parse(ZONES[zone % ZONES.len()]).unwrap(),
        start,
        end: Timestamp::from_second(start.as_second() + (slots.max(1) as i64) * 1800).unwrap(),
        status: SessionStatus::Scheduled,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        recording_url: None,
        materials: Vec::new(),
        expected_attendance: None,
        actual_attendance: None,
        visibility: Visibility::Public,
        slots: (0..slots).map(slot).collect(),
        participants: Vec::new(),
        invite_participants: false,
        language: None,
        removed_slots: Vec::new(),
        meta: RecordMeta::default(),
        sequence: 0,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create { id: u8, start_hours: i64, zone: usize, slots: usize, speakers: Vec<usize>, tag: u8 },
    Retitle { id: u8, tag: u8 },
    Move { id: u8, hours: i64 },
    Respeak { id: u8, speakers: Vec<usize> },
    RemoveSlot { id: u8 },
    Cancel { id: u8 },
    Delete { id: u8 },
    DeletePerson { person: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u8..6;
    prop_oneof![
        (id.clone(), -48i64..48, 0usize..5, 0usize..4, prop::collection::vec(0usize..5, 1..3), 0u8..3).prop_map(
            |(id, start_hours, zone, slots, speakers, tag)| Op::Create { id, start_hours, zone, slots, speakers, tag }
        ),
        (id.clone(), 0u8..3).prop_map(|(id, tag)| Op::Retitle { id, tag }),
        (id.clone(), -24i64..24).prop_map(|(id, hours)| Op::Move { id, hours }),
        (id.clone(), prop::collection::vec(0usize..5, 1..3)).prop_map(|(id, speakers)| Op::Respeak { id, speakers }),
        id.clone().prop_map(|id| Op::RemoveSlot { id }),
        id.clone().prop_map(|id| Op::Cancel { id }),
        id.prop_map(|id| Op::Delete { id }),
        (0usize..5).prop_map(|person| Op::DeletePerson { person }),
    ]
}

const TAGS: [&str; 3] = ["msme", "trade", "MSME-2"];

async fn apply(agenda: &Agenda, op: &Op) {
    let sid = |id: u8| SessionId::parse(&format!("s{id}")).unwrap();
    // Refused operations (unknown ids, overlaps, people in use) are part of the property:
    // they must leave everything as it was.
    let _ = match op {
        Op::Create { id, start_hours, zone, slots, speakers, tag } => agenda
            .create_session(session(
                &format!("s{id}"),
                *start_hours,
                *zone,
                *slots,
                speakers,
                &[TAGS[*tag as usize]],
                "Created",
            ))
            .await
            .map(drop),
        Op::Retitle { id, tag } => agenda
            .update_session(&sid(*id), None, |s| {
                s.title = format!("{} again", s.title);
                s.tags = vec![TAGS[*tag as usize].to_owned()];
                Ok(())
            })
            .await
            .map(drop),
        Op::Move { id, hours } => agenda
            .update_session(&sid(*id), None, |s| {
                let shift = |t: Timestamp| Timestamp::from_second(t.as_second() + hours * 3600).unwrap();
                s.start = shift(s.start);
                s.end = shift(s.end);
                for slot in &mut s.slots {
                    slot.start = shift(slot.start);
                    slot.end = shift(slot.end);
                }
                Ok(())
            })
            .await
            .map(drop),
        Op::Respeak { id, speakers } => agenda
            .update_session(&sid(*id), None, |s| {
                for (i, slot) in s.slots.iter_mut().enumerate() {
                    slot.speakers = vec![PersonId::parse(&format!("p{}", speakers[i % speakers.len()])).unwrap()];
                }
                Ok(())
            })
            .await
            .map(drop),
        Op::RemoveSlot { id } => agenda
            .update_session(&sid(*id), None, |s| {
                let first = s.slots.first().map(|sl| sl.id.clone());
                match first {
                    Some(slot) => s.remove_slot(&slot).map(drop),
                    None => Ok(()),
                }
            })
            .await
            .map(drop),
        Op::Cancel { id } => agenda
            .update_session(&sid(*id), None, |s| {
                s.status = SessionStatus::Cancelled;
                Ok(())
            })
            .await
            .map(drop),
        Op::Delete { id } => agenda.delete_session(&sid(*id), None).await,
        Op::DeletePerson { person } => {
            agenda.delete_person(&PersonId::parse(&format!("p{person}")).unwrap(), None).await
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 64, .. ProptestConfig::default() })]

    /// Each case writes to a real sled store, with durable flushes: few cases, many ops each.
    #[test]
    fn any_sequence_of_operations_keeps_indexes_equal_to_the_records(ops in prop::collection::vec(op(), 1..24)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let agenda = Agenda::new(store.shared(), Limits::default()).await.unwrap();
            for i in 0..5 {
                agenda.create_person(person(i)).await.unwrap();
            }
            for op in &ops {
                apply(&agenda, op).await;
            }
        });
        let problems = store.verify().unwrap();
        prop_assert!(problems.is_empty(), "{problems:#?}");
    }
}

/// What the icalendar crate reads back from a feed, per event.
fn parsed_events(text: &str) -> Vec<(String, String, String, String, String, String)> {
    let cal = icalendar::Calendar::from_str(text).expect("the icalendar crate parses our feed");
    cal.components
        .iter()
        .filter_map(|c| c.as_event())
        .map(|e| {
            let prop = |k: &str| e.properties().get(k).map(|p| p.value().to_owned()).unwrap_or_default();
            let tzid = e
                .properties()
                .get("DTSTART")
                .and_then(|p| p.params().get("TZID"))
                .map(|p| p.value().to_owned())
                .unwrap_or_default();
            (
                prop("UID"),
                e.get_summary().unwrap_or_default().to_owned(),
                e.get_description().unwrap_or_default().to_owned(),
                format!("{tzid}|{}", prop("DTSTART")),
                prop("SEQUENCE"),
                prop("STATUS"),
            )
        })
        .collect()
}

fn expected_start(t: Timestamp, zone: &TimeZoneName) -> (String, String) {
    let tz = zone.tz();
    if agenda::ics::vtimezone::is_utc(&tz) {
        (String::new(), t.strftime("%Y%m%dT%H%M%SZ").to_string())
    } else {
        (zone.to_string(), t.to_zoned_datetime(tz).strftime("%Y%m%dT%H%M%S").to_string())
    }
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            Just('\n'),
            Just('\r'),
            Just(','),
            Just(';'),
            Just('\\'),
            Just(':'),
            Just('"'),
            Just('Ø'),
            Just('—'),
            Just('\u{0}'),
            Just('\u{1b}'),
        ],
        0..120,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn any_rendered_feed_round_trips_through_the_icalendar_parser(
        start_hours in -2000i64..2000, zone in 0usize..5, slots in 0usize..6, title in "[A-Za-z0-9 ,;:\\\\'&()Øé—-]{1,60}",
    ) {
        let s = session("roundtrip", start_hours, zone, slots, &[0, 1], &["msme"], &title);
        let people: HashMap<PersonId, Person> = (0..2).map(|i| (person(i).id.clone(), person(i))).collect();
        let settings = CalendarSettings::default();
        let events = agenda_events(&settings, &s, &people);
        let text = render(&settings, &CalendarInfo { name: title.clone(), description: String::new() }, &events);
        let parsed = parsed_events(&text);
        prop_assert_eq!(parsed.len(), events.len());
        for (p, e) in parsed.iter().zip(&events) {
            prop_assert_eq!(&p.0, &e.uid);
            prop_assert_eq!(&p.1, &e.summary);
            prop_assert_eq!(&p.2, &e.description);
            // The same instant: in the session's zone, or in UTC (a UTC session, or a local
            // time in a repeated hour).
            let (tzid, local) = expected_start(e.start, &e.time_zone);
            let utc = format!("|{}", e.start.strftime("%Y%m%dT%H%M%SZ"));
            prop_assert!(p.3 == format!("{tzid}|{local}") || p.3 == utc, "{} for {}", p.3, e.start);
            prop_assert_eq!(&p.4, &e.sequence.to_string());
            prop_assert_eq!(&p.5, if e.cancelled { "CANCELLED" } else { "CONFIRMED" });
        }
    }

    #[test]
    fn hostile_text_never_breaks_the_feed_structure(
        title in hostile_text(), description in hostile_text(), location in hostile_text(), name in hostile_text(),
    ) {
        let mut s = session("hostile", 0, 0, 2, &[0], &["msme"], "x");
        s.title = title.clone();
        s.description = description.clone();
        s.location = location;
        s.organizer.name = name.clone();
        s.slots[0].title = title.clone();
        s.slots[0].description = description.clone();
        let mut p = person(0);
        p.name = name;
        let people: HashMap<PersonId, Person> = [(p.id.clone(), p)].into_iter().collect();
        let settings = CalendarSettings::default();
        let events = agenda_events(&settings, &s, &people);
        let text = render(&settings, &CalendarInfo { name: title.clone(), description: description.clone() }, &events);
        for line in text.split("\r\n") {
            prop_assert!(line.len() <= 75, "{} octets: {:?}", line.len(), line);
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            prop_assert!(!line.chars().any(|c| c.is_control() && c != '\t'), "control character in {:?}", line);
        }
        prop_assert_eq!(text.matches("\r\nBEGIN:VEVENT\r\n").count(), 2);
        prop_assert_eq!(text.matches("\r\nEND:VEVENT\r\n").count(), 2);
        let parsed = parsed_events(&text);
        prop_assert_eq!(parsed.len(), 2);
        prop_assert_eq!(&parsed[0].1, &agenda::ics::lines::clean_text(&title));
    }
}
