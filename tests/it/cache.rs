//! The read cache (issue 15): GetSession, GetPerson and ListSessions pages answer from bytes
//! encoded once, and a cached answer is never stale. Every read that starts after a write was acknowledged shows
//! it, on any connection; reads never go back to an older etag; the cache keeps to its bounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agenda::domain::Limits;
use agenda::pb::{self, person_service_client::PersonServiceClient, session_service_client::SessionServiceClient};
use prost_types::FieldMask;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{TestApp, session, spawn_app, spawn_with};

/// A client on a connection of its own.
async fn other_connection(app: &TestApp) -> SessionServiceClient<Channel> {
    SessionServiceClient::connect(app.grpc_base.clone()).await.expect("a second connection")
}

/// An unlabelled metric's value from the server's /metrics.
pub(crate) async fn metric(app: &TestApp, name: &str) -> i64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let line = text.lines().find(|l| l.split(' ').next() == Some(name)).unwrap_or_else(|| panic!("{name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn rename(id: &str, title: &str) -> pb::UpdateSessionRequest {
    pb::UpdateSessionRequest {
        session: Some(pb::Session { id: id.into(), title: title.into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    }
}

fn get(id: &str) -> pb::GetSessionRequest {
    pb::GetSessionRequest { session_id: id.into() }
}

/// A session naming `speaker` as a participant.
fn with_speaker(title: &str, speaker: &str) -> pb::Session {
    pb::Session {
        participants: vec![pb::Participant {
            person_id: speaker.into(),
            role: pb::ParticipantRole::Speaker as i32,
            ..Default::default()
        }],
        ..session(title, "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")
    }
}

/// Sessions `s0`, `s1`, ... titled `Session 0`, ..., all at one time.
async fn create_sessions(app: &TestApp, n: usize) {
    for i in 0..n {
        app.create(&format!("s{i}"), session(&format!("Session {i}"), "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z"))
            .await;
    }
}

/// A server in `dir` whose read cache holds at most five answers, with twenty sessions.
async fn five_entries_and_twenty_sessions(dir: &std::path::Path) -> TestApp {
    let app = spawn_with(dir, false, Limits::default(), |c| {
        c.cache.read_entries = 5;
        c.cache.read_bytes = 1 << 20;
    })
    .await;
    create_sessions(&app, 20).await;
    app
}

#[tokio::test]
async fn a_second_get_session_is_answered_from_the_cache_with_the_same_message() {
    let app = spawn_app().await;
    app.person("ada", "Ada Lovelace").await;
    app.create("plenary", with_speaker("Plenary", "ada")).await;
    let mut client = app.sessions.clone();
    let first = client.get_session(get("plenary")).await.unwrap().into_inner();
    let hits = metric(&app, "agenda_read_cache_hits_total").await;
    let second = client.get_session(get("plenary")).await.unwrap().into_inner();
    assert_eq!(metric(&app, "agenda_read_cache_hits_total").await, hits + 1, "the second read is a hit");
    assert_eq!(first, second, "the cached bytes decode to the same answer");
    assert_eq!(second.people.len(), 1);
    assert!(metric(&app, "agenda_read_cache_bytes").await > 0);
    app.stop().await;
}

#[tokio::test]
async fn a_write_is_seen_by_the_next_get_session_on_another_connection() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let mut reader = other_connection(&app).await;
    let before = reader.get_session(get("plenary")).await.unwrap().into_inner().session.unwrap();
    reader.get_session(get("plenary")).await.unwrap(); // cached now
    let updated = app.sessions.clone().update_session(rename("plenary", "Plenary moved")).await.unwrap();
    let updated = updated.into_inner().session.unwrap();
    let after = reader.get_session(get("plenary")).await.unwrap().into_inner().session.unwrap();
    assert_eq!((after.title.as_str(), &after.etag), ("Plenary moved", &updated.etag));
    assert_ne!(after.etag, before.etag);
    app.stop().await;
}

#[tokio::test]
async fn renaming_a_named_person_changes_the_cached_get_session_answer() {
    let app = spawn_app().await;
    app.person("ada", "Ada Lovelace").await;
    app.create("plenary", with_speaker("Plenary", "ada")).await;
    let mut reader = other_connection(&app).await;
    reader.get_session(get("plenary")).await.unwrap();
    let rename_ada = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: "ada".into(), name: "Ada King".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["name".into()] }),
    };
    app.people.clone().update_person(rename_ada).await.unwrap();
    let people = reader.get_session(get("plenary")).await.unwrap().into_inner().people;
    assert_eq!(people.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Ada King"]);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_session_is_not_found_although_its_answer_was_cached() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let mut reader = other_connection(&app).await;
    reader.get_session(get("plenary")).await.unwrap();
    reader.get_session(get("plenary")).await.unwrap();
    let delete = pb::DeleteSessionRequest { session_id: "plenary".into(), etag: String::new() };
    app.sessions.clone().delete_session(delete).await.unwrap();
    let gone = reader.get_session(get("plenary")).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn get_person_is_cached_and_sees_an_update_made_on_another_connection() {
    let app = spawn_app().await;
    app.person("ada", "Ada Lovelace").await;
    let mut reader = PersonServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = || pb::GetPersonRequest { person_id: "ada".into() };
    reader.get_person(req()).await.unwrap();
    let hits = metric(&app, "agenda_read_cache_hits_total").await;
    reader.get_person(req()).await.unwrap();
    assert_eq!(metric(&app, "agenda_read_cache_hits_total").await, hits + 1);
    let rename = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: "ada".into(), name: "Ada King".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["name".into()] }),
    };
    app.people.clone().update_person(rename).await.unwrap();
    assert_eq!(reader.get_person(req()).await.unwrap().into_inner().person.unwrap().name, "Ada King");
    app.stop().await;
}

