//! Speaker invites end to end over gRPC: REQUEST, CANCEL and REPLY, read back by two
//! calendar parsers and Python's MIME parser; the outbox and the README's mail loop.

use agenda::pb::{self, invite_service_client::InviteServiceClient};
use prost_types::FieldMask;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{Rng, TestApp, failure, reason, session, slot, spawn_demo_app, ts};
use crate::interop::{mime, parse_both};

const ID: &str = "msme-follow-up";

/// A new session with the seed's programme: Low moderates, Cancela, Lundquist and Rollo speak.
async fn follow_up(app: &TestApp) -> pb::Session {
    let speaker = |id: &str, who: &str, start: &str, end: &str| pb::Slot {
        speaker_ids: vec![who.into()],
        moderator_ids: vec!["patrick-low".into()],
        kind: pb::SlotKind::Presentation as i32,
        ..slot(id, &format!("Presentation by {who}"), start, end)
    };
    let mut s = session("MSMEs in the MTS: follow-up", "2037-12-03T14:00:00Z", "2037-12-03T15:30:00Z");
    s.join_url = "https://meet.example.org/fmg-msme".into();
    s.slots = vec![
        speaker("cancela", "jose-luis-cancela", "2037-12-03T14:05:00Z", "2037-12-03T14:15:00Z"),
        speaker("lundquist", "kathryn-lundquist", "2037-12-03T14:15:00Z", "2037-12-03T14:25:00Z"),
        speaker("rollo", "valentina-rollo", "2037-12-03T14:25:00Z", "2037-12-03T14:35:00Z"),
    ];
    app.create(ID, s).await
}

async fn client(app: &TestApp) -> InviteServiceClient<Channel> {
    InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap()
}

fn pending_of(r: pb::ListPendingInvitesResponse) -> Vec<String> {
    let method = |m: i32| if m == pb::InviteMethod::Cancel as i32 { "CANCEL" } else { "REQUEST" };
    let mut v: Vec<String> = r
        .invites
        .iter()
        .map(|m| format!("{} {} {} {}", method(m.method), m.slot_id, m.person_id, m.sequence))
        .collect();
    v.sort();
    v
}

async fn pending(c: &mut InviteServiceClient<Channel>) -> Vec<String> {
    pending_of(
        c.list_pending_invites(pb::ListPendingInvitesRequest { session_id: ID.into() }).await.unwrap().into_inner(),
    )
}

async fn invite(c: &mut InviteServiceClient<Channel>, person: &str) -> Vec<pb::Invite> {
    let req = pb::CreateInviteRequest { session_id: ID.into(), person_id: person.into(), ..Default::default() };
    c.create_invite(req).await.unwrap().into_inner().invites
}

async fn mark_all(c: &mut InviteServiceClient<Channel>) {
    let all = c.list_pending_invites(pb::ListPendingInvitesRequest { session_id: ID.into() }).await.unwrap();
    c.mark_invites_sent(pb::MarkInvitesSentRequest { invites: all.into_inner().invites }).await.unwrap();
}

