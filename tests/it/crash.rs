//! The crash harness: concurrent writers log every acknowledged write while the server is
//! killed with SIGKILL at random moments, 20 times; after each kill the store is checked
//! (indexes against records, `agenda check`) and, once restarted, compared with the log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenda::pb::{self, person_service_client::PersonServiceClient, session_service_client::SessionServiceClient};
use prost_types::FieldMask;
use tonic::transport::Channel;

use crate::durability::Server;
use crate::helpers::{Rng, session, slot};

/// What a session should look like: present with a title and a speaker, or absent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Present { title: String, speaker: String },
    Absent,
}

/// Per session id: the last acknowledged state, and the state of a write that was in flight
/// when the server died (it may or may not have been applied).
#[derive(Debug, Clone)]
struct Entry {
    acked: State,
    pending: Option<State>,
}

type Log = Arc<Mutex<BTreeMap<String, Entry>>>;

const PEOPLE: [&str; 4] = ["ana", "ben", "chen", "dara"];

/// Session ids are never reused, across writers and restarts.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
const WRITERS: u64 = 6;
const KILLS: usize = 20;

fn body(title: &str, speaker: &str) -> pb::Session {
    let mut s = session(title, "2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z");
    s.tags = vec!["crash".into()];
    s.slots = vec![pb::Slot {
        speaker_ids: vec![speaker.into()],
        ..slot("talk", "Talk", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    }];
    s
}

/// One writer: creates, updates and deletes its own sessions until the server goes away.
async fn writer(mut c: SessionServiceClient<Channel>, log: Log, owner: u64, seed: u64, acks: Arc<Mutex<u64>>) {
    let mut rng = Rng(seed | 1);
    loop {
        let mine: Vec<(String, State)> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("w{owner}-")))
            .map(|(id, e)| (id.clone(), e.acked.clone()))
            .collect();
        let present: Vec<&(String, State)> = mine.iter().filter(|(_, s)| matches!(s, State::Present { .. })).collect();
        let speaker = PEOPLE[rng.below(4) as usize].to_owned();
        let choice = if present.is_empty() { 0 } else { rng.below(3) };
        let (id, next, result) = match choice {
            0 => {
                let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let id = format!("w{owner}-{n}");
                let title = format!("created {n}");
                let next = State::Present { title: title.clone(), speaker: speaker.clone() };
                log.lock().unwrap().insert(id.clone(), Entry { acked: State::Absent, pending: Some(next.clone()) });
                let r = c
                    .create_session(pb::CreateSessionRequest {
                        session_id: id.clone(),
                        session: Some(body(&title, &speaker)),
                        ..Default::default()
                    })
                    .await;
                (id, next, r.map(drop))
            }
            1 => {
                let (id, _) = present[rng.below(present.len() as u64) as usize].clone();
                let title = format!("updated {}", rng.next());
                let next = State::Present { title: title.clone(), speaker: speaker.clone() };
                log.lock().unwrap().get_mut(&id).unwrap().pending = Some(next.clone());
                let mut b = body(&title, &speaker);
                b.id = id.clone();
                let req = pb::UpdateSessionRequest {
                    session: Some(b),
                    update_mask: Some(FieldMask { paths: vec!["title".into(), "slots".into()] }),
                    ..Default::default()
                };
                let r = c.update_session(req).await;
                (id, next, r.map(drop))
            }
            _ => {
                let (id, _) = present[rng.below(present.len() as u64) as usize].clone();
                log.lock().unwrap().get_mut(&id).unwrap().pending = Some(State::Absent);
                let r =
                    c.delete_session(pb::DeleteSessionRequest { session_id: id.clone(), etag: String::new() }).await;
                (id, State::Absent, r.map(drop))
            }
        };
        match result {
            Ok(()) => {
                let mut l = log.lock().unwrap();
                let e = l.get_mut(&id).unwrap();
                e.acked = next;
                e.pending = None;
                *acks.lock().unwrap() += 1;
            }
            // The server died under this write: its outcome stays pending.
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                ) =>
            {
                return;
            }
            Err(status) => panic!("{id}: a write failed for another reason than the kill: {status:?}"),
        }
    }
}

async fn clients(server: &Server) -> (SessionServiceClient<Channel>, PersonServiceClient<Channel>) {
    let ch = Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    (SessionServiceClient::new(ch.clone()), PersonServiceClient::new(ch))
}