/// Readers on their own connections read while a writer renames the session again and again.
/// Before each read a reader notes the newest etag any read has returned so far; its answer
/// must be at least that new, and at least as new as the last acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interleaved_writes_and_reads_never_return_an_older_etag_than_one_already_returned() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let newest_read = Arc::new(AtomicU64::new(0));
    let newest_written = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut client = other_connection(&app).await;
        let (newest_read, newest_written) = (Arc::clone(&newest_read), Arc::clone(&newest_written));
        readers.push(tokio::spawn(async move {
            for _ in 0..200 {
                let (seen, written) = (newest_read.load(Ordering::SeqCst), newest_written.load(Ordering::SeqCst));
                let s = client.get_session(get("plenary")).await.unwrap().into_inner().session.unwrap();
                let etag: u64 = s.etag.parse().unwrap();
                assert!(etag >= seen, "read etag {etag} after another read had returned {seen}");
                assert!(etag >= written, "read etag {etag} after the write of {written} was acknowledged");
                newest_read.fetch_max(etag, Ordering::SeqCst);
            }
        }));
    }
    let mut writer = other_connection(&app).await;
    for i in 0..50 {
        let s = writer.update_session(rename("plenary", &format!("Plenary {i}"))).await.unwrap();
        let etag: u64 = s.into_inner().session.unwrap().etag.parse().unwrap();
        newest_written.fetch_max(etag, Ordering::SeqCst);
    }
    for r in readers {
        r.await.expect("a reader saw an older etag");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_read_cache_keeps_to_its_entry_and_byte_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let app = five_entries_and_twenty_sessions(dir.path()).await;
    let mut client = app.sessions.clone();
    let mut largest = 0;
    for i in 0..20 {
        client.get_session(get(&format!("s{i}"))).await.unwrap();
        largest = largest.max(metric(&app, "agenda_read_cache_entries").await);
    }
    assert_eq!(largest, 5, "entries fill up to the bound and no further");
    app.stop().await;

    // A byte bound of about two answers: never more bytes than that, whatever is read.
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |c| c.cache.read_bytes = 1000).await;
    create_sessions(&app, 20).await;
    let mut client = app.sessions.clone();
    let (mut most_bytes, mut most_entries) = (0, 0);
    for i in 0..20 {
        client.get_session(get(&format!("s{i}"))).await.unwrap();
        most_bytes = most_bytes.max(metric(&app, "agenda_read_cache_bytes").await);
        most_entries = most_entries.max(metric(&app, "agenda_read_cache_entries").await);
    }
    assert!(most_bytes > 0 && most_bytes <= 1000, "{most_bytes} bytes");
    assert!(most_entries >= 2, "the bound holds more than one answer: {most_entries}");
    app.stop().await;
}

fn list(page_size: i32) -> pb::ListSessionsRequest {
    pb::ListSessionsRequest { page_size, ..Default::default() }
}

/// The titles of one ListSessions page, in its order.
async fn titles(client: &mut SessionServiceClient<Channel>, page_size: i32) -> Vec<String> {
    let page = client.list_sessions(list(page_size)).await.unwrap().into_inner();
    page.sessions.into_iter().map(|s| s.title).collect()
}

