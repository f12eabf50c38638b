//! The etcd engine's local copy (feature `etcd`; issue 21): every replica answers queries and
//! point reads from the in-memory indexes it keeps by a watch, yet sees every write another
//! replica acknowledged (one shared linearizable read, then the watch), lists again when its
//! resume point was compacted while it was cut off, and holds exactly what a fresh list of the
//! store recomputes.

use agenda::domain::{PeopleQuery, PersonId, PersonSlotQuery, SessionId, SessionQuery};
use agenda::pb;
use agenda::store::{EtcdOptions, EtcdStore, Expect, Store};

use crate::cache::metric;
use crate::etcd_cluster::{EtcdCluster, MAX_TXN_OPS};
use crate::helpers::{session, slot};
use crate::replicas::{Proxy, two_replicas};
use crate::store_contract::{person, session as record};

/// A session with one slot on which `speaker` speaks, `hour` hours into the day.
fn talk(title: &str, hour: u32, speaker: &str) -> pb::Session {
    let (start, end) = (format!("2026-06-01T{hour:02}:00:00Z"), format!("2026-06-01T{hour:02}:30:00Z"));
    let mut s = session(title, &start, &end);
    let mut talk = slot("talk", title, &start, &end);
    talk.speaker_ids = vec![speaker.into()];
    s.slots = vec![talk];
    s
}

fn all_sessions() -> pb::ListSessionsRequest {
    pb::ListSessionsRequest { page_size: 1000, ..Default::default() }
}

