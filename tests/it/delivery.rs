//! Delivery over SMTP: the built-in sender (`smtp.url`) against a real SMTP server, aiosmtpd
//! from the pinned Python environment (tests/interop/smtp_server.py), which writes every
//! message it accepts to a directory. The server, the network and even the agenda process
//! fail here as they do in production; what must hold: each message arrives once, and a copy
//! (after a kill) carries the same Message-ID.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use agenda::domain::Limits;
use agenda::pb::{
    self, invite_service_client::InviteServiceClient, person_service_client::PersonServiceClient,
    session_service_client::SessionServiceClient,
};
use prost_types::FieldMask;
use serde_json::Value;
use tonic::transport::Channel;

use crate::durability::Server;
use crate::helpers::{TestApp, eventually, session, slot, spawn_with, ts};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtp_server.py");

/// aiosmtpd on loopback, writing what it accepts to its own directory; killed when dropped.
pub(crate) struct Mailbox {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Mailbox {
    /// Listens on `port` (0: a free one), with smtp_server.py's options (`--refuse ADDRESS`,
    /// `--delay SECONDS`); returns once it accepts connections.
    pub(crate) fn start(port: u16, options: &[&str]) -> Mailbox {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(crate::interop::python_interpreter())
            .arg(SCRIPT)
            .arg("--dir")
            .arg(dir.path())
            .args(["--port", &port.to_string()])
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting smtp_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("smtp_server.py: {line:?}"));
        Mailbox { port: port.parse().unwrap(), child, dir }
    }

    /// The `smtp.url` that reaches it (clear text, which only a loopback host is allowed).
    pub(crate) fn url(&self) -> String {
        url(self.port)
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far: from, to, Message-ID, Subject.
    pub(crate) fn received(&self) -> Vec<Received> {
        received_in(self.dir.path())
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}?tls=none")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Received {
    pub(crate) to: String,
    pub(crate) message_id: String,
    pub(crate) subject: String,
    pub(crate) from: String,
}

fn received_in(dir: &Path) -> Vec<Received> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let to = v["to"].as_array().unwrap();
        assert_eq!(to.len(), 1, "one recipient per message: {v}");
        out.push(Received {
            to: to[0].as_str().unwrap().to_owned(),
            message_id: v["message_id"].as_str().unwrap().to_owned(),
            subject: v["subject"].as_str().unwrap().to_owned(),
            from: v["from"].as_str().unwrap().to_owned(),
        });
    }
    out.sort();
    out
}

/// Messages by Message-ID; fails on two different messages under one id.
pub(crate) fn by_message_id(received: &[Received]) -> BTreeMap<String, Received> {
    let mut out: BTreeMap<String, Received> = BTreeMap::new();
    for r in received {
        if let Some(earlier) = out.insert(r.message_id.clone(), r.clone()) {
            assert_eq!(&earlier, r, "a copy is the same message");
        }
    }
    out
}

