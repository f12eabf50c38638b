//! `agenda import` / `agenda export` on the command line, and `serve --demo` restarts.

use std::path::Path;
use std::process::Command;

use agenda::domain::Limits;
use agenda::pb;
use prost_types::FieldMask;
use serde_json::Value;

use crate::helpers::{TestApp, slot, spawn_app_at, ts};

fn agenda(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "agenda {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

const DEMO_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/fmg-msme-2022-11-17.json");

#[test]
fn export_of_an_import_round_trips_and_import_is_idempotent() {
    let a = tempfile::tempdir().unwrap();
    agenda(a.path(), &["import", DEMO_FILE]);
    let first = agenda(a.path(), &["export"]).stdout;
    agenda(a.path(), &["import", DEMO_FILE]);
    let second = agenda(a.path(), &["export"]).stdout;
    assert_eq!(first, second, "a second import changes nothing");

    // What the export holds is what the demo file holds (plus bookkeeping times).
    let exported: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let demo: serde_json::Value = serde_json::from_str(agenda::DEMO_DATA).unwrap();
    let session = &exported["sessions"][0];
    for key in [
        "id",
        "title",
        "description",
        "organizer",
        "start",
        "end",
        "time_zone",
        "recording_url",
        "materials",
        "participants",
        "tags",
    ] {
        assert_eq!(session[key], demo["sessions"][0][key], "{key}");
    }
    assert_eq!(exported["people"].as_array().unwrap().len(), demo["people"].as_array().unwrap().len());

    // Into an empty store, the export gives the same export back.
    let b = tempfile::tempdir().unwrap();
    let file = a.path().join("backup.json");
    agenda(a.path(), &["export", "--out", file.to_str().unwrap()]);
    agenda(b.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(agenda(b.path(), &["export"]).stdout, first);
}

#[test]
fn a_malformed_import_names_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, agenda::DEMO_DATA.replacen("\"2022-11-17T15:05:00+01:00\"", "\"17 Nov 15:05\"", 1)).unwrap();
    let data = dir.path().join("data");
    let out =
        Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(&data).arg("import").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sessions[0].slots[0].end") || err.contains("sessions[0].slots[1].start"), "{err}");
    let export: serde_json::Value = serde_json::from_slice(&agenda(&data, &["export"]).stdout).unwrap();
    assert_eq!(export["people"].as_array().unwrap().len(), 0, "validation runs before any write");
}

const DEMO: &str = "fmg-msme-2022-11-17";

/// What `agenda import` prints: one line of counts.
fn summary(sessions: [usize; 4], people: [usize; 4]) -> String {
    let counts = |[c, r, u, s]: [usize; 4]| format!("{c} created, {r} replaced, {u} unchanged, {s} skipped");
    format!("sessions: {}; people: {}\n", counts(sessions), counts(people))
}

fn import(dir: &Path, args: &[&str]) -> String {
    let args: Vec<&str> = ["import"].iter().chain(args).copied().collect();
    String::from_utf8(agenda(dir, &args).stdout).unwrap()
}

/// The demo session as `agenda export` writes it.
fn exported_demo(dir: &Path) -> Value {
    let export: Value = serde_json::from_slice(&agenda(dir, &["export"]).stdout).unwrap();
    export["sessions"].as_array().unwrap().iter().find(|s| s["id"] == DEMO).cloned().unwrap()
}

fn slot_of<'a>(slots: &'a Value, id: &str) -> &'a Value {
    slots.as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("slot {id}"))
}

/// The exported sequence (absent when 0).
fn seq(v: &Value) -> u64 {
    v["sequence"].as_u64().unwrap_or(0)
}

/// The edits of the story: a slot cancelled, one moved into its time, one removed,
/// and one added in its place.
async fn edit_the_demo(app: &TestApp) {
    let update = |slot: pb::Slot, paths: &[&str]| pb::UpdateSlotRequest {
        session_id: DEMO.into(),
        slot: Some(slot),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() }),
        etag: String::new(),
    };
    let cancel =
        pb::Slot { id: "speaker-2-lundquist".into(), status: pb::SlotStatus::Cancelled.into(), ..Default::default() };
    app.sessions.clone().update_slot(update(cancel, &["status"])).await.unwrap();
    let moved = pb::Slot {
        id: "speaker-3-rollo".into(),
        start_time: Some(ts("2022-11-17T14:15:00Z")),
        end_time: Some(ts("2022-11-17T14:25:00Z")),
        ..Default::default()
    };
    app.sessions.clone().update_slot(update(moved, &["start_time", "end_time"])).await.unwrap();
    let remove =
        pb::RemoveSlotRequest { session_id: DEMO.into(), slot_id: "opening-remarks".into(), etag: String::new() };
    app.sessions.clone().remove_slot(remove).await.unwrap();
    let add = pb::AddSlotRequest {
        session_id: DEMO.into(),
        slot: Some(slot("late-addition", "Late addition", "2022-11-17T14:00:00Z", "2022-11-17T14:05:00Z")),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().add_slot(add).await.unwrap();
}

