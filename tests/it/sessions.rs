//! Sessions: the demo comes back complete; queries, pagination, updates, slots, participants.

use agenda::pb;
use prost_types::FieldMask;
use serde_json::Value;
use tonic::Code;

use crate::helpers::{TestApp, failure, reason, session, slot, spawn_app, spawn_demo_app, ts};

const DEMO_ID: &str = "fmg-msme-2022-11-17";

fn demo_file() -> Value {
    serde_json::from_str(agenda::DEMO_DATA).unwrap()
}

fn rfc3339(t: &Option<prost_types::Timestamp>) -> jiff::Timestamp {
    let t = t.as_ref().unwrap();
    jiff::Timestamp::new(t.seconds, t.nanos).unwrap()
}

fn file_time(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_demo_session_comes_back_complete() {
    let app = spawn_demo_app().await;
    let reply = app.sessions.clone().get_session(pb::GetSessionRequest { session_id: DEMO_ID.into() }).await.unwrap();
    let reply = reply.into_inner();
    let s = reply.session.unwrap();
    let file = demo_file();
    let want = &file["sessions"][0];

    // What the seed page says, checked against the served session.
    assert_eq!(s.title, "Integration of MSMEs within the MTS");
    assert_eq!(s.time_zone, "Europe/Zurich");
    assert_eq!(rfc3339(&s.start_time).to_string(), "2022-11-17T14:00:00Z", "15:00 in Geneva (CET)");
    assert_eq!(rfc3339(&s.end_time).to_string(), "2022-11-17T15:30:00Z");
    assert_eq!(s.recording_url, "https://youtu.be/ulm5tcGudjY");
    assert_eq!(s.organizer.as_ref().unwrap().short_name, "FMG");
    assert_eq!(s.status, pb::SessionStatus::Completed as i32);
    assert_eq!(s.format, pb::SessionFormat::Online as i32);

    // Every slot of the file, in order, with its people and slides.
    let slots = want["slots"].as_array().unwrap();
    assert_eq!(s.slots.len(), slots.len());
    for (got, want) in s.slots.iter().zip(slots) {
        assert_eq!(got.id, want["id"].as_str().unwrap());
        assert_eq!(got.title, want["title"].as_str().unwrap());
        assert_eq!(rfc3339(&got.start_time), file_time(&want["start"]));
        assert_eq!(rfc3339(&got.end_time), file_time(&want["end"]));
        let ids = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(got.speaker_ids, ids(&want["speakers"]));
        assert_eq!(got.moderator_ids, ids(&want["moderators"]));
        assert_eq!(got.materials.len(), want["materials"].as_array().unwrap().len());
    }
    let cancela = s.slots.iter().find(|sl| sl.speaker_ids == ["jose-luis-cancela"]).unwrap();
    assert_eq!(rfc3339(&cancela.start_time).to_string(), "2022-11-17T14:05:00Z");
    assert_eq!(cancela.moderator_ids, ["patrick-low"]);
    assert_eq!(cancela.materials[0].title, "Trade4MSMEs – Amb Cancelas presentation");

    // All 25 confirmed participants of the page (plus the three guest speakers), in their
    // five groups, in page order.
    let participants = want["participants"].as_array().unwrap();
    assert_eq!(s.participants.len(), participants.len());
    for (got, want) in s.participants.iter().zip(participants) {
        assert_eq!(got.person_id, want["person"].as_str().unwrap());
        assert_eq!(got.group, want["group"].as_str().unwrap());
    }
    let mut groups: Vec<&str> = s.participants.iter().map(|p| p.group.as_str()).collect();
    groups.dedup();
    assert_eq!(groups, ["FMG", "WTO Missions", "WTO Secretariat", "International Organizations", "Think Tanks"]);

    // The people named by the session come with it, names intact.
    assert_eq!(reply.people.len(), file["people"].as_array().unwrap().len());
    let olberg = reply.people.iter().find(|p| p.id == "petter-olberg").unwrap();
    assert_eq!(
        (olberg.name.as_str(), olberg.affiliation.as_str(), olberg.position.as_str()),
        ("Petter Ølberg", "Norway", "Ambassador")
    );
}

/// Five sessions with distinct organizers, tags, people, statuses and times.
async fn catalogue(app: &TestApp) {
    app.person("ana", "Ana Ölberg").await;
    app.person("ben", "Ben Okafor").await;
    let mut a = session("Trade and MSMEs", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
    a.tags = vec!["MSME".into(), "trade".into()];
    a.slots = vec![pb::Slot {
        speaker_ids: vec!["ana".into()],
        ..slot("talk", "Talk", "2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z")
    }];
    app.create("a-trade", a).await;

    let mut b = session("Digital trade", "2026-03-02T09:30:00Z", "2026-03-04T17:00:00Z");
    b.organizer =
        Some(pb::Organizer { name: "Geneva Trade Platform".into(), short_name: "GTP".into(), email: String::new() });
    b.tags = vec!["digital".into()];
    b.description = "A two-day workshop on e-commerce".into();
    b.participants = vec![pb::Participant { person_id: "ben".into(), ..Default::default() }];
    app.create("b-digital", b).await;

    let mut c = session("Fisheries subsidies", "2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z");
    c.status = pb::SessionStatus::Cancelled as i32;
    c.tags = vec!["fish".into()];
    c.slots = vec![pb::Slot {
        moderator_ids: vec!["ben".into()],
        ..slot("chair", "Chair", "2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z")
    }];
    app.create("c-fish", c).await;

    let mut d = session("History of the GATT", "2019-01-15T10:00:00Z", "2019-01-15T11:00:00Z");
    d.status = pb::SessionStatus::Completed as i32;
    app.create("d-past", d).await;

    let mut e = session("MSME financing", "2026-03-04T16:00:00Z", "2026-03-04T18:00:00Z");
    e.tags = vec!["msme".into()];
    app.create("e-finance", e).await;
}

fn list() -> pb::ListSessionsRequest {
    pb::ListSessionsRequest::default()
}

#[tokio::test]
async fn with_no_filter_every_session_is_listed_in_start_order_past_ones_included() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let (ids, _) = app.list_all(list()).await;
    assert_eq!(ids, ["d-past", "a-trade", "b-digital", "e-finance", "c-fish"]);
}

#[tokio::test]
async fn a_time_window_finds_sessions_that_overlap_it() {
    let app = spawn_app().await;
    catalogue(&app).await;
    // b-digital started two days before the window and still runs in it; a-trade ends
    // exactly when the window opens (excluded); c-fish starts exactly when it closes (excluded).
    let req = pb::ListSessionsRequest {
        from_time: Some(ts("2026-03-02T10:00:00Z")),
        to_time: Some(ts("2026-03-09T13:00:00Z")),
        ..list()
    };
    assert_eq!(app.list_all(req).await.0, ["b-digital", "e-finance"]);
    let open_ended = pb::ListSessionsRequest { from_time: Some(ts("2026-03-04T17:30:00Z")), ..list() };
    assert_eq!(app.list_all(open_ended).await.0, ["e-finance", "c-fish"]);
    let until = pb::ListSessionsRequest { to_time: Some(ts("2026-03-02T09:30:00Z")), ..list() };
    assert_eq!(app.list_all(until).await.0, ["d-past", "a-trade"]);
}

#[tokio::test]
async fn organizer_tag_person_status_and_text_filters_each_narrow_the_list() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let cases: Vec<(pb::ListSessionsRequest, Vec<&str>)> = vec![
        (pb::ListSessionsRequest { organizer: "gtp".into(), ..list() }, vec!["b-digital"]),
        (pb::ListSessionsRequest { organizer: "Geneva Trade Platform".into(), ..list() }, vec!["b-digital"]),
        (
            pb::ListSessionsRequest { organizer: "FMG".into(), ..list() },
            vec!["d-past", "a-trade", "e-finance", "c-fish"],
        ),
        (pb::ListSessionsRequest { tag: "msme".into(), ..list() }, vec!["a-trade", "e-finance"]),
        (pb::ListSessionsRequest { tag: "Fish".into(), ..list() }, vec!["c-fish"]),
        // Any role: speaker in a slot (ana), participant and moderator (ben).
        (pb::ListSessionsRequest { person_id: "ana".into(), ..list() }, vec!["a-trade"]),
        (pb::ListSessionsRequest { person_id: "ben".into(), ..list() }, vec!["b-digital", "c-fish"]),
        (pb::ListSessionsRequest { status: pb::SessionStatus::Cancelled as i32, ..list() }, vec!["c-fish"]),
        (
            pb::ListSessionsRequest { status: pb::SessionStatus::Scheduled as i32, ..list() },
            vec!["a-trade", "b-digital", "e-finance"],
        ),
        // Free text: title, description, and the names of the people named.
        (pb::ListSessionsRequest { query: "msme".into(), ..list() }, vec!["a-trade", "e-finance"]),
        (pb::ListSessionsRequest { query: "E-COMMERCE".into(), ..list() }, vec!["b-digital"]),
        (pb::ListSessionsRequest { query: "ölberg".into(), ..list() }, vec!["a-trade"]),
        (pb::ListSessionsRequest { query: "okafor".into(), ..list() }, vec!["b-digital", "c-fish"]),
        // Filters combine.
        (
            pb::ListSessionsRequest { tag: "msme".into(), from_time: Some(ts("2026-03-03T00:00:00Z")), ..list() },
            vec!["e-finance"],
        ),
        (
            pb::ListSessionsRequest { person_id: "ben".into(), status: pb::SessionStatus::Cancelled as i32, ..list() },
            vec!["c-fish"],
        ),
        (pb::ListSessionsRequest { tag: "nothing-like-this".into(), ..list() }, vec![]),
    ];
    for (req, want) in cases {
        assert_eq!(app.list_all(req.clone()).await.0, want, "{req:?}");
    }
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let (all, _) = app.list_all(list()).await;
    let (paged, pages) = app.list_all(pb::ListSessionsRequest { page_size: 2, ..list() }).await;
    assert_eq!(paged, all);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn pagination_stays_correct_while_sessions_are_inserted() {
    let app = spawn_app().await;
    for day in 10..20 {
        let id = format!("day-{day}");
        app.create(&id, session(&id, &format!("2026-04-{day}T09:00:00Z"), &format!("2026-04-{day}T10:00:00Z"))).await;
    }
    let mut req = pb::ListSessionsRequest { page_size: 3, ..list() };
    let first = app.sessions.clone().list_sessions(req.clone()).await.unwrap().into_inner();
    let mut seen: Vec<String> = first.sessions.into_iter().map(|s| s.id).collect();
    assert_eq!(seen, ["day-10", "day-11", "day-12"]);
    req.page_token = first.next_page_token;

    // Meanwhile, other clients insert before and after the cursor, concurrently.
    let mut writers = Vec::new();
    for (id, day) in [("early", "01"), ("between", "15"), ("late", "25")] {
        let app_sessions = app.sessions.clone();
        let s = session(id, &format!("2026-04-{day}T12:00:00Z"), &format!("2026-04-{day}T13:00:00Z"));
        writers.push(tokio::spawn(async move {
            let mut c = app_sessions;
            c.create_session(pb::CreateSessionRequest {
                session_id: id.into(),
                session: Some(s),
                ..Default::default()
            })
            .await
            .unwrap();
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    loop {
        let page = app.sessions.clone().list_sessions(req.clone()).await.unwrap().into_inner();
        seen.extend(page.sessions.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    // Nothing listed twice, nothing that existed skipped; inserts behind the cursor are not
    // listed, inserts ahead of it are.
    let mut want: Vec<String> = (10..20).map(|d| format!("day-{d}")).collect();
    want.insert(6, "between".into());
    want.push("late".into());
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_page_token_only_works_for_the_query_it_came_from() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let first = app.sessions.clone().list_sessions(pb::ListSessionsRequest { page_size: 1, ..list() }).await.unwrap();
    let token = first.into_inner().next_page_token;
    let other = pb::ListSessionsRequest { page_size: 1, tag: "msme".into(), page_token: token, ..list() };
    assert_eq!(
        failure(app.sessions.clone().list_sessions(other).await),
        (Code::InvalidArgument, vec!["page_token".into()])
    );
    let forged = pb::ListSessionsRequest { page_token: "AAAAAAAA".into(), ..list() };
    assert_eq!(failure(app.sessions.clone().list_sessions(forged).await).0, Code::InvalidArgument);
}

#[tokio::test]
async fn an_update_changes_only_the_masked_fields_and_bumps_sequence_on_time_changes() {
    let app = spawn_app().await;
    let mut s = session("Before", "2026-05-01T09:00:00Z", "2026-05-01T11:00:00Z");
    s.slots = vec![slot("one", "One", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z")];
    let created = app.create("upd", s).await;
    assert_eq!(created.sequence, 0);

    // Title only: slots untouched though the request sends none; sequence unchanged.
    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "upd".into(), title: "After".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let renamed = app.sessions.clone().update_session(req).await.unwrap().into_inner().session.unwrap();
    assert_eq!(renamed.title, "After");
    assert_eq!(renamed.slots, created.slots);
    assert_eq!(renamed.sequence, 0);
    assert_ne!(renamed.etag, created.etag);

    // No mask: the fields the request sets (here end_time) are changed.
    let req = pb::UpdateSessionRequest {
        session: Some(pb::Session {
            id: "upd".into(),
            end_time: Some(ts("2026-05-01T12:00:00Z")),
            ..Default::default()
        }),
        update_mask: None,
    };
    let longer = app.sessions.clone().update_session(req).await.unwrap().into_inner().session.unwrap();
    assert_eq!(longer.end_time, Some(ts("2026-05-01T12:00:00Z")));
    assert_eq!(longer.title, "After");
    assert_eq!(longer.sequence, 1);
    assert_eq!(app.session("upd").await, longer);
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create("etag", session("First", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z")).await;
    let update = |title: &str, etag: &str| pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "etag".into(), title: title.into(), etag: etag.into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let second = app.sessions.clone().update_session(update("Second", &created.etag)).await.unwrap().into_inner();
    let r = app.sessions.clone().update_session(update("Third", &created.etag)).await;
    assert_eq!(reason(app.sessions.clone().update_session(update("Third", &created.etag)).await), "STALE_ETAG");
    assert_eq!(failure(r).0, Code::Aborted);
    assert_eq!(app.session("etag").await, second.session.unwrap());
    let del = app
        .sessions
        .clone()
        .delete_session(pb::DeleteSessionRequest { session_id: "etag".into(), etag: created.etag })
        .await;
    assert_eq!(failure(del).0, Code::Aborted);
    assert_eq!(app.session("etag").await.title, "Second");
}

#[tokio::test]
async fn slots_are_kept_in_time_order_and_a_moved_slot_keeps_its_id_with_a_higher_sequence() {
    let app = spawn_app().await;
    app.create("agenda", session("Agenda", "2026-06-01T09:00:00Z", "2026-06-01T12:00:00Z")).await;
    let add = |s: pb::Slot| pb::AddSlotRequest {
        session_id: "agenda".into(),
        slot: Some(s),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions
        .clone()
        .add_slot(add(slot("late", "Late", "2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z")))
        .await
        .unwrap();
    let reply = app
        .sessions
        .clone()
        .add_slot(add(slot("", "Early", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")))
        .await
        .unwrap();
    let reply = reply.into_inner();
    let generated = reply.slot.unwrap().id;
    assert_eq!(generated.len(), 16, "a slot without id gets a generated one");
    let titles: Vec<String> = reply.session.unwrap().slots.into_iter().map(|s| s.title).collect();
    assert_eq!(titles, ["Early", "Late"]);

    // Overlap refused...
    let clash = app
        .sessions
        .clone()
        .add_slot(add(slot("clash", "Clash", "2026-06-01T09:30:00Z", "2026-06-01T10:30:00Z")))
        .await;
    assert_eq!(failure(clash), (Code::InvalidArgument, vec!["slot.start_time".into()]));
    // ...unless it is a parallel track.
    let parallel =
        pb::Slot { allow_overlap: true, ..slot("track-b", "Track B", "2026-06-01T09:30:00Z", "2026-06-01T10:30:00Z") };
    app.sessions.clone().add_slot(add(parallel)).await.unwrap();

    // Move "late" before everything: same id, sequence 1, first in order.
    let moved = pb::UpdateSlotRequest {
        session_id: "agenda".into(),
        slot: Some(pb::Slot {
            id: "late".into(),
            start_time: Some(ts("2026-06-01T10:30:00Z")),
            end_time: Some(ts("2026-06-01T11:00:00Z")),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
    };
    let s = app.sessions.clone().update_slot(moved).await.unwrap().into_inner().session.unwrap();
    let order: Vec<(&str, u32)> = s.slots.iter().map(|s| (s.id.as_str(), s.sequence)).collect();
    assert_eq!(order, [(generated.as_str(), 0), ("track-b", 0), ("late", 1)]);
    assert_eq!(s.slots[2].title, "Late", "fields outside the mask are kept");

    let removed = app
        .sessions
        .clone()
        .remove_slot(pb::RemoveSlotRequest {
            session_id: "agenda".into(),
            slot_id: "track-b".into(),
            etag: String::new(),
        })
        .await;
    assert_eq!(removed.unwrap().into_inner().session.unwrap().slots.len(), 2);
    let again = app
        .sessions
        .clone()
        .remove_slot(pb::RemoveSlotRequest {
            session_id: "agenda".into(),
            slot_id: "track-b".into(),
            etag: String::new(),
        })
        .await;
    assert_eq!(reason(again), "SLOT_NOT_FOUND");
}

#[tokio::test]
async fn participants_are_added_updated_reordered_and_removed_within_their_group() {
    let app = spawn_app().await;
    for (id, name) in [("p1", "One"), ("p2", "Two"), ("p3", "Three"), ("x", "Other")] {
        app.person(id, name).await;
    }
    app.create("people", session("People", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let add = |person: &str, group: &str, position: Option<u32>| pb::AddParticipantRequest {
        session_id: "people".into(),
        participant: Some(pb::Participant {
            person_id: person.into(),
            group: group.into(),
            role: pb::ParticipantRole::Participant as i32,
            ..Default::default()
        }),
        position,
        etag: String::new(),
        ..Default::default()
    };
    let mut c = app.sessions.clone();
    c.add_participant(add("p1", "FMG", None)).await.unwrap();
    c.add_participant(add("x", "Think Tanks", None)).await.unwrap();
    c.add_participant(add("p2", "FMG", None)).await.unwrap();
    let s = c.add_participant(add("p3", "FMG", Some(0))).await.unwrap().into_inner().session.unwrap();
    let ids: Vec<&str> = s.participants.iter().map(|p| p.person_id.as_str()).collect();
    assert_eq!(ids, ["p3", "p1", "p2", "x"]);
    assert_eq!(s.participants[0].status, pb::ParticipationStatus::NeedsAction as i32);
    assert_eq!(reason(c.add_participant(add("p1", "FMG", None)).await), "PARTICIPANT_ALREADY_EXISTS");

    let accept = pb::UpdateParticipantRequest {
        session_id: "people".into(),
        participant: Some(pb::Participant {
            person_id: "p1".into(),
            status: pb::ParticipationStatus::Accepted as i32,
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["status".into()] }),
        etag: String::new(),
    };
    let s = c.update_participant(accept).await.unwrap().into_inner().session.unwrap();
    let p1 = s.participants.iter().find(|p| p.person_id == "p1").unwrap();
    assert_eq!((p1.status, p1.group.as_str()), (pb::ParticipationStatus::Accepted as i32, "FMG"));

    let reorder = pb::ReorderParticipantsRequest {
        session_id: "people".into(),
        group: "FMG".into(),
        person_ids: vec!["p1".into(), "p2".into(), "p3".into()],
        etag: String::new(),
    };
    let s = c.reorder_participants(reorder.clone()).await.unwrap().into_inner().session.unwrap();
    let ids: Vec<&str> = s.participants.iter().map(|p| p.person_id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3", "x"]);
    let partial = pb::ReorderParticipantsRequest { person_ids: vec!["p1".into()], ..reorder };
    assert_eq!(failure(c.reorder_participants(partial).await), (Code::InvalidArgument, vec!["person_ids".into()]));

    let remove =
        pb::RemoveParticipantRequest { session_id: "people".into(), person_id: "p2".into(), etag: String::new() };
    let s = c.remove_participant(remove.clone()).await.unwrap().into_inner().session.unwrap();
    assert_eq!(s.participants.len(), 3);
    assert_eq!(failure(c.remove_participant(remove).await).0, Code::NotFound);
}

#[tokio::test]
async fn a_deleted_session_is_gone() {
    let app = spawn_app().await;
    let s = app.create("gone", session("Gone", "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")).await;
    let mut c = app.sessions.clone();
    c.delete_session(pb::DeleteSessionRequest { session_id: "gone".into(), etag: s.etag }).await.unwrap();
    assert_eq!(reason(c.get_session(pb::GetSessionRequest { session_id: "gone".into() }).await), "SESSION_NOT_FOUND");
    assert_eq!(
        failure(c.delete_session(pb::DeleteSessionRequest { session_id: "gone".into(), etag: String::new() }).await).0,
        Code::NotFound
    );
    assert!(app.list_all(list()).await.0.is_empty());
}

#[tokio::test]
async fn feed_urls_name_the_address_as_served_http_included() {
    let app = spawn_app().await;
    assert!(app.http_base.starts_with("http://"), "the test server's public URL is plain http");
    let s = app.create("plain", session("Plain", "2026-07-01T09:00:00Z", "2026-07-01T10:00:00Z")).await;
    let urls = s.feed_urls.unwrap();
    let path = "/feeds/sessions/plain.ics";
    assert_eq!(urls.url, format!("{}{path}", app.http_base));
    assert_eq!(urls.webcal, format!("webcal://{}{path}", app.http_base.trim_start_matches("http://")));
    assert_eq!(app.get(path).await.status(), 200, "the address is the one the feed is served at");
}

/// Many clients adding slots to one session at once, without etags: each add is a
/// read-change-write of the whole session, and every one of them lands (none is refused as
/// contention, none is lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_of_one_session_without_etags_all_land() {
    let app = spawn_app().await;
    app.create("busy", session("Busy day", "2026-05-04T08:00:00Z", "2026-05-04T20:00:00Z")).await;
    let adds = (0..64).map(|i| {
        let mut sessions = app.sessions.clone();
        async move {
            // Ten-minute slots, one after another, so none overlaps another.
            let start = format!("2026-05-04T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10);
            let end = format!("2026-05-04T{:02}:{:02}:00Z", 8 + (i + 1) / 6, ((i + 1) % 6) * 10);
            let slot = slot(&format!("s{i}"), &format!("Talk {i}"), &start, &end);
            let req = pb::AddSlotRequest {
                session_id: "busy".into(),
                slot: Some(slot),
                etag: String::new(),
                ..Default::default()
            };
            sessions.add_slot(req).await.map(|_| ())
        }
    });
    let results = futures_join_all(adds).await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).map(|s| s.code()).collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    assert_eq!(app.session("busy").await.slots.len(), 64);
    // And none of them had to read the session again: in one process, edits of one record
    // queue for it instead of racing (the stripes in src/app/stripes.rs).
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let retries = metrics.lines().find(|l| l.starts_with("agenda_write_retries_total ")).expect("the retries counter");
    assert_eq!(retries, "agenda_write_retries_total 0", "{metrics}");
    app.stop().await;
}

/// Runs every future at once on the test's runtime and collects their results in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

fn listed(page: pb::ListSessionsResponse, id: &str) -> pb::Session {
    page.sessions.into_iter().find(|s| s.id == id).expect("the session is listed")
}

#[tokio::test]
async fn list_sessions_leaves_out_slots_and_participants_unless_the_full_view_is_asked_for() {
    let app = spawn_demo_app().await;
    let full = app.session(DEMO_ID).await;
    assert!(!full.slots.is_empty() && !full.participants.is_empty());
    let mut client = app.sessions.clone();
    for view in [pb::SessionView::Unspecified, pb::SessionView::Basic] {
        let basic = listed(
            client.list_sessions(pb::ListSessionsRequest { view: view as i32, ..list() }).await.unwrap().into_inner(),
            DEMO_ID,
        );
        assert!(basic.slots.is_empty() && basic.participants.is_empty(), "{view:?}");
        let without_agenda = pb::Session { slots: Vec::new(), participants: Vec::new(), ..full.clone() };
        assert_eq!(basic, without_agenda, "{view:?}: every other field as GetSession answers it");
    }
    let req = pb::ListSessionsRequest { view: pb::SessionView::Full as i32, ..list() };
    assert_eq!(listed(client.list_sessions(req).await.unwrap().into_inner(), DEMO_ID), full);
    let unknown = client.list_sessions(pb::ListSessionsRequest { view: 7, ..list() }).await;
    assert_eq!(failure(unknown), (Code::InvalidArgument, vec!["view".to_owned()]));
}

#[tokio::test]
async fn a_full_page_holds_at_most_100_sessions_and_a_basic_page_more() {
    let app = spawn_app().await;
    let creates = (0..101).map(|i| {
        let app_sessions = app.sessions.clone();
        async move {
            let s = session(&format!("Session {i}"), "2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
            let req =
                pb::CreateSessionRequest { session_id: format!("s{i:03}"), session: Some(s), ..Default::default() };
            app_sessions.clone().create_session(req).await.map(drop)
        }
    });
    for r in futures_join_all(creates).await {
        r.unwrap();
    }
    let mut client = app.sessions.clone();
    let ask = |view: pb::SessionView| pb::ListSessionsRequest { page_size: 500, view: view as i32, ..list() };
    let full = client.list_sessions(ask(pb::SessionView::Full)).await.unwrap().into_inner();
    assert_eq!(full.sessions.len(), 100);
    assert!(!full.next_page_token.is_empty(), "the rest is on the next page");
    let basic = client.list_sessions(ask(pb::SessionView::Basic)).await.unwrap().into_inner();
    assert_eq!((basic.sessions.len(), basic.next_page_token.as_str()), (101, ""));
    let default = client.list_sessions(list()).await.unwrap().into_inner();
    assert_eq!(default.sessions.len(), 50, "the default page size");
}
