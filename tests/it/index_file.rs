//! sled's index file (`store/sled/index_file.rs`): an open that reads the indexes from the
//! file the last clean stop wrote answers every query as an open that lists the records; a
//! file that writes came after, a damaged file, another store's file and a crash are all
//! seen, and the records are listed instead.

use std::path::Path;
use std::sync::Arc;

use agenda::app::Agenda;
use agenda::domain::{
    Limits, PeopleQuery, Person, PersonId, PersonSlotQuery, SessionCursor, SessionFilter, SessionQuery,
};
use agenda::pb::{self, person_service_client::PersonServiceClient, session_service_client::SessionServiceClient};
use agenda::store::{IndexFileError, IndexSource, SledStore};
use tonic::transport::Channel;

use crate::durability::Server;
use crate::helpers::{session, slot};
use crate::synth::generator::{Spec, load};

const FILE: &str = "agenda-index";

fn spec() -> Spec {
    Spec::small().scaled_to(120)
}

fn open(dir: &Path) -> Arc<SledStore> {
    Arc::new(SledStore::open(dir).expect("opening the store"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The store's only holder gives it up, as a process ends.
fn into_inner(store: Arc<SledStore>) -> SledStore {
    Arc::into_inner(store).expect("nothing else holds the store")
}

fn source(store: &SledStore) -> String {
    match store.index_source() {
        IndexSource::File => "file".into(),
        IndexSource::Records(why) => format!("records: {why}"),
    }
}

/// Loads the generated records, then deletes, changes and adds some: free session numbers,
/// removed slots, a deleted person, a tag no session has any more.
fn fill(dir: &Path, rt: &tokio::runtime::Runtime) {
    let spec = spec();
    let store = open(dir);
    rt.block_on(async {
        let agenda = Agenda::new(store.shared(), Limits::default()).await.unwrap();
        load(&agenda, &spec, 8).await.unwrap();
        for i in 0..4 {
            agenda.delete_session(&spec.session_id(i), None).await.unwrap();
        }
        for i in 4..8 {
            agenda
                .update_session(&spec.session_id(i), None, |s| {
                    s.tags = vec!["changed".into()];
                    if s.slots.len() > 1 {
                        s.slots.pop();
                    }
                    Ok(())
                })
                .await
                .unwrap();
        }
        let gone = Person { name: "Gone Soon".into(), ..spec.all_people().next().unwrap() };
        let gone = Person { id: PersonId::parse("gone").unwrap(), ..gone };
        agenda.create_person(gone).await.unwrap();
        agenda.delete_person(&PersonId::parse("gone").unwrap(), None).await.unwrap();
    });
    into_inner(store).checkpoint().unwrap();
}

/// What the store answers, through every index: every session, page by page (cursors), by
/// each person, tag and organizer and in time windows; each person's slots; every person.
fn answers(store: &Arc<SledStore>, rt: &tokio::runtime::Runtime) -> Vec<String> {
    let st = store.shared();
    rt.block_on(async {
        let mut out = Vec::new();
        let list = |filter: SessionFilter, after: Option<SessionCursor>| {
            let st = Arc::clone(&st);
            async move { st.list_sessions(&SessionQuery { filter, after }, 1_000).await.unwrap() }
        };
        let all = list(SessionFilter::default(), None).await;
        assert!(all.len() > 100, "the store holds the generated sessions");
        out.extend(all.iter().map(|s| format!("all {} @{}", s.id, s.meta.revision)));
        let mut after = None;
        loop {
            let page = st
                .list_sessions(&SessionQuery { filter: SessionFilter::default(), after: after.clone() }, 7)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(SessionCursor { start: last.start, id: last.id.clone() });
            out.push(format!("page {:?}", page.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()));
        }
        let mut tags = std::collections::BTreeSet::new();
        let mut organizers = std::collections::BTreeSet::new();
        for s in &all {
            tags.extend(s.tags.iter().map(|t| t.to_lowercase()));
            organizers.insert(s.organizer.name.to_lowercase());
        }
        tags.insert("missing".into());
        for tag in tags {
            let found = list(SessionFilter { tag: Some(tag.clone()), ..Default::default() }, None).await;
            out.push(format!("tag {tag}: {:?}", found.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()));
        }
        for org in organizers {
            let found = list(SessionFilter { organizer: Some(org.clone()), ..Default::default() }, None).await;
            out.push(format!("org {org}: {:?}", found.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()));
        }
        for week in 0..5 {
            let from = all[0].start.checked_add(jiff::Span::new().hours(24 * 7 * week)).unwrap();
            let to = from.checked_add(jiff::Span::new().hours(24 * 7)).unwrap();
            let filter = SessionFilter { from: Some(from), to: Some(to), ..Default::default() };
            let found = list(filter, None).await;
            out.push(format!("week {week}: {:?}", found.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()));
        }
        let people = st.list_people(&PeopleQuery::default(), 10_000).await.unwrap();
        out.push(format!(
            "people {:?}",
            people.iter().map(|p| (p.id.to_string(), p.meta.revision)).collect::<Vec<_>>()
        ));
        for p in &people {
            let filter = SessionFilter { person: Some(p.id.clone()), ..Default::default() };
            let found = list(filter, None).await;
            out.push(format!("person {}: {:?}", p.id, found.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()));
            let slots = st.person_slots(&PersonSlotQuery::all(p.id.clone(), true), 10_000).await.unwrap();
            let slots: Vec<String> = slots
                .iter()
                .map(|s| format!("{}/{}{}", s.session_id, s.slot.id, if s.removed { " removed" } else { "" }))
                .collect();
            out.push(format!("slots {}: {slots:?}", p.id));
        }
        out
    })
}

#[test]
fn an_open_from_the_index_file_answers_every_query_as_the_records_do() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    fill(dir.path(), &rt);
    assert!(dir.path().join(FILE).is_file(), "the clean stop wrote the index file");

    let store = open(dir.path());
    assert_eq!(source(&store), "file");
    let from_file = answers(&store, &rt);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new(), "the indexes read equal the records'");
    drop(store);

    std::fs::remove_file(dir.path().join(FILE)).unwrap();
    let store = open(dir.path());
    assert!(matches!(store.index_source(), IndexSource::Records(IndexFileError::Missing)), "{}", source(&store));
    assert_eq!(answers(&store, &rt), from_file);
    drop(store);

    // Writes go on from the indexes read: new names and numbers, a freed number reused.
    let store = open(dir.path());
    assert!(matches!(store.index_source(), IndexSource::Records(_)), "no file was written since");
    into_inner(store).checkpoint().unwrap();
    let store = open(dir.path());
    assert_eq!(source(&store), "file");
    rt.block_on(async {
        let agenda = Agenda::new(store.shared(), Limits::default()).await.unwrap();
        let spec = spec();
        agenda.delete_session(&spec.session_id(10), None).await.unwrap();
        let mut s = spec.session(11);
        s.id = agenda::domain::SessionId::parse("added").unwrap();
        s.tags = vec!["brand-new".into()];
        agenda.create_session(s).await.unwrap();
    });
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let tagged = rt.block_on(store.shared().list_sessions(
        &SessionQuery { filter: SessionFilter { tag: Some("brand-new".into()), ..Default::default() }, after: None },
        10,
    ));
    assert_eq!(tagged.unwrap().iter().map(|s| s.id.to_string()).collect::<Vec<_>>(), ["added"]);
}

#[test]
fn a_write_after_the_index_file_makes_it_stale() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    fill(dir.path(), &rt);
    let store = open(dir.path());
    assert_eq!(source(&store), "file");
    let spec = spec();
    rt.block_on(async {
        let agenda = Agenda::new(store.shared(), Limits::default()).await.unwrap();
        agenda
            .update_session(&spec.session_id(20), None, |s| {
                s.tags = vec!["late".into()];
                Ok(())
            })
            .await
            .unwrap();
    });
    // Stopped without a checkpoint (its writes durable, the file as the last one left it).
    drop(store);

    let store = open(dir.path());
    assert!(
        matches!(store.index_source(), IndexSource::Records(IndexFileError::Stale { file, store }) if store == &(file + 1)),
        "{}",
        source(&store)
    );
    let late = rt.block_on(store.shared().list_sessions(
        &SessionQuery { filter: SessionFilter { tag: Some("late".into()), ..Default::default() }, after: None },
        10,
    ));
    assert_eq!(late.unwrap().iter().map(|s| s.id.clone()).collect::<Vec<_>>(), [spec.session_id(20)]);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let listed = answers(&store, &rt);

    // The next clean stop writes it again, with the write.
    into_inner(store).checkpoint().unwrap();
    let store = open(dir.path());
    assert_eq!(source(&store), "file");
    assert_eq!(answers(&store, &rt), listed);
}

