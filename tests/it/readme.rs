//! README.md's shell recipes, run as written. Every ```` ```sh ```` block carries a marker, the
//! HTML comment on the line before its fence, saying how it is tested:
//!
//! - `<!-- recipe: run WORLD -->`: runs to completion (bash, `set -euo pipefail`);
//! - `<!-- recipe: serve WORLD -->`: ends with a server in the foreground; it runs in the
//!   background until its HTTP listener answers `/healthz`, and is stopped (SIGTERM to the
//!   block's processes, which must go) before the world's next `run` or `serve` block;
//! - `<!-- recipe: with WORLD -->`: runs to completion while that server serves;
//! - `<!-- recipe: show: REASON -->`: not run, for the reason given.
//!
//! `; expect: TEXT` (repeatable) after `run`, `serve` or `with`: the block's output (stdout and
//! stderr) must contain TEXT. A world is one reader's terminal session: a temporary directory
//! standing for the repository root (the tracked directories recipes read, `data`, `docs`,
//! `proto`, `scripts` and `tests`, are linked into it, so whatever a recipe writes stays in
//! it), its blocks run in README order, its processes are ended with it. Worlds are
//! independent, one test each; the `etcd` world runs only with the feature (scripts/test).
//!
//! What differs from a reader's terminal (the README says so too): `cargo run --release
//! [--features etcd] --` is the `agenda` binary this test was built with (a `cargo` shim on
//! the PATH, which refuses any other cargo command); `agenda serve` listens on free ports, and
//! `127.0.0.1:50051` and `127.0.0.1:8080` in a block are replaced by them; in the etcd world,
//! `apt-get download etcd-server` copies the package scripts/test fetched
//! (`AGENDA_TEST_ETCD_DEB`) and `apt-get install` only checks the packages are installed.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../README.md");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The directories recipes read, linked into every world.
const LINKED: &[&str] = &["data", "docs", "proto", "scripts", "tests"];
/// The worlds the tests below run; a marker naming another is an error.
const WORLDS: &[&str] = &["demo", "offline", "smtp", "dovecot", "etcd"];
/// Longest a `run` or `with` block may take (the first `scripts/interop-tools` installs).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest a server may take to answer `/healthz`, and to stop.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Run,
    Serve,
    With,
    Show,
}

/// One ```` ```sh ```` block of the README with its marker.
#[derive(Debug, Clone)]
struct Block {
    /// 1-based line of the fence, for messages.
    line: usize,
    kind: Kind,
    world: String,
    expect: Vec<String>,
    script: String,
}

