//! Bad requests get their status code and field violations, and change nothing.

use agenda::domain::Limits;
use agenda::pb;
use prost_types::FieldMask;
use tonic::Code;

use crate::helpers::{TestApp, failure, reason, session, slot, spawn_app, spawn_app_at, ts};

/// Everything the store holds, as clients see it.
async fn snapshot(app: &TestApp) -> (Vec<pb::Session>, Vec<pb::Person>) {
    let sessions = app
        .sessions
        .clone()
        .list_sessions(pb::ListSessionsRequest { page_size: 1000, ..Default::default() })
        .await
        .unwrap();
    let people =
        app.people.clone().list_people(pb::ListPeopleRequest { page_size: 1000, ..Default::default() }).await.unwrap();
    (sessions.into_inner().sessions, people.into_inner().people)
}

async fn seeded() -> TestApp {
    let app = spawn_app().await;
    app.person("speaker", "Valentina Rollo").await;
    let mut s = session("Existing", "2026-07-01T09:00:00Z", "2026-07-01T11:00:00Z");
    s.slots = vec![pb::Slot {
        speaker_ids: vec!["speaker".into()],
        ..slot("talk", "Talk", "2026-07-01T09:00:00Z", "2026-07-01T10:00:00Z")
    }];
    app.create("existing", s).await;
    app
}

fn create(id: &str, s: pb::Session) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest { session_id: id.into(), session: Some(s), ..Default::default() }
}

fn valid() -> pb::Session {
    session("New", "2026-07-02T09:00:00Z", "2026-07-02T10:00:00Z")
}