#[test]
fn a_damaged_or_foreign_index_file_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    fill(dir.path(), &rt);
    let file = dir.path().join(FILE);
    let good = std::fs::read(&file).unwrap();
    let expected = answers(&open(dir.path()), &rt);

    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(&file, &damaged).unwrap();
    let store = open(dir.path());
    assert!(matches!(store.index_source(), IndexSource::Records(IndexFileError::Checksum)), "{}", source(&store));
    assert_eq!(answers(&store, &rt), expected);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    drop(store);

    for len in [good.len() - 1, good.len() / 2, 20, 3, 0] {
        std::fs::write(&file, &good[..len]).unwrap();
        let store = open(dir.path());
        assert!(matches!(store.index_source(), IndexSource::Records(_)), "cut to {len} bytes: {}", source(&store));
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    }

    // Another store at the same revision: the same number of writes, other records.
    let other = tempfile::tempdir().unwrap();
    let people = |dir: &Path, name: &str| {
        let store = open(dir);
        let p =
            Person { id: PersonId::parse("ana").unwrap(), name: name.into(), ..spec().all_people().next().unwrap() };
        rt.block_on(async {
            Agenda::new(store.shared(), Limits::default()).await.unwrap().create_person(p).await.unwrap();
        });
        into_inner(store).checkpoint().unwrap();
    };
    let third = tempfile::tempdir().unwrap();
    people(other.path(), "Ana");
    people(third.path(), "Someone Else");
    std::fs::copy(third.path().join(FILE), other.path().join(FILE)).unwrap();
    let store = open(other.path());
    assert!(matches!(store.index_source(), IndexSource::Records(IndexFileError::OtherLog)), "{}", source(&store));
    let listed = rt.block_on(store.shared().list_people(&PeopleQuery::default(), 10)).unwrap();
    assert_eq!(listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Ana"]);
}

