//! Participants invited and confirmed (a session with `invite_participants`): the seed's 25
//! confirmed participants, in their five groups, each get one iTIP REQUEST for the whole session
//! through the built-in sender (to aiosmtpd, see `delivery.rs`); their answers arrive in the
//! organizer's mailbox (a throw-away Dovecot, see `dovecot.rs`) shaped as Outlook, Google and
//! Apple write them (tests/fixtures/replies/*-participant.ics); the event page shows those who
//! accepted under their groups, gRPC every status; a move asks everyone again, a removal and a
//! cancellation send CANCELs. The participant REQUEST and CANCEL are read by ical.js and Python
//! icalendar.

use std::collections::BTreeSet;

use agenda::domain::Limits;
use agenda::pb::{self, invite_service_client::InviteServiceClient};
use agenda::secret::Secret;
use prost_types::FieldMask;
use tonic::Code;

use crate::delivery::{Mailbox, Received, by_message_id, settled};
use crate::dovecot::{self, Dovecot};
use crate::helpers::{TestApp, eventually, reason, session, spawn_demo_app, spawn_with};
use crate::interop::parse_both;
use crate::mailbox::{APPLIED, Encoding, reply_email};

const DEMO: &str = "fmg-msme-2022-11-17";
const ID: &str = "msme-follow-up-2030";
const UID: &str = "session.msme-follow-up-2030@agenda.invalid";
const ORGANIZER: &str = "fmg@example.org";

/// The seed page's "List of Confirmed Participants": five groups, 25 people.
const SEED_GROUPS: [(&str, usize); 5] =
    [("FMG", 6), ("WTO Missions", 13), ("WTO Secretariat", 2), ("International Organizations", 2), ("Think Tanks", 2)];
/// The demo lists three speakers in groups the seed's list leaves them out of.
const NOT_ON_THE_SEED_LIST: [&str; 3] = ["jose-luis-cancela", "kathryn-lundquist", "valentina-rollo"];

const OUTLOOK: &str = include_str!("../fixtures/replies/outlook-participant.ics");
const GOOGLE: &str = include_str!("../fixtures/replies/google-participant.ics");
const APPLE: &str = include_str!("../fixtures/replies/apple-participant.ics");

/// The seed's 25 participants, from the demo's people, none answered yet.
async fn seed_participants(app: &TestApp) -> Vec<pb::Participant> {
    let demo = app.session(DEMO).await;
    let out: Vec<pb::Participant> = demo
        .participants
        .into_iter()
        .filter(|p| !NOT_ON_THE_SEED_LIST.contains(&p.person_id.as_str()))
        .map(|p| pb::Participant { status: pb::ParticipationStatus::NeedsAction as i32, ..p })
        .collect();
    for (group, count) in SEED_GROUPS {
        assert_eq!(out.iter().filter(|p| p.group == group).count(), count, "{group}");
    }
    assert_eq!(out.len(), 25);
    out
}

/// A coming online session inviting `participants`.
fn follow_up(participants: Vec<pb::Participant>) -> pb::Session {
    let mut s =
        session("Integration of MSMEs within the MTS: follow-up", "2030-11-14T14:00:00Z", "2030-11-14T15:30:00Z");
    s.format = pb::SessionFormat::Online as i32;
    s.join_url = "https://meet.example.org/fmg-msme-follow-up".into();
    s.description = "A year on: what the informal working group has done.".into();
    s.participants = participants;
    s.invite_participants = true;
    s
}

/// A client's REPLY to the participant invite at `sequence`, from `attendee`.
fn reply(client: &str, name: &str, attendee: &str, partstat: &str, sequence: u32) -> String {
    client
        .replace("@UID@", UID)
        .replace("@CN@", name)
        .replace("@ATTENDEE@", attendee)
        .replace("@ORGANIZER@", ORGANIZER)
        .replace("@PARTSTAT@", partstat)
        .replace("@SEQUENCE@", &sequence.to_string())
}

/// Each participant's status as GetSession shows it.
async fn statuses(app: &TestApp) -> Vec<(String, pb::ParticipationStatus)> {
    let s = app.session(ID).await;
    s.participants.iter().map(|p| (p.person_id.clone(), p.status())).collect()
}

fn status_of(all: &[(String, pb::ParticipationStatus)], person: &str) -> pb::ParticipationStatus {
    all.iter().find(|(p, _)| p == person).unwrap_or_else(|| panic!("{person}")).1
}

/// The received messages whose subject starts with `prefix`, by recipient, sorted.
fn to_of(received: &[Received], prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = received.iter().filter(|r| r.subject.starts_with(prefix)).map(|r| r.to.clone()).collect();
    v.sort();
    v
}