/// The demo session as the server answers it, without the feed URLs (each server has its port).
async fn served_demo(app: &TestApp) -> pb::Session {
    pb::Session { feed_urls: None, ..app.session(DEMO).await }
}

#[tokio::test]
async fn a_restart_with_demo_and_a_default_import_keep_every_edit() {
    let dir = tempfile::tempdir().unwrap();
    // First start with --demo, then the organizers edit the agenda.
    let app = spawn_app_at(dir.path(), true, Limits::default()).await;
    edit_the_demo(&app).await;
    let edited = served_demo(&app).await;
    assert!(edited.sequence > 0 || edited.slots.iter().any(|s| s.sequence > 0));
    app.stop().await;

    // A restart with --demo finds the demo present and leaves it exactly as edited.
    let app = spawn_app_at(dir.path(), true, Limits::default()).await;
    assert_eq!(served_demo(&app).await, edited);
    app.stop().await;
    let before = exported_demo(dir.path());

    // So does `agenda import` of the demo file (skip-existing is its default).
    assert_eq!(import(dir.path(), &[DEMO_FILE]), summary([0, 0, 0, 1], [0, 0, 0, 28]));
    assert_eq!(exported_demo(dir.path()), before);
    let app = spawn_app_at(dir.path(), false, Limits::default()).await;
    assert_eq!(served_demo(&app).await, edited);
    app.stop().await;
}

#[tokio::test]
async fn import_in_replace_mode_restores_the_file_with_higher_sequences_and_cancels_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(import(dir.path(), &[DEMO_FILE]), summary([1, 0, 0, 0], [28, 0, 0, 0]));
    let app = spawn_app_at(dir.path(), false, Limits::default()).await;
    edit_the_demo(&app).await;
    app.stop().await;
    let before = exported_demo(dir.path());

    let out = import(dir.path(), &["--mode", "replace", DEMO_FILE]);
    assert_eq!(out, summary([0, 1, 0, 0], [0, 0, 28, 0]));
    let after = exported_demo(dir.path());

    // The content is the file's again.
    let demo: Value = serde_json::from_str(agenda::DEMO_DATA).unwrap();
    let file = &demo["sessions"][0];
    let ids = |v: &Value| v["slots"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(file));
    for s in file["slots"].as_array().unwrap() {
        let a = slot_of(&after["slots"], s["id"].as_str().unwrap());
        for key in ["start", "end", "status", "title"] {
            assert_eq!(a[key], s[key], "{} {key}", s["id"]);
        }
    }
    // Sequences never go back: the session's and every changed slot's are past the stored ones.
    assert!(seq(&after) > seq(&before), "session {} -> {}", seq(&before), seq(&after));
    for id in ["speaker-2-lundquist", "speaker-3-rollo"] {
        assert!(seq(slot_of(&after["slots"], id)) > seq(slot_of(&before["slots"], id)), "{id}");
    }
    let removed = |v: &Value| v["removed_slots"].as_array().cloned().unwrap_or_default();
    let opening = removed(&before).into_iter().find(|r| r["slot"]["id"] == "opening-remarks").unwrap();
    assert!(seq(slot_of(&after["slots"], "opening-remarks")) > seq(&opening["slot"]));
    for id in ["speaker-1-cancela", "open-discussion"] {
        assert_eq!(seq(slot_of(&after["slots"], id)), seq(slot_of(&before["slots"], id)), "{id} is unchanged");
    }
    // The slot the file lacks is not gone: it is a removed slot, cancelled, with a higher sequence.
    let late = removed(&after).into_iter().find(|r| r["slot"]["id"] == "late-addition").expect("a removed slot");
    assert_eq!(late["slot"]["status"], "cancelled");
    assert!(seq(&late["slot"]) > seq(slot_of(&before["slots"], "late-addition")));

    // Calendars see it cancelled.
    let app = spawn_app_at(dir.path(), false, Limits::default()).await;
    let feed = app.feed(&format!("/feeds/sessions/{DEMO}.ics")).await.replace("\r\n ", "");
    let event = feed.split("BEGIN:VEVENT").find(|e| e.contains("late-addition")).expect("still in the feed");
    assert!(event.contains("STATUS:CANCELLED"), "{event}");
    app.stop().await;

    // Replacing with the same file again changes nothing.
    assert_eq!(import(dir.path(), &["--mode", "replace", DEMO_FILE]), summary([0, 0, 1, 0], [0, 0, 28, 0]));
    assert_eq!(exported_demo(dir.path()), after);
}
