//! A store written by format 1 (indexes on disk) opens in format 2 (indexes in memory): it is
//! migrated at open, answers every read and query as before, and passes `agenda check`.
//!
//! The fixture `tests/fixtures/v1-store.tar.gz` is the demo imported by the last format-1
//! build; `v1-store.export.json` is what that build exported from it.

use std::path::Path;
use std::process::Command;

use agenda::domain::Limits;
use agenda::pb;

use crate::helpers::{TestApp, import_demo_into, session, spawn_app_at};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The format-1 store, unpacked into `dir/store`.
fn unpack_v1(dir: &Path) -> std::path::PathBuf {
    let status =
        Command::new("tar").arg("xzf").arg(format!("{FIXTURES}/v1-store.tar.gz")).arg("-C").arg(dir).status().unwrap();
    assert!(status.success(), "unpacking the format-1 fixture");
    dir.join("store")
}

fn agenda(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "agenda {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the queries answer: people by name, each person's sessions and slots, sessions by tag
/// and organizer and in a time window (records without their times, which differ by store).
async fn answers(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    let all_people = pb::ListPeopleRequest { page_size: 1000, ..Default::default() };
    let people = app.people.clone().list_people(all_people).await.unwrap().into_inner().people;
    out.extend(people.iter().map(|p| format!("person {} {}", p.id, p.name)));
    for p in &people {
        let by_person = pb::ListSessionsRequest { person_id: p.id.clone(), ..Default::default() };
        out.push(format!("sessions of {}: {:?}", p.id, app.list_all(by_person).await.0));
        let slots = pb::ListPersonSlotsRequest { person_id: p.id.clone(), page_size: 1000, ..Default::default() };
        let slots = app.people.clone().list_person_slots(slots).await.unwrap().into_inner().slots;
        let slots: Vec<String> =
            slots.into_iter().map(|s| format!("{}/{}", s.session_id, s.slot.unwrap().id)).collect();
        out.push(format!("slots of {}: {slots:?}", p.id));
    }
    let all = app.list_all(pb::ListSessionsRequest::default()).await.0;
    for id in &all {
        let s = app.session(id).await;
        out.push(format!("session {id} {} {:?} {}", s.title, s.tags, s.slots.len()));
        for tag in &s.tags {
            let by_tag = pb::ListSessionsRequest { tag: tag.clone(), ..Default::default() };
            out.push(format!("tag {tag}: {:?}", app.list_all(by_tag).await.0));
        }
        let window = pb::ListSessionsRequest { from_time: s.start_time, to_time: s.end_time, ..Default::default() };
        out.push(format!("window of {id}: {:?}", app.list_all(window).await.0));
    }
    out
}

#[tokio::test]
async fn a_format_1_store_is_migrated_at_open_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = unpack_v1(dir.path());
    let fresh = dir.path().join("fresh");
    import_demo_into(&fresh);

    let migrated = spawn_app_at(&v1, false, Limits::default()).await;
    let expected = spawn_app_at(&fresh, false, Limits::default()).await;
    let got = answers(&migrated).await;
    assert!(got.len() > 50, "the fixture holds the demo: {got:?}");
    assert_eq!(got, answers(&expected).await);
    // The speakers' answers were their participant statuses then: each slot now shows them.
    let demo = &migrated.list_all(Default::default()).await.0[0];
    let answers_of = |s: pb::Session| s.slots.into_iter().map(|sl| (sl.id, sl.answers)).collect::<Vec<_>>();
    let kept = answers_of(migrated.session(demo).await);
    let accepted = pb::ParticipationStatus::Accepted as i32;
    assert!(kept.iter().all(|(_, a)| !a.is_empty() && a.iter().all(|a| a.status == accepted)), "{kept:?}");
    assert_eq!(kept, answers_of(expected.session(demo).await));

    // Writes go on after the format-1 revisions.
    let before = migrated.session(&migrated.list_all(Default::default()).await.0[0]).await.etag;
    let created =
        migrated.create("after-migration", session("After", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")).await;
    assert!(created.etag.parse::<u64>().unwrap() > before.parse::<u64>().unwrap(), "{} after {before}", created.etag);
    migrated.stop().await;
    expected.stop().await;

    agenda(&v1, &["check"]);
    let exported = agenda(&v1, &["export"]);
    let v1_export = std::fs::read_to_string(format!("{FIXTURES}/v1-store.export.json")).unwrap();
    let without_new = |export: &str| {
        let mut v: serde_json::Value = serde_json::from_str(export).unwrap();
        v["sessions"].as_array_mut().unwrap().retain(|s| s["id"] != "after-migration");
        v
    };
    assert_eq!(without_new(&exported), without_new(&v1_export), "every record as format 1 stored it");
}
