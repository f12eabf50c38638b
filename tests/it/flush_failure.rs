//! A failed flush (an fsync that fails, injected by the crash hook's `fail-flush` plan): the
//! write whose flush failed is answered as of unknown outcome, nothing that was not
//! acknowledged is visible to readers, writes are refused from then on, reads of everything
//! else are served, and after a restart what is served is what the log says.

use std::time::Duration;

use agenda::pb::{self, person_service_client::PersonServiceClient, session_service_client::SessionServiceClient};
use prost_types::FieldMask;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::durability::Server;
use crate::helpers::{eventually, reason, session};

async fn clients(server: &Server) -> (SessionServiceClient<Channel>, PersonServiceClient<Channel>, Channel) {
    let ch = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    (SessionServiceClient::new(ch.clone()), PersonServiceClient::new(ch.clone()), ch)
}

async fn health(ch: &Channel, service: &str) -> i32 {
    let req = HealthCheckRequest { service: service.into() };
    HealthClient::new(ch.clone()).check(req).await.unwrap().into_inner().status
}

fn create(id: &str, title: &str) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        session_id: id.into(),
        session: Some(session(title, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")),
        ..Default::default()
    }
}

fn retitle(id: &str, title: &str) -> pb::UpdateSessionRequest {
    pb::UpdateSessionRequest {
        session: Some(pb::Session { id: id.into(), title: title.into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
        ..Default::default()
    }
}

/// The title the change log holds for `id` at `revision`: the log replayed from the start.
async fn logged_title(sessions: &mut SessionServiceClient<Channel>, id: &str, revision: u64) -> String {
    let req = pb::WatchSessionsRequest { after_revision: Some(0), session_id: id.into(), ..Default::default() };
    let mut stream = sessions.watch_sessions(req).await.unwrap().into_inner();
    // A deadline for a hang (the log lacking the served revision), not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(change) = stream.next().await {
            let change = change.unwrap();
            if change.revision == revision {
                return change.session.unwrap().title;
            }
            assert!(change.revision < revision, "the log of {id} passed revision {revision}");
        }
        panic!("the watch of {id} ended before revision {revision}")
    })
    .await
    .unwrap_or_else(|_| panic!("the change log of {id} never reached the served revision {revision}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_flush_nothing_unacknowledged_is_visible_writes_stop_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    // Writes 1-3 (a person, two sessions) are flushed; the flush of write 4, and every one
    // after it, fails as an fsync returning EIO does.
    let server = Server::start_with_env(dir.path(), &[("AGENDA_CRASH_AT", "fail-flush:4")]);
    let (mut sessions, mut people, ch) = clients(&server).await;
    let ana = pb::CreatePersonRequest {
        person_id: "ana".into(),
        person: Some(pb::Person { name: "Ana".into(), ..Default::default() }),
        ..Default::default()
    };
    people.create_person(ana).await.unwrap();
    sessions.create_session(create("s0", "Untouched")).await.unwrap();
    let s1 = sessions.create_session(create("s1", "Acknowledged")).await.unwrap().into_inner().session.unwrap();
    assert_eq!(health(&ch, agenda::server::WRITES_HEALTH).await, ServingStatus::Serving as i32);

    // The write whose flush fails: its outcome is unknown, and the answer says so.
    let failed = sessions.update_session(retitle("s1", "Never acknowledged")).await;
    let status = failed.as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("outcome is unknown"), "{status:?}");
    assert_eq!(reason(failed), "WRITE_OUTCOME_UNKNOWN");

    // Nothing that was not acknowledged is visible: the session it touched is not served at
    // all (neither version is known durable), nor is a query that could show it.
    let read = sessions.get_session(pb::GetSessionRequest { session_id: "s1".into() }).await;
    assert_eq!(reason(read), "WRITE_OUTCOME_UNKNOWN");
    let listed = sessions.list_sessions(pb::ListSessionsRequest::default()).await;
    assert_eq!(reason(listed), "WRITE_OUTCOME_UNKNOWN");
    let feed = reqwest::get(format!("http://{}/feeds/sessions/s1.ics", server.http)).await.unwrap();
    assert_ne!(feed.status(), 200, "the feed of the hidden session is not served");
    assert!(!feed.text().await.unwrap().contains("Never acknowledged"));

    // Reads of what was durable go on.
    let s0 = sessions.get_session(pb::GetSessionRequest { session_id: "s0".into() }).await.unwrap();
    assert_eq!(s0.into_inner().session.unwrap().title, "Untouched");
    let got = people.get_person(pb::GetPersonRequest { person_id: "ana".into() }).await.unwrap();
    assert_eq!(got.into_inner().person.unwrap().name, "Ana");
    assert_eq!(health(&ch, "").await, ServingStatus::Serving as i32, "the server still serves");

    // Writes are refused from now on, each saying that nothing was changed.
    for refused in [
        sessions.create_session(create("s2", "Refused")).await.map(drop),
        sessions.update_session(retitle("s0", "Refused")).await.map(drop),
        people
            .create_person(pb::CreatePersonRequest {
                person_id: "ben".into(),
                person: Some(pb::Person { name: "Ben".into(), ..Default::default() }),
                ..Default::default()
            })
            .await
            .map(drop),
    ] {
        let status = refused.as_ref().unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains("nothing was changed"), "{status:?}");
        assert_eq!(reason(refused), "STORE_WRITES_STOPPED");
    }
    eventually("agenda.v1.Writes NOT_SERVING", || async {
        (health(&ch, agenda::server::WRITES_HEALTH).await == ServingStatus::NotServing as i32).then_some(())
    })
    .await;
    let healthz = reqwest::get(format!("http://{}/healthz", server.http)).await.unwrap().text().await.unwrap();
    assert!(healthz.contains("writes stopped"), "{healthz}");
    drop((sessions, people, ch));

    // A clean stop flushes nothing more (no flush after a failed one) and says why it fails.
    server.terminate();
    let mut server = server;
    assert!(!server.wait_exit(), "a store stopped by a failed flush is not a clean stop");
    let said = eventually("the refused final flush in the log", || async {
        server.logged("takes no writes since a flush failed").pop()
    })
    .await;
    assert!(said.contains("injected fsync failure"), "{said}");
    drop(server);

    // After a restart: served is what the log says, whichever way the unknown write went
    // (sled may still have written it on its own), and the acknowledged writes are there.
    let server = Server::start(dir.path());
    let (mut sessions, _, _) = clients(&server).await;
    let now = sessions.get_session(pb::GetSessionRequest { session_id: "s1".into() }).await.unwrap();
    let now = now.into_inner().session.unwrap();
    assert!(["Acknowledged", "Never acknowledged"].contains(&now.title.as_str()), "{now:?}");
    let revision: u64 = now.etag.parse().unwrap();
    assert!(revision >= s1.etag.parse::<u64>().unwrap());
    assert_eq!(logged_title(&mut sessions, "s1", revision).await, now.title, "served is what the log says");
    let s0 = sessions.get_session(pb::GetSessionRequest { session_id: "s0".into() }).await.unwrap();
    assert_eq!(s0.into_inner().session.unwrap().title, "Untouched");
    // And it takes writes again.
    sessions.create_session(create("s2", "After the restart")).await.unwrap();
    eprintln!("after the failed flush and a restart, s1 is {:?} (revision {revision}), as its log says", now.title);
    server.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_flush_failed_is_made_once_by_its_retry_after_a_restart() {
    use crate::request_ids::{create, identity, request_id, titled};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(dir.path(), &[("AGENDA_CRASH_AT", "fail-flush:1")]);
    let (mut sessions, _, _) = clients(&server).await;
    let id = request_id();
    let failed = sessions.create_session(create("Unknown outcome", &id)).await;
    assert_eq!(reason(failed), "WRITE_OUTCOME_UNKNOWN");
    // Its kept result is as unknown as the write: a retry now is not answered with it.
    let retried = sessions.create_session(create("Unknown outcome", &id)).await;
    assert_eq!(reason(retried), "WRITE_OUTCOME_UNKNOWN");
    server.kill9();

    // After the restart the log decides: the retry answers the first result if the write is
    // there (sled may have written it on its own), and makes it once if not.
    let server = Server::start(dir.path());
    let (mut sessions, _, _) = clients(&server).await;
    let before = titled(&mut sessions, "Unknown outcome").await;
    let retried = sessions.create_session(create("Unknown outcome", &id)).await.unwrap().into_inner();
    let retried = retried.session.unwrap();
    if let Some(first) = before.first() {
        assert_eq!(identity(&retried), identity(first), "the write was there: the retry answers with it");
    }
    assert_eq!(titled(&mut sessions, "Unknown outcome").await.len(), 1, "exactly one session");
    eprintln!(
        "the create whose flush failed was {} after the restart",
        if before.is_empty() { "absent" } else { "present" }
    );
    server.kill9();
}