#[tokio::test]
async fn a_second_list_sessions_page_is_answered_from_the_cache_with_the_same_message() {
    let app = spawn_app().await;
    create_sessions(&app, 3).await;
    let mut client = app.sessions.clone();
    let first = client.list_sessions(list(2)).await.unwrap().into_inner();
    let hits = metric(&app, "agenda_read_cache_hits_total").await;
    let second = client.list_sessions(list(2)).await.unwrap().into_inner();
    assert_eq!(metric(&app, "agenda_read_cache_hits_total").await, hits + 1, "the second read is a hit");
    assert_eq!(first, second, "the cached bytes decode to the same page");
    assert_eq!(second.sessions.len(), 2);
    let next = pb::ListSessionsRequest { page_size: 2, page_token: second.next_page_token, ..Default::default() };
    let rest = client.list_sessions(next).await.unwrap().into_inner();
    assert_eq!(rest.sessions.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(), ["Session 2"], "another key");
    app.stop().await;
}

#[tokio::test]
async fn a_write_is_seen_by_the_next_list_sessions_on_another_connection() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let mut reader = other_connection(&app).await;
    assert_eq!(titles(&mut reader, 10).await, ["Plenary"]);
    assert_eq!(titles(&mut reader, 10).await, ["Plenary"]); // cached now
    app.sessions.clone().update_session(rename("plenary", "Plenary moved")).await.unwrap();
    assert_eq!(titles(&mut reader, 10).await, ["Plenary moved"]);
    app.create("keynote", session("Keynote", "2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z")).await;
    assert_eq!(titles(&mut reader, 10).await, ["Plenary moved", "Keynote"]);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_session_disappears_from_a_cached_page() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    app.create("keynote", session("Keynote", "2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z")).await;
    let mut reader = other_connection(&app).await;
    titles(&mut reader, 10).await;
    assert_eq!(titles(&mut reader, 10).await, ["Plenary", "Keynote"]);
    let delete = pb::DeleteSessionRequest { session_id: "plenary".into(), etag: String::new() };
    app.sessions.clone().delete_session(delete).await.unwrap();
    assert_eq!(titles(&mut reader, 10).await, ["Keynote"]);
    app.stop().await;
}

/// As for GetSession, with pages: a writer renames one session and adds others; readers on
/// their own connections list the first page. A page never shows an older etag of the renamed
/// session, nor fewer sessions, than a page some read already returned or than the last
/// acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interleaved_writes_and_list_reads_never_return_an_older_page_than_one_already_returned() {
    let app = spawn_app().await;
    app.create("plenary", session("Plenary", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    // (etag of the renamed session, sessions on the page), as read and as written.
    let newest_read = Arc::new(std::sync::Mutex::new((0u64, 0usize)));
    let newest_written = Arc::new(std::sync::Mutex::new((0u64, 1usize)));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut client = other_connection(&app).await;
        let (newest_read, newest_written) = (Arc::clone(&newest_read), Arc::clone(&newest_written));
        readers.push(tokio::spawn(async move {
            for _ in 0..150 {
                let seen = *newest_read.lock().unwrap();
                let written = *newest_written.lock().unwrap();
                let page = client.list_sessions(list(100)).await.unwrap().into_inner().sessions;
                let plenary = page.iter().find(|s| s.id == "plenary").expect("listed");
                let now = (plenary.etag.parse::<u64>().unwrap(), page.len());
                assert!(now.0 >= seen.0 && now.1 >= seen.1, "read {now:?} after another read had returned {seen:?}");
                assert!(now.0 >= written.0 && now.1 >= written.1, "read {now:?} after the write of {written:?}");
                let mut newest = newest_read.lock().unwrap();
                *newest = (newest.0.max(now.0), newest.1.max(now.1));
            }
        }));
    }
    let mut writer = other_connection(&app).await;
    for i in 0..40 {
        let s = writer.update_session(rename("plenary", &format!("Plenary {i}"))).await.unwrap();
        let etag: u64 = s.into_inner().session.unwrap().etag.parse().unwrap();
        newest_written.lock().unwrap().0 = etag;
        let extra = session(&format!("Extra {i}"), "2026-06-02T09:00:00Z", "2026-06-02T10:00:00Z");
        let create =
            pb::CreateSessionRequest { session_id: format!("extra{i}"), session: Some(extra), ..Default::default() };
        writer.create_session(create).await.unwrap();
        newest_written.lock().unwrap().1 = i + 2;
    }
    for r in readers {
        r.await.expect("a reader saw an older page");
    }
    app.stop().await;
}

#[tokio::test]
async fn cached_pages_keep_to_the_read_cache_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let app = five_entries_and_twenty_sessions(dir.path()).await;
    let mut client = app.sessions.clone();
    let mut largest = 0;
    for size in 1..=20 {
        client.list_sessions(list(size)).await.unwrap();
        largest = largest.max(metric(&app, "agenda_read_cache_entries").await);
    }
    assert_eq!(largest, 5, "pages fill the cache up to the bound and no further");
    app.stop().await;
}