/// Every shell block of `readme`, or every problem with the markers.
fn blocks(readme: &str) -> Result<Vec<Block>, Vec<String>> {
    let lines: Vec<&str> = readme.lines().collect();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let Some(lang) = line.strip_prefix("```") else {
            if line.starts_with("<!-- recipe:") && !lines.get(i + 1).is_some_and(|l| l.starts_with("```sh")) {
                errors.push(format!("README.md:{}: a recipe marker not followed by a ```sh block", i + 1));
            }
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len()).find(|&j| lines[j].trim_end() == "```").unwrap_or(lines.len());
        if matches!(lang, "sh" | "bash" | "shell" | "console") {
            let script = lines[i + 1..end].join("\n") + "\n";
            let marker = i.checked_sub(1).map(|j| lines[j].trim()).unwrap_or("");
            match parse_marker(marker) {
                Ok((kind, world, expect)) => out.push(Block { line: i + 1, kind, world, expect, script }),
                Err(e) => errors.push(format!("README.md:{}: {e}", i + 1)),
            }
        }
        i = end + 1;
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// `<!-- recipe: KIND [WORLD][; expect: TEXT]... -->` or `<!-- recipe: show: REASON -->`.
fn parse_marker(marker: &str) -> Result<(Kind, String, Vec<String>), String> {
    let missing = "a shell block without a `<!-- recipe: ... -->` marker on the line before it";
    let body = marker.strip_prefix("<!-- recipe:").and_then(|m| m.strip_suffix("-->")).ok_or(missing)?.trim();
    if let Some(reason) = body.strip_prefix("show:") {
        return if reason.trim().is_empty() {
            Err("`show:` without a reason".into())
        } else {
            Ok((Kind::Show, String::new(), Vec::new()))
        };
    }
    let mut parts = body.split("; ");
    let head: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
    let kind = match head.first() {
        Some(&"run") => Kind::Run,
        Some(&"serve") => Kind::Serve,
        Some(&"with") => Kind::With,
        other => return Err(format!("unknown recipe kind {other:?} (run, serve, with, show)")),
    };
    let [_, world] = head[..] else { return Err(format!("`{body}`: name one world after the kind")) };
    if !WORLDS.contains(&world) {
        return Err(format!("unknown world `{world}` (the tests run {WORLDS:?})"));
    }
    let mut expect = Vec::new();
    for part in parts {
        let text = part.strip_prefix("expect: ").ok_or_else(|| format!("`{part}`: expected `expect: TEXT`"))?;
        expect.push(text.to_owned());
    }
    Ok((kind, world.to_owned(), expect))
}

/// A reader's terminal session: a directory standing for the repository root, shims on the
/// PATH, two free ports for `agenda serve`, and every process group its blocks started.
struct World {
    name: String,
    dir: tempfile::TempDir,
    grpc_port: u16,
    http_port: u16,
    groups: Vec<u32>,
    server: Option<(Block, Child, PathBuf)>,
    failures: Vec<String>,
}

impl World {
    fn new(name: &str) -> World {
        let dir = tempfile::tempdir().expect("temporary directory");
        // Open for Dovecot's unprivileged processes to traverse (they run as nobody under root).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("repo");
        for d in ["repo", "bin", "logs"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
            std::fs::set_permissions(dir.path().join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for d in LINKED {
            std::os::unix::fs::symlink(Path::new(ROOT).join(d), root.join(d)).unwrap();
        }
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let world = World {
            name: name.to_owned(),
            grpc_port: free(),
            http_port: free(),
            dir,
            groups: Vec::new(),
            server: None,
            failures: Vec::new(),
        };
        world.write_shims();
        world
    }

    fn write_shims(&self) {
        let bin = self.dir.path().join("bin");
        let shim = |name: &str, text: String| {
            std::fs::write(bin.join(name), text).unwrap();
            std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        shim(
            "cargo",
            r#"#!/usr/bin/env bash
# `cargo run --release [--features etcd] --` is the agenda binary the tests were built with.
if [ "$1 $2" = "run --release" ]; then
  shift 2
  if [ "$1" = "--features" ]; then shift 2; fi
  if [ "$1" = "--" ]; then shift; exec agenda "$@"; fi
fi
echo "readme test: a recipe runs 'cargo $*', which the tests do not run: mark the block show" >&2
exit 97
"#
            .to_owned(),
        );
        shim(
            "agenda",
            format!(
                r#"#!/usr/bin/env bash
# agenda serve on the world's free ports; every other command as it is.
for a in "$@"; do
  if [ "$a" = serve ]; then
    export AGENDA_GRPC_LISTEN=127.0.0.1:{grpc} AGENDA_HTTP_LISTEN=127.0.0.1:{http}
    break
  fi
done
exec {bin} "$@"
"#,
                grpc = self.grpc_port,
                http = self.http_port,
                bin = env!("CARGO_BIN_EXE_agenda"),
            ),
        );
        shim(
            "apt-get",
            r#"#!/usr/bin/env bash
# download: the package scripts/test fetched; install: only checks the packages are there.
case "$1" in
  download)
    if [ "$2" = etcd-server ] && [ -n "${AGENDA_TEST_ETCD_DEB:-}" ]; then
      exec cp "$AGENDA_TEST_ETCD_DEB" .
    fi
    exec /usr/bin/apt-get "$@" ;;
  install)
    shift
    for p in "$@"; do
      dpkg -s "$p" >/dev/null 2>&1 || { echo "readme test: $p is not installed" >&2; exit 1; }
    done ;;
  *) exec /usr/bin/apt-get "$@" ;;
esac
"#
            .to_owned(),
        );
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// Starts `block` in its own process group, its output in a log file.
    fn spawn(&mut self, block: &Block) -> (Child, PathBuf) {
        let script = block
            .script
            .replace("127.0.0.1:50051", &format!("127.0.0.1:{}", self.grpc_port))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.http_port));
        let log = self.dir.path().join("logs").join(format!("line-{}.log", block.line));
        let out = std::fs::File::create(&log).unwrap();
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", &script])
            .current_dir(self.repo())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        // The reader's shell has none of the agenda's settings; the tests' own locations stay.
        for (k, _) in std::env::vars() {
            if k.starts_with("AGENDA_") && !k.starts_with("AGENDA_TEST_") && k != "AGENDA_INTEROP_DIR" {
                cmd.env_remove(k);
            }
        }
        let child = cmd.spawn().expect("starting bash");
        self.groups.push(child.id());
        (child, log)
    }

    fn fail(&mut self, block: &Block, what: &str, log: &Path) {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = output.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        self.failures.push(format!(
            "README.md:{} ({:?} {}): {what}\n--- the block ---\n{}--- its output (last lines) ---\n{}\n",
            block.line,
            block.kind,
            self.name,
            block.script,
            tail.join("\n")
        ));
    }

    fn check_expected(&mut self, block: &Block, log: &Path) {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        for text in &block.expect {
            if !output.contains(text.as_str()) {
                self.fail(block, &format!("its output lacks `{text}`"), log);
            }
        }
    }

    fn run(&mut self, block: &Block) {
        match block.kind {
            Kind::Show => {}
            Kind::Run | Kind::With => {
                if block.kind == Kind::Run {
                    self.stop_server();
                } else if self.server.is_none() {
                    let log = self.dir.path().join("logs").join("none");
                    self.fail(block, "a `with` block before its world's `serve` block", &log);
                    return;
                }
                let (mut child, log) = self.spawn(block);
                match wait(&mut child, BLOCK_TIMEOUT) {
                    Some(status) if status.success() => self.check_expected(block, &log),
                    Some(status) => self.fail(block, &format!("exited with {status}"), &log),
                    None => {
                        kill_group(child.id());
                        let _ = child.wait();
                        self.fail(block, &format!("still running after {BLOCK_TIMEOUT:?}"), &log);
                    }
                }
            }
            Kind::Serve => {
                self.stop_server();
                let (mut child, log) = self.spawn(block);
                let deadline = Instant::now() + SERVER_TIMEOUT;
                loop {
                    if healthz(self.http_port) {
                        self.server = Some((block.clone(), child, log));
                        return;
                    }
                    if let Ok(Some(status)) = child.try_wait() {
                        return self.fail(block, &format!("exited with {status} before serving"), &log);
                    }
                    if Instant::now() > deadline {
                        kill_group(child.id());
                        let _ = child.wait();
                        return self.fail(block, &format!("no /healthz answer within {SERVER_TIMEOUT:?}"), &log);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Stops the running `serve` block as Ctrl-C would, and waits until all its processes went.
    fn stop_server(&mut self) {
        let Some((block, mut child, log)) = self.server.take() else { return };
        let group = child.id();
        signal_group(group, "TERM");
        let status = wait(&mut child, SERVER_TIMEOUT);
        let gone = wait_group_gone(group, SERVER_TIMEOUT);
        match status {
            // bash itself ends by the signal; the server exits 0 after its shutdown.
            Some(s) if s.success() || s.signal() == Some(15) => {}
            Some(s) => self.fail(&block, &format!("ended with {s} when stopped"), &log),
            None => self.fail(&block, &format!("still running {SERVER_TIMEOUT:?} after SIGTERM"), &log),
        }
        if !gone {
            kill_group(group);
            self.fail(&block, "its processes outlived SIGTERM", &log);
        }
        if !std::fs::read_to_string(&log).unwrap_or_default().contains("panicked") {
            self.check_expected(&block, &log);
        } else {
            self.fail(&block, "a panic in its output", &log);
        }
    }

    /// Runs `blocks` of this world in order and fails with every broken one.
    fn run_all(mut self, blocks: &[Block]) {
        let started = Instant::now();
        let mine: Vec<&Block> = blocks.iter().filter(|b| b.world == self.name).collect();
        assert!(!mine.is_empty(), "README.md has no block in world `{}`", self.name);
        for b in &mine {
            self.run(b);
        }
        self.stop_server();
        eprintln!("readme world {}: {} blocks in {:.1?}", self.name, mine.len(), started.elapsed());
        let failures = std::mem::take(&mut self.failures);
        assert!(failures.is_empty(), "{} README block(s) broken:\n{}", failures.len(), failures.join("\n"));
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some((_, mut child, _)) = self.server.take() {
            kill_group(child.id());
            let _ = child.wait();
        }
        for &g in &self.groups {
            signal_group(g, "TERM");
        }
        for &g in &self.groups {
            if !wait_group_gone(g, Duration::from_secs(10)) {
                kill_group(g);
            }
        }
    }
}

fn wait(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal_group(group: u32, signal: &str) {
    let _ =
        Command::new("kill").args([&format!("-{signal}"), "--", &format!("-{group}")]).stderr(Stdio::null()).status();
}

fn kill_group(group: u32) {
    signal_group(group, "KILL");
}

/// Whether every process of `group` has ended within `within`.
fn wait_group_gone(group: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let alive = Command::new("kill")
            .args(["-0", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !alive {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the HTTP listener on `port` answers `/healthz` with 200.
fn healthz(port: u16) -> bool {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    if tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn readme_blocks() -> Vec<Block> {
    blocks(README).unwrap_or_else(|errors| panic!("README.md's recipe markers:\n{}", errors.join("\n")))
}

fn run_world(name: &str) {
    World::new(name).run_all(&readme_blocks());
}

#[test]
fn every_shell_block_says_how_it_is_tested() {
    let blocks = readme_blocks();
    let named: BTreeSet<&str> = blocks.iter().filter(|b| b.kind != Kind::Show).map(|b| b.world.as_str()).collect();
    assert_eq!(named, WORLDS.iter().copied().collect(), "every world has blocks, and a test below");
    for w in WORLDS {
        let serves = blocks.iter().filter(|b| b.world == *w && b.kind == Kind::Serve).count();
        assert!(serves <= 1 || *w == "etcd", "world {w}: {serves} serve blocks");
    }
}

#[test]
fn a_broken_or_unmarked_block_is_reported() {
    let readme = "<!-- recipe: run demo -->\n```sh\ntrue\n```\n\n```sh\nfalse\n```\n\
                  <!-- recipe: show: because -->\n```sh\nx\n```\n<!-- recipe: run nowhere -->\n```sh\ny\n```\n";
    let errors = blocks(readme).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("README.md:6: a shell block without"), "{errors:?}");
    assert!(errors[1].contains("unknown world `nowhere`"), "{errors:?}");
    let mut world = World::new("demo");
    let block = Block {
        line: 1,
        kind: Kind::Run,
        world: "demo".into(),
        expect: vec!["hello".into()],
        script: "echo bye\n".into(),
    };
    world.run(&block);
    let failing = Block { line: 2, kind: Kind::Run, world: "demo".into(), expect: vec![], script: "false\n".into() };
    world.run(&failing);
    let failures = std::mem::take(&mut world.failures);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("its output lacks `hello`"), "{failures:?}");
    assert!(failures[1].contains("exited with exit status: 1"), "{failures:?}");
}

/// The quick start's server, and every block that talks to it.
#[test]
fn demo_recipes() {
    run_world("demo");
}

/// The commands that open the store directly: import, export, check, invite.
#[test]
fn offline_recipes() {
    run_world("offline");
}

/// Delivery over SMTP into aiosmtpd.
#[test]
fn smtp_recipes() {
    run_world("smtp");
}

/// The reply mailbox with an unprivileged Dovecot of its own.
#[test]
fn dovecot_recipes() {
    run_world("dovecot");
}

/// A one-member etcd from Debian's package, serve on it, migrate there and back.
#[cfg(feature = "etcd")]
#[test]
fn etcd_recipes() {
    run_world("etcd");
}