async fn clients(server: &Server) -> (SessionServiceClient<Channel>, PersonServiceClient<Channel>) {
    let ch = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    (SessionServiceClient::new(ch.clone()), PersonServiceClient::new(ch))
}

fn talk(title: &str, speaker: &str, tag: &str) -> pb::Session {
    let mut s = session(title, "2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z");
    s.tags = vec![tag.into()];
    s.slots = vec![pb::Slot {
        speaker_ids: vec![speaker.into()],
        ..slot("talk", "Talk", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    }];
    s
}

async fn create(server: &Server, id: &str, s: pb::Session) -> Result<(), tonic::Status> {
    let (mut sessions, _) = clients(server).await;
    let req = pb::CreateSessionRequest { session_id: id.into(), session: Some(s), ..Default::default() };
    sessions.create_session(req).await.map(drop)
}

/// The sessions naming `person`, as the server lists them (through the person index).
async fn naming(server: &Server, person: &str) -> Vec<String> {
    let (mut sessions, _) = clients(server).await;
    let req = pb::ListSessionsRequest { person_id: person.into(), ..Default::default() };
    sessions.list_sessions(req).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect()
}

/// `agenda check` on the stopped store; its report.
fn check(dir: &Path) -> String {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(dir).arg("check").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "agenda check: {text}");
    text
}

/// The binary: a clean stop writes the file and the next start reads it; a crash after a
/// write leaves it stale, and the start after the crash lists the records and finds the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_the_file_after_a_clean_stop_and_lists_the_records_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(server.logged("indexes built from the records").len(), 1, "a new store has no file");
    let (_, mut people) = clients(&server).await;
    for p in ["ana", "ben"] {
        let person = pb::Person { name: p.into(), ..Default::default() };
        let req = pb::CreatePersonRequest { person_id: p.into(), person: Some(person), ..Default::default() };
        people.create_person(req).await.unwrap();
    }
    create(&server, "s1", talk("first", "ana", "x")).await.unwrap();
    server.terminate();
    assert!(server.wait(), "a clean stop");
    assert!(check(dir.path()).contains("read from the index file"));

    // A write acknowledged, then a crash before the next clean stop.
    let mut server = Server::start_with_env(dir.path(), &[("AGENDA_CRASH_AT", "after-flush:1")]);
    assert_eq!(server.logged("indexes read from the index file").len(), 1);
    assert!(create(&server, "s2", talk("second", "ben", "y")).await.is_err(), "the server aborts before answering");
    assert!(!server.wait_exit(), "the server aborted");

    let server = Server::start(dir.path());
    let built = server.logged("indexes built from the records");
    assert_eq!(built.len(), 1, "{:?}", server.logged("index"));
    assert!(built[0].contains("the store is at revision"), "{}", built[0]);
    assert_eq!(naming(&server, "ben").await, ["s2"]);
    assert_eq!(naming(&server, "ana").await, ["s1"]);
    server.kill9();
    let report = check(dir.path());
    assert!(report.contains("built from the records: the index file is of revision"), "{report}");
}
