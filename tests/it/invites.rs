//! Speaker invites end to end over gRPC: REQUEST, CANCEL and REPLY, read back by two
//! calendar parsers and Python's MIME parser.

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
    let mut s = session("MSMEs in the MTS: follow-up", "2026-12-03T14:00:00Z", "2026-12-03T15:30:00Z");
    s.join_url = "https://meet.example.org/fmg-msme".into();
    s.slots = vec![
        speaker("cancela", "jose-luis-cancela", "2026-12-03T14:05:00Z", "2026-12-03T14:15:00Z"),
        speaker("lundquist", "kathryn-lundquist", "2026-12-03T14:15:00Z", "2026-12-03T14:25:00Z"),
        speaker("rollo", "valentina-rollo", "2026-12-03T14:25:00Z", "2026-12-03T14:35:00Z"),
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
    let req = pb::CreateInviteRequest { session_id: ID.into(), person_id: person.into(), slot_id: String::new() };
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
            "2026-12-03T14:25:00Z".into(),
            "2026-12-03T14:35:00Z".into(),
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
    assert!(mail["text_plain"].as_str().unwrap().contains("Thursday 3 December 2026, 15:25–15:35 (Europe/Zurich)"));
    assert_eq!(mail["attachments"][0]["text"].as_str().unwrap(), ics);
    assert_eq!(mail["message_id"], format!("<{}>", req.message_id));

    mark_all(&mut c).await;
    assert!(pending(&mut c).await.is_empty(), "marked sent: nothing pending");

    // Moving a slot: its speaker and moderator need a new REQUEST, same UID, higher SEQUENCE.
    let moved = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot {
            id: "rollo".into(),
            start_time: Some(ts("2026-12-03T14:40:00Z")),
            end_time: Some(ts("2026-12-03T14:50:00Z")),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["start_time".into(), "end_time".into()] }),
        etag: String::new(),
    };
    app.sessions.clone().update_slot(moved).await.unwrap();
    assert_eq!(pending(&mut c).await, ["REQUEST rollo patrick-low 1", "REQUEST rollo valentina-rollo 1"]);
    let update = invite(&mut c, "valentina-rollo").await.remove(0);
    assert_eq!(update.uid, req.uid);
    let (_, events) = parse_both(std::str::from_utf8(&update.ics).unwrap());
    assert_eq!((events[0].1.as_str(), events[0].3), ("2026-12-03T14:40:00Z", 1));
    assert!(mime(&update.email)["subject"].as_str().unwrap().starts_with("Updated invitation:"));

    // Taking a speaker off her slot: she gets a CANCEL with a higher SEQUENCE.
    let off = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot { id: "lundquist".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["speaker_ids".into()] }),
        etag: String::new(),
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
    let status = |id: &str| s.participants.iter().find(|p| p.person_id == id).map(|p| p.status);
    assert_eq!(status("jose-luis-cancela"), Some(pb::ParticipationStatus::Accepted as i32));
    assert_eq!(status("valentina-rollo"), Some(pb::ParticipationStatus::Declined as i32));

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
    };
    app.people.clone().create_person(nameless).await.unwrap();
    let add = pb::UpdateSlotRequest {
        session_id: ID.into(),
        slot: Some(pb::Slot { id: "lundquist".into(), speaker_ids: vec!["no-mail".into()], ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["speaker_ids".into()] }),
        etag: String::new(),
    };
    app.sessions.clone().update_slot(add).await.unwrap();
    let r = c
        .create_invite(pb::CreateInviteRequest {
            session_id: ID.into(),
            person_id: "no-mail".into(),
            slot_id: String::new(),
        })
        .await;
    assert_eq!(reason(r), "PERSON_HAS_NO_EMAIL");
    let r = c
        .create_invite(pb::CreateInviteRequest {
            session_id: ID.into(),
            person_id: "petter-olberg".into(),
            slot_id: String::new(),
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
