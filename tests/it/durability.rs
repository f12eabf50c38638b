//! What is acknowledged stays: across a clean restart and across `kill -9`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use agenda::domain::Limits;
use agenda::pb::{self, person_service_client::PersonServiceClient, session_service_client::SessionServiceClient};
use prost_types::FieldMask;
use tonic::transport::Channel;

use crate::helpers::{eventually, session, slot, spawn_app_at};

#[tokio::test]
async fn a_restarted_server_returns_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path(), true, Limits::default()).await;
    app.create("extra", session("Extra", "2026-10-01T09:00:00Z", "2026-10-01T10:00:00Z")).await;
    let all = pb::ListSessionsRequest { page_size: 100, ..Default::default() };
    let before = app.sessions.clone().list_sessions(all.clone()).await.unwrap().into_inner();
    let people_before = app
        .people
        .clone()
        .list_people(pb::ListPeopleRequest { page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    app.stop().await;

    let app = spawn_app_at(dir.path(), false, Limits::default()).await;
    let after = app.sessions.clone().list_sessions(all).await.unwrap().into_inner();
    let people_after = app
        .people
        .clone()
        .list_people(pb::ListPeopleRequest { page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    // Feed URLs name the HTTP port, which is a new one after the restart; all else is equal.
    let without_urls = |mut r: pb::ListSessionsResponse| {
        r.sessions.iter_mut().for_each(|s| s.feed_urls = None);
        r
    };
    let people_without_urls = |mut r: pb::ListPeopleResponse| {
        r.people.iter_mut().for_each(|p| p.feed_urls = None);
        r
    };
    assert_eq!(after.sessions.len(), 2);
    assert_eq!(without_urls(after), without_urls(before));
    assert_eq!(people_without_urls(people_after), people_without_urls(people_before));
    app.stop().await;
}

/// The real binary, serving on ephemeral ports.
pub struct Server {
    child: Child,
    pub grpc: String,
    pub http: String,
    /// Every line the server has logged so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::start_with_env(dir, &[])
    }

    /// Like [`Server::start`], with extra environment variables (test hooks).
    pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agenda"))
            .arg("--data")
            .arg(dir)
            .args(["serve", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting agenda serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (grpc, http) = loop {
            let line = lines.next().expect("the server logs its addresses").unwrap();
            log.lock().unwrap().push(line.clone());
            if let Some(rest) = line.split("grpc=").nth(1) {
                let http = line.split("http=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
                break (rest.split_whitespace().next().unwrap().to_owned(), http);
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let kept = Arc::clone(&log);
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
        Server { child, grpc, http, log }
    }

    /// The lines logged so far that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        self.log.lock().unwrap().iter().filter(|l| l.contains(text)).cloned().collect()
    }

    async fn clients(&self) -> (SessionServiceClient<Channel>, PersonServiceClient<Channel>) {
        let ch = Channel::from_shared(format!("http://{}", self.grpc)).unwrap().connect().await.unwrap();
        (SessionServiceClient::new(ch.clone()), PersonServiceClient::new(ch))
    }

    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (as systemd or Kubernetes do).
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns whether it exited with success.
    pub fn wait(mut self) -> bool {
        self.child.wait().unwrap().success()
    }

    /// Like [`Server::wait`], keeping the server's log readable afterwards.
    pub fn wait_exit(&mut self) -> bool {
        self.child.wait().unwrap().success()
    }
}

/// A failing test must not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// sled replays at open everything written since the store was last opened; a clean stop
/// reopens the store once so that the next start does not (BENCHMARKS.md, open to serving).
/// The reopen must lose nothing and must not fail the shutdown.
#[tokio::test]
async fn a_clean_stop_writes_the_recovery_snapshot_and_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (mut sessions, _) = server.clients().await;
    for i in 0..20 {
        let body = session(&format!("Session {i}"), "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z");
        sessions
            .create_session(pb::CreateSessionRequest {
                session_id: format!("s-{i}"),
                session: Some(body),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // The client's connection stays open, as a service's channel would: hyper's HTTP/2
    // graceful shutdown waits for clients to close (hyperium/hyper#4170), so the server cuts
    // it after the grace period, and must still get the store back to reopen it.
    server.terminate();
    assert!(server.wait_exit(), "a clean stop exits 0");
    // The log is read by another thread: wait for its last lines.
    let snapshot =
        eventually("the recovery snapshot's log line", || async { server.logged("recovery snapshot").pop() }).await;
    assert!(snapshot.contains("wrote the store's recovery snapshot"), "the stop reopened the store: {snapshot}");
    drop(server);

    let server = Server::start(dir.path());
    let (mut sessions, _) = server.clients().await;
    let all = pb::ListSessionsRequest { page_size: 100, ..Default::default() };
    let ids: Vec<String> =
        sessions.list_sessions(all).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 20, "{ids:?}");
    server.kill9();
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (sessions, people) = server.clients().await;

    // Concurrent writers: people, sessions naming them, then updates of those sessions.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (mut s, mut p) = (sessions.clone(), people.clone());
        tasks.push(tokio::spawn(async move {
            let pid = format!("person-{i}");
            p.create_person(pb::CreatePersonRequest {
                person_id: pid.clone(),
                person: Some(pb::Person { name: format!("Person {i}"), ..Default::default() }),
                ..Default::default()
            })
            .await
            .unwrap();
            let sid = format!("session-{i}");
            let mut body = session(&format!("Session {i}"), "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z");
            body.slots = vec![pb::Slot {
                speaker_ids: vec![pid],
                ..slot("talk", "Talk", "2026-11-01T09:00:00Z", "2026-11-01T09:30:00Z")
            }];
            s.create_session(pb::CreateSessionRequest {
                session_id: sid.clone(),
                session: Some(body),
                ..Default::default()
            })
            .await
            .unwrap();
            let title = format!("Session {i}, revised");
            let update = pb::UpdateSessionRequest {
                session: Some(pb::Session { id: sid.clone(), title: title.clone(), ..Default::default() }),
                update_mask: Some(FieldMask { paths: vec!["title".into()] }),
                ..Default::default()
            };
            let acked = s.update_session(update).await.unwrap().into_inner().session.unwrap();
            (sid, acked)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.unwrap());
    }
    // Killed right after the last acknowledgement: no clean shutdown, no final flush.
    server.kill9();

    let server = Server::start(dir.path());
    let (mut sessions, mut people) = server.clients().await;
    for (id, want) in &acked {
        let got = sessions.get_session(pb::GetSessionRequest { session_id: id.clone() }).await.unwrap().into_inner();
        assert_eq!(got.session.as_ref(), Some(want), "session {id}");
        assert_eq!(got.people.len(), 1);
    }
    let listed =
        people.list_people(pb::ListPeopleRequest { page_size: 100, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(listed.people.len(), 24);
    // Indexes came back with the records: the person index finds each session.
    for i in 0..24 {
        let by_person = pb::ListSessionsRequest { person_id: format!("person-{i}"), ..Default::default() };
        let ids: Vec<String> =
            sessions.list_sessions(by_person).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect();
        assert_eq!(ids, [format!("session-{i}")]);
    }
    server.kill9();
}

#[test]
fn a_store_in_use_by_another_process_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(dir.path()).arg("export").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
    server.kill9();
}