/// The `<section>` of `html` between `from` and the next `to` after it.
fn section<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("{from} in the page"));
    let rest = &html[start + from.len()..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_participants_are_invited_answer_by_mail_and_are_asked_again_removed_and_cancelled() {
    let smtp = Mailbox::start(0, &[]);
    let imap = Dovecot::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |c| {
        c.smtp.url = Some(smtp.url());
        c.smtp.retry_max_seconds = 1;
        c.smtp.rate_per_second = 0;
        c.reply_mailbox.url = Some(imap.url());
        c.reply_mailbox.password = Some(Secret::new(dovecot::PASSWORD));
        c.reply_mailbox.poll_seconds = 1;
    })
    .await;
    let participants = seed_participants(&app).await;
    let addresses: BTreeSet<String> = {
        let mut people = app.people.clone();
        let mut out = BTreeSet::new();
        for p in &participants {
            let req = pb::GetPersonRequest { person_id: p.person_id.clone() };
            out.insert(people.get_person(req).await.unwrap().into_inner().person.unwrap().email);
        }
        out
    };
    assert_eq!(addresses.len(), 25);
    app.create(ID, follow_up(participants)).await;

    // 25 invitations, one each, and nothing else (the demo session is past: it sends nothing).
    settled(&app.http_base, 25.0, 0.0).await;
    let received = smtp.received();
    assert_eq!(by_message_id(&received).len(), 25, "{received:#?}");
    assert_eq!(
        to_of(&received, "Invitation: Integration of MSMEs within the MTS: follow-up"),
        Vec::from_iter(addresses.clone())
    );
    // ListInvites: the participant messages, about no slot, sent.
    let mut invites = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let listed = invites
        .list_invites(pb::ListInvitesRequest { session_id: ID.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(listed.len(), 25);
    assert!(listed.iter().all(|e| {
        let m = e.message.as_ref().unwrap();
        m.slot_id.is_empty() && m.method == pb::InviteMethod::Request as i32 && e.state == pb::InviteState::Sent as i32
    }));

    // Three answers by mail, as Outlook (accepts), Google (tentative) and Apple (declines) write them.
    let answers = [
        ("sherry-stephenson", "Sherry Stephenson", "sherry.stephenson@example.org", OUTLOOK, "ACCEPTED"),
        ("laura-gauer", "Laura Gauer", "laura.gauer@example.org", GOOGLE, "TENTATIVE"),
        ("hosuk-lee-makiyama", "Hosuk Lee-Makiyama", "hosuk.lee-makiyama@example.org", APPLE, "DECLINED"),
    ];
    for (i, (_, name, address, client, partstat)) in answers.iter().enumerate() {
        let ics = reply(client, name, address, partstat, 0);
        let encoding = if i == 1 { Encoding::QuotedPrintable } else { Encoding::Base64 };
        imap.deliver("INBOX", &reply_email(&format!("<answer-{i}@example.org>"), address, &ics, encoding)).await;
    }
    eventually("the three answers applied and filed", || async {
        (imap.messages(APPLIED).await.len() == 3).then_some(())
    })
    .await;
    let all = statuses(&app).await;
    assert_eq!(status_of(&all, "sherry-stephenson"), pb::ParticipationStatus::Accepted);
    assert_eq!(status_of(&all, "laura-gauer"), pb::ParticipationStatus::Tentative);
    assert_eq!(status_of(&all, "hosuk-lee-makiyama"), pb::ParticipationStatus::Declined);
    assert_eq!(all.iter().filter(|(_, s)| *s == pb::ParticipationStatus::NeedsAction).count(), 22);

    // The page: those who accepted under their groups, the tentative one marked; nobody else.
    let html = app.get(&format!("/sessions/{ID}")).await.text().await.unwrap();
    let confirmed = section(&html, "<h2>Confirmed participants (2)</h2>", "<h2>");
    let fmg = section(confirmed, "<h3>FMG (1)</h3>", "</ul>");
    assert!(fmg.contains("/people/sherry-stephenson") && !fmg.contains("tentative"), "{fmg}");
    let missions = section(confirmed, "<h3>WTO Missions (1)</h3>", "</ul>");
    assert!(missions.contains("/people/laura-gauer") && missions.contains("(tentative)"), "{missions}");
    assert!(!confirmed.contains("Think Tanks") && !html.contains("hosuk-lee-makiyama"), "declined: not public");
    assert!(!html.contains("petter-olberg"), "unanswered: not public");
    // The one who accepted has the session in their feed.
    assert!(app.feed("/feeds/people/sherry-stephenson.ics").await.contains(&format!("UID:{UID}")));
    assert!(!app.feed("/feeds/people/laura-gauer.ics").await.contains(&format!("UID:{UID}")));

    // The session moves: 25 updates, every answer back to NEEDS-ACTION.
    let moved = pb::Session {
        id: ID.into(),
        start_time: Some(crate::helpers::ts("2030-11-14T15:00:00Z")),
        end_time: Some(crate::helpers::ts("2030-11-14T16:30:00Z")),
        ..Default::default()
    };
    let mask = FieldMask { paths: vec!["start_time".into(), "end_time".into()] };
    let req = pb::UpdateSessionRequest { session: Some(moved), update_mask: Some(mask), ..Default::default() };
    app.sessions.clone().update_session(req).await.unwrap();
    settled(&app.http_base, 50.0, 0.0).await;
    let received = smtp.received();
    assert_eq!(by_message_id(&received).len(), 50);
    assert_eq!(to_of(&received, "Updated invitation: "), Vec::from_iter(addresses.clone()));
    assert!(statuses(&app).await.iter().all(|(_, s)| *s == pb::ParticipationStatus::NeedsAction));

    // Refused, nothing changed: an answer to the old version, from someone not invited, or
    // about another session (the demo, which invites nobody).
    let etag = app.session(ID).await.etag;
    let apply = |ics: String| {
        let mut c = invites.clone();
        async move { c.apply_reply(pb::ApplyReplyRequest { ics }).await }
    };
    let stale = apply(reply(OUTLOOK, "Sherry Stephenson", "sherry.stephenson@example.org", "ACCEPTED", 0)).await;
    assert_eq!(stale.as_ref().map_err(|e| e.code()).err(), Some(Code::FailedPrecondition));
    assert_eq!(reason(stale), "STALE_REPLY");
    let stranger = apply(reply(GOOGLE, "Someone", "someone@example.org", "ACCEPTED", 1)).await;
    assert_eq!(reason(stranger), "NOT_AN_ATTENDEE");
    let demo_uid = format!("session.{DEMO}@agenda.invalid");
    let other =
        apply(reply(APPLE, "Petter Ølberg", "petter.olberg@example.org", "ACCEPTED", 0).replace(UID, &demo_uid)).await;
    assert_eq!(reason(other), "NOT_AN_ATTENDEE");
    assert_eq!(app.session(ID).await.etag, etag, "a refused reply changes nothing");
    // The new version answered: accepted again.
    let again = apply(reply(OUTLOOK, "Sherry Stephenson", "sherry.stephenson@example.org", "ACCEPTED", 1))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.slot_id.as_str(), again.person_id.as_str()), ("", "sherry-stephenson"));
    assert_eq!(status_of(&statuses(&app).await, "sherry-stephenson"), pb::ParticipationStatus::Accepted);

    // A participant taken off the list: one CANCEL.
    let remove =
        pb::RemoveParticipantRequest { session_id: ID.into(), person_id: "petter-olberg".into(), ..Default::default() };
    app.sessions.clone().remove_participant(remove).await.unwrap();
    settled(&app.http_base, 51.0, 0.0).await;
    assert_eq!(to_of(&smtp.received(), "Cancelled: "), ["petter.olberg@example.org"]);

    // The session cancelled: a CANCEL to everyone invited (the one removed has theirs).
    let cancelled = pb::Session { id: ID.into(), status: pb::SessionStatus::Cancelled as i32, ..Default::default() };
    let mask = FieldMask { paths: vec!["status".into()] };
    let req = pb::UpdateSessionRequest { session: Some(cancelled), update_mask: Some(mask), ..Default::default() };
    app.sessions.clone().update_session(req).await.unwrap();
    settled(&app.http_base, 75.0, 0.0).await;
    let received = smtp.received();
    assert_eq!(by_message_id(&received).len(), 75, "each message once");
    assert_eq!(to_of(&received, "Cancelled: "), Vec::from_iter(addresses));
    app.stop().await;
}

