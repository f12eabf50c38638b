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