/// `agenda check` on the stopped store: indexes agree with records.
fn check(dir: &std::path::Path) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(dir).arg("check").output().unwrap();
    assert!(
        out.status.success(),
        "agenda check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compares the restarted store with the log, then takes what it holds as the new truth.
async fn verify(server: &Server, log: &Log) -> usize {
    let (mut sessions, _) = clients(server).await;
    let entries: Vec<(String, Entry)> = log.lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut present_by_speaker: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, e) in &entries {
        let got = match sessions.get_session(pb::GetSessionRequest { session_id: id.clone() }).await {
            Ok(r) => {
                let s = r.into_inner().session.unwrap();
                State::Present { title: s.title, speaker: s.slots[0].speaker_ids[0].clone() }
            }
            Err(status) if status.code() == tonic::Code::NotFound => State::Absent,
            Err(status) => panic!("{id}: {status:?}"),
        };
        let allowed = got == e.acked || e.pending.as_ref() == Some(&got);
        assert!(allowed, "{id}: found {got:?}, acknowledged {:?}, in flight {:?}", e.acked, e.pending);
        if let State::Present { speaker, .. } = &got {
            present_by_speaker.entry(speaker.clone()).or_default().push(id.clone());
        }
        let mut l = log.lock().unwrap();
        let entry = l.get_mut(id).unwrap();
        entry.acked = got;
        entry.pending = None;
    }
    // Queries through the indexes agree with the records.
    for person in PEOPLE {
        let req = pb::ListSessionsRequest {
            person_id: person.into(),
            tag: "crash".into(),
            page_size: 1000,
            ..Default::default()
        };
        let mut listed: Vec<String> =
            sessions.list_sessions(req).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect();
        listed.sort();
        let mut want = present_by_speaker.remove(person).unwrap_or_default();
        want.sort();
        assert_eq!(listed, want, "sessions of {person} by index");
    }
    entries.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_twenty_random_kills() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash harness seed {seed}");
    let mut rng = Rng(seed | 1);
    let log: Log = Arc::new(Mutex::new(BTreeMap::new()));
    let acks = Arc::new(Mutex::new(0u64));
    let started = Instant::now();

    let mut server = Server::start(dir.path());
    let (_, mut people) = clients(&server).await;
    for p in PEOPLE {
        let req = pb::CreatePersonRequest {
            person_id: p.into(),
            person: Some(pb::Person { name: p.into(), ..Default::default() }),
            ..Default::default()
        };
        people.create_person(req).await.unwrap();
    }
    let mut kills = 0;
    while kills < KILLS {
        let (sessions, _) = clients(&server).await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(sessions.clone(), Arc::clone(&log), w, rng.next(), Arc::clone(&acks))))
            .collect();
        tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
        server.kill9();
        kills += 1;
        for w in writers {
            w.await.unwrap();
        }
        check(dir.path());
        server = Server::start(dir.path());
        verify(&server, &log).await;
        // A feed after the restart agrees with the records too.
        let (mut s, _) = clients(&server).await;
        let any = log
            .lock()
            .unwrap()
            .iter()
            .find(|(_, e)| matches!(e.acked, State::Present { .. }))
            .map(|(k, e)| (k.clone(), e.acked.clone()));
        if let Some((id, State::Present { title, .. })) = any {
            let got = s.get_session(pb::GetSessionRequest { session_id: id.clone() }).await.unwrap().into_inner();
            assert_eq!(got.session.unwrap().title, title);
            let feed = reqwest::get(format!("http://{}/feeds/sessions/{id}.ics", server.http))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(feed.contains(&format!("UID:slot.{id}.talk@")), "{feed}");
        }
    }
    let checked = verify(&server, &log).await;
    server.kill9();
    let acked = *acks.lock().unwrap();
    eprintln!(
        "crash harness: {kills} kills, {acked} acknowledged writes, {checked} sessions checked, nothing lost, {:?}",
        started.elapsed()
    );
    assert!(acked > 100, "the writers got work done between kills: {acked}");
}

/// The steps of a write where `AGENDA_CRASH_AT` aborts the server (see `store::crash`).
const STEPS: [&str; 4] = ["after-log", "after-record", "before-flush-wait", "after-flush"];

/// The writes cut short, each the 4th write of its server (after people ana and ben and
/// session s1 naming ana).
#[derive(Debug, Clone, Copy)]
enum Cut {
    CreateSession,
    UpdateSession,
    DeleteSession,
    UpdatePerson,
    DeletePerson,
}