/// A sample's value in the server's /metrics (`name` with its labels); 0 when absent.
pub(crate) async fn metric(http_base: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{http_base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Waits until the sender has sent `sent` messages, had `failed` refused, and found nothing
/// more due.
pub(crate) async fn settled(http_base: &str, sent: f64, failed: f64) {
    eventually(&format!("{sent} invites sent, {failed} failed, nothing pending"), || async {
        let done = metric(http_base, "agenda_smtp_sent_total").await == sent
            && metric(http_base, "agenda_smtp_failed_total").await == failed
            && metric(http_base, "agenda_outbox_pending").await == 0.0;
        done.then_some(())
    })
    .await;
}

/// A demo server whose sender reaches `url`, retrying at least once a second.
async fn spawn_sending_to(dir: &Path, url: String) -> TestApp {
    spawn_with(dir, true, Limits::default(), |c| {
        c.smtp.url = Some(url);
        c.smtp.retry_max_seconds = 1;
    })
    .await
}

/// [`spawn_sending_to`] without the rate bound, for many messages.
async fn spawn_sending_fast_to(dir: &Path, url: String) -> TestApp {
    spawn_with(dir, true, Limits::default(), |c| {
        c.smtp.url = Some(url);
        c.smtp.retry_max_seconds = 1;
        c.smtp.rate_per_second = 0;
    })
    .await
}

pub(crate) const SESSION: &str = "msme-2030";

/// A coming session with the demo's people: Low moderates three slots, Cancela, Lundquist and
/// Rollo speak, one each. Six invites: a REQUEST per slot to its speaker and to Low.
pub(crate) fn coming_session() -> pb::Session {
    let speaker = |id: &str, who: &str, start: &str, end: &str| pb::Slot {
        speaker_ids: vec![who.into()],
        moderator_ids: vec!["patrick-low".into()],
        ..slot(id, &format!("Presentation by {who}"), start, end)
    };
    let mut s = session("MSMEs in the MTS: 2030", "2030-12-03T14:00:00Z", "2030-12-03T15:30:00Z");
    s.slots = vec![
        speaker("cancela", "jose-luis-cancela", "2030-12-03T14:05:00Z", "2030-12-03T14:15:00Z"),
        speaker("lundquist", "kathryn-lundquist", "2030-12-03T14:15:00Z", "2030-12-03T14:25:00Z"),
        speaker("rollo", "valentina-rollo", "2030-12-03T14:25:00Z", "2030-12-03T14:35:00Z"),
    ];
    s
}

/// The (recipient, subject start) of each of [`coming_session`]'s six invites, sorted.
pub(crate) fn six_invitations(received: &[Received]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        received.iter().map(|r| (r.to.clone(), r.subject.split(':').next().unwrap().to_owned())).collect();
    v.sort();
    v
}

const SIX: [(&str, &str); 6] = [
    ("jose.cancela@example.org", "Invitation"),
    ("kathryn.lundquist@example.org", "Invitation"),
    ("patrick.low@example.org", "Invitation"),
    ("patrick.low@example.org", "Invitation"),
    ("patrick.low@example.org", "Invitation"),
    ("valentina.rollo@example.org", "Invitation"),
];

pub(crate) fn six() -> Vec<(String, String)> {
    SIX.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coming_sessions_invites_arrive_once_each_and_a_moved_slot_sends_one_update() {
    let mailbox = Mailbox::start(0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_sending_to(dir.path(), mailbox.url()).await;
    app.create(SESSION, coming_session()).await;
    settled(&app.http_base, 6.0, 0.0).await;
    let received = mailbox.received();
    assert_eq!(six_invitations(&received), six());
    assert_eq!(by_message_id(&received).len(), 6, "six messages, six Message-IDs: {received:#?}");
    assert!(received.iter().all(|r| r.from == "fmg@example.org"), "the organizer is the envelope sender");

    // Moving Rollo's slot: one updated invitation to each of its two people, nothing else.
    app.sessions.clone().update_slot(rollo_moved()).await.unwrap();
    settled(&app.http_base, 8.0, 0.0).await;
    let received = mailbox.received();
    assert_eq!(by_message_id(&received).len(), 8, "{received:#?}");
    assert_eq!(updated(received.iter()), ["patrick.low@example.org", "valentina.rollo@example.org"]);
    app.stop().await;
}

/// Rollo's slot of [`coming_session`] moved by ten minutes: an update to Rollo and to Low.
pub(crate) fn rollo_moved() -> pb::UpdateSlotRequest {
    pb::UpdateSlotRequest {
        session_id: SESSION.into(),
        slot: Some(pb::Slot {
            id: "rollo".into(),
            start_time: Some(ts("2030-12-03T14:40:00Z")),
            end_time: Some(ts("2030-12-03T14:50:00Z")),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
        ..Default::default()
    }
}

/// The recipients of the updated invitations among `received`, sorted.
pub(crate) fn updated<'a>(received: impl Iterator<Item = &'a Received>) -> Vec<&'a str> {
    let mut to: Vec<&str> =
        received.filter(|r| r.subject.starts_with("Updated invitation:")).map(|r| r.to.as_str()).collect();
    to.sort();
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_smtp_down_for_a_while_everything_arrives_once_it_is_up() {
    // A port nothing listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_sending_to(dir.path(), url(port)).await;
    app.create(SESSION, coming_session()).await;
    eventually("the sender to fail to connect twice", || async {
        (metric(&app.http_base, "agenda_smtp_errors_total{kind=\"connection\"}").await >= 2.0).then_some(())
    })
    .await;
    assert_eq!(metric(&app.http_base, "agenda_outbox_pending").await, 6.0, "still pending while SMTP is down");

    let mailbox = Mailbox::start(port, &[]);
    settled(&app.http_base, 6.0, 0.0).await;
    let received = mailbox.received();
    assert_eq!(six_invitations(&received), six(), "everything, once");
    assert_eq!(by_message_id(&received).len(), 6);
    app.stop().await;
}

/// The real binary on `dir`, with the demo and a sender to `url`.
fn agenda_sending_to(dir: &Path, url: &str) -> Server {
    Server::start_with_env(
        dir,
        &[("AGENDA_DEMO", "true"), ("AGENDA_SMTP_URL", url), ("AGENDA_SMTP_RETRY_MAX_SECONDS", "1")],
    )
}

async fn clients(server: &Server) -> (SessionServiceClient<Channel>, PersonServiceClient<Channel>) {
    let channel = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    (SessionServiceClient::new(channel.clone()), PersonServiceClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_fails_with_the_servers_answer_and_is_not_retried() {
    let mailbox = Mailbox::start(0, &["--refuse", "valentina.rollo@example.org"]);
    let dir = tempfile::tempdir().unwrap();
    let server = agenda_sending_to(dir.path(), &mailbox.url());
    let http = format!("http://{}", server.http);
    let (mut sessions, _) = clients(&server).await;
    let req =
        pb::CreateSessionRequest { session_id: SESSION.into(), session: Some(coming_session()), ..Default::default() };
    sessions.create_session(req).await.unwrap();
    settled(&http, 5.0, 1.0).await;
    assert_eq!(metric(&http, "agenda_smtp_errors_total{kind=\"permanent\"}").await, 1.0);
    let refused = server.logged("550 5.1.1 <valentina.rollo@example.org>: mailbox unavailable");
    assert!(!refused.is_empty(), "the server's answer is logged");
    // The outbox keeps the failure, with the server's answer as its reason.
    let mut invites = InviteServiceClient::connect(format!("http://{}", server.grpc)).await.unwrap();
    let entries = failed(&mut invites).await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    assert_eq!(entry.message.as_ref().unwrap().person_id, "valentina-rollo");
    assert!(entry.reason.contains("550") && entry.reason.contains("mailbox unavailable"), "{}", entry.reason);

    // A later change makes the sender look again: a new slot's invites go, the refused one stays failed.
    let added = pb::AddSlotRequest {
        session_id: SESSION.into(),
        slot: Some(pb::Slot {
            speaker_ids: vec!["jose-luis-cancela".into()],
            ..slot("closing", "Closing", "2030-12-03T15:20:00Z", "2030-12-03T15:30:00Z")
        }),
        etag: String::new(),
        ..Default::default()
    };
    sessions.add_slot(added).await.unwrap();
    settled(&http, 6.0, 1.0).await;
    assert_eq!(metric(&http, "agenda_smtp_errors_total{kind=\"permanent\"}").await, 1.0, "not retried");
    let received = mailbox.received();
    assert!(received.iter().all(|r| r.to != "valentina.rollo@example.org"), "{received:#?}");
    assert_eq!(by_message_id(&received).len(), 6);
    assert_eq!(failed(&mut invites).await.len(), 1, "still failed, once");
}

/// The failed entries of the outbox of `SESSION`, over gRPC.
async fn failed(invites: &mut InviteServiceClient<Channel>) -> Vec<pb::OutboxEntry> {
    let req = pb::ListInvitesRequest {
        session_id: SESSION.into(),
        states: vec![pb::InviteState::Failed as i32],
        ..Default::default()
    };
    invites.list_invites(req).await.unwrap().into_inner().entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_drain_loses_nothing_and_a_copy_keeps_its_message_id() {
    const SPEAKERS: usize = 12;
    // Each message takes a while to be accepted, so the kill falls mid-drain.
    let mailbox = Mailbox::start(0, &["--delay", "0.2"]);
    let dir = tempfile::tempdir().unwrap();
    let server = agenda_sending_to(dir.path(), &mailbox.url());
    let (mut sessions, mut people) = clients(&server).await;
    let mut s = session("Twelve speakers", "2030-06-01T09:00:00Z", "2030-06-01T12:00:00Z");
    for i in 0..SPEAKERS {
        let id = format!("speaker-{i}");
        let person =
            pb::Person { name: format!("Speaker {i}"), email: format!("{id}@example.org"), ..Default::default() };
        people
            .create_person(pb::CreatePersonRequest {
                person_id: id.clone(),
                person: Some(person),
                ..Default::default()
            })
            .await
            .unwrap();
        let at = |minutes: usize| format!("2030-06-01T{:02}:{:02}:00Z", 9 + minutes / 60, minutes % 60);
        let (start, end) = (at(i * 10), at(i * 10 + 10));
        s.slots.push(pb::Slot { speaker_ids: vec![id], ..slot(&format!("talk-{i}"), "Talk", &start, &end) });
    }
    sessions
        .create_session(pb::CreateSessionRequest {
            session_id: "twelve".into(),
            session: Some(s),
            ..Default::default()
        })
        .await
        .unwrap();
    eventually("a few invites to arrive", || async { (mailbox.received().len() >= 3).then_some(()) }).await;
    server.kill9();
    let before = mailbox.received().len();
    assert!(before < SPEAKERS, "killed mid-drain ({before} of {SPEAKERS} arrived)");

    let server = agenda_sending_to(dir.path(), &mailbox.url());
    let invites = InviteServiceClient::connect(format!("http://{}", server.grpc)).await.unwrap();
    eventually("every invite sent and marked after the restart", || {
        let mut invites = invites.clone();
        async move {
            let req = pb::ListPendingInvitesRequest { session_id: "twelve".into() };
            invites.list_pending_invites(req).await.unwrap().into_inner().invites.is_empty().then_some(())
        }
    })
    .await;
    let received = mailbox.received();
    let distinct = by_message_id(&received);
    let recipients: Vec<&str> = distinct.values().map(|r| r.to.as_str()).collect();
    assert_eq!(recipients.len(), SPEAKERS, "one message per speaker: {recipients:?}");
    // At most the one message in flight at the kill came twice, under its Message-ID.
    assert!(received.len() <= SPEAKERS + 1, "{received:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_write_among_200_sessions_makes_the_sender_examine_that_session_only_and_send_its_update() {
    const SESSIONS: usize = 200;
    let mailbox = Mailbox::start(0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_sending_fast_to(dir.path(), mailbox.url()).await;
    for i in 0..SESSIONS {
        let mut s = session(&format!("Session {i}"), "2030-09-01T09:00:00Z", "2030-09-01T10:00:00Z");
        s.slots = vec![pb::Slot {
            speaker_ids: vec!["valentina-rollo".into()],
            ..slot("talk", "Talk", "2030-09-01T09:00:00Z", "2030-09-01T09:30:00Z")
        }];
        app.create(&format!("session-{i:03}"), s).await;
    }
    settled(&app.http_base, SESSIONS as f64, 0.0).await;
    let examined = metric(&app.http_base, "agenda_smtp_sessions_examined_total").await;

    // One slot moved in one of them: that session is examined, its one update sent.
    let moved = pb::UpdateSlotRequest {
        session_id: "session-117".into(),
        slot: Some(pb::Slot {
            id: "talk".into(),
            start_time: Some(ts("2030-09-01T09:30:00Z")),
            end_time: Some(ts("2030-09-01T10:00:00Z")),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(moved).await.unwrap();
    settled(&app.http_base, SESSIONS as f64 + 1.0, 0.0).await;
    assert_eq!(
        metric(&app.http_base, "agenda_smtp_sessions_examined_total").await - examined,
        1.0,
        "the sender looked at the session written, not at the {SESSIONS}"
    );
    let received = mailbox.received();
    assert_eq!(by_message_id(&received).len(), SESSIONS + 1);
    let updates: Vec<&Received> = received.iter().filter(|r| r.subject.starts_with("Updated invitation:")).collect();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert!(updates[0].message_id.contains("session-117"), "{updates:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_added_to_a_blocked_speaker_gets_their_invites_sent() {
    let mailbox = Mailbox::start(0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_sending_to(dir.path(), mailbox.url()).await;
    let person = pb::Person { name: "Ana Sinmail".into(), ..Default::default() };
    let req = pb::CreatePersonRequest { person_id: "ana-sinmail".into(), person: Some(person), ..Default::default() };
    app.people.clone().create_person(req).await.unwrap();
    let mut s = session("Unblocked", "2030-09-01T09:00:00Z", "2030-09-01T10:00:00Z");
    s.slots = vec![pb::Slot {
        speaker_ids: vec!["ana-sinmail".into()],
        ..slot("talk", "Talk", "2030-09-01T09:00:00Z", "2030-09-01T09:30:00Z")
    }];
    app.create("unblocked", s).await;
    eventually("the invite to show as blocked", || async {
        (metric(&app.http_base, "agenda_outbox_blocked").await == 1.0).then_some(())
    })
    .await;
    assert!(mailbox.received().is_empty());
    let examined = metric(&app.http_base, "agenda_smtp_sessions_examined_total").await;

    // Only the person is written, not the session: the sender finds the session naming her.
    let with_address = pb::Person { id: "ana-sinmail".into(), email: "ana@example.org".into(), ..Default::default() };
    let req = pb::UpdatePersonRequest {
        person: Some(with_address),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    app.people.clone().update_person(req).await.unwrap();
    settled(&app.http_base, 1.0, 0.0).await;
    assert_eq!(metric(&app.http_base, "agenda_outbox_blocked").await, 0.0);
    assert_eq!(metric(&app.http_base, "agenda_smtp_sessions_examined_total").await - examined, 1.0);
    let received = mailbox.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0].to, "ana@example.org");
    app.stop().await;
}
