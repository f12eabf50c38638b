//! Double bookings and free/busy: a person committed twice at once (a speaker's or
//! moderator's slots, a participant's accepted sessions) is reported by the write that does it
//! and by ListConflicts; QueryFreeBusy and `/feeds/people/{id}/freebusy.ics` give their busy
//! time. Real server, real gRPC client, the VFREEBUSY read by ical.js and Python icalendar.

use agenda::config::AuthConfig;
use agenda::domain::Limits;
use agenda::error::Reason;
use agenda::pb::{self, schedule_service_client::ScheduleServiceClient};
use serde_json::json;
use tonic::Request;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::helpers::{TestApp, session, slot, spawn_with, ts};

/// Patrick Low (a demo person) speaks in a slot of a session of his own.
fn speaking(who: &str, slot_id: &str, start: &str, end: &str) -> pb::Session {
    let mut s = session(&format!("Session {slot_id}"), start, end);
    s.slots = vec![pb::Slot { speaker_ids: vec![who.into()], ..slot(slot_id, "Talk", start, end) }];
    s
}

async fn demo() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |_| {}).await;
    (app, dir)
}

async fn schedule(app: &TestApp) -> ScheduleServiceClient<Channel> {
    ScheduleServiceClient::connect(app.grpc_base.clone()).await.unwrap()
}

async fn create(
    app: &TestApp,
    id: &str,
    s: pb::Session,
    refuse: bool,
) -> Result<pb::CreateSessionResponse, tonic::Status> {
    let req = pb::CreateSessionRequest {
        session_id: id.into(),
        session: Some(s),
        refuse_conflicts: refuse,
        ..Default::default()
    };
    app.sessions.clone().create_session(req).await.map(tonic::Response::into_inner)
}

async fn conflicts_of(app: &TestApp, person: &str) -> Vec<pb::Conflict> {
    let req = pb::ListConflictsRequest { person_id: person.into(), ..Default::default() };
    schedule(app).await.list_conflicts(req).await.unwrap().into_inner().conflicts
}

/// (person, first session, first slot, second session, second slot) of each conflict.
fn sides(conflicts: &[pb::Conflict]) -> Vec<(String, String, String, String, String)> {
    conflicts
        .iter()
        .map(|c| {
            let (a, b) = (c.first.as_ref().unwrap(), c.second.as_ref().unwrap());
            (c.person_id.clone(), a.session_id.clone(), a.slot_id.clone(), b.session_id.clone(), b.slot_id.clone())
        })
        .collect()
}

fn side(person: &str, a: (&str, &str), b: (&str, &str)) -> (String, String, String, String, String) {
    (person.into(), a.0.into(), a.1.into(), b.0.into(), b.1.into())
}

/// The UTC instant of a wall-clock time in `zone` (the earlier one when the time repeats).
fn local(zone: &str, wall: &str) -> String {
    let civil: jiff::civil::DateTime = wall.parse().unwrap();
    jiff::tz::TimeZone::get(zone).unwrap().to_timestamp(civil).unwrap().to_string()
}

#[tokio::test]
async fn a_speaker_booked_twice_is_told_by_the_write_and_listed_with_both_sides() {
    let (app, _dir) = demo().await;
    let first =
        create(&app, "geneva", speaking("patrick-low", "a", "2030-03-12T14:00:00Z", "2030-03-12T15:00:00Z"), false)
            .await
            .unwrap();
    assert!(first.conflicts.is_empty(), "nothing to conflict with yet: {:?}", first.conflicts);

    let second =
        create(&app, "newyork", speaking("patrick-low", "b", "2030-03-12T14:30:00Z", "2030-03-12T15:30:00Z"), false)
            .await
            .unwrap();
    assert_eq!(sides(&second.conflicts), [side("patrick-low", ("geneva", "a"), ("newyork", "b"))]);
    let c = &second.conflicts[0];
    assert_eq!(
        (c.overlap_start_time, c.overlap_end_time),
        (Some(ts("2030-03-12T14:30:00Z")), Some(ts("2030-03-12T15:00:00Z")))
    );
    assert_eq!(c.first.as_ref().unwrap().session_title, "Session a");
    assert_eq!(c.first.as_ref().unwrap().roles, [pb::ParticipantRole::Speaker as i32]);

    // Written anyway (an organizer may book on purpose), and listed from either session.
    assert_eq!(sides(&conflicts_of(&app, "patrick-low").await), sides(&second.conflicts));
    for id in ["geneva", "newyork"] {
        let req = pb::ListConflictsRequest { session_id: id.into(), ..Default::default() };
        let listed = schedule(&app).await.list_conflicts(req).await.unwrap().into_inner().conflicts;
        assert_eq!(sides(&listed), sides(&second.conflicts), "by session {id}");
    }
    // A rewrite that changes nothing of the overlap creates nothing new.
    let rename = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "newyork".into(), title: "Renamed".into(), ..Default::default() }),
        ..Default::default()
    };
    let renamed = app.sessions.clone().update_session(rename).await.unwrap().into_inner();
    assert!(renamed.conflicts.is_empty(), "{:?}", renamed.conflicts);
    app.stop().await;
}

