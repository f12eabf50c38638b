//! Request ids (AIP-155): a write sent with a `request_id` whose answer is lost, or whose
//! server is killed before it answers, is retried with the same id and made exactly once; the
//! retry's answer is the first one. The same id with another request is INVALID_ARGUMENT on
//! `request_id`. On etcd the retry goes through another replica (`on_etcd`).

use std::net::SocketAddr;
use std::time::Duration;

use agenda::pb::{self, session_service_client::SessionServiceClient};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;
use tonic::transport::Channel;

use crate::durability::Server;
use crate::helpers::{TestApp, eventually, failure, session, slot, spawn_app};

/// A TCP proxy to `upstream` that forwards everything the client sends and swallows every
/// byte of the answer: the server applies the call, the client never hears back.
pub(crate) async fn swallowing_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            let (mut from_client, _to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
            });
            tokio::spawn(async move {
                let mut sink = vec![0; 64 * 1024];
                while matches!(from_server.read(&mut sink).await, Ok(n) if n > 0) {}
                drop(_to_client);
            });
        }
    });
    addr
}

/// A fresh AIP-155 request id (a version-4 UUID from the OS's random generator).
pub(crate) fn request_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A CreateSession without a client-chosen id, which only its request id makes safe to retry.
pub(crate) fn create(title: &str, request_id: &str) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        session: Some(session(title, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// The sessions titled `title` (a free-text query, then exact titles).
pub(crate) async fn titled(sessions: &mut SessionServiceClient<Channel>, title: &str) -> Vec<pb::Session> {
    let req = pb::ListSessionsRequest { query: title.into(), page_size: 100, ..Default::default() };
    let all = sessions.list_sessions(req).await.unwrap().into_inner().sessions;
    all.into_iter().filter(|s| s.title == title).collect()
}

/// Sends `req` through a proxy that swallows the answer: the client gives up without one.
pub(crate) async fn answer_lost(upstream: SocketAddr, req: pb::CreateSessionRequest) {
    let proxy = swallowing_proxy(upstream).await;
    let channel = Channel::from_shared(format!("http://{proxy}")).unwrap().connect_lazy();
    // The client's own patience, not an assertion about time: the answer never comes.
    let mut client = SessionServiceClient::new(channel);
    let sent = tokio::time::timeout(Duration::from_secs(2), client.create_session(req)).await;
    assert!(!matches!(sent, Ok(Ok(_))), "the proxy swallowed the answer, so the client saw none: {sent:?}");
}

/// What a retry must repeat of the first answer: the record's id, etag and times.
pub(crate) fn identity(
    s: &pb::Session,
) -> (String, String, Option<prost_types::Timestamp>, Option<prost_types::Timestamp>) {
    (s.id.clone(), s.etag.clone(), s.create_time, s.update_time)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_and_is_retried_with_its_request_id_makes_one_session_and_answers_the_first() {
    let app = spawn_app().await;
    let id = request_id();
    answer_lost(app.grpc_addr, create("Lost answer", &id)).await;
    let mut sessions = app.sessions.clone();
    let first = eventually("the first attempt applied", || {
        let mut s = sessions.clone();
        async move { titled(&mut s, "Lost answer").await.pop() }
    })
    .await;

    let retried = sessions.create_session(create("Lost answer", &id)).await.unwrap().into_inner().session.unwrap();
    assert_eq!(identity(&retried), identity(&first), "the retry is answered with the first result");
    assert_eq!(titled(&mut sessions, "Lost answer").await.len(), 1, "exactly one session exists");

    // Without a request id the same retry makes a second session: what the id is for.
    let plain = create("Lost answer", "");
    sessions.create_session(plain).await.unwrap();
    assert_eq!(titled(&mut sessions, "Lost answer").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_id_with_another_request_or_a_malformed_one_is_invalid_argument() {
    let app = spawn_app().await;
    let mut sessions = app.sessions.clone();
    let id = request_id();
    sessions.create_session(create("First", &id)).await.unwrap();

    let other = sessions.create_session(create("Another body", &id)).await;
    let status = other.as_ref().unwrap_err();
    assert!(status.message().contains("different request"), "{status:?}");
    assert_eq!(failure(other), (Code::InvalidArgument, vec!["request_id".to_owned()]));
    assert!(titled(&mut sessions, "Another body").await.is_empty(), "nothing was written");

    // The same id on another method is another request too.
    let person = pb::CreatePersonRequest {
        person: Some(pb::Person { name: "Ana".into(), ..Default::default() }),
        request_id: id.clone(),
        ..Default::default()
    };
    assert_eq!(
        failure(app.people.clone().create_person(person).await),
        (Code::InvalidArgument, vec!["request_id".into()])
    );

    for malformed in ["not-a-uuid", "7f5e9a523c1b4b9e9d3e2a6f0c8b1d47", "7f5e9a52-3c1b-4b9e-9d3e-2a6f0c8b1d4g"] {
        let bad = sessions.create_session(create("Malformed", malformed)).await;
        assert_eq!(failure(bad), (Code::InvalidArgument, vec!["request_id".to_owned()]), "{malformed}");
    }
    // A malformed id is reported with the request's other violations, at once.
    let mut both = create("Both", "00000000-0000-0000-0000-000000000000");
    both.session_id = "not an id!".into();
    let (code, fields) = failure(sessions.create_session(both).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(fields.contains(&"request_id".to_owned()) && fields.contains(&"session_id".to_owned()), "{fields:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_slot_add_participant_create_person_and_create_feed_token_retried_apply_once() {
    let app: TestApp = spawn_app().await;
    let (mut sessions, mut people, mut feeds) = (app.sessions.clone(), app.people.clone(), app.feeds.clone());

    // CreatePerson without a person id: one person, the same answer.
    let id = request_id();
    let ana = || pb::CreatePersonRequest {
        person: Some(pb::Person { name: "Ana Once".into(), ..Default::default() }),
        request_id: id.clone(),
        ..Default::default()
    };
    let first = people.create_person(ana()).await.unwrap().into_inner().person.unwrap();
    let again = people.create_person(ana()).await.unwrap().into_inner().person.unwrap();
    assert_eq!((&again.id, &again.etag, again.create_time), (&first.id, &first.etag, first.create_time));
    let listed = people.list_people(pb::ListPeopleRequest { query: "Ana Once".into(), ..Default::default() }).await;
    assert_eq!(listed.unwrap().into_inner().people.len(), 1, "one person");

    // AddSlot without a slot id: one slot, and the retry names the slot the first one added.
    let s = app.create("agenda", session("Agenda", "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z")).await;
    let id = request_id();
    let add = || pb::AddSlotRequest {
        session_id: s.id.clone(),
        slot: Some(slot("", "Talk", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")),
        request_id: id.clone(),
        ..Default::default()
    };
    let first = sessions.add_slot(add()).await.unwrap().into_inner();
    let again = sessions.add_slot(add()).await.unwrap().into_inner();
    assert_eq!(again.slot, first.slot, "the same slot, with the id the first attempt generated");
    assert_eq!(again.session.as_ref().map(|s| &s.etag), first.session.as_ref().map(|s| &s.etag));
    assert_eq!(app.session("agenda").await.slots.len(), 1, "one slot added");

    // AddParticipant: the retry gets the first answer, not ALREADY_EXISTS.
    let id = request_id();
    let pid = people.list_people(pb::ListPeopleRequest { query: "Ana Once".into(), ..Default::default() }).await;
    let pid = pid.unwrap().into_inner().people[0].id.clone();
    let join = || pb::AddParticipantRequest {
        session_id: s.id.clone(),
        participant: Some(pb::Participant { person_id: pid.clone(), ..Default::default() }),
        request_id: id.clone(),
        ..Default::default()
    };
    let first = sessions.add_participant(join()).await.unwrap().into_inner().session.unwrap();
    let again = sessions.add_participant(join()).await.unwrap().into_inner().session.unwrap();
    assert_eq!(again.etag, first.etag, "the first answer");
    assert_eq!(app.session("agenda").await.participants.len(), 1);

    // CreateFeedToken: one secret address, the same one.
    let id = request_id();
    let token = || pb::CreateFeedTokenRequest {
        feed_token: Some(pb::FeedToken { scope: Some(pb::feed_token::Scope::AllSessions(true)), ..Default::default() }),
        request_id: id.clone(),
    };
    let first = feeds.create_feed_token(token()).await.unwrap().into_inner().feed_token.unwrap();
    let again = feeds.create_feed_token(token()).await.unwrap().into_inner().feed_token.unwrap();
    assert_eq!((&again.token, again.create_time), (&first.token, first.create_time));
    let all = feeds.list_feed_tokens(pb::ListFeedTokensRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.feed_tokens.len(), 1, "one secret address");
}

/// The steps a write is killed at before it answers (`store::crash`), and whether the write
/// reached the log there.
const CUTS: [(&str, bool); 3] = [("before-log", false), ("after-log", true), ("after-flush", true)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_killed_before_its_answer_is_answered_by_its_retry_or_made_once() {
    for (step, logged) in CUTS {
        let dir = tempfile::tempdir().unwrap();
        let id = request_id();
        let title = format!("Killed {step}");
        // The create is the server's first write; the process aborts at `step` of it.
        let server = Server::start_with_env(dir.path(), &[("AGENDA_CRASH_AT", &format!("{step}:1"))]);
        let ch = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
        let cut = SessionServiceClient::new(ch).create_session(create(&title, &id)).await;
        assert!(cut.is_err(), "{step}: the server died before answering: {cut:?}");
        drop(server);

        let server = Server::start(dir.path());
        let ch = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
        let mut sessions = SessionServiceClient::new(ch);
        let before = titled(&mut sessions, &title).await;
        assert_eq!(before.len(), usize::from(logged), "{step}: the write is there exactly when it was logged");
        let retried = sessions.create_session(create(&title, &id)).await.unwrap().into_inner().session.unwrap();
        if let Some(first) = before.first() {
            assert_eq!(identity(&retried), identity(first), "{step}: the retry answers with the first result");
        }
        assert_eq!(titled(&mut sessions, &title).await.len(), 1, "{step}: exactly one session");
        let again = sessions.create_session(create(&title, &id)).await.unwrap().into_inner().session.unwrap();
        assert_eq!(identity(&again), identity(&retried), "{step}: and from then on the same answer");
        server.kill9();
    }
}

#[cfg(feature = "etcd")]
mod on_etcd {
    use super::*;
    use crate::replicas::two_replicas;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_create_whose_answer_was_lost_on_one_replica_and_is_retried_on_another_is_made_once() {
        let r = two_replicas().await;
        let id = request_id();
        answer_lost(r.a.grpc_addr, create("Across replicas", &id)).await;
        let first = eventually("the first attempt applied", || {
            let mut s = r.b.sessions.clone();
            async move { titled(&mut s, "Across replicas").await.pop() }
        })
        .await;

        let mut on_b = r.b.sessions.clone();
        let retried = on_b.create_session(create("Across replicas", &id)).await.unwrap().into_inner().session.unwrap();
        assert_eq!(identity(&retried), identity(&first), "B answers with the result A made");
        for app in [&r.a, &r.b] {
            assert_eq!(titled(&mut app.sessions.clone(), "Across replicas").await.len(), 1, "one session");
        }
        let other = r.a.sessions.clone().create_session(create("Another body", &id)).await;
        assert_eq!(failure(other), (Code::InvalidArgument, vec!["request_id".to_owned()]));
    }

    /// A replica process killed (`AGENDA_CRASH_AT=after-flush:1`) after the quorum took its
    /// create and before it answered; the client retries through another replica.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_create_whose_replica_was_killed_before_answering_is_answered_by_another_with_the_first_result() {
        use agenda::domain::Limits;
        let cluster = crate::etcd_cluster::EtcdCluster::start().await;
        let url = cluster.store_url("killed");
        let unused = tempfile::tempdir().unwrap();
        let doomed = Server::start_with_env(
            unused.path(),
            &[("AGENDA_STORE", url.as_str()), ("AGENDA_CRASH_AT", "after-flush:1")],
        );
        let ch = Channel::from_shared(format!("http://{}", doomed.grpc)).unwrap().connect().await.unwrap();
        let id = request_id();
        let cut = SessionServiceClient::new(ch).create_session(create("Killed replica", &id)).await;
        assert!(cut.is_err(), "the replica died before answering: {cut:?}");
        drop(doomed);

        let other =
            crate::helpers::spawn_with(unused.path(), false, Limits::default(), |c| c.store = url.clone()).await;
        let mut sessions = other.sessions.clone();
        let before = titled(&mut sessions, "Killed replica").await;
        assert_eq!(before.len(), 1, "the quorum had the write");
        let retried =
            sessions.create_session(create("Killed replica", &id)).await.unwrap().into_inner().session.unwrap();
        assert_eq!(identity(&retried), identity(&before[0]), "the other replica answers with the first result");
        assert_eq!(titled(&mut sessions, "Killed replica").await.len(), 1, "exactly one session");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_retries_on_two_replicas_make_one_session_and_get_one_answer() {
        let r = two_replicas().await;
        let id = request_id();
        let tries: Vec<_> = (0..6)
            .map(|i| {
                let mut c = if i % 2 == 0 { r.a.sessions.clone() } else { r.b.sessions.clone() };
                let req = create("Raced", &id);
                tokio::spawn(async move { c.create_session(req).await.unwrap().into_inner().session.unwrap() })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tries {
            answers.push(identity(&t.await.unwrap()));
        }
        answers.dedup();
        assert_eq!(answers.len(), 1, "every attempt got the one result: {answers:?}");
        assert_eq!(titled(&mut r.a.sessions.clone(), "Raced").await.len(), 1);
    }
}