/// A session inviting two of the seed's participants (Low moderates the demo; Stephenson takes
/// part), nothing sent: the messages CreateInvite renders.
async fn previewed(app: &TestApp, person: &str) -> pb::Invite {
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest { session_id: ID.into(), person_id: person.into(), ..Default::default() };
    let mut invites = c.create_invite(req).await.unwrap().into_inner().invites;
    assert_eq!(invites.len(), 1, "one message: the participant invite");
    invites.remove(0)
}

#[tokio::test]
async fn ical_js_and_python_icalendar_read_the_participant_request_and_cancel() {
    let app = spawn_demo_app().await;
    let participants: Vec<pb::Participant> = seed_participants(&app)
        .await
        .into_iter()
        .filter(|p| ["patrick-low", "sherry-stephenson"].contains(&p.person_id.as_str()))
        .collect();
    app.create(ID, follow_up(participants)).await;

    let request = previewed(&app, "sherry-stephenson").await;
    let m = request.message.as_ref().unwrap();
    assert_eq!((m.slot_id.as_str(), m.method, request.uid.as_str()), ("", pb::InviteMethod::Request as i32, UID));
    let ics = String::from_utf8(request.ics.clone()).unwrap();
    assert!(ics.contains("METHOD:REQUEST\r\n"));
    let (py, events) = parse_both(&ics);
    assert_eq!(
        events,
        [(UID.into(), "2030-11-14T14:00:00Z".into(), "2030-11-14T15:30:00Z".into(), 0, "CONFIRMED".into())]
    );
    let e = &py["events"][0];
    assert_eq!(e["organizer"], "mailto:fmg@example.org");
    assert_eq!(e["url"], "https://meet.example.org/fmg-msme-follow-up");
    assert!(e["description"].as_str().unwrap().starts_with("A year on"));
    let attendees = e["attendees"].as_array().unwrap();
    assert_eq!(attendees.len(), 1, "the participant alone: the others' addresses are theirs");
    let a = &attendees[0];
    assert_eq!(
        (a["value"].as_str(), a["role"].as_str(), a["partstat"].as_str(), a["rsvp"].as_bool(), a["cn"].as_str()),
        (
            Some("mailto:sherry.stephenson@example.org"),
            Some("REQ-PARTICIPANT"),
            Some("NEEDS-ACTION"),
            Some(true),
            Some("Sherry Stephenson")
        )
    );
    // The moderator chairs.
    let (py, _) = parse_both(std::str::from_utf8(&previewed(&app, "patrick-low").await.ics).unwrap());
    assert_eq!(py["events"][0]["attendees"][0]["role"], "CHAIR");
    // The feed's event of the session has the same UID: one event in a calendar holding both.
    assert!(app.feed(&format!("/feeds/sessions/{ID}.ics")).await.contains(&format!("UID:{UID}\r\n")));

    // Taken off the list, before anything was sent: nothing to cancel. Marked sent, then
    // removed: the CANCEL, one step past the REQUEST.
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    c.mark_invites_sent(pb::MarkInvitesSentRequest { invites: vec![m.clone()] }).await.unwrap();
    let remove = pb::RemoveParticipantRequest {
        session_id: ID.into(),
        person_id: "sherry-stephenson".into(),
        ..Default::default()
    };
    app.sessions.clone().remove_participant(remove).await.unwrap();
    let cancel = previewed(&app, "sherry-stephenson").await;
    let ics = String::from_utf8(cancel.ics).unwrap();
    assert!(ics.contains("METHOD:CANCEL\r\n"));
    let (py, events) = parse_both(&ics);
    assert_eq!(events[0].0, UID);
    assert_eq!((events[0].3, events[0].4.as_str()), (1, "CANCELLED"));
    let a = &py["events"][0]["attendees"][0];
    assert_eq!((a["role"].as_str(), a["rsvp"].as_bool()), (Some("REQ-PARTICIPANT"), Some(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_without_an_address_is_invited_once_one_is_added() {
    let smtp = Mailbox::start(0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |c| {
        c.smtp.url = Some(smtp.url());
        c.smtp.retry_max_seconds = 1;
        c.smtp.rate_per_second = 0;
    })
    .await;
    let guest = pb::CreatePersonRequest {
        person_id: "guest".into(),
        person: Some(pb::Person { name: "A Guest".into(), ..Default::default() }),
        ..Default::default()
    };
    app.people.clone().create_person(guest).await.unwrap();
    let participant = |id: &str| pb::Participant {
        person_id: id.into(),
        role: pb::ParticipantRole::Participant as i32,
        group: "Guests".into(),
        ..Default::default()
    };
    app.person("host", "The Host").await;
    app.create(ID, follow_up(vec![participant("host"), participant("guest")])).await;
    settled(&app.http_base, 1.0, 0.0).await;
    assert_eq!(crate::delivery::metric(&app.http_base, "agenda_outbox_blocked").await, 1.0, "no address: blocked");

    // The address added: the sender looks at the sessions inviting them, and sends.
    let person = pb::Person { id: "guest".into(), email: "guest@example.org".into(), ..Default::default() };
    let req = pb::UpdatePersonRequest { person: Some(person), update_mask: None };
    app.people.clone().update_person(req).await.unwrap();
    settled(&app.http_base, 2.0, 0.0).await;
    assert_eq!(to_of(&smtp.received(), "Invitation: "), ["guest@example.org", "host@example.org"]);
    app.stop().await;
}
