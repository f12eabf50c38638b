//! SMTP over TLS as organizations run their relays: a certificate from a private CA, trusted
//! through `smtp.ca` (`--smtp-ca`), with STARTTLS (`smtp://`, required) and implicit TLS
//! (`smtps://`), end to end against aiosmtpd (tests/interop/smtp_server.py `--tls`) presenting
//! a certificate for `localhost` from the test CA of tests/it/production.rs.

use std::path::PathBuf;

use agenda::domain::Limits;

use crate::delivery::{Mailbox, SESSION, coming_session, metric, settled, six, six_invitations};
use crate::helpers::{TestApp, spawn_with};
use crate::production::pki;

/// The relay's certificate and key, and the CA that signed them, as PEM files in `dir`.
struct RelayFiles {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

fn relay_files(dir: &std::path::Path) -> RelayFiles {
    let pki = pki();
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    RelayFiles {
        cert: write("relay.pem", &pki.server_cert),
        key: write("relay.key", &pki.server_key),
        ca: write("ca.pem", &pki.ca),
    }
}

/// aiosmtpd speaking TLS (`starttls` or `implicit`) with the relay's certificate.
fn relay(mode: &str, files: &RelayFiles) -> Mailbox {
    let (cert, key) = (files.cert.to_str().unwrap(), files.key.to_str().unwrap());
    Mailbox::start(0, &["--tls", mode, "--cert", cert, "--key", key])
}

/// A demo server sending to `url`, trusting `ca` when given.
async fn sender(dir: &std::path::Path, url: String, ca: Option<PathBuf>) -> TestApp {
    spawn_with(dir, true, Limits::default(), |c| {
        c.smtp.url = Some(url);
        c.smtp.ca = ca;
        c.smtp.retry_max_seconds = 1;
        c.smtp.rate_per_second = 0;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_the_relays_private_ca_delivers_every_invite_once() {
    let certs = tempfile::tempdir().unwrap();
    let files = relay_files(certs.path());
    // The relay refuses MAIL before STARTTLS (530), so a delivery proves the upgrade happened.
    let mailbox = relay("starttls", &files);
    let dir = tempfile::tempdir().unwrap();
    let app = sender(dir.path(), format!("smtp://localhost:{}", mailbox.port()), Some(files.ca.clone())).await;
    app.create(SESSION, coming_session()).await;
    settled(&app.http_base, 6.0, 0.0).await;
    assert_eq!(six_invitations(&mailbox.received()), six());
    assert_eq!(metric(&app.http_base, "agenda_smtp_errors_total{kind=\"tls\"}").await, 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_the_relays_private_ca_delivers_every_invite_once() {
    let certs = tempfile::tempdir().unwrap();
    let files = relay_files(certs.path());
    let mailbox = relay("implicit", &files);
    let dir = tempfile::tempdir().unwrap();
    let app = sender(dir.path(), format!("smtps://localhost:{}", mailbox.port()), Some(files.ca.clone())).await;
    app.create(SESSION, coming_session()).await;
    settled(&app.http_base, 6.0, 0.0).await;
    assert_eq!(six_invitations(&mailbox.received()), six());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_ca_is_not_trusted_gets_nothing_and_the_invites_wait() {
    let certs = tempfile::tempdir().unwrap();
    let files = relay_files(certs.path());
    let other = tempfile::tempdir().unwrap();
    // Trusting another CA than the relay's: its certificate is refused, on either kind of TLS.
    let stranger = relay_files(other.path()).ca;
    for (mode, scheme) in [("starttls", "smtp"), ("implicit", "smtps")] {
        let mailbox = relay(mode, &files);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{scheme}://localhost:{}", mailbox.port());
        let app = sender(dir.path(), url, Some(stranger.clone())).await;
        app.create(SESSION, coming_session()).await;
        crate::helpers::eventually(&format!("{mode}: a TLS failure counted"), || async {
            (metric(&app.http_base, "agenda_smtp_errors_total{kind=\"tls\"}").await >= 1.0).then_some(())
        })
        .await;
        assert_eq!(mailbox.received(), vec![], "{mode}: nothing crosses an unverified connection");
        assert_eq!(metric(&app.http_base, "agenda_smtp_sent_total").await, 0.0, "{mode}");
        assert_eq!(metric(&app.http_base, "agenda_outbox_pending").await, 6.0, "{mode}: the invites wait");
        app.stop().await;
    }
}

#[test]
fn a_ca_file_without_a_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agenda"))
        .args(["serve", "--smtp-url", "smtps://mail.example.org", "--smtp-ca"])
        .arg(&ca)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that came up anyway would run until killed: stop it rather than hang the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("smtp.ca") && stderr.contains("no certificate"), "{stderr}");
}
