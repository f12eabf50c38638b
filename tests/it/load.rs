//! Load safety: far more than the server can take at once is shed with RESOURCE_EXHAUSTED or
//! 503, clients that never read cost bounded memory, and the server recovers by itself.

use std::time::Duration;

use agenda::domain::Limits;
use agenda::pb;
use prost::Message as _;
use tokio::io::AsyncWriteExt;
use tonic::Code;

use crate::durability::Server;
use crate::h2util::HeldRequest;
use crate::helpers::{eventually, session, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_above_the_concurrency_limit_is_shed_and_the_server_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |c| c.limits.max_concurrent_requests = 4).await;
    // Four calls in progress (bodies not finished) hold every permit.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(HeldRequest::open(app.grpc_addr, "/agenda.v1.PersonService/GetPerson").await);
    }
    eventually("the held calls to take every permit", || async {
        let r = app.people.clone().get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await;
        r.err().filter(|s| s.code() == Code::ResourceExhausted)
    })
    .await;
    // A burst from many connections: every call is shed at once, none hangs.
    let mut calls = Vec::new();
    for i in 0..200 {
        let base = app.grpc_base.clone();
        calls.push(tokio::spawn(async move {
            let mut c = pb::session_service_client::SessionServiceClient::connect(base).await.unwrap();
            let r = if i % 2 == 0 {
                c.get_session(pb::GetSessionRequest { session_id: "fmg-msme-2022-11-17".into() }).await.map(drop)
            } else {
                c.list_sessions(pb::ListSessionsRequest::default()).await.map(drop)
            };
            r.unwrap_err().code()
        }));
    }
    for c in calls {
        assert_eq!(tokio::time::timeout(Duration::from_secs(10), c).await.unwrap().unwrap(), Code::ResourceExhausted);
    }
    // The held calls still complete, and then the server serves again by itself.
    for h in held {
        let (status, _) = h.finish(&pb::GetPersonRequest { person_id: "patrick-low".into() }.encode_to_vec()).await;
        assert_eq!(status, "0");
    }
    assert!(app.session("fmg-msme-2022-11-17").await.slots.len() == 5);
    // Oversized messages are refused without being kept.
    let mut big = session("Big", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z");
    big.description = "x".repeat(5 * 1024 * 1024);
    let r = app
        .sessions
        .clone()
        .create_session(pb::CreateSessionRequest { session_id: "big".into(), session: Some(big), ..Default::default() })
        .await;
    assert_eq!(r.unwrap_err().code(), Code::OutOfRange);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_http_listener_answers_503_with_retry_after() {
    // No permits at all: every request finds the listener saturated.
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |c| c.limits.http_max_concurrent_requests = 0).await;
    let r = app.get("/feeds/sessions/fmg-msme-2022-11-17.ics").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    assert!(r.text().await.unwrap().contains("concurrency limit"));
}

/// The value of an unlabelled metric of the server at `http` (its /metrics text).
async fn metric(http: &str, name: &str) -> i64 {
    let text = reqwest::get(format!("http://{http}/metrics")).await.unwrap().text().await.unwrap();
    let line = text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' '));
    line.unwrap_or_else(|| panic!("no {name} in {text}")).parse().unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_cost_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    crate::helpers::import_demo_into(dir.path());
    let server = Server::start(dir.path());
    let pid = server.pid();
    // Idle means serving: the first feed rendered, nothing else going on.
    let feed = reqwest::get(format!("http://{}/feeds/sessions/fmg-msme-2022-11-17.ics", server.http)).await.unwrap();
    assert_eq!(feed.status(), 200);
    let before = rss_kib(pid);
    // 300 HTTP clients ask for a feed, again and again, and never read a byte of the answers;
    // 100 watch streams are opened and never read.
    let mut sockets = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&server.http).await.unwrap();
        let req = "GET /feeds/sessions/fmg-msme-2022-11-17.ics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20);
        let _ = s.write_all(req.as_bytes()).await;
        sockets.push(s);
    }
    let ch =
        tonic::transport::Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    let mut streams = Vec::new();
    for _ in 0..100 {
        let mut c = pb::session_service_client::SessionServiceClient::new(ch.clone());
        streams.push(
            c.watch_sessions(pb::WatchSessionsRequest { after_revision: Some(0), ..Default::default() }).await.unwrap(),
        );
    }
    // Loaded: every stream subscribed, and every HTTP client's first request answered.
    eventually("100 watch streams and 300 feed requests to reach the server", || async {
        let feeds = metric(&server.http, "agenda_feed_cache_hits_total").await
            + metric(&server.http, "agenda_feed_cache_misses_total").await;
        let watchers = metric(&server.http, "agenda_watch_subscribers").await;
        (watchers == 100 && feeds > 300).then_some(())
    })
    .await;
    let loaded = rss_kib(pid);
    // Still serving everyone else.
    let health = reqwest::get(format!("http://{}/healthz", server.http)).await.unwrap();
    assert_eq!(health.status(), 200);
    let mut people = pb::person_service_client::PersonServiceClient::new(ch.clone());
    assert!(people.get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.is_ok());
    eprintln!("RSS: {before} KiB idle, {loaded} KiB with 300 non-reading HTTP clients and 100 unread watch streams");
    assert!(loaded < before + 100 * 1024, "memory stays bounded: {before} KiB -> {loaded} KiB");
    drop(sockets);
    drop(streams);
    eventually("every watch stream to be released", || async {
        (metric(&server.http, "agenda_watch_subscribers").await == 0).then_some(())
    })
    .await;
    assert!(people.get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.is_ok(), "recovered");
    server.kill9();
}