#[tokio::test]
async fn each_invalid_session_is_refused_with_its_field_and_nothing_changes() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let cases: Vec<(&str, pb::CreateSessionRequest, Vec<&str>)> = vec![
        (
            "end before start",
            create("n", session("New", "2026-07-02T10:00:00Z", "2026-07-02T09:00:00Z")),
            vec!["session.end_time"],
        ),
        (
            "slot outside its session",
            create(
                "n",
                pb::Session { slots: vec![slot("s", "S", "2026-07-02T08:00:00Z", "2026-07-02T09:30:00Z")], ..valid() },
            ),
            vec!["session.slots[0].start_time"],
        ),
        (
            "unknown time zone",
            create("n", pb::Session { time_zone: "Europe/Genf".into(), ..valid() }),
            vec!["session.time_zone"],
        ),
        (
            "malformed organizer e-mail",
            create(
                "n",
                pb::Session {
                    organizer: Some(pb::Organizer {
                        name: "FMG".into(),
                        short_name: String::new(),
                        email: "fmg.example.org".into(),
                    }),
                    ..valid()
                },
            ),
            vec!["session.organizer.email"],
        ),
        (
            "malformed join URL",
            create("n", pb::Session { join_url: "zoom.us/j/1".into(), ..valid() }),
            vec!["session.join_url"],
        ),
        (
            "malformed recording URL",
            create("n", pb::Session { recording_url: "https://you tube".into(), ..valid() }),
            vec!["session.recording_url"],
        ),
        ("empty title", create("n", pb::Session { title: " ".into(), ..valid() }), vec!["session.title"]),
        ("oversize title", create("n", pb::Session { title: "x".repeat(301), ..valid() }), vec!["session.title"]),
        (
            "control characters in a title",
            create("n", pb::Session { title: "Q&A\nEND:VEVENT".into(), ..valid() }),
            vec!["session.title"],
        ),
        ("missing organizer", create("n", pb::Session { organizer: None, ..valid() }), vec!["session.organizer"]),
        ("missing start", create("n", pb::Session { start_time: None, ..valid() }), vec!["session.start_time"]),
        (
            "fractional seconds",
            create(
                "n",
                pb::Session {
                    start_time: Some(prost_types::Timestamp { seconds: ts("2026-07-02T09:00:00Z").seconds, nanos: 5 }),
                    ..valid()
                },
            ),
            vec!["session.start_time"],
        ),
        ("bad id", create("Not An Id", valid()), vec!["session_id"]),
        ("unknown enum value", create("n", pb::Session { status: 42, ..valid() }), vec!["session.status"]),
        (
            "unknown person on a slot",
            create(
                "n",
                pb::Session {
                    slots: vec![pb::Slot {
                        speaker_ids: vec!["nobody".into()],
                        ..slot("s", "S", "2026-07-02T09:00:00Z", "2026-07-02T09:30:00Z")
                    }],
                    ..valid()
                },
            ),
            vec!["session.slots[0].speaker_ids[0]"],
        ),
        (
            "overlapping slots",
            create(
                "n",
                pb::Session {
                    slots: vec![
                        slot("a", "A", "2026-07-02T09:00:00Z", "2026-07-02T09:40:00Z"),
                        slot("b", "B", "2026-07-02T09:30:00Z", "2026-07-02T10:00:00Z"),
                    ],
                    ..valid()
                },
            ),
            vec!["session.slots[1].start_time"],
        ),
        (
            "two problems at once",
            create("n", pb::Session { title: String::new(), time_zone: "Nowhere".into(), ..valid() }),
            vec!["session.time_zone", "session.title"],
        ),
        (
            "a missing start and an empty title, in one answer",
            create("n", pb::Session { title: String::new(), start_time: None, ..valid() }),
            vec!["session.start_time", "session.title"],
        ),
        (
            "a malformed URL beside a broken rule",
            create(
                "n",
                pb::Session { join_url: "zoom.us/j/1".into(), end_time: Some(ts("2026-07-02T08:00:00Z")), ..valid() },
            ),
            vec!["session.end_time", "session.join_url"],
        ),
        (
            "missing time zone",
            create("n", pb::Session { time_zone: String::new(), ..valid() }),
            vec!["session.time_zone"],
        ),
        ("unspecified format", create("n", pb::Session { format: 0, ..valid() }), vec!["session.format"]),
    ];
    for (what, req, want) in cases {
        let (code, mut fields) = failure(app.sessions.clone().create_session(req).await);
        fields.sort();
        assert_eq!((code, fields), (Code::InvalidArgument, want.iter().map(|s| s.to_string()).collect()), "{what}");
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_duplicate_id_is_already_exists_and_keeps_the_original() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let r = app.sessions.clone().create_session(create("existing", valid())).await;
    assert_eq!(
        reason(app.sessions.clone().create_session(create("existing", valid())).await),
        "SESSION_ALREADY_EXISTS"
    );
    assert_eq!(failure(r).0, Code::AlreadyExists);
    let dup_person = pb::CreatePersonRequest {
        person_id: "speaker".into(),
        person: Some(pb::Person { name: "Someone else".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(failure(app.people.clone().create_person(dup_person).await).0, Code::AlreadyExists);
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn invalid_updates_and_unknown_ids_change_nothing() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let mut s = app.sessions.clone();
    let mut p = app.people.clone();
    let update = |sess: pb::Session, paths: &[&str]| pb::UpdateSessionRequest {
        session: Some(sess),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() }),
        ..Default::default()
    };
    // The new end would leave the existing slot outside the session.
    let shrink = update(
        pb::Session { id: "existing".into(), end_time: Some(ts("2026-07-01T09:30:00Z")), ..Default::default() },
        &["end_time"],
    );
    assert_eq!(
        failure(s.update_session(shrink).await),
        (Code::InvalidArgument, vec!["session.slots[0].start_time".into()])
    );
    let not_writable = update(pb::Session { id: "existing".into(), ..Default::default() }, &["etag"]);
    assert_eq!(
        failure(s.update_session(not_writable).await),
        (Code::InvalidArgument, vec!["update_mask.paths[0]".into()])
    );
    let unknown = update(pb::Session { id: "missing".into(), title: "T".into(), ..Default::default() }, &["title"]);
    assert_eq!(failure(s.update_session(unknown).await).0, Code::NotFound);
    let bad_email = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: "speaker".into(), email: "not-an-address".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    assert_eq!(failure(p.update_person(bad_email).await), (Code::InvalidArgument, vec!["person.email".into()]));
    let slot_outside = pb::AddSlotRequest {
        session_id: "existing".into(),
        slot: Some(slot("late", "Late", "2026-07-01T10:30:00Z", "2026-07-01T11:30:00Z")),
        etag: String::new(),
        ..Default::default()
    };
    assert_eq!(failure(s.add_slot(slot_outside).await), (Code::InvalidArgument, vec!["slot.start_time".into()]));
    let dup_slot = pb::AddSlotRequest {
        session_id: "existing".into(),
        slot: Some(slot("talk", "Again", "2026-07-01T10:00:00Z", "2026-07-01T10:30:00Z")),
        etag: String::new(),
        ..Default::default()
    };
    assert_eq!(reason(s.add_slot(dup_slot).await), "SLOT_ALREADY_EXISTS");
    let stale = pb::AddSlotRequest {
        session_id: "existing".into(),
        slot: Some(slot("new", "New", "2026-07-01T10:00:00Z", "2026-07-01T10:30:00Z")),
        etag: "1".into(),
        ..Default::default()
    };
    assert_eq!(failure(s.add_slot(stale).await).0, Code::Aborted);
    assert_eq!(
        failure(s.list_sessions(pb::ListSessionsRequest { page_size: -1, ..Default::default() }).await),
        (Code::InvalidArgument, vec!["page_size".into()])
    );
    let backwards = pb::ListSessionsRequest {
        from_time: Some(ts("2026-07-02T00:00:00Z")),
        to_time: Some(ts("2026-07-01T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(failure(s.list_sessions(backwards).await), (Code::InvalidArgument, vec!["to_time".into()]));
    assert_eq!(
        failure(s.get_session(pb::GetSessionRequest { session_id: String::new() }).await),
        (Code::InvalidArgument, vec!["session_id".into()])
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn too_many_slots_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path(), false, Limits { max_slots: 2, ..Limits::default() }).await;
    let slots = (0..3)
        .map(|i| {
            slot(&format!("s{i}"), "S", &format!("2026-07-02T09:0{i}:00Z"), &format!("2026-07-02T09:0{}:00Z", i + 1))
        })
        .collect();
    let r = app.sessions.clone().create_session(create("n", pb::Session { slots, ..valid() })).await;
    assert_eq!(failure(r), (Code::InvalidArgument, vec!["session.slots".into()]));
    app.stop().await;
}

#[tokio::test]
async fn invisible_line_breaks_and_bidi_controls_in_text_are_refused() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    // The title: a sync client turned it into a LOCATION property.
    for title in [
        "Weekly sync\u{2028}LOCATION:Evil Place",
        "Weekly sync\u{2029}LOCATION:Evil Place",
        "Invoice \u{202E}fdp.exe",
        "a \u{2066}b\u{2069}",
    ] {
        let r = app.sessions.clone().create_session(create("n", pb::Session { title: title.into(), ..valid() })).await;
        let found = violations(r);
        assert_eq!(found.len(), 1, "{title:?}: {found:?}");
        assert_eq!(found[0].0, "session.title", "{title:?}");
        assert!(found[0].1.contains("U+2028") && found[0].1.contains("U+202A"), "{}", found[0].1);
    }
    // In multi-line text too: a line break a client does not expect is a line break.
    let r = app
        .sessions
        .clone()
        .create_session(create("n", pb::Session { description: "one\u{2028}two".into(), ..valid() }))
        .await;
    assert_eq!(failure(r), (Code::InvalidArgument, vec!["session.description".to_owned()]));
    assert_eq!(snapshot(&app).await, before);

    // Right-to-left text needs no override; the right-to-left mark stays allowed.
    let rtl = "\u{200F}اجتماع أسبوعي — פגישה שבועית";
    let created = app.create("rtl", pb::Session { title: rtl.into(), ..valid() }).await;
    assert_eq!(created.title, rtl);
}

#[tokio::test]
async fn times_outside_1900_to_2200_are_refused_with_the_range() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    for (start, end, field) in [
        ("0001-01-01T10:00:00Z", "0001-01-01T11:00:00Z", "session.start_time"),
        ("9999-12-30T10:00:00Z", "9999-12-30T11:00:00Z", "session.start_time"),
        ("1899-12-31T23:00:00Z", "1900-01-01T01:00:00Z", "session.start_time"),
        ("2199-12-31T23:00:00Z", "2200-01-01T00:00:00Z", "session.end_time"),
    ] {
        let r = app.sessions.clone().create_session(create("n", session("Far", start, end))).await;
        let found = violations(r);
        let (f, description) = found.iter().find(|(f, _)| f == field).unwrap_or_else(|| panic!("{start}: {found:?}"));
        assert!(description.contains("1900-01-01T00:00:00Z") && description.contains("2200-01-01T00:00:00Z"), "{f}");
    }
    assert_eq!(snapshot(&app).await, before);

    // The edges: the first instant is accepted, the last second before the end too.
    app.create("first", session("First", "1900-01-01T00:00:00Z", "1900-01-01T01:00:00Z")).await;
    app.create("last", session("Last", "2199-12-31T23:00:00Z", "2199-12-31T23:59:59Z")).await;

    // Query windows follow the same rule.
    let window = |from: &str, to: &str| pb::ListSessionsRequest {
        from_time: Some(ts(from)),
        to_time: Some(ts(to)),
        ..Default::default()
    };
    let r = app.sessions.clone().list_sessions(window("2026-01-01T00:00:00Z", "9999-12-30T00:00:00Z")).await;
    assert_eq!(failure(r), (Code::InvalidArgument, vec!["to_time".to_owned()]));
    let req = pb::ListPersonSlotsRequest {
        person_id: "speaker".into(),
        from_time: Some(ts("0001-01-01T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(
        failure(app.people.clone().list_person_slots(req).await),
        (Code::InvalidArgument, vec!["from_time".to_owned()])
    );
    let (ids, _) = app.list_all(window("1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z")).await;
    assert_eq!(ids.len(), 3);
    app.stop().await;
}

/// The field violations of a failed call: (field, description), sorted by field.
fn violations<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    let status = r.expect_err("the call should fail");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut out: Vec<(String, String)> = status
        .get_details_bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect();
    out.sort();
    out
}

fn fields(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(f, _)| f.as_str()).collect()
}

#[tokio::test]
async fn an_empty_create_session_lists_every_missing_field_in_one_answer() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let want = [
        "session.end_time",
        "session.format",
        "session.organizer",
        "session.start_time",
        "session.time_zone",
        "session.title",
    ];
    let empty = app.sessions.clone().create_session(create("", pb::Session::default())).await;
    assert_eq!(fields(&violations(empty)), want);
    let absent = pb::CreateSessionRequest { session_id: String::new(), session: None, ..Default::default() };
    assert_eq!(fields(&violations(app.sessions.clone().create_session(absent).await)), want, "no session at all");
    let bad_id = app.sessions.clone().create_session(create("Not An Id", pb::Session::default())).await;
    assert_eq!(fields(&violations(bad_id)), [&want[..], &["session_id"]].concat());
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn an_empty_slot_or_person_lists_every_missing_field_in_one_answer() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let empty_slot =
        pb::AddSlotRequest { session_id: "existing".into(), slot: None, etag: String::new(), ..Default::default() };
    assert_eq!(
        fields(&violations(app.sessions.clone().add_slot(empty_slot).await)),
        ["slot.end_time", "slot.start_time", "slot.title"]
    );
    let bad_speaker = pb::AddSlotRequest {
        session_id: "existing".into(),
        slot: Some(pb::Slot {
            title: String::new(),
            speaker_ids: vec!["Not An Id".into()],
            ..slot("new", "", "2026-07-01T10:00:00Z", "2026-07-01T10:30:00Z")
        }),
        etag: String::new(),
        ..Default::default()
    };
    assert_eq!(
        fields(&violations(app.sessions.clone().add_slot(bad_speaker).await)),
        ["slot.speaker_ids[0]", "slot.title"]
    );
    let empty_person = pb::CreatePersonRequest { person_id: String::new(), person: None, ..Default::default() };
    assert_eq!(fields(&violations(app.people.clone().create_person(empty_person).await)), ["person.name"]);
    let bad_email = pb::CreatePersonRequest {
        person_id: String::new(),
        person: Some(pb::Person { email: "not-an-address".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(fields(&violations(app.people.clone().create_person(bad_email).await)), ["person.email", "person.name"]);
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn time_zone_and_format_are_required_not_guessed() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let zone = "required: an IANA time zone such as Europe/Zurich";
    let r = app.sessions.clone().create_session(create("n", pb::Session { time_zone: String::new(), ..valid() })).await;
    assert_eq!(violations(r), [("session.time_zone".to_owned(), zone.to_owned())]);
    let r = app.sessions.clone().create_session(create("n", pb::Session { format: 0, ..valid() })).await;
    assert_eq!(fields(&violations(r)), ["session.format"]);

    // Naming them in an update's mask without a value would clear them: refused the same way.
    let clear = |paths: &[&str]| pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "existing".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() }),
        ..Default::default()
    };
    let r = app.sessions.clone().update_session(clear(&["time_zone"])).await;
    assert_eq!(violations(r), [("session.time_zone".to_owned(), zone.to_owned())]);
    let r = app.sessions.clone().update_session(clear(&["format"])).await;
    assert_eq!(fields(&violations(r)), ["session.format"]);
    assert_eq!(snapshot(&app).await, before);

    // An update with an empty mask leaves both as they are.
    let retitle = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "existing".into(), title: "Renamed".into(), ..Default::default() }),
        update_mask: None,
        ..Default::default()
    };
    let s = app.sessions.clone().update_session(retitle).await.unwrap().into_inner().session.unwrap();
    assert_eq!((s.title.as_str(), s.time_zone.as_str(), s.format), ("Renamed", "Europe/Zurich", before.0[0].format));
}