fn slots_of(person: &str) -> pb::ListPersonSlotsRequest {
    pb::ListPersonSlotsRequest { person_id: person.into(), page_size: 1000, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_acknowledged_on_one_replica_is_read_on_the_other_at_once() {
    let r = two_replicas().await;
    r.a.person("ana", "Ana").await;
    for i in 0..20u32 {
        let id = format!("talk-{i}");
        // The same requests every time: B's answers are cached between A's writes.
        let before = r.b.sessions.clone().list_sessions(all_sessions()).await.unwrap().into_inner();
        assert_eq!(before.sessions.len(), i as usize);
        let created = r.a.create(&id, talk(&format!("Talk {i}"), i % 24, "ana")).await;

        let read = r.b.session(&id).await;
        assert_eq!((read.title.clone(), &read.etag), (format!("Talk {i}"), &created.etag), "GetSession on B, try {i}");
        let listed = r.b.sessions.clone().list_sessions(all_sessions()).await.unwrap().into_inner();
        assert!(listed.sessions.iter().any(|s| s.id == id && s.etag == created.etag), "ListSessions on B, try {i}");
        let slots = r.b.people.clone().list_person_slots(slots_of("ana")).await.unwrap().into_inner();
        assert!(slots.slots.iter().any(|s| s.session_id == id), "ListPersonSlots on B, try {i}");

        let renamed = pb::UpdateSessionRequest {
            session: Some(pb::Session { id: id.clone(), title: format!("Renamed {i}"), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
            ..Default::default()
        };
        let updated = r.a.sessions.clone().update_session(renamed).await.unwrap().into_inner().session.unwrap();
        let read = r.b.session(&id).await;
        assert_eq!((read.title.clone(), read.etag), (format!("Renamed {i}"), updated.etag), "update on B, try {i}");
    }
}

/// A store of its own on the cluster, reached only through `proxy`.
async fn behind(proxy: &Proxy, prefix: &str) -> EtcdStore {
    let options = EtcdOptions { prefix: prefix.into(), max_txn_ops: MAX_TXN_OPS, ..EtcdOptions::default() };
    EtcdStore::connect(&[format!("http://{}", proxy.addr)], options).await.unwrap()
}

fn ids(sessions: &[agenda::domain::Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_resume_point_was_compacted_while_cut_off_lists_again_and_answers_correctly() {
    let cluster = EtcdCluster::start().await;
    let writer = cluster.store("relist/").await;
    let proxy = Proxy::to(&cluster.endpoints[0]).await;
    let replica = behind(&proxy, "relist/").await;
    writer.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    let first = writer.put_session(&record("first", 1, 2, &["ana"]), Expect::Absent).await.unwrap();
    let all = SessionQuery::default();
    assert_eq!(ids(&replica.list_sessions(&all, 100).await.unwrap()), ["first"]);

    proxy.down();
    writer.put_person(&person("bo", "Bo", ""), Expect::Absent).await.unwrap();
    writer.put_session(&record("second", 3, 4, &["bo"]), Expect::Absent).await.unwrap();
    writer.delete_session(&SessionId::parse("first").unwrap(), Some(first)).await.unwrap();
    writer.prune_changes(1).await.unwrap();
    assert!(writer.changes_from().await.unwrap() > first + 1, "the replica's resume point is compacted");
    proxy.up();

    assert_eq!(ids(&replica.list_sessions(&all, 100).await.unwrap()), ["second"]);
    assert_eq!(replica.get_session(&SessionId::parse("first").unwrap()).await.unwrap(), None);
    let bo = PersonSlotQuery::all(PersonId::parse("bo").unwrap(), false);
    let slots = replica.person_slots(&bo, 100).await.unwrap();
    assert_eq!(slots.iter().map(|s| s.session_id.as_str()).collect::<Vec<_>>(), ["second"]);
    let people = replica.list_people(&PeopleQuery::default(), 100).await.unwrap();
    assert_eq!(people.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["ana", "bo"]);
    assert_eq!(replica.verify().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replicas_copy_equals_a_recomputation_from_the_store() {
    let cluster = EtcdCluster::start().await;
    let writer = cluster.store("recompute/").await;
    let reader = cluster.store("recompute/").await;
    for p in ["ana", "bo", "cy"] {
        writer.put_person(&person(p, &p.to_uppercase(), ""), Expect::Absent).await.unwrap();
    }
    let mut revisions = Vec::new();
    for i in 0..12i64 {
        let speakers: &[&str] = [&["ana"][..], &["bo", "cy"], &["cy"]][i as usize % 3];
        let rev = writer.put_session(&record(&format!("s{i}"), i, i + 2, speakers), Expect::Absent).await.unwrap();
        revisions.push(rev);
    }
    // Moves (a new start), changed speakers, deletes: every kind of index change.
    for i in (0..12i64).step_by(3) {
        let moved = record(&format!("s{i}"), i + 30, i + 31, &["bo"]);
        revisions[i as usize] = writer.put_session(&moved, Expect::Revision(revisions[i as usize])).await.unwrap();
    }
    for i in (1..12i64).step_by(4) {
        writer.delete_session(&SessionId::parse(&format!("s{i}")).unwrap(), None).await.unwrap();
    }
    for store in [&writer, &reader] {
        assert_eq!(store.verify().await.unwrap(), Vec::<String>::new());
    }
    let all = SessionQuery::default();
    let (w, r) = (writer.list_sessions(&all, 100).await.unwrap(), reader.list_sessions(&all, 100).await.unwrap());
    assert_eq!(ids(&w), ids(&r));
    assert_eq!(w.len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listsessions_page_is_cached_on_an_etcd_replica_until_a_write_anywhere() {
    let r = two_replicas().await;
    r.a.person("ana", "Ana").await;
    r.a.create("first", talk("First", 9, "ana")).await;
    let list = |app: &crate::helpers::TestApp| {
        let mut sessions = app.sessions.clone();
        async move { sessions.list_sessions(all_sessions()).await.unwrap().into_inner() }
    };
    assert_eq!(list(&r.b).await.sessions.len(), 1);
    let hits = metric(&r.b, "agenda_read_cache_hits_total").await;
    assert_eq!(list(&r.b).await.sessions.len(), 1);
    assert_eq!(metric(&r.b, "agenda_read_cache_hits_total").await, hits + 1, "the same page again is a hit");

    r.a.create("second", talk("Second", 10, "ana")).await;
    assert_eq!(list(&r.b).await.sessions.len(), 2, "a write on A is never hidden by B's cached page");
}
