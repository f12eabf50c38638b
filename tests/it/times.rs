//! Human-readable times say which instant they mean: the invite e-mail's "When:" line and the
//! sessions feed's "Programme:" lines give the zone's abbreviation and UTC offset, so the hour
//! repeated when clocks go back reads differently twice; a person with a time zone of their own
//! gets the times in it too.

use agenda::pb::{self, invite_service_client::InviteServiceClient};
use base64::Engine as _;
use prost_types::FieldMask;
use tonic::Code;

use crate::helpers::{TestApp, failure, session, slot, spawn_app, spawn_demo_app};

const ID: &str = "dst-end";

/// On 31 October 2027 Zurich's clocks go back from 03:00 CEST to 02:00 CET (at 01:00 UTC):
/// one slot in each occurrence of 02:15–02:45, both for the same speaker.
async fn dst_end_session(app: &TestApp) {
    app.person("kathryn-lundquist", "Kathryn Lundquist").await;
    let speaker = |id: &str, start: &str, end: &str| pb::Slot {
        speaker_ids: vec!["kathryn-lundquist".into()],
        ..slot(id, &format!("Talk {id}"), start, end)
    };
    let mut s = session("The night the clocks go back", "2027-10-31T00:00:00Z", "2027-10-31T02:00:00Z");
    s.slots = vec![
        speaker("first", "2027-10-31T00:15:00Z", "2027-10-31T00:45:00Z"),
        speaker("second", "2027-10-31T01:15:00Z", "2027-10-31T01:45:00Z"),
    ];
    app.create(ID, s).await;
}

/// The plain-text part of each invite e-mail for the speaker, by slot.
async fn invite_texts(app: &TestApp) -> Vec<(String, String)> {
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest {
        session_id: ID.into(),
        person_id: "kathryn-lundquist".into(),
        slot_id: String::new(),
        ..Default::default()
    };
    let invites = c.create_invite(req).await.unwrap().into_inner().invites;
    let mut texts: Vec<(String, String)> = invites
        .iter()
        .map(|i| {
            let email = String::from_utf8(i.email.clone()).unwrap();
            let (_, rest) = email.split_once("Content-Type: text/plain; charset=UTF-8\r\n").expect("a text part");
            let (_, rest) = rest.split_once("\r\n\r\n").unwrap();
            let (body, _) = rest.split_once("\r\n\r\n").unwrap();
            let text = base64::engine::general_purpose::STANDARD.decode(body.replace("\r\n", "")).unwrap();
            (i.message.as_ref().unwrap().slot_id.clone(), String::from_utf8(text).unwrap())
        })
        .collect();
    texts.sort();
    texts
}

fn lines_starting(text: &str, prefix: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with(prefix)).map(str::to_owned).collect()
}

#[tokio::test]
async fn invites_in_the_repeated_hour_of_a_dst_end_read_differently() {
    let app = spawn_app().await;
    dst_end_session(&app).await;
    let texts = invite_texts(&app).await;
    let when: Vec<Vec<String>> = texts.iter().map(|(_, t)| lines_starting(t, "When: ")).collect();
    assert_eq!(
        when,
        [
            ["When: Sunday, 31 October 2027, 02:15–02:45 CEST (UTC+02:00), Europe/Zurich"],
            ["When: Sunday, 31 October 2027, 02:15–02:45 CET (UTC+01:00), Europe/Zurich"],
        ]
    );
    assert!(texts.iter().all(|(_, t)| lines_starting(t, "Your time: ").is_empty()), "no zone of her own");
}

#[tokio::test]
async fn the_programme_in_the_sessions_feed_reads_differently_in_the_repeated_hour() {
    let app = spawn_app().await;
    dst_end_session(&app).await;
    let feed = app.feed("/feeds/sessions.ics").await.replace("\r\n ", "");
    assert!(feed.contains("Programme:\\n02:15–02:45 CEST (UTC+02:00) Talk first — Kathryn Lundquist\\n02:15–02:45 CET (UTC+01:00) Talk second — Kathryn Lundquist"), "{feed}");
}

#[tokio::test]
async fn a_person_in_another_zone_gets_the_times_in_theirs_too() {
    let app = spawn_app().await;
    dst_end_session(&app).await;
    let update = pb::UpdatePersonRequest {
        person: Some(pb::Person {
            id: "kathryn-lundquist".into(),
            time_zone: "America/New_York".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["time_zone".into()] }),
    };
    let p = app.people.clone().update_person(update).await.unwrap().into_inner().person.unwrap();
    assert_eq!(p.time_zone, "America/New_York");
    let texts = invite_texts(&app).await;
    let yours: Vec<Vec<String>> = texts.iter().map(|(_, t)| lines_starting(t, "Your time: ")).collect();
    assert_eq!(
        yours,
        [
            ["Your time: Saturday, 30 October 2027, 20:15–20:45 EDT (UTC-04:00), America/New_York"],
            ["Your time: Saturday, 30 October 2027, 21:15–21:45 EDT (UTC-04:00), America/New_York"],
        ]
    );
    assert!(texts.iter().all(|(_, t)| lines_starting(t, "When: ").len() == 1), "the session's time stays");
}

#[tokio::test]
async fn a_persons_time_zone_is_an_iana_name_and_is_kept() {
    let app = spawn_app().await;
    let create = |zone: &str| pb::CreatePersonRequest {
        person_id: "someone".into(),
        person: Some(pb::Person { name: "Someone".into(), time_zone: zone.into(), ..Default::default() }),
        ..Default::default()
    };
    let r = app.people.clone().create_person(create("Mars/Olympus_Mons")).await;
    assert_eq!(failure(r), (Code::InvalidArgument, vec!["person.time_zone".to_owned()]));
    let p = app.people.clone().create_person(create("Asia/Kolkata")).await.unwrap().into_inner().person.unwrap();
    assert_eq!(p.time_zone, "Asia/Kolkata");
    let got = app.people.clone().get_person(pb::GetPersonRequest { person_id: "someone".into() }).await.unwrap();
    assert_eq!(got.into_inner().person.unwrap().time_zone, "Asia/Kolkata");
    let clear = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: "someone".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["time_zone".into()] }),
    };
    let cleared = app.people.clone().update_person(clear).await.unwrap().into_inner().person.unwrap();
    assert_eq!(cleared.time_zone, "");
}

#[tokio::test]
async fn the_demo_programme_gives_cet_and_its_offset() {
    let app = spawn_demo_app().await;
    let feed = app.feed("/feeds/sessions.ics?from=2022-11-01&to=2022-12-01").await.replace("\r\n ", "");
    let description = feed.lines().find(|l| l.starts_with("DESCRIPTION:") && l.contains("Programme:")).unwrap();
    let programme: Vec<&str> = description.split("\\n").skip_while(|l| *l != "Programme:").skip(1).take(5).collect();
    assert!(
        programme.iter().all(|l| l.split_once(' ').is_some_and(|(_, rest)| rest.starts_with("CET (UTC+01:00) "))),
        "{programme:?}"
    );
    assert!(programme[2].starts_with("15:15–15:25 CET (UTC+01:00) Speaker 2: Kathryn Lundquist"), "{programme:?}");
}
