//! Third-party calendar parsers, run on what the server serves: Mozilla's ical.js (the parser
//! Thunderbird uses) and Python's icalendar. Installed from lock files by `scripts/test`
//! (tests/interop); both print the same normalized JSON (see tests/interop/parse_ics.py).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn interop_dir() -> PathBuf {
    std::env::var_os("AGENDA_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop"))
}

fn run(program: &str, script: &str, input: &str) -> Value {
    let mut child = Command::new(program)
        .arg(interop_dir().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {script}: {e} (run scripts/test, which installs the interop tools)"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} refused the calendar: {}\n--- calendar ---\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Parses `ics` with Python's icalendar.
pub fn python(ics: &str) -> Value {
    let python = std::env::var("AGENDA_TEST_PYTHON")
        .unwrap_or_else(|_| interop_dir().join(".venv/bin/python").to_string_lossy().into_owned());
    run(&python, "parse_ics.py", ics)
}

/// Parses `ics` with ical.js.
pub fn icaljs(ics: &str) -> Value {
    let node = std::env::var("AGENDA_TEST_NODE").unwrap_or_else(|_| "node".into());
    run(&node, "parse_ics.mjs", ics)
}

/// What both parsers agree on, per event: (uid, start_utc, end_utc, sequence, status).
pub type Summary = Vec<(String, String, String, u64, String)>;

fn summary(v: &Value) -> Summary {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["uid"].as_str().unwrap().to_owned(),
                e["start_utc"].as_str().unwrap_or("(none)").to_owned(),
                e["end_utc"].as_str().unwrap_or("(none)").to_owned(),
                e["sequence"].as_u64().unwrap(),
                e["status"].as_str().unwrap_or("(none)").to_owned(),
            )
        })
        .collect()
}

/// Parses with both parsers; they must accept it, resolve every TZID from the calendar's own
/// VTIMEZONEs, and agree. Returns Python's full view and the common summary.
pub fn parse_both(ics: &str) -> (Value, Summary) {
    let py = python(ics);
    let js = icaljs(ics);
    assert_eq!(py["missing_tzids"], serde_json::json!([]), "a TZID without VTIMEZONE");
    assert_eq!(js["missing_tzids"], serde_json::json!([]), "a TZID without VTIMEZONE");
    let (a, b) = (summary(&py), summary(&js));
    assert_eq!(a, b, "Python icalendar and ical.js disagree");
    for key in ["summary", "description", "location", "organizer", "url"] {
        let pa: Vec<&Value> = py["events"].as_array().unwrap().iter().map(|e| &e[key]).collect();
        let ja: Vec<&Value> = js["events"].as_array().unwrap().iter().map(|e| &e[key]).collect();
        assert_eq!(pa, ja, "parsers disagree on {key}");
    }
    (py, a)
}

/// Parses an e-mail with Python's standard `email` package (tests/interop/parse_mime.py).
pub fn mime(email: &[u8]) -> Value {
    let python = std::env::var("AGENDA_TEST_PYTHON")
        .unwrap_or_else(|_| interop_dir().join(".venv/bin/python").to_string_lossy().into_owned());
    run(&python, "parse_mime.py", std::str::from_utf8(email).expect("e-mails are ASCII"))
}

/// Lists the services of a server through gRPC reflection with grpcio-reflection
/// (tests/interop/check_reflection.py); `--v1` for the v1 API, v1alpha otherwise.
pub fn reflection(address: &str, flag: Option<&str>) -> Value {
    let python = std::env::var("AGENDA_TEST_PYTHON")
        .unwrap_or_else(|_| interop_dir().join(".venv/bin/python").to_string_lossy().into_owned());
    let mut cmd = Command::new(&python);
    cmd.arg(interop_dir().join("check_reflection.py"));
    if let Some(f) = flag {
        cmd.arg(f);
    }
    let out = cmd.arg(address).output().expect("running check_reflection.py (run scripts/test to install it)");
    assert!(out.status.success(), "check_reflection.py: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Parses Prometheus text with the prometheus_client library (tests/interop/parse_metrics.py).
pub fn metrics(text: &str) -> Value {
    let python = std::env::var("AGENDA_TEST_PYTHON")
        .unwrap_or_else(|_| interop_dir().join(".venv/bin/python").to_string_lossy().into_owned());
    run(&python, "parse_metrics.py", text)
}
