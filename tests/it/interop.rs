//! Third-party calendar parsers, run on what the server serves: Mozilla's ical.js (the parser
//! Thunderbird uses) and Python's icalendar. Both print the same normalized JSON (see
//! tests/interop/parse_ics.py).
//!
//! The tools come from the lock files in tests/interop. `scripts/test` installs them and says
//! where they are (AGENDA_TEST_PYTHON, AGENDA_TEST_NODE, AGENDA_INTEROP_DIR); without those,
//! the first test that needs them runs `scripts/interop-tools` (the same installer), so plain
//! `cargo test` works on a fresh clone. If that cannot work (no node, npm or python3), the
//! test binary stops with one message saying what to install, rather than failing every
//! interop test with the same cause.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Where the interop tools are.
struct Tools {
    python: String,
    node: String,
    /// tests/interop: the scripts the tools run.
    dir: PathBuf,
}

/// The interop tools, installed on first use unless the environment names them.
fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::var_os("AGENDA_INTEROP_DIR").map_or_else(|| repo.join("tests/interop"), PathBuf::from);
        let (python, node) = (std::env::var("AGENDA_TEST_PYTHON").ok(), std::env::var("AGENDA_TEST_NODE").ok());
        if python.is_none() || node.is_none() {
            install(&repo);
        }
        Tools {
            python: python.unwrap_or_else(|| dir.join(".venv/bin/python").to_string_lossy().into_owned()),
            node: node.unwrap_or_else(|| "node".into()),
            dir,
        }
    })
}

/// Runs `scripts/interop-tools` (idempotent, quick once installed); on failure, ends the test
/// process with its message. Written to stderr directly: the test harness captures `eprintln!`
/// and would show nothing of a process that exits.
fn install(repo: &std::path::Path) {
    let out = Command::new("bash").arg(repo.join("scripts/interop-tools")).output();
    let message = match out {
        Ok(out) if out.status.success() => return,
        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
        Err(e) => format!("cannot run scripts/interop-tools: {e}\n"),
    };
    let _ = write!(std::io::stderr(), "\nthe interop tests cannot run: scripts/interop-tools failed\n{message}");
    std::process::exit(2);
}

fn run(program: &str, script: &str, input: &str) -> Value {
    let mut child = Command::new(program)
        .arg(tools().dir.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {script}: {e}"));
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
    run(&tools().python, "parse_ics.py", ics)
}

/// Runs a node script of tests/interop with `input` on stdin; its stdout is JSON.
pub fn node(script: &str, input: &str) -> Value {
    run(&tools().node, script, input)
}

/// Parses `ics` with ical.js.
pub fn icaljs(ics: &str) -> Value {
    run(&tools().node, "parse_ics.mjs", ics)
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
    run(&tools().python, "parse_mime.py", std::str::from_utf8(email).expect("e-mails are ASCII"))
}

/// Lists the services of a server through gRPC reflection with grpcio-reflection
/// (tests/interop/check_reflection.py); `--v1` for the v1 API, v1alpha otherwise.
pub fn reflection(address: &str, flag: Option<&str>) -> Value {
    let tools = tools();
    let mut cmd = Command::new(&tools.python);
    cmd.arg(tools.dir.join("check_reflection.py"));
    if let Some(f) = flag {
        cmd.arg(f);
    }
    let out = cmd.arg(address).output().expect("running check_reflection.py");
    assert!(out.status.success(), "check_reflection.py: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The pinned Python interpreter (its packages: tests/interop/requirements.txt), for scripts
/// run as servers (tests/it/delivery.rs).
pub fn python_interpreter() -> &'static str {
    &tools().python
}

/// Parses Prometheus text with the prometheus_client library (tests/interop/parse_metrics.py).
pub fn metrics(text: &str) -> Value {
    run(&tools().python, "parse_metrics.py", text)
}

/// Runs Python's `caldav` library against a server (tests/interop/caldav_client.py `args`) and
/// returns what it saw. On the blocking pool: the server under test shares the test's runtime.
pub async fn caldav(args: &[&str]) -> Value {
    let tools = tools();
    let mut cmd = Command::new(&tools.python);
    cmd.arg(tools.dir.join("caldav_client.py")).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("running caldav_client.py");
    assert!(out.status.success(), "caldav_client.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `caldav-server-tester` (PyPI, pinned in requirements.txt) with `args` and returns its
/// JSON report. It lists only the features it did not find fully supported.
pub async fn caldav_server_tester(args: &[&str]) -> Value {
    let tools = tools();
    let tester = std::path::Path::new(&tools.python).with_file_name("caldav-server-tester");
    let mut cmd = Command::new(tester);
    cmd.args(args).args(["--format", "json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("running caldav-server-tester");
    assert!(out.status.success(), "caldav-server-tester {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