async fn cut_write(server: &Server, cut: Cut) -> Result<(), tonic::Status> {
    let (mut sessions, mut people) = clients(server).await;
    match cut {
        Cut::CreateSession => {
            let req = pb::CreateSessionRequest {
                session_id: "s2".into(),
                session: Some(body("second", "ben")),
                ..Default::default()
            };
            sessions.create_session(req).await.map(drop)
        }
        Cut::UpdateSession => {
            let req = pb::UpdateSessionRequest {
                session: Some(pb::Session { id: "s1".into(), ..body("moved to ben", "ben") }),
                update_mask: Some(FieldMask { paths: vec!["title".into(), "slots".into()] }),
                ..Default::default()
            };
            sessions.update_session(req).await.map(drop)
        }
        Cut::DeleteSession => {
            let req = pb::DeleteSessionRequest { session_id: "s1".into(), etag: String::new() };
            sessions.delete_session(req).await.map(drop)
        }
        Cut::UpdatePerson => {
            let req = pb::UpdatePersonRequest {
                person: Some(pb::Person { id: "ana".into(), name: "Ana Renamed".into(), ..Default::default() }),
                update_mask: Some(FieldMask { paths: vec!["name".into()] }),
            };
            people.update_person(req).await.map(drop)
        }
        Cut::DeletePerson => people
            .delete_person(pb::DeletePersonRequest { person_id: "ben".into(), etag: String::new() })
            .await
            .map(drop),
    }
}

/// What the store answers about the records the writes touch, through records and indexes.
async fn observed(server: &Server) -> Vec<String> {
    let (mut sessions, mut people) = clients(server).await;
    let mut out = Vec::new();
    for id in ["s1", "s2"] {
        match sessions.get_session(pb::GetSessionRequest { session_id: id.into() }).await {
            Ok(r) => out.push(format!("{id}: {}", r.into_inner().session.unwrap().title)),
            Err(status) => out.push(format!("{id}: {:?}", status.code())),
        }
    }
    let listed = people.list_people(pb::ListPeopleRequest { page_size: 10, ..Default::default() }).await.unwrap();
    for p in listed.into_inner().people {
        let req = pb::ListSessionsRequest { person_id: p.id.clone(), ..Default::default() };
        let named: Vec<String> =
            sessions.list_sessions(req).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect();
        out.push(format!("{} ({}) in {named:?}", p.id, p.name));
    }
    out
}

/// What the store answers once the cut write is complete.
fn complete(cut: Cut) -> Vec<&'static str> {
    match cut {
        Cut::CreateSession => vec!["s1: first", "s2: second", "ana (ana) in [\"s1\"]", "ben (ben) in [\"s2\"]"],
        Cut::UpdateSession => vec!["s1: moved to ben", "s2: NotFound", "ana (ana) in []", "ben (ben) in [\"s1\"]"],
        Cut::DeleteSession => vec!["s1: NotFound", "s2: NotFound", "ana (ana) in []", "ben (ben) in []"],
        Cut::UpdatePerson => vec!["s1: first", "s2: NotFound", "ana (Ana Renamed) in [\"s1\"]", "ben (ben) in []"],
        Cut::DeletePerson => vec!["s1: first", "s2: NotFound", "ana (ana) in [\"s1\"]"],
    }
}

/// A write killed at each of its steps, for each kind of write: the server aborts before
/// answering; `agenda check` passes on the store; once restarted, the write is complete (the
/// hook flushes before it aborts, so the log entry, the commit point, is on disk and recovery
/// finishes the write from it), the indexes agree, and writing goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_killed_at_any_of_its_steps_is_finished_at_the_next_start() {
    let cuts = [Cut::CreateSession, Cut::UpdateSession, Cut::DeleteSession, Cut::UpdatePerson, Cut::DeletePerson];
    for step in STEPS {
        for cut in cuts {
            let dir = tempfile::tempdir().unwrap();
            let plan = format!("{step}:4");
            let mut server = Server::start_with_env(dir.path(), &[("AGENDA_CRASH_AT", &plan)]);
            let (mut sessions, mut people) = clients(&server).await;
            for p in ["ana", "ben"] {
                let person = pb::Person { name: p.into(), ..Default::default() };
                let req = pb::CreatePersonRequest { person_id: p.into(), person: Some(person), ..Default::default() };
                people.create_person(req).await.unwrap();
            }
            let req = pb::CreateSessionRequest {
                session_id: "s1".into(),
                session: Some(body("first", "ana")),
                ..Default::default()
            };
            sessions.create_session(req).await.unwrap();
            assert!(cut_write(&server, cut).await.is_err(), "{step} {cut:?}: the server aborts before answering");
            assert!(!server.wait_exit(), "{step} {cut:?}: the server aborted");
            check(dir.path());

            let server = Server::start(dir.path());
            assert_eq!(observed(&server).await, complete(cut), "{step} {cut:?}");
            let (mut sessions, _) = clients(&server).await;
            let req = pb::CreateSessionRequest {
                session_id: "s3".into(),
                session: Some(body("third", "ana")),
                ..Default::default()
            };
            sessions.create_session(req).await.unwrap();
            server.kill9();
            check(dir.path());
        }
    }
}
