//! Two agenda replicas on one etcd cluster (feature `etcd`; issue 13): each is the real server
//! built by `server::build` from a config naming the same `etcd://` store, and what one writes
//! shows through the other's gRPC API, feeds and watch streams; a stale etag read on one is
//! refused on the other. And the engine's follower, under them, survives a broken connection.

use std::time::Duration;

use agenda::domain::Limits;
use agenda::pb;
use prost_types::FieldMask;

use crate::etcd_cluster::{EtcdCluster, MAX_TXN_OPS};
use crate::helpers::{TestApp, eventually, failure, reason, session, spawn_with};
use crate::production::{next, watch_req};

/// A cluster and two replicas of the server on it, under one key prefix.
pub(crate) struct Replicas {
    pub(crate) a: TestApp,
    pub(crate) b: TestApp,
    /// Dropped last: the replicas stop before the cluster does.
    pub(crate) cluster: EtcdCluster,
    _unused: tempfile::TempDir,
}

pub(crate) async fn two_replicas() -> Replicas {
    let cluster = EtcdCluster::start().await;
    let url = cluster.store_url("replicas");
    let unused = tempfile::tempdir().unwrap();
    let replica = || spawn_with(unused.path(), false, Limits::default(), |c| c.store = url.clone());
    let a = replica().await;
    let b = replica().await;
    Replicas { a, b, cluster, _unused: unused }
}