#[tokio::test]
async fn instants_are_compared_in_utc_whatever_the_zones() {
    let (app, _dir) = demo().await;
    // 15:00-16:00 in Geneva (CET, UTC+1) and 09:30-10:30 in New York (EDT since 10 March,
    // UTC-4): 14:00-15:00Z and 13:30-14:30Z, which share half an hour.
    let geneva = (local("Europe/Zurich", "2030-03-12T15:00"), local("Europe/Zurich", "2030-03-12T16:00"));
    let newyork = (local("America/New_York", "2030-03-12T09:30"), local("America/New_York", "2030-03-12T10:30"));
    create(&app, "geneva", speaking("patrick-low", "a", &geneva.0, &geneva.1), false).await.unwrap();
    let mut ny = speaking("patrick-low", "b", &newyork.0, &newyork.1);
    ny.time_zone = "America/New_York".into();
    let answer = create(&app, "newyork", ny, false).await.unwrap();
    assert_eq!(sides(&answer.conflicts), [side("patrick-low", ("newyork", "b"), ("geneva", "a"))]);
    assert_eq!(answer.conflicts[0].overlap_start_time, Some(ts("2030-03-12T14:00:00Z")));
    assert_eq!(answer.conflicts[0].first.as_ref().unwrap().time_zone, "America/New_York");

    // Geneva's clocks go back at 03:00 on 27 October 2030: 02:15 happens twice, an hour apart.
    // Two slots at "02:15-02:45", one in each occurrence, do not overlap; a slot from the first
    // 02:30 to the second overlaps both.
    let first = ("2030-10-27T00:15:00Z", "2030-10-27T00:45:00Z");
    let again = ("2030-10-27T01:15:00Z", "2030-10-27T01:45:00Z");
    assert_eq!(local("Europe/Zurich", "2030-10-27T02:15"), first.0, "the earlier 02:15 is CEST");
    create(&app, "dst-1", speaking("valentina-rollo", "early", first.0, first.1), false).await.unwrap();
    let second = create(&app, "dst-2", speaking("valentina-rollo", "late", again.0, again.1), false).await.unwrap();
    assert!(second.conflicts.is_empty(), "the same wall clock, an hour apart: {:?}", second.conflicts);
    let across = create(
        &app,
        "dst-3",
        speaking("valentina-rollo", "across", "2030-10-27T00:30:00Z", "2030-10-27T01:30:00Z"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        sides(&across.conflicts),
        [
            side("valentina-rollo", ("dst-1", "early"), ("dst-3", "across")),
            side("valentina-rollo", ("dst-3", "across"), ("dst-2", "late")),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn touching_cancelled_and_parallel_slots() {
    let (app, _dir) = demo().await;
    create(&app, "morning", speaking("patrick-low", "a", "2030-05-02T09:00:00Z", "2030-05-02T10:00:00Z"), false)
        .await
        .unwrap();
    // One ends when the next starts: no overlap.
    let next =
        create(&app, "next", speaking("patrick-low", "b", "2030-05-02T10:00:00Z", "2030-05-02T11:00:00Z"), false)
            .await
            .unwrap();
    assert!(next.conflicts.is_empty(), "{:?}", next.conflicts);

    // A cancelled slot commits no one, then restoring it creates the conflict.
    let mut s = speaking("patrick-low", "c", "2030-05-02T09:30:00Z", "2030-05-02T10:30:00Z");
    s.slots[0].status = pb::SlotStatus::Cancelled as i32;
    let cancelled = create(&app, "cancelled", s, false).await.unwrap();
    assert!(cancelled.conflicts.is_empty(), "{:?}", cancelled.conflicts);
    let restore = pb::UpdateSlotRequest {
        session_id: "cancelled".into(),
        slot: Some(pb::Slot { id: "c".into(), status: pb::SlotStatus::Scheduled as i32, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
        ..Default::default()
    };
    let restored = app.sessions.clone().update_slot(restore).await.unwrap().into_inner();
    assert_eq!(
        sides(&restored.conflicts),
        [
            side("patrick-low", ("morning", "a"), ("cancelled", "c")),
            side("patrick-low", ("cancelled", "c"), ("next", "b")),
        ]
    );
    // A cancelled session commits no one either: its conflicts leave the listing.
    let cancel = pb::UpdateSessionRequest {
        session: Some(pb::Session {
            id: "cancelled".into(),
            status: pb::SessionStatus::Cancelled as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
        ..Default::default()
    };
    app.sessions.clone().update_session(cancel).await.unwrap();
    assert!(conflicts_of(&app, "patrick-low").await.is_empty());

    // Parallel tracks of one session with the same moderator: a conflict within the session.
    let mut tracks = session("Two tracks", "2030-06-01T09:00:00Z", "2030-06-01T12:00:00Z");
    let track = |id: &str, start: &str, end: &str| pb::Slot {
        moderator_ids: vec!["kathryn-lundquist".into()],
        allow_overlap: true,
        ..slot(id, id, start, end)
    };
    tracks.slots = vec![
        track("track-a", "2030-06-01T09:00:00Z", "2030-06-01T10:00:00Z"),
        track("track-b", "2030-06-01T09:30:00Z", "2030-06-01T10:30:00Z"),
    ];
    let parallel = create(&app, "tracks", tracks, false).await.unwrap();
    assert_eq!(sides(&parallel.conflicts), [side("kathryn-lundquist", ("tracks", "track-a"), ("tracks", "track-b"))]);
    assert_eq!(parallel.conflicts[0].first.as_ref().unwrap().roles, [pb::ParticipantRole::Moderator as i32]);
    app.stop().await;
}

#[tokio::test]
async fn an_accepted_participant_is_committed_and_one_who_has_not_answered_is_not() {
    let (app, _dir) = demo().await;
    let mut attended = session("Attended", "2030-07-01T09:00:00Z", "2030-07-01T11:00:00Z");
    attended.participants = vec![pb::Participant {
        person_id: "jose-luis-cancela".into(),
        role: pb::ParticipantRole::Participant as i32,
        group: "WTO Missions".into(),
        status: pb::ParticipationStatus::NeedsAction as i32,
    }];
    create(&app, "attended", attended, false).await.unwrap();
    let talk =
        create(&app, "talk", speaking("jose-luis-cancela", "t", "2030-07-01T10:00:00Z", "2030-07-01T10:30:00Z"), false)
            .await
            .unwrap();
    assert!(talk.conflicts.is_empty(), "an unanswered invitation commits no one: {:?}", talk.conflicts);

    let accept = pb::UpdateParticipantRequest {
        session_id: "attended".into(),
        participant: Some(pb::Participant {
            person_id: "jose-luis-cancela".into(),
            status: pb::ParticipationStatus::Accepted as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
        ..Default::default()
    };
    let accepted = app.sessions.clone().update_participant(accept).await.unwrap().into_inner();
    assert_eq!(sides(&accepted.conflicts), [side("jose-luis-cancela", ("attended", ""), ("talk", "t"))]);
    let attendance = accepted.conflicts[0].first.as_ref().unwrap();
    assert!(attendance.attendance);
    assert_eq!(attendance.roles, [pb::ParticipantRole::Participant as i32]);
    app.stop().await;
}

#[tokio::test]
async fn a_write_asked_to_refuse_conflicts_is_refused_with_them_and_changes_nothing() {
    let (app, _dir) = demo().await;
    create(&app, "first", speaking("patrick-low", "a", "2030-03-12T14:00:00Z", "2030-03-12T15:00:00Z"), false)
        .await
        .unwrap();
    let refused =
        create(&app, "second", speaking("patrick-low", "b", "2030-03-12T14:30:00Z", "2030-03-12T15:30:00Z"), true)
            .await
            .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    let details = refused.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, Reason::ScheduleConflict.as_str());
    let violations = &details.precondition_failure().unwrap().violations;
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].r#type, "SCHEDULE_CONFLICT");
    assert_eq!(violations[0].subject, "people/patrick-low");
    assert!(violations[0].description.contains("\"first\"") && violations[0].description.contains("\"second\""));
    let missing = app.sessions.clone().get_session(pb::GetSessionRequest { session_id: "second".into() }).await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound, "nothing was written");

    // An update asked to refuse leaves the session as it was (same etag).
    let mut free = speaking("patrick-low", "c", "2030-03-12T16:00:00Z", "2030-03-12T17:00:00Z");
    free.start_time = Some(ts("2030-03-12T14:00:00Z"));
    let free = create(&app, "free", free, false).await.unwrap();
    let etag = free.session.unwrap().etag;
    let moved = pb::UpdateSlotRequest {
        session_id: "free".into(),
        slot: Some(pb::Slot { id: "c".into(), start_time: Some(ts("2030-03-12T14:45:00Z")), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["start_time".into()] }),
        refuse_conflicts: true,
        ..Default::default()
    };
    let refused = app.sessions.clone().update_slot(moved).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    let after = app.sessions.clone().get_session(pb::GetSessionRequest { session_id: "free".into() }).await.unwrap();
    assert_eq!(after.into_inner().session.unwrap().etag, etag);
    app.stop().await;
}

#[tokio::test]
async fn a_private_sessions_side_is_withheld_from_a_token_that_does_not_cover_it() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[tokens]]\nname = \"dashboard\"\nscope = \"read\"\ntoken = \"reader-token-0123456789\"\n\
         [[tokens]]\nname = \"booking\"\nscope = \"write\"\ntoken = \"writer-token-0123456789\"\n",
    )
    .unwrap();
    let app = spawn_with(&dir.path().join("store"), true, Limits::default(), |c| {
        c.auth = AuthConfig { tokens_file: Some(tokens), ..AuthConfig::default() }
    })
    .await;
    let with = |token: &str, mut req: Request<pb::CreateSessionRequest>| {
        req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        req
    };
    let mut private = speaking("patrick-low", "secret", "2030-03-12T14:00:00Z", "2030-03-12T15:00:00Z");
    private.title = "Closed-door consultation".into();
    private.visibility = pb::Visibility::Private as i32;
    let public = speaking("patrick-low", "open", "2030-03-12T14:30:00Z", "2030-03-12T15:30:00Z");
    for (id, s) in [("closed", private), ("open", public)] {
        let req = pb::CreateSessionRequest { session_id: id.into(), session: Some(s), ..Default::default() };
        app.sessions.clone().create_session(with("writer-token-0123456789", Request::new(req))).await.unwrap();
    }
    let list = |token: Option<&'static str>| {
        let app_grpc = app.grpc_base.clone();
        async move {
            let mut req =
                Request::new(pb::ListConflictsRequest { person_id: "patrick-low".into(), ..Default::default() });
            if let Some(t) = token {
                req.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
            }
            let mut client = ScheduleServiceClient::connect(app_grpc).await.unwrap();
            client.list_conflicts(req).await.unwrap().into_inner().conflicts
        }
    };
    for token in [None, Some("reader-token-0123456789")] {
        let seen = list(token).await;
        assert_eq!(seen.len(), 1, "{token:?}");
        let hidden = seen[0].first.as_ref().unwrap();
        assert!(hidden.withheld, "{token:?}: {hidden:?}");
        assert_eq!((hidden.session_id.as_str(), hidden.session_title.as_str(), hidden.slot_id.as_str()), ("", "", ""));
        assert_eq!(hidden.start_time, Some(ts("2030-03-12T14:00:00Z")), "the busy time stays");
        assert_eq!(seen[0].second.as_ref().unwrap().session_id, "open", "the public side is shown");
    }
    let full = list(Some("writer-token-0123456789")).await;
    let shown = full[0].first.as_ref().unwrap();
    assert!(!shown.withheld);
    assert_eq!((shown.session_id.as_str(), shown.session_title.as_str()), ("closed", "Closed-door consultation"));
    app.stop().await;
}

#[tokio::test]
async fn list_conflicts_pages_in_time_order_and_refuses_an_unbounded_query() {
    let (app, _dir) = demo().await;
    // Low speaks in a long session, and in five short ones inside it.
    create(&app, "long", speaking("patrick-low", "l", "2030-09-01T08:00:00Z", "2030-09-01T18:00:00Z"), false)
        .await
        .unwrap();
    for h in 0..5 {
        let (start, end) = (format!("2030-09-01T{:02}:00:00Z", 9 + h), format!("2030-09-01T{:02}:30:00Z", 9 + h));
        create(&app, &format!("short-{h}"), speaking("patrick-low", "s", &start, &end), false).await.unwrap();
    }
    let mut client = schedule(&app).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListConflictsRequest {
            from_time: Some(ts("2030-09-01T00:00:00Z")),
            to_time: Some(ts("2030-09-02T00:00:00Z")),
            organizer: "fmg".into(),
            page_size: 2,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = client.list_conflicts(req).await.unwrap().into_inner();
        pages += 1;
        seen.extend(page.conflicts);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    let seconds: Vec<String> = seen.iter().map(|c| c.second.as_ref().unwrap().session_id.clone()).collect();
    assert_eq!(seconds, ["short-0", "short-1", "short-2", "short-3", "short-4"]);

    let unbounded = client.list_conflicts(pb::ListConflictsRequest::default()).await.unwrap_err();
    assert_eq!(unbounded.code(), tonic::Code::InvalidArgument);
    let details = unbounded.get_error_details();
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "from_time");
    app.stop().await;
}

#[tokio::test]
async fn free_busy_merges_each_persons_commitments_and_names_unknown_people() {
    let (app, _dir) = demo().await;
    create(&app, "a", speaking("patrick-low", "a", "2030-03-12T09:00:00Z", "2030-03-12T10:00:00Z"), false)
        .await
        .unwrap();
    create(&app, "b", speaking("patrick-low", "b", "2030-03-12T10:00:00Z", "2030-03-12T11:00:00Z"), false)
        .await
        .unwrap();
    let mut private = speaking("patrick-low", "c", "2030-03-12T14:00:00Z", "2030-03-12T15:00:00Z");
    private.visibility = pb::Visibility::Private as i32;
    create(&app, "c", private, false).await.unwrap();
    create(&app, "d", speaking("valentina-rollo", "d", "2030-03-12T12:00:00Z", "2030-03-12T13:00:00Z"), false)
        .await
        .unwrap();

    let req = pb::QueryFreeBusyRequest {
        person_ids: vec!["patrick-low".into(), "nobody".into(), "valentina-rollo".into()],
        from_time: Some(ts("2030-03-12T09:30:00Z")),
        to_time: Some(ts("2030-03-13T00:00:00Z")),
    };
    let answer = schedule(&app).await.query_free_busy(req).await.unwrap().into_inner();
    let periods = |p: &pb::PersonFreeBusy| -> Vec<(i64, i64)> {
        p.busy.iter().map(|b| (b.start_time.unwrap().seconds, b.end_time.unwrap().seconds)).collect()
    };
    let s = |t: &str| ts(t).seconds;
    let ids: Vec<&str> = answer.people.iter().map(|p| p.person_id.as_str()).collect();
    assert_eq!(ids, ["patrick-low", "nobody", "valentina-rollo"], "in the order asked");
    assert_eq!(
        periods(&answer.people[0]),
        [
            (s("2030-03-12T09:30:00Z"), s("2030-03-12T11:00:00Z")),
            (s("2030-03-12T14:00:00Z"), s("2030-03-12T15:00:00Z"))
        ],
        "clipped to the window, touching periods merged, the private session busy too"
    );
    assert_eq!(answer.people[1].error_reason, "PERSON_NOT_FOUND");
    assert!(answer.people[1].busy.is_empty());
    assert_eq!(periods(&answer.people[2]), [(s("2030-03-12T12:00:00Z"), s("2030-03-12T13:00:00Z"))]);

    // The same over HTTP, as a VFREEBUSY both third-party parsers read alike.
    let url = format!("{}/feeds/people/patrick-low/freebusy.ics?from=2030-03-12&to=2030-03-13", app.http_base);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let body = response.text().await.unwrap();
    assert!(!body.contains("SUMMARY"), "free/busy says when, never what:\n{body}");
    let py = crate::interop::python(&body);
    let js = crate::interop::icaljs(&body);
    assert_eq!(py, js, "Python icalendar and ical.js disagree");
    assert_eq!(
        py["freebusy"],
        json!([{
            "uid": "freebusy.patrick-low@agenda.invalid",
            "organizer": "mailto:patrick.low@example.org",
            "start_utc": "2030-03-12T00:00:00Z",
            "end_utc": "2030-03-13T00:00:00Z",
            "busy": [
                {"fbtype": "BUSY", "start_utc": "2030-03-12T09:00:00Z", "end_utc": "2030-03-12T11:00:00Z"},
                {"fbtype": "BUSY", "start_utc": "2030-03-12T14:00:00Z", "end_utc": "2030-03-12T15:00:00Z"}
            ]
        }])
    );
    // The feeds' caching rules: the same body keeps its ETag, and a revalidation gets a 304.
    let again = reqwest::Client::new().get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let unknown = reqwest::get(format!("{}/feeds/people/nobody/freebusy.ics", app.http_base)).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = reqwest::get(format!("{url}&tag=x")).await.unwrap();
    assert_eq!(bad.status(), 400);
    app.stop().await;
}
