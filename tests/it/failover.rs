//! Failover on the etcd engine (feature `etcd`; issue 13): a write whose answer is lost is
//! retried and applied once; two replicas keep serving with one member down, leader or not;
//! the leader killed under write load from both replicas loses no acknowledged write, creates
//! nothing twice, and writes resume (the test prints how fast); with the quorum lost, reads
//! and feeds are served marked stale and writes refused, until the quorum returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agenda::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::etcd_cluster::{EtcdCluster, MAX_TXN_OPS};
use crate::helpers::{TestApp, eventually, reason, session};
use crate::replicas::{Replicas, two_replicas};

type Sessions = pb::session_service_client::SessionServiceClient<tonic::transport::Channel>;

/// How long a test waits for writes to go through again, or for what it polls.
const WITHIN: Duration = Duration::from_secs(30);

fn talk(n: usize) -> pb::Session {
    session(&format!("Talk {n}"), "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")
}

async fn create(mut client: Sessions, id: &str, n: usize) -> Result<pb::Session, tonic::Status> {
    let req = pb::CreateSessionRequest { session_id: id.into(), session: Some(talk(n)), ..Default::default() };
    client.create_session(req).await.map(|r| r.into_inner().session.unwrap())
}

/// A loopback TCP proxy to one etcd member that can swallow the member's answers (the
/// requests still reach it) and cut its connections: a write applied whose answer is lost,
/// the ambiguous failure a timeout is.
struct LossyProxy {
    addr: std::net::SocketAddr,
    swallow: Arc<AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
}