/// A reply as a calendar client writes one: the REQUEST turned into METHOD:REPLY with only the
/// answering attendee and their PARTSTAT.
pub(crate) fn reply_to(invite: &pb::Invite, address: &str, partstat: &str) -> String {
    let ics = String::from_utf8(invite.ics.clone()).unwrap().replace("\r\n ", "");
    let mut out = String::new();
    for line in ics.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with("ATTENDEE") {
            if line.to_lowercase().ends_with(&format!("mailto:{address}")) {
                out.push_str(&format!(
                    "ATTENDEE;PARTSTAT={partstat};CN=Answering:mailto:{}\r\n",
                    address.to_uppercase()
                ));
            }
            continue;
        }
        let line = if line == "METHOD:REQUEST" { "METHOD:REPLY" } else { line };
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// The answer GetSession shows for `person` on `slot`.
fn answer(s: &pb::Session, slot: &str, person: &str) -> pb::ParticipationStatus {
    let slot = s.slots.iter().find(|sl| sl.id == slot).unwrap();
    let a = slot.answers.iter().find(|a| a.person_id == person).unwrap();
    pb::ParticipationStatus::try_from(a.status).unwrap()
}

fn name(m: &pb::InviteMessage) -> String {
    let method = if m.method == pb::InviteMethod::Cancel as i32 { "CANCEL" } else { "REQUEST" };
    format!("{method} {} {} {}", m.slot_id, m.person_id, m.sequence)
}

/// One round of the README's mail loop: take the first page of pending messages with their
/// e-mails, send each (here: keep its Message-ID), mark it sent, until none is pending.
/// Returns the messages sent.
async fn mail_round(c: &mut InviteServiceClient<Channel>) -> Vec<String> {
    let mut sent = Vec::new();
    let mut message_ids = std::collections::BTreeSet::new();
    loop {
        let page = c
            .list_invites(pb::ListInvitesRequest {
                states: vec![pb::InviteState::Pending as i32],
                view: pb::InviteView::Full as i32,
                page_size: 2,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if page.entries.is_empty() {
            break;
        }
        for e in page.entries {
            let invite = e.invite.expect("view FULL renders the message");
            assert!(message_ids.insert(invite.message_id.clone()), "sent twice: {}", invite.message_id);
            let message = e.message.unwrap();
            sent.push(name(&message));
            c.mark_invites_sent(pb::MarkInvitesSentRequest { invites: vec![message] }).await.unwrap();
        }
    }
    sent.sort();
    sent
}

async fn entries(c: &mut InviteServiceClient<Channel>, session: &str) -> Vec<pb::OutboxEntry> {
    let req = pb::ListInvitesRequest { session_id: session.into(), ..Default::default() };
    c.list_invites(req).await.unwrap().into_inner().entries
}

fn move_slot(id: &str, start: &str, end: &str) -> pb::UpdateSlotRequest {
    pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot {
            id: id.into(),
            start_time: Some(ts(start)),
            end_time: Some(ts(end)),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_readme_mail_loop_sends_each_message_once_and_a_moved_slot_once_more() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    // The demo's own session has ended: only the coming one has messages to send.
    assert_eq!(
        mail_round(&mut c).await,
        [
            "REQUEST cancela jose-luis-cancela 0",
            "REQUEST cancela patrick-low 0",
            "REQUEST lundquist kathryn-lundquist 0",
            "REQUEST lundquist patrick-low 0",
            "REQUEST rollo patrick-low 0",
            "REQUEST rollo valentina-rollo 0",
        ]
    );
    assert_eq!(mail_round(&mut c).await, Vec::<String>::new(), "nothing is sent twice");

    app.sessions.clone().update_slot(move_slot("rollo", "2037-12-03T14:40:00Z", "2037-12-03T14:50:00Z")).await.unwrap();
    assert_eq!(
        mail_round(&mut c).await,
        ["REQUEST rollo patrick-low 1", "REQUEST rollo valentina-rollo 1"],
        "a moved slot: one update to each of its people, nothing else"
    );
    assert_eq!(mail_round(&mut c).await, Vec::<String>::new());
    let states: Vec<i32> = entries(&mut c, ID).await.iter().map(|e| e.state).collect();
    assert_eq!(states, [pb::InviteState::Sent as i32; 6]);
}

#[tokio::test]
async fn the_outbox_pages_and_create_invite_pages() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let req = pb::ListInvitesRequest { page_size: 4, page_token: token.clone(), ..Default::default() };
        let page = c.list_invites(req).await.unwrap().into_inner();
        assert!(page.entries.len() <= 4);
        assert!(page.entries.iter().all(|e| e.invite.is_none()), "view BASIC renders nothing");
        seen.extend(page.entries.iter().map(|e| name(e.message.as_ref().unwrap())));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<std::collections::BTreeSet<_>>().len(), 6, "no entry twice: {seen:?}");
    let other_filter = pb::ListInvitesRequest {
        states: vec![pb::InviteState::Sent as i32],
        page_token: c
            .list_invites(pb::ListInvitesRequest { page_size: 1, ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .next_page_token,
        ..Default::default()
    };
    assert_eq!(failure(c.list_invites(other_filter).await), (Code::InvalidArgument, vec!["page_token".into()]));

    // The moderator of three slots, two at a time.
    let req = |token: String| pb::CreateInviteRequest {
        session_id: ID.into(),
        person_id: "patrick-low".into(),
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let first = c.create_invite(req(String::new())).await.unwrap().into_inner();
    assert_eq!(first.invites.len(), 2);
    let second = c.create_invite(req(first.next_page_token)).await.unwrap().into_inner();
    assert_eq!((second.invites.len(), second.next_page_token.as_str()), (1, ""));
    let slots: Vec<String> =
        first.invites.iter().chain(&second.invites).map(|i| i.message.as_ref().unwrap().slot_id.clone()).collect();
    assert_eq!(slots, ["cancela", "lundquist", "rollo"]);
}

#[tokio::test]
async fn a_person_without_an_address_is_blocked_not_pending_and_a_failure_keeps_its_reason() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    mail_round(&mut c).await;
    let nameless = pb::CreatePersonRequest {
        person_id: "no-mail".into(),
        person: Some(pb::Person { name: "No Mail".into(), ..Default::default() }),
        ..Default::default()
    };
    app.people.clone().create_person(nameless).await.unwrap();
    let add = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot {
            id: "lundquist".into(),
            speaker_ids: vec!["kathryn-lundquist".into(), "no-mail".into()],
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["speaker_ids".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(add).await.unwrap();
    // The two people with an address get their update; the one without is blocked, and says why.
    assert_eq!(mail_round(&mut c).await, ["REQUEST lundquist kathryn-lundquist 1", "REQUEST lundquist patrick-low 1"]);
    assert_eq!(pending(&mut c).await, Vec::<String>::new());
    let blocked: Vec<pb::OutboxEntry> =
        entries(&mut c, ID).await.into_iter().filter(|e| e.state == pb::InviteState::Blocked as i32).collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].message.as_ref().unwrap().person_id, "no-mail");
    assert!(blocked[0].reason.contains("no e-mail address"), "{}", blocked[0].reason);

    // Given an address, they are pending; a 5xx from the mail server leaves the reason.
    let email = pb::UpdatePersonRequest {
        person: Some(pb::Person { id: "no-mail".into(), email: "no.mail@example.org".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    app.people.clone().update_person(email).await.unwrap();
    let due = pending(&mut c).await;
    assert_eq!(due, ["REQUEST lundquist no-mail 1"]);
    let message = pb::InviteMessage {
        session_id: ID.into(),
        slot_id: "lundquist".into(),
        person_id: "no-mail".into(),
        method: pb::InviteMethod::Request as i32,
        sequence: 1,
    };
    let failed = pb::InviteFailure { invite: Some(message.clone()), reason: "550 5.1.1 mailbox unavailable".into() };
    c.mark_invites_failed(pb::MarkInvitesFailedRequest { failures: vec![failed.clone()] }).await.unwrap();
    c.mark_invites_failed(pb::MarkInvitesFailedRequest { failures: vec![failed] }).await.unwrap();
    assert_eq!(mail_round(&mut c).await, Vec::<String>::new(), "a failed message is not retried by itself");
    let req = pb::ListInvitesRequest {
        session_id: ID.into(),
        states: vec![pb::InviteState::Failed as i32],
        ..Default::default()
    };
    let failed = c.list_invites(req).await.unwrap().into_inner().entries;
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].reason.as_str(), failed[0].state_time.is_some()), ("550 5.1.1 mailbox unavailable", true));
    // Sent after all (by hand): marked sent, the failure is gone.
    c.mark_invites_sent(pb::MarkInvitesSentRequest { invites: vec![message] }).await.unwrap();
    let states: Vec<i32> = entries(&mut c, ID).await.iter().map(|e| e.state).collect();
    assert!(states.iter().all(|s| *s == pb::InviteState::Sent as i32), "{states:?}");
}

#[tokio::test]
async fn a_session_that_has_ended_gets_no_new_messages() {
    let app = spawn_demo_app().await;
    let mut past = session("Last year's follow-up", "2020-12-03T14:00:00Z", "2020-12-03T15:00:00Z");
    past.slots = vec![pb::Slot {
        speaker_ids: vec!["valentina-rollo".into()],
        ..slot("talk", "A talk", "2020-12-03T14:00:00Z", "2020-12-03T14:30:00Z")
    }];
    app.create("past", past).await;
    let mut c = client(&app).await;
    assert_eq!(entries(&mut c, "past").await, []);
    let r = c.list_pending_invites(pb::ListPendingInvitesRequest { session_id: "past".into() }).await.unwrap();
    assert_eq!(pending_of(r.into_inner()), Vec::<String>::new());
    assert_eq!(mail_round(&mut c).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_moderator_taken_off_a_slot_is_cancelled_as_chair_without_a_reply_asked() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    mail_round(&mut c).await;
    let off = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot { id: "rollo".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["moderator_ids".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(off).await.unwrap();
    assert_eq!(mail_round(&mut c).await, ["CANCEL rollo patrick-low 1", "REQUEST rollo valentina-rollo 1"]);
    let req = pb::CreateInviteRequest {
        session_id: ID.into(),
        person_id: "patrick-low".into(),
        slot_id: "rollo".into(),
        ..Default::default()
    };
    let cancel = c.create_invite(req).await.unwrap().into_inner().invites.remove(0);
    let ics = String::from_utf8(cancel.ics).unwrap();
    assert!(ics.contains("METHOD:CANCEL\r\n"));
    let (py, _) = parse_both(&ics);
    let attendees = py["events"][0]["attendees"].as_array().unwrap().clone();
    assert_eq!(attendees.len(), 1);
    assert_eq!(
        (attendees[0]["value"].as_str(), attendees[0]["role"].as_str(), attendees[0]["rsvp"].as_bool()),
        (Some("mailto:patrick.low@example.org"), Some("CHAIR"), Some(false))
    );
}

#[tokio::test]
async fn an_answer_is_kept_on_its_slot_only() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    let participants_before = app.session(ID).await.participants;
    // The moderator of all three slots declines one of them.
    let invites = invite(&mut c, "patrick-low").await;
    let cancela = invites.iter().find(|i| i.message.as_ref().unwrap().slot_id == "cancela").unwrap();
    c.apply_reply(pb::ApplyReplyRequest { ics: reply_to(cancela, "patrick.low@example.org", "DECLINED") })
        .await
        .unwrap();
    let s = app.session(ID).await;
    assert_eq!(answer(&s, "cancela", "patrick-low"), pb::ParticipationStatus::Declined);
    assert_eq!(answer(&s, "lundquist", "patrick-low"), pb::ParticipationStatus::NeedsAction);
    assert_eq!(answer(&s, "cancela", "jose-luis-cancela"), pb::ParticipationStatus::NeedsAction);
    assert_eq!(s.participants, participants_before, "the participant list is the organizer's");

    // Co-speakers' REQUESTs carry the answer of their own slot.
    let partstat = |invite: &pb::Invite| {
        let (py, _) = parse_both(std::str::from_utf8(&invite.ics).unwrap());
        let attendees = py["events"][0]["attendees"].as_array().unwrap().clone();
        let chair = attendees.iter().find(|a| a["value"] == "mailto:patrick.low@example.org").unwrap();
        chair["partstat"].as_str().unwrap().to_owned()
    };
    assert_eq!(partstat(&invite(&mut c, "jose-luis-cancela").await[0]), "DECLINED");
    assert_eq!(partstat(&invite(&mut c, "kathryn-lundquist").await[0]), "NEEDS-ACTION");

    // The slot moves: the answer was to the old version, so it asks again.
    app.sessions
        .clone()
        .update_slot(move_slot("cancela", "2037-12-03T14:00:00Z", "2037-12-03T14:05:00Z"))
        .await
        .unwrap();
    assert_eq!(answer(&app.session(ID).await, "cancela", "patrick-low"), pb::ParticipationStatus::NeedsAction);
}

#[tokio::test]
async fn request_cancel_and_reply_flow_end_to_end() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;

    // Everyone on the agenda is pending until marked sent.
    assert_eq!(
        pending(&mut c).await,
        [
            "REQUEST cancela jose-luis-cancela 0",
            "REQUEST cancela patrick-low 0",
            "REQUEST lundquist kathryn-lundquist 0",
            "REQUEST lundquist patrick-low 0",
            "REQUEST rollo patrick-low 0",
            "REQUEST rollo valentina-rollo 0",
        ]
    );

    // The REQUEST, as calendars and mail clients read it.
    let rollo = invite(&mut c, "valentina-rollo").await;
    assert_eq!(rollo.len(), 1);
    let req = &rollo[0];
    let ics = String::from_utf8(req.ics.clone()).unwrap();
    assert!(ics.contains("METHOD:REQUEST\r\n"));
    let (py, events) = parse_both(&ics);
    assert_eq!(
        events,
        [(
            format!("slot.{ID}.rollo@agenda.invalid"),
            "2037-12-03T14:25:00Z".into(),
            "2037-12-03T14:35:00Z".into(),
            0,
            "CONFIRMED".into()
        )]
    );
    assert_eq!(req.uid, events[0].0);
    let feed = app.feed(&format!("/feeds/sessions/{ID}.ics")).await;
    assert!(feed.contains(&format!("UID:{}", req.uid)), "the invite and the feed share the UID");
    let e = &py["events"][0];
    assert_eq!(e["organizer"], "mailto:fmg@example.org");
    let attendees = e["attendees"].as_array().unwrap();
    let find = |addr: &str| attendees.iter().find(|a| a["value"] == format!("mailto:{addr}")).unwrap().clone();
    let chair = find("patrick.low@example.org");
    assert_eq!((chair["role"].as_str(), chair["cn"].as_str()), (Some("CHAIR"), Some("Patrick Low")));
    let speaker = find("valentina.rollo@example.org");
    assert_eq!(
        (speaker["role"].as_str(), speaker["partstat"].as_str(), speaker["rsvp"].as_bool()),
        (Some("REQ-PARTICIPANT"), Some("NEEDS-ACTION"), Some(true))
    );
    assert!(e["description"].as_str().unwrap().contains("Join: https://meet.example.org/fmg-msme"));

    let mail = mime(&req.email);
    assert_eq!(mail["to"], "Valentina Rollo <valentina.rollo@example.org>");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .starts_with("Invitation: Presentation by valentina-rollo — MSMEs in the MTS: follow-up")
    );
    assert_eq!(mail["calendar"]["method"], "REQUEST", "method= equals the METHOD inside");
    assert_eq!(mail["calendar"]["text"].as_str().unwrap(), ics);
    assert_eq!(
        mail["tree"],
        serde_json::json!([
            "multipart/mixed",
            [["multipart/alternative", [["text/plain", []], ["text/calendar", []]]], ["application/ics", []]]
        ])
    );
    assert!(
        mail["text_plain"]
            .as_str()
            .unwrap()
            .contains("Thursday, 3 December 2037, 15:25–15:35 CET (UTC+01:00), Europe/Zurich")
    );
    assert_eq!(mail["attachments"][0]["text"].as_str().unwrap(), ics);
    assert_eq!(mail["message_id"], format!("<{}>", req.message_id));

    mark_all(&mut c).await;
    assert!(pending(&mut c).await.is_empty(), "marked sent: nothing pending");

    // Moving a slot: its speaker and moderator need a new REQUEST, same UID, higher SEQUENCE.
    let moved = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot {
            id: "rollo".into(),
            start_time: Some(ts("2037-12-03T14:40:00Z")),
            end_time: Some(ts("2037-12-03T14:50:00Z")),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(moved).await.unwrap();
    assert_eq!(pending(&mut c).await, ["REQUEST rollo patrick-low 1", "REQUEST rollo valentina-rollo 1"]);
    let update = invite(&mut c, "valentina-rollo").await.remove(0);
    assert_eq!(update.uid, req.uid);
    let (_, events) = parse_both(std::str::from_utf8(&update.ics).unwrap());
    assert_eq!((events[0].1.as_str(), events[0].3), ("2037-12-03T14:40:00Z", 1));
    assert!(mime(&update.email)["subject"].as_str().unwrap().starts_with("Updated invitation:"));

    // Taking a speaker off her slot: she gets a CANCEL with a higher SEQUENCE.
    let off = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot { id: "lundquist".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["speaker_ids".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(off).await.unwrap();
    let pending_now = pending(&mut c).await;
    assert!(pending_now.contains(&"CANCEL lundquist kathryn-lundquist 1".to_owned()), "{pending_now:?}");
    let cancel = invite(&mut c, "kathryn-lundquist").await.remove(0);
    let cancel_ics = String::from_utf8(cancel.ics.clone()).unwrap();
    assert!(cancel_ics.contains("METHOD:CANCEL\r\n"));
    let (py, events) = parse_both(&cancel_ics);
    assert_eq!(
        (events[0].0.as_str(), events[0].3, events[0].4.as_str()),
        (format!("slot.{ID}.lundquist@agenda.invalid").as_str(), 1, "CANCELLED")
    );
    assert_eq!(py["events"][0]["attendees"].as_array().unwrap().len(), 1, "a CANCEL goes to the removed attendee only");
    assert_eq!(mime(&cancel.email)["calendar"]["method"], "CANCEL");

    // Replies from the speakers' calendars update their participation status.
    let cancela = invite(&mut c, "jose-luis-cancela").await.remove(0);
    let accepted = c
        .apply_reply(pb::ApplyReplyRequest { ics: reply_to(&cancela, "jose.cancela@example.org", "ACCEPTED") })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (accepted.person_id.as_str(), accepted.status),
        ("jose-luis-cancela", pb::ParticipationStatus::Accepted as i32)
    );
    let declined = c
        .apply_reply(pb::ApplyReplyRequest { ics: reply_to(&update, "valentina.rollo@example.org", "DECLINED") })
        .await
        .unwrap();
    assert_eq!(declined.into_inner().status, pb::ParticipationStatus::Declined as i32);
    let s = app.session(ID).await;
    assert_eq!(answer(&s, "cancela", "jose-luis-cancela"), pb::ParticipationStatus::Accepted);
    assert_eq!(answer(&s, "rollo", "valentina-rollo"), pb::ParticipationStatus::Declined);

    // Error cases: each a clear code, nothing changed.
    let before = app.session(ID).await;
    let stale =
        c.apply_reply(pb::ApplyReplyRequest { ics: reply_to(req, "valentina.rollo@example.org", "ACCEPTED") }).await;
    assert_eq!(reason(stale), "STALE_REPLY", "a reply to SEQUENCE 0 after the move to 1");
    let stranger = reply_to(&cancela, "jose.cancela@example.org", "ACCEPTED")
        .replace("JOSE.CANCELA@EXAMPLE.ORG", "someone@example.org");
    let r = c.apply_reply(pb::ApplyReplyRequest { ics: stranger }).await;
    assert_eq!((failure(r).0), Code::FailedPrecondition);
    let unknown = reply_to(&cancela, "jose.cancela@example.org", "ACCEPTED")
        .replace(&format!("slot.{ID}.cancela@"), "slot.other-session.x@");
    assert_eq!(failure(c.apply_reply(pb::ApplyReplyRequest { ics: unknown }).await).0, Code::NotFound);
    let request_again = String::from_utf8(cancela.ics.clone()).unwrap();
    assert_eq!(
        failure(c.apply_reply(pb::ApplyReplyRequest { ics: request_again }).await),
        (Code::InvalidArgument, vec!["ics".into()])
    );
    assert_eq!(app.session(ID).await, before);

    // Someone without an e-mail cannot be invited.
    let nameless = pb::CreatePersonRequest {
        person_id: "no-mail".into(),
        person: Some(pb::Person { name: "No Mail".into(), ..Default::default() }),
        ..Default::default()
    };
    app.people.clone().create_person(nameless).await.unwrap();
    let add = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot { id: "lundquist".into(), speaker_ids: vec!["no-mail".into()], ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["speaker_ids".into()] }),
        etag: String::new(),
        ..Default::default()
    };
    app.sessions.clone().update_slot(add).await.unwrap();
    let r = c
        .create_invite(pb::CreateInviteRequest {
            session_id: ID.into(),
            person_id: "no-mail".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(reason(r), "PERSON_HAS_NO_EMAIL");
    let r = c
        .create_invite(pb::CreateInviteRequest {
            session_id: ID.into(),
            person_id: "petter-olberg".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(reason(r), "NOT_ON_AGENDA");
}

#[tokio::test]
async fn cancelling_the_session_cancels_every_invite_sent() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    mark_all(&mut c).await;
    let cancel = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: ID.into(), status: pb::SessionStatus::Cancelled as i32, ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["status".into()] }),
        ..Default::default()
    };
    app.sessions.clone().update_session(cancel).await.unwrap();
    let all = pending(&mut c).await;
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|p| p.starts_with("CANCEL ") && p.ends_with(" 1")), "{all:?}");
    let (_, events) = parse_both(std::str::from_utf8(&invite(&mut c, "patrick-low").await[0].ics).unwrap());
    assert_eq!(events[0].4, "CANCELLED");
}

#[tokio::test]
async fn thousands_of_malformed_replies_are_refused_and_change_nothing() {
    let app = spawn_demo_app().await;
    follow_up(&app).await;
    let mut c = client(&app).await;
    let base = invite(&mut c, "jose-luis-cancela").await.remove(0);
    // From an address that is no attendee's: even a mutation that parses must be refused.
    let valid = reply_to(&base, "jose.cancela@example.org", "ACCEPTED")
        .replace("JOSE.CANCELA@EXAMPLE.ORG", "nobody@example.org")
        .into_bytes();
    let before = app.session(ID).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0xff; 100],
        b"BEGIN:VCALENDAR\r\n".repeat(10_000),
        b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n".to_vec(),
        [b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nX:".to_vec(), vec![b'a'; 300_000]].concat(),
        String::from_utf8(valid.clone()).unwrap().replace("METHOD:REPLY", "METHOD:COUNTER").into_bytes(),
    ];
    for _ in 0..3000 {
        let mut m = valid.clone();
        match rng.below(5) {
            0 => m.truncate(rng.below(m.len() as u64) as usize),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(m.len() as u64) as usize;
                    m[i] = rng.next() as u8;
                }
            }
            2 => {
                let i = rng.below(m.len() as u64) as usize;
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                m.splice(i..i, junk);
            }
            3 => {
                let i = rng.below(m.len() as u64) as usize;
                let nest = b"BEGIN:VEVENT\r\n".repeat(rng.below(40) as usize);
                m.splice(i..i, nest);
            }
            _ => {
                let i = rng.below(m.len() as u64) as usize;
                let j = i + rng.below((m.len() - i) as u64) as usize;
                m.drain(i..j);
            }
        }
        inputs.push(m);
    }
    let mut codes = std::collections::BTreeMap::new();
    for input in inputs {
        // The field is text: a mutation that broke UTF-8 arrives with replacement characters.
        let ics = String::from_utf8_lossy(&input).into_owned();
        let status = c.apply_reply(pb::ApplyReplyRequest { ics }).await.expect_err("every input is refused");
        assert!(
            matches!(status.code(), Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition),
            "{status:?}"
        );
        *codes.entry(format!("{:?}", status.code())).or_insert(0) += 1;
    }
    assert!(codes.len() >= 2, "the inputs reach more than one check: {codes:?}");
    assert_eq!(app.session(ID).await, before);
}
