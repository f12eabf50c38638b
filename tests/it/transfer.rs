//! `agenda import` / `agenda export` on the command line.

use std::path::Path;
use std::process::Command;

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
