//! The commands that open the store and serve nothing (`import`, `export`, `check`, `invite`,
//! `migrate`), on either engine, as `serve` finds it (issue 26): `--store`, `AGENDA_STORE` and
//! the configuration file's `store` and `[etcd]`. A flag a command does not take is refused
//! naming it; the environment's settings of the server's other subsystems stay out of the way.
//! Every run is the real binary in an empty working directory, with none of the caller's
//! `AGENDA_*` variables.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::import_demo_into;

const DEMO_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/fmg-msme-2022-11-17.json");

/// `agenda ARGS` in `cwd` with `env` as the only `AGENDA_*` variables.
fn agenda_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agenda"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AGENDA_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(cwd).envs(env.iter().copied()).args(args).env("RUST_BACKTRACE", "0").output().unwrap()
}

fn succeeded(args: &[&str], out: Output) -> String {
    assert!(out.status.success(), "agenda {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `agenda ARGS`, which must fail; its standard error.
fn refused(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = agenda_in(cwd, env, args);
    assert!(!out.status.success(), "agenda {args:?} ran: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "agenda {args:?} wrote: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

/// What the sled store in `dir` exports.
fn sled_export(dir: &Path) -> String {
    let args = ["--data", dir.to_str().unwrap(), "export"];
    succeeded(&args, agenda_in(dir, &[], &args))
}

#[test]
fn a_flag_a_command_does_not_take_is_refused_naming_it() {
    let cwd = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["export", "--smtp-url", "smtp://127.0.0.1:2525?tls=none"], "--smtp-url"),
        (&["import", "--grpc-listen", "127.0.0.1:1", DEMO_FILE], "--grpc-listen"),
        (&["check", "--uid-domain", "agenda.example.org"], "--uid-domain"),
        (&["invite", "--demo", "fmg-msme-2022-11-17", "valentina-rollo"], "--demo"),
        (&["migrate", "--store", "sled", "--from", "a", "--to", "b"], "--store"),
        (&["--data", "a", "migrate", "--from", "a", "--to", "b"], "--data"),
        (&["--data", "a", "export", "--store", "etcd://127.0.0.1:2379/agenda/"], "--data"),
        (&["export", "--server", "http://127.0.0.1:1", "--store", "sled"], "--store"),
        (&["--data", "a", "export", "--server", "http://127.0.0.1:1"], "--data"),
        (&["export", "--token", "secret-of-nowhere"], "--server"),
    ];
    for (args, flag) in cases {
        let err = refused(cwd.path(), &[], args);
        assert!(err.contains(flag), "agenda {args:?} does not name {flag}: {err}");
    }
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "no store was opened");
}

#[test]
fn agenda_store_naming_a_sled_directory_is_honoured_by_every_command() {
    let (data, cwd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = format!("sled:{}", data.path().display());
    let args = ["import", DEMO_FILE];
    succeeded(&args, agenda_in(cwd.path(), &[("AGENDA_STORE", &store)], &args));
    let expected = sled_export(data.path());
    assert!(expected.contains("fmg-msme-2022-11-17"), "{expected}");

    let from_env = succeeded(&["export"], agenda_in(cwd.path(), &[("AGENDA_STORE", &store)], &["export"]));
    assert_eq!(from_env, expected);
    let flag = ["export", "--store", &store];
    assert_eq!(succeeded(&flag, agenda_in(cwd.path(), &[], &flag)), expected);
    let file = cwd.path().join("agenda.toml");
    std::fs::write(&file, format!("store = {store:?}\n")).unwrap();
    let config = ["export", "--config", file.to_str().unwrap()];
    assert_eq!(succeeded(&config, agenda_in(cwd.path(), &[], &config)), expected);
    let data_env = [("AGENDA_DATA", data.path().to_str().unwrap())];
    assert_eq!(succeeded(&["export"], agenda_in(cwd.path(), &data_env, &["export"])), expected);

    let check = ["check", "--store", &store];
    assert!(succeeded(&check, agenda_in(cwd.path(), &[], &check)).starts_with("ok: "));
    let invite = ["invite", "--store", &store, "fmg-msme-2022-11-17", "valentina-rollo"];
    assert!(succeeded(&invite, agenda_in(cwd.path(), &[], &invite)).contains("method=REQUEST"));
    assert!(!cwd.path().join("agenda-data").exists(), "never the default directory");
}

/// A server host's environment, set for `serve`, with a setting this shell lacks: the
/// commands that do not use it run; the one that does refuses it.
#[test]
fn the_environment_of_the_servers_other_settings_does_not_stop_a_backup() {
    let (data, cwd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import_demo_into(data.path());
    let dir = data.path().to_str().unwrap();
    let serve_env = [
        ("AGENDA_DATA", dir),
        ("AGENDA_SMTP_URL", "smtps://agenda@mail.example.org"),
        ("AGENDA_REPLY_MAILBOX", "imaps://organizer@mail.example.org/INBOX"),
        ("AGENDA_TOKEN", "not-for-an-offline-export"),
    ];
    assert_eq!(succeeded(&["export"], agenda_in(cwd.path(), &serve_env, &["export"])), sled_export(data.path()));
    let err = refused(cwd.path(), &serve_env, &["serve", "--print-config"]);
    assert!(err.contains("reply_mailbox"), "{err}");
    let typo = [("AGENDA_DATA", dir), ("AGENDA_STORE", "etcd:/127.0.0.1:2379")];
    let err = refused(cwd.path(), &typo, &["export"]);
    assert!(err.contains("etcd:/127.0.0.1:2379") && err.contains("expected"), "{err}");
}

/// Without the etcd engine, an etcd store named anywhere is refused: never a backup of the
/// local directory in its place.
#[cfg(not(feature = "etcd"))]
#[test]
fn an_etcd_store_in_the_environment_is_never_exported_from_the_local_directory() {
    let cwd = tempfile::tempdir().unwrap();
    import_demo_into(&cwd.path().join("agenda-data"));
    let etcd = [("AGENDA_STORE", "etcd://127.0.0.1:2379/agenda/")];
    for args in [&["export"][..], &["import", DEMO_FILE], &["invite", "fmg-msme-2022-11-17", "valentina-rollo"]] {
        let err = refused(cwd.path(), &etcd, args);
        assert!(err.contains("--features etcd"), "agenda {args:?}: {err}");
    }
    let err = refused(cwd.path(), &etcd, &["check"]);
    assert!(err.contains("sled stores only"), "{err}");
}

/// Feature `etcd`: import, export and invite on a real cluster by `--store`, `AGENDA_STORE`
/// and the file's `store`; check refuses it, saying it checks sled stores only.
#[cfg(feature = "etcd")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_on_an_etcd_store_named_by_flag_environment_or_file() {
    let cluster = crate::etcd_cluster::EtcdCluster::start().await;
    let etcd = cluster.store_url("offline");
    let (sled, cwd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import_demo_into(sled.path());
    // A decoy: the default directory holds other data, which must never be what is read.
    let decoy = ["--data", "agenda-data", "import", "-"];
    let renamed = agenda::DEMO_DATA.replace("Integration of MSMEs", "The decoy");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agenda"))
        .current_dir(cwd.path())
        .args(decoy)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), renamed.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());

    let import = ["import", "--store", &etcd, DEMO_FILE];
    let summary = succeeded(&import, agenda_in(cwd.path(), &[], &import));
    assert!(summary.starts_with("sessions: 1 created"), "{summary}");
    let out = cwd.path().join("etcd.json");
    let flag = ["export", "--store", &etcd, "--out", out.to_str().unwrap()];
    succeeded(&flag, agenda_in(cwd.path(), &[], &flag));
    let expected = std::fs::read_to_string(&out).unwrap();
    assert!(expected.contains("Integration of MSMEs") && !expected.contains("The decoy"), "{expected}");

    let from_env = succeeded(&["export"], agenda_in(cwd.path(), &[("AGENDA_STORE", &etcd)], &["export"]));
    assert_eq!(from_env, expected, "AGENDA_STORE: the etcd store, not ./agenda-data");
    let file = cwd.path().join("agenda.toml");
    std::fs::write(&file, format!("store = {etcd:?}\n")).unwrap();
    let config = ["export", "--config", file.to_str().unwrap()];
    assert_eq!(succeeded(&config, agenda_in(cwd.path(), &[], &config)), expected);

    let person = ["fmg-msme-2022-11-17", "valentina-rollo"];
    let invite_etcd: Vec<&str> = ["invite", "--store", &etcd].into_iter().chain(person).collect();
    let invite_sled: Vec<&str> =
        ["--data", sled.path().to_str().unwrap(), "invite"].into_iter().chain(person).collect();
    let (there, here) = (agenda_in(cwd.path(), &[], &invite_etcd), agenda_in(cwd.path(), &[], &invite_sled));
    let (there, here) = (succeeded(&invite_etcd, there), succeeded(&invite_sled, here));
    assert!(there.contains("method=REQUEST"), "{there}");
    // The same message from either engine, but for the time it was made (Date, DTSTAMP).
    let headers = |mail: &str| {
        mail.lines()
            .filter(|l| l.starts_with("Subject:") || l.starts_with("Message-ID:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(headers(&there), headers(&here));

    let err = refused(cwd.path(), &[("AGENDA_STORE", &etcd)], &["check"]);
    assert!(err.contains("sled stores only"), "{err}");
}

/// Feature `etcd`: the file's `[etcd]` settings reach an offline command as they reach serve
/// (here the CA of a cluster that speaks TLS only).
#[cfg(feature = "etcd")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_etcd_settings_reach_export() {
    let cluster = crate::etcd_cluster::EtcdCluster::start_tls().await;
    let etcd = cluster.store_url("tls");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("etcd-ca.pem"), cluster.ca_pem.as_deref().unwrap()).unwrap();
    std::fs::write(cwd.path().join("agenda.toml"), format!("store = {etcd:?}\n[etcd]\nca = \"etcd-ca.pem\"\n"))
        .unwrap();
    let import = ["import", "--config", "agenda.toml", DEMO_FILE];
    succeeded(&import, agenda_in(cwd.path(), &[], &import));
    let exported = succeeded(&["export"], agenda_in(cwd.path(), &[("AGENDA_CONFIG", "agenda.toml")], &["export"]));
    assert!(exported.contains("fmg-msme-2022-11-17"), "{exported}");
}