fn rename(id: &str, title: &str, etag: &str) -> pb::UpdateSessionRequest {
    pb::UpdateSessionRequest {
        session: Some(pb::Session { id: id.into(), title: title.into(), etag: etag.into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
        ..Default::default()
    }
}

fn plenary() -> pb::Session {
    session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_through_one_replica_is_read_through_the_other() {
    let r = two_replicas().await;
    let created = r.a.create("plenary", plenary()).await;
    let read = r.b.session("plenary").await;
    assert_eq!((read.title.as_str(), &read.etag), ("Plenary", &created.etag), "same record, same etag");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_feed_reflects_an_update_made_through_another() {
    let r = two_replicas().await;
    r.a.create("plenary", plenary()).await;
    let path = "/feeds/sessions/plenary.ics";
    let before = r.b.feed(path).await;
    assert!(before.contains("SUMMARY:Plenary"), "{before}");

    r.a.sessions.clone().update_session(rename("plenary", "Plenary moved", "")).await.unwrap();
    eventually("B's cached feed to show A's update", || async {
        r.b.feed(path).await.contains("SUMMARY:Plenary moved").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_replica_sees_the_others_writes_and_resumes_on_it_without_gaps_or_repeats() {
    let r = two_replicas().await;
    let mut on_b = r.b.sessions.clone().watch_sessions(watch_req(None)).await.unwrap().into_inner();
    let mut on_a = r.a.sessions.clone().watch_sessions(watch_req(None)).await.unwrap().into_inner();

    let created = r.a.create("plenary", plenary()).await;
    let seen_on_b = next(&mut on_b).await;
    assert_eq!((seen_on_b.session_id.as_str(), seen_on_b.revision.to_string()), ("plenary", created.etag.clone()));
    assert_eq!(seen_on_b.change_type, pb::ChangeType::Created as i32);

    // A watcher reads up to a revision on A, goes away, and comes back on B from there.
    let read_on_a = next(&mut on_a).await;
    assert_eq!(read_on_a.revision, seen_on_b.revision, "revisions are the cluster's: the same on both");
    drop(on_a);
    let renamed = r.a.sessions.clone().update_session(rename("plenary", "Second", "")).await.unwrap().into_inner();
    r.a.create("closing", session("Closing", "2026-06-01T17:00:00Z", "2026-06-01T18:00:00Z")).await;

    let mut resumed = r.b.sessions.clone().watch_sessions(watch_req(Some(read_on_a.revision))).await.unwrap();
    let resumed = resumed.get_mut();
    let first = next(resumed).await;
    assert_eq!(
        (first.session_id.as_str(), first.revision.to_string(), first.change_type),
        ("plenary", renamed.session.unwrap().etag, pb::ChangeType::Updated as i32),
        "the next write after the revision read on A, not a repeat"
    );
    let second = next(resumed).await;
    assert_eq!((second.session_id.as_str(), second.change_type), ("closing", pb::ChangeType::Created as i32));
    assert!(second.revision > first.revision);
    // B's first stream saw the same two, in the same order.
    let (u, c) = (next(&mut on_b).await, next(&mut on_b).await);
    assert_eq!((u.revision, c.revision), (first.revision, second.revision));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_through_one_replica_with_an_etag_the_other_replaced_is_aborted() {
    let r = two_replicas().await;
    r.a.create("plenary", plenary()).await;
    let read_on_a = r.a.session("plenary").await;
    r.a.sessions.clone().update_session(rename("plenary", "A wins", &read_on_a.etag)).await.unwrap();

    let late = r.b.sessions.clone().update_session(rename("plenary", "B is late", &read_on_a.etag)).await;
    assert_eq!(failure(late).0, tonic::Code::Aborted);
    let again = r.b.sessions.clone().update_session(rename("plenary", "B is late", &read_on_a.etag)).await;
    assert_eq!(reason(again), "STALE_ETAG");
    assert_eq!(r.b.session("plenary").await.title, "A wins", "the refused write changed nothing");
}

/// A loopback TCP proxy whose open connections the test can cut (new ones are still taken,
/// unless it is down): what a replica sees when its etcd member restarts or the network drops
/// its connection; or partitioned, down for good.
pub(crate) struct Proxy {
    pub(crate) addr: std::net::SocketAddr,
    cut: tokio::sync::broadcast::Sender<()>,
    /// While set, a new connection is closed as soon as it is taken.
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    pub(crate) async fn to(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = tokio::sync::broadcast::channel(1);
        let cuts = cut.clone();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let is_down = std::sync::Arc::clone(&down);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_down.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let mut cut = cuts.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        Self { addr, cut, down }
    }

    /// Drops every connection open now.
    pub(crate) fn cut(&self) {
        let _ = self.cut.send(());
    }

    /// Drops every connection and refuses new ones until [`Proxy::up`].
    pub(crate) fn down(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        self.cut();
    }

    pub(crate) fn up(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Cuts the replica off from its member for good: open connections dropped, new ones
    /// closed.
    pub(crate) fn partition(&self) {
        self.down();
    }
}

/// The engine's follower survives a broken connection: it watches again from the last
/// revision it saw, so writes made while it was cut off are still reported, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_whose_connection_breaks_watches_again_from_the_last_revision_it_saw() {
    use crate::store_contract::person;
    use agenda::store::{EtcdOptions, EtcdStore, Expect, Store};
    let cluster = EtcdCluster::start().await;
    let writer = cluster.store("follow/").await;
    let proxy = Proxy::to(&cluster.endpoints[0]).await;
    let options = EtcdOptions { prefix: "follow/".into(), max_txn_ops: MAX_TXN_OPS, ..EtcdOptions::default() };
    let follower = EtcdStore::connect(&[format!("http://{}", proxy.addr)], options).await.unwrap();
    let revisions = follower.follow(0).await.unwrap().expect("an etcd store has other writers to follow");
    let reached = |want: u64| {
        let mut r = revisions.clone();
        async move {
            let seen = tokio::time::timeout(Duration::from_secs(10), r.wait_for(|at| *at >= want)).await;
            *seen.expect("the revision within 10 s").expect("the follower runs")
        }
    };

    let first = writer.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    assert_eq!(reached(first).await, first);
    proxy.cut();
    let second = writer.put_person(&person("bo", "Bo", ""), Expect::Absent).await.unwrap();
    let third = writer.put_person(&person("cy", "Cy", ""), Expect::Absent).await.unwrap();
    assert!(first < second && second < third);
    assert_eq!(reached(third).await, third, "the writes made while cut off are reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_get_session_on_one_replica_shows_a_write_on_the_other_after_its_watch_event() {
    let r = two_replicas().await;
    r.a.create("plenary", plenary()).await;
    // The second read on B is answered from B's read cache.
    r.b.session("plenary").await;
    r.b.session("plenary").await;
    let updated = r.a.sessions.clone().update_session(rename("plenary", "Plenary moved", "")).await.unwrap();
    let etag = updated.into_inner().session.unwrap().etag;
    eventually("B's GetSession to show A's update", || async {
        let s = r.b.session("plenary").await;
        (s.title == "Plenary moved" && s.etag == etag).then_some(())
    })
    .await;
}
