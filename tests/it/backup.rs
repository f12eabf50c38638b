//! Backup and restore: an export taken from a running server, under writes, is a consistent
//! snapshot, and importing it into an empty store gives the same query and feed results.

use agenda::domain::Limits;
use agenda::pb::{self, admin_service_client::AdminServiceClient};
use prost_types::FieldMask;

use crate::helpers::{TestApp, session, slot, spawn_app_at};

async fn export(app: &TestApp) -> (String, u64) {
    let mut admin = AdminServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let mut stream = admin.export_data(pb::ExportDataRequest {}).await.unwrap().into_inner();
    let (mut data, mut revision) = (Vec::new(), 0);
    while let Some(m) = stream.message().await.unwrap() {
        data.extend_from_slice(&m.chunk);
        revision = m.revision;
    }
    (String::from_utf8(data).unwrap(), revision)
}

/// Every session as clients see it, without what names the server (feed URLs) or counts its
/// writes (etags).
async fn sessions(app: &TestApp) -> Vec<pb::Session> {
    let req = pb::ListSessionsRequest { page_size: 1000, ..Default::default() };
    let mut all = app.sessions.clone().list_sessions(req).await.unwrap().into_inner().sessions;
    for s in &mut all {
        s.feed_urls = None;
        s.etag.clear();
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_while_serving_restores_to_identical_queries_and_feeds() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = spawn_app_at(source_dir.path(), true, Limits::default()).await;
    for i in 0..20 {
        let mut s = session(&format!("Session {i}"), "2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z");
        s.slots = vec![pb::Slot {
            speaker_ids: vec!["patrick-low".into()],
            ..slot("talk", "Talk", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
        }];
        source.create(&format!("s{i}"), s).await;
    }
    // Writers keep changing sessions while the export is taken.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = source.sessions.clone();
            tokio::spawn(async move {
                for n in 0..30 {
                    let req = pb::UpdateSessionRequest {
                        session: Some(pb::Session {
                            id: format!("s{}", (w * 5 + n) % 20),
                            title: format!("Edit {w}.{n}"),
                            ..Default::default()
                        }),
                        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
                        ..Default::default()
                    };
                    c.update_session(req).await.unwrap();
                }
            })
        })
        .collect();
    let (during, revision) = export(&source).await;
    for w in writers {
        w.await.unwrap();
    }
    assert!(revision > 0);
    // The snapshot is internally consistent: it imports as it is (every person a session
    // names is in it, every rule holds).
    let (people, snapshot) = agenda::transfer::parse(&during).expect("the export is a valid file");
    assert_eq!(snapshot.len(), 21);
    assert!(snapshot.iter().all(|s| s.meta.revision <= revision));
    assert!(people.len() >= 28);

    // Quiet now: export again, restore into an empty store, compare everything.
    let (file, _) = export(&source).await;
    let target_dir = tempfile::tempdir().unwrap();
    let path = target_dir.path().join("backup.json");
    std::fs::write(&path, &file).unwrap();
    let data = target_dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenda"))
        .arg("--data")
        .arg(&data)
        .arg("import")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let target = spawn_app_at(&data, false, Limits::default()).await;
    assert_eq!(sessions(&target).await, sessions(&source).await);
    let people_of = |app: &TestApp| {
        let mut c = app.people.clone();
        async move {
            let mut p = c
                .list_people(pb::ListPeopleRequest { page_size: 1000, ..Default::default() })
                .await
                .unwrap()
                .into_inner()
                .people;
            p.iter_mut().for_each(|p| {
                p.feed_urls = None;
                p.etag.clear();
            });
            p
        }
    };
    assert_eq!(people_of(&target).await, people_of(&source).await);
    for path in [
        "/feeds/sessions/fmg-msme-2022-11-17.ics",
        "/feeds/sessions/s7.ics",
        "/feeds/people/patrick-low.ics",
        "/feeds/sessions.ics?from=2022-01-01&to=2027-12-31",
    ] {
        assert_eq!(target.feed(path).await, source.feed(path).await, "{path} is the same byte for byte");
    }
    let by_person = |app: &TestApp| {
        let mut c = app.sessions.clone();
        async move {
            let req = pb::ListSessionsRequest { person_id: "patrick-low".into(), page_size: 100, ..Default::default() };
            c.list_sessions(req).await.unwrap().into_inner().sessions.into_iter().map(|s| s.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(by_person(&target).await, by_person(&source).await);
}