impl LossyProxy {
    async fn to(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let swallow = Arc::new(AtomicBool::new(false));
        let (cut, _) = tokio::sync::broadcast::channel(1);
        let (cuts, swallowing) = (cut.clone(), swallow.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (mut cut, swallow, target) = (cuts.subscribe(), swallowing.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    let (mut from_client, mut to_client) = inbound.into_split();
                    let (mut from_member, mut to_member) = outbound.into_split();
                    let requests = tokio::io::copy(&mut from_client, &mut to_member);
                    let answers = async {
                        let mut buf = vec![0; 64 * 1024];
                        while let Ok(n @ 1..) = from_member.read(&mut buf).await {
                            if !swallow.load(Ordering::SeqCst) && to_client.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::select! {
                        _ = requests => {}
                        () = answers => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        Self { addr, swallow, cut }
    }
}

/// The engine retries a write whose answer was lost (the member applied it, the connection
/// broke before the answer came back) and recognises its own first attempt by the request id
/// kept with the record: a create is acknowledged at the revision it was applied at, once,
/// not refused as "already exists" by itself, and a compare-and-write is not refused as a
/// conflict with itself. (Person writes: one Txn, no read before it that the lost answers
/// would stall; the session path is exercised by the leader-kill test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_is_lost_is_retried_and_applied_once() {
    use crate::store_contract::person;
    use agenda::store::{EtcdOptions, EtcdStore, Expect, Store};
    let cluster = EtcdCluster::start().await;
    let proxy = LossyProxy::to(&cluster.endpoints[0]).await;
    let options = EtcdOptions { prefix: "lossy/".into(), max_txn_ops: MAX_TXN_OPS, ..EtcdOptions::default() };
    let store = Arc::new(EtcdStore::connect(&[format!("http://{}", proxy.addr)], options).await.unwrap());
    let mut direct = cluster.client(None).await.unwrap();
    let first = store.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();

    for (id, expect, version) in [("bo", Expect::Absent, 1), ("ana", Expect::Revision(first), 2)] {
        let key = format!("lossy/a1/p/{id}");
        proxy.swallow.store(true, Ordering::SeqCst);
        let writer = store.clone();
        let written = person(id, "Renamed", "");
        let pending = tokio::spawn(async move { writer.put_person(&written, expect).await });
        let deadline = Instant::now() + WITHIN;
        let applied = loop {
            if let Some(kv) =
                direct.get(key.as_str(), None).await.unwrap().kvs().first().filter(|kv| kv.version() == version)
            {
                break kv.mod_revision();
            }
            assert!(Instant::now() < deadline, "the member never applied {key}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The member applied it; its answer is lost with the connection.
        proxy.swallow.store(false, Ordering::SeqCst);
        let _ = proxy.cut.send(());
        let acknowledged = pending.await.unwrap();
        assert_eq!(
            acknowledged.ok(),
            Some(u64::try_from(applied).unwrap()),
            "{key}: acknowledged, at the revision applied"
        );
        let now = direct.get(key.as_str(), None).await.unwrap();
        assert_eq!(now.kvs()[0].version(), version, "{key}: written once");
    }
}

/// Both replicas create and read sessions: `tag` names the round.
async fn both_serve(r: &Replicas, tag: &str) {
    for (app, name) in [(&r.a, "a"), (&r.b, "b")] {
        let id = format!("{tag}-{name}");
        create(app.sessions.clone(), &id, 0).await.unwrap_or_else(|e| panic!("{id}: {e:?}"));
    }
    for app in [&r.a, &r.b] {
        for name in ["a", "b"] {
            assert_eq!(app.session(&format!("{tag}-{name}")).await.title, "Talk 0");
        }
        // With a quorum, reads are current: not marked stale (once an election is over).
        eventually("reads not marked stale", || async { read_marked(app, &format!("{tag}-a")).await.filter(|s| !*s) })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_member_down_leader_or_not_both_replicas_keep_reading_and_writing() {
    let mut r = two_replicas().await;
    both_serve(&r, "before").await;

    let leader = r.cluster.leader().await;
    let follower = (leader + 1) % 3;
    r.cluster.stop_member(follower);
    both_serve(&r, "follower-down").await;
    r.cluster.start_member(follower);

    let leader = r.cluster.leader().await;
    r.cluster.stop_member(leader);
    both_serve(&r, "leader-down").await;
}

/// What one writer saw: the ids acknowledged, when each was sent and acknowledged.
#[derive(Default)]
struct Written {
    acked: Vec<(String, Instant, Instant)>,
    refused: Vec<(String, tonic::Status)>,
}

/// Creates sessions `<name>-0`, `<name>-1`, ... through `app` until `stop`.
async fn write_until(client: Sessions, name: String, stop: Arc<AtomicBool>) -> Written {
    let mut out = Written::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let id = format!("{name}-{n}");
        let sent = Instant::now();
        match create(client.clone(), &id, n).await {
            Ok(_) => out.acked.push((id, sent, Instant::now())),
            Err(e) => out.refused.push((id, e)),
        }
        n += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_under_write_load_from_both_replicas_loses_no_acknowledged_write() {
    let mut r = two_replicas().await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (app, name) in [(&r.a, "a"), (&r.b, "b")] {
        for task in 0..2 {
            let client = app.sessions.clone();
            writers.push(tokio::spawn(write_until(client, format!("{name}{task}"), stop.clone())));
        }
    }
    // Some writes before the kill, then the leader goes.
    let count = || async { r.a.list_all(pb::ListSessionsRequest::default()).await.0.len() };
    let deadline = Instant::now() + WITHIN;
    while count().await < 20 {
        assert!(Instant::now() < deadline, "writes never got going");
    }
    let leader = r.cluster.leader().await;
    let killed = Instant::now();
    r.cluster.stop_member(leader);
    // Writes go on until every writer has had writes acknowledged that it sent after the kill.
    let before = count().await;
    let deadline = Instant::now() + WITHIN;
    while count().await < before + 40 {
        assert!(Instant::now() < deadline, "writes did not resume within {WITHIN:?}");
    }
    stop.store(true, Ordering::SeqCst);
    let mut written = Written::default();
    for w in writers {
        let w = w.await.unwrap();
        written.acked.extend(w.acked);
        written.refused.extend(w.refused);
    }

    assert!(
        written.refused.is_empty(),
        "no write refused, none ALREADY_EXISTS by its own retry: {:?}",
        written.refused
    );
    let resumed = written.acked.iter().filter(|(_, sent, _)| *sent >= killed).map(|(_, _, at)| *at - killed).min();
    let resumed = resumed.expect("writes acknowledged after the kill");
    println!("failover: first write sent after the leader was killed acknowledged {resumed:?} after the kill");
    for app in [&r.a, &r.b] {
        let (ids, _) = app.list_all(pb::ListSessionsRequest::default()).await;
        let stored: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(stored.len(), ids.len(), "no session listed twice");
        for (id, _, _) in &written.acked {
            assert!(stored.contains(id.as_str()), "acknowledged {id} is stored");
        }
        assert_eq!(ids.len(), written.acked.len(), "and nothing else: every write was acknowledged");
    }
}

/// Whether a gRPC read through `app` is answered, marked stale or not.
async fn read_marked(app: &TestApp, id: &str) -> Option<bool> {
    let req = pb::GetSessionRequest { session_id: id.into() };
    let read = app.sessions.clone().get_session(req).await.ok()?;
    Some(read.metadata().get("agenda-stale").is_some_and(|v| v == "true"))
}

/// The writes health status of `app` (`agenda.v1.Writes`).
async fn writes_health(app: &TestApp) -> i32 {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Channel::from_shared(app.grpc_base.clone()).unwrap().connect().await.unwrap();
    let req = HealthCheckRequest { service: agenda::server::WRITES_HEALTH.into() };
    HealthClient::new(channel).check(req).await.unwrap().into_inner().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_quorum_lost_replicas_serve_stale_reads_refuse_writes_and_catch_up_when_it_returns() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut r = two_replicas().await;
    create(r.a.sessions.clone(), "plenary", 0).await.unwrap();
    let feed = "/feeds/sessions/plenary.ics";
    for app in [&r.a, &r.b] {
        assert_eq!(read_marked(app, "plenary").await, Some(false), "current reads are not marked");
        assert_eq!(writes_health(app).await, ServingStatus::Serving as i32);
    }

    let survivor = r.cluster.leader().await;
    let lost: Vec<usize> = (0..3).filter(|i| *i != survivor).collect();
    for &i in &lost {
        r.cluster.stop_member(i);
    }
    r.cluster.wait_leaderless(survivor).await;

    for app in [&r.a, &r.b] {
        eventually("a read marked stale", || async { read_marked(app, "plenary").await.filter(|s| *s) }).await;
        let answer = app.get(feed).await;
        assert_eq!(answer.status(), 200, "the feed is still served");
        assert_eq!(answer.headers().get("agenda-stale").map(|v| v.to_str().unwrap()), Some("true"));
        assert!(answer.text().await.unwrap().contains("SUMMARY:Talk 0"));
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), 200);
        assert!(health.text().await.unwrap().contains("stale"), "/healthz says the reads are stale");
        eventually("agenda.v1.Writes NOT_SERVING", || async {
            (writes_health(app).await == ServingStatus::NotServing as i32).then_some(())
        })
        .await;
        let refused = create(app.sessions.clone(), "refused", 1).await;
        assert_eq!(refused.as_ref().map_err(tonic::Status::code).err(), Some(tonic::Code::Unavailable), "{refused:?}");
        assert_eq!(reason(refused), "STORE_UNAVAILABLE");
    }

    for &i in &lost {
        r.cluster.start_member(i);
    }
    for app in [&r.a, &r.b] {
        eventually("reads current again", || async { read_marked(app, "plenary").await.filter(|s| !*s) }).await;
        eventually("agenda.v1.Writes SERVING", || async {
            (writes_health(app).await == ServingStatus::Serving as i32).then_some(())
        })
        .await;
        let answer = app.get(feed).await;
        assert!(answer.headers().get("agenda-stale").is_none(), "the feed is no longer marked");
    }
    let req = pb::GetSessionRequest { session_id: "refused".into() };
    let refused = r.b.sessions.clone().get_session(req).await;
    assert_eq!(refused.map_err(|e| e.code()).err(), Some(tonic::Code::NotFound), "the refused write changed nothing");
    create(r.a.sessions.clone(), "after", 2).await.expect("writes are taken again");
    assert_eq!(r.b.session("after").await.title, "Talk 2", "B sees A's write");
    eventually("B's feed to catch up", || async {
        r.b.feed("/feeds/sessions.ics?from=2026-01-01&to=2027-01-01").await.contains("SUMMARY:Talk 2").then_some(())
    })
    .await;
}
