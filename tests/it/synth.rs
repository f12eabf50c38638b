//! The benchmarks' generated data (`benches/synth.rs`, included here so that `cargo test`
//! checks it): the same seed gives the same records, every record is valid, and a load goes
//! through the service and can be run again.

use std::collections::HashSet;
use std::sync::Arc;

use agenda::app::Agenda;
use agenda::domain::{Limits, PersonId, Timestamp};
use agenda::pb;
use agenda::store::SledStore;

#[path = "../../benches/synth.rs"]
pub mod generator;

use generator::{Spec, load};

fn tiny() -> Spec {
    Spec::small().scaled_to(200)
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = tiny();
    let b = tiny();
    assert_eq!(a.all_people().collect::<Vec<_>>(), b.all_people().collect::<Vec<_>>());
    assert_eq!(a.all_sessions().collect::<Vec<_>>(), b.all_sessions().collect::<Vec<_>>());
    let c = Spec { seed: 7, ..tiny() };
    assert_ne!(a.session(3), c.session(3));
    // Records are independent of each other: any one can be rebuilt alone.
    assert_eq!(a.session(150), a.all_sessions().nth(150).unwrap());
}

#[test]
fn presets_are_proportional() {
    let (scale, small) = (Spec::scale(), Spec::small());
    assert_eq!((scale.sessions, scale.slots(), scale.people), (100_000, 1_000_000, 50_000));
    assert_eq!((small.sessions, small.slots(), small.people, small.span_days), (1_000, 10_000, 500, 35));
}

#[test]
fn sessions_validate_and_name_only_existing_people() {
    let spec = tiny();
    let people: HashSet<PersonId> = spec.all_people().map(|p| p.id).collect();
    let mut slots = 0;
    let zones: HashSet<String> = spec.all_sessions().map(|s| s.time_zone.to_string()).collect();
    assert_eq!(zones.len(), 5, "{zones:?}");
    for s in spec.all_sessions() {
        s.validate(&Limits::default()).unwrap_or_else(|v| panic!("{}: {v}", s.id));
        for p in s.referenced_people() {
            assert!(people.contains(&p), "{} names unknown {p}", s.id);
        }
        let mut sorted = s.clone();
        sorted.sort_slots();
        assert_eq!(sorted.slots, s.slots, "slots in time order");
        assert!(s.slots.windows(2).all(|w| w[0].end <= w[1].start), "no overlap in {}", s.id);
        assert!(!s.tags.is_empty() && !s.organizer.name.is_empty());
        slots += s.slots.len();
    }
    // On average slots_per_session, within sampling noise.
    let avg = slots as f64 / spec.sessions as f64;
    assert!((8.5..11.5).contains(&avg), "{avg}");
    for p in spec.all_people() {
        p.validate().unwrap();
    }
}

#[test]
fn the_large_agenda_validates() {
    let spec = tiny();
    let start: Timestamp = "2026-06-08T00:00:00Z".parse().unwrap();
    let s = spec.agenda("conference-week", start, 1_000);
    assert_eq!(s.slots.len(), 1_000);
    s.validate(&Limits::default()).unwrap();
    assert_eq!(spec.people_of(&s).len(), s.referenced_people().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_goes_through_the_service_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::small().scaled_to(40);
    {
        let agenda =
            Agenda::new(Arc::new(SledStore::open(dir.path()).unwrap()).shared(), Limits::default()).await.unwrap();
        let report = load(&agenda, &spec, 16).await.unwrap();
        assert_eq!((report.people, report.sessions), (spec.people, 40));
        assert_eq!(agenda.changes(), (spec.people + spec.sessions) as u64, "one write per record");
    }
    {
        // Again, on the store as it is now: nothing to write, nothing fails.
        let agenda =
            Agenda::new(Arc::new(SledStore::open(dir.path()).unwrap()).shared(), Limits::default()).await.unwrap();
        load(&agenda, &spec, 4).await.unwrap();
        assert_eq!(agenda.changes(), 0);
    }
    let app = crate::helpers::spawn_with(dir.path(), false, Limits::default(), |_| {}).await;
    for i in [0, 17, 39] {
        let id = spec.session_id(i).to_string();
        assert_eq!(app.session(&id).await.title, spec.session(i).title);
    }
    let person_id = spec.person_id(spec.people - 1).to_string();
    let person = app.people.clone().get_person(pb::GetPersonRequest { person_id }).await.unwrap().into_inner();
    assert_eq!(person.person.unwrap().name, spec.person(spec.people - 1).name);
}
