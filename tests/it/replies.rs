//! The REPLY rules of RFC 5546 section 3.2.3 and RFC 5545, through ApplyReply on the real
//! server. Each reply has the shape of the client it comes from (tests/fixtures/replies: what
//! Outlook, Google Calendar, Apple Calendar and Thunderbird write, shortened), answering the
//! demo's invite to Kathryn Lundquist. A refusal names the rule and leaves the session as it
//! was (its etag unchanged); the harmless deviations of real clients are accepted.

use agenda::pb::{self, invite_service_client::InviteServiceClient};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{TestApp, spawn_demo_app};

const DEMO: &str = "fmg-msme-2022-11-17";
const UID: &str = "slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid";
const ATTENDEE: &str = "kathryn.lundquist@example.org";
const ORGANIZER: &str = "fmg@example.org";

const OUTLOOK: &str = include_str!("../fixtures/replies/outlook.ics");
const GOOGLE: &str = include_str!("../fixtures/replies/google.ics");
const APPLE: &str = include_str!("../fixtures/replies/apple.ics");
/// With bare LF line ends, as a reply saved and passed on by a Unix tool arrives.
const THUNDERBIRD: &str = include_str!("../fixtures/replies/thunderbird.ics");

/// A client's reply to the invite (SEQUENCE 0, the slot's), answering `partstat`.
fn reply(client: &str, partstat: &str) -> String {
    client
        .replace("@UID@", UID)
        .replace("@ATTENDEE@", ATTENDEE)
        .replace("@ORGANIZER@", ORGANIZER)
        .replace("@PARTSTAT@", partstat)
        .replace("@SEQUENCE@", "0")
}

async fn apply(app: &TestApp, ics: String) -> Result<pb::ApplyReplyResponse, tonic::Status> {
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    c.apply_reply(pb::ApplyReplyRequest { ics }).await.map(|r| r.into_inner())
}

/// Applies a reply that must be accepted, and returns the status it recorded.
async fn accepted(ics: String) -> i32 {
    let app = spawn_demo_app().await;
    let before = app.session(DEMO).await;
    let r = apply(&app, ics).await.unwrap_or_else(|e| panic!("refused: {}", e.message()));
    assert_eq!((r.session_id.as_str(), r.person_id.as_str()), (DEMO, "kathryn-lundquist"));
    assert_ne!(app.session(DEMO).await.etag, before.etag, "the answer is recorded");
    r.status
}

/// Applies a reply that must be refused as invalid; returns why (the `ics` field's
/// violation), having checked that the session is as it was.
async fn refused(ics: String) -> String {
    let app = spawn_demo_app().await;
    let before = app.session(DEMO).await;
    let Err(status) = apply(&app, ics).await else { panic!("the reply was accepted") };
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(app.session(DEMO).await, before, "a refused reply changes nothing");
    let violations = status.get_details_bad_request().expect("BadRequest").field_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "ics");
    violations[0].description.clone()
}

const DECLINED: i32 = pb::ParticipationStatus::Declined as i32;
const TENTATIVE: i32 = pb::ParticipationStatus::Tentative as i32;

// ----- what real clients write is accepted -----

#[tokio::test]
async fn an_outlook_reply_without_organizer_is_applied() {
    assert!(!OUTLOOK.contains("ORGANIZER"));
    assert_eq!(accepted(reply(OUTLOOK, "DECLINED")).await, DECLINED);
}

#[tokio::test]
async fn a_google_calendar_reply_is_applied() {
    assert_eq!(accepted(reply(GOOGLE, "TENTATIVE")).await, TENTATIVE);
}

#[tokio::test]
async fn an_apple_calendar_reply_is_applied() {
    assert_eq!(accepted(reply(APPLE, "DECLINED")).await, DECLINED);
}

#[tokio::test]
async fn a_thunderbird_reply_with_bare_lf_line_ends_is_applied() {
    assert!(!THUNDERBIRD.contains('\r'));
    assert_eq!(accepted(reply(THUNDERBIRD, "DECLINED")).await, DECLINED);
}

#[tokio::test]
async fn a_reply_with_a_utf8_byte_order_mark_is_applied() {
    assert_eq!(accepted(format!("\u{feff}{}", reply(OUTLOOK, "DECLINED"))).await, DECLINED);
}

#[tokio::test]
async fn lower_case_method_partstat_and_mailto_are_applied() {
    let ics = reply(GOOGLE, "declined")
        .replace("METHOD:REPLY", "METHOD:reply")
        .replace(&format!("mailto:{ATTENDEE}"), &format!("MAILTO:{}", ATTENDEE.to_uppercase()))
        .replace(&format!("mailto:{ORGANIZER}"), &format!("Mailto:{}", ORGANIZER.to_uppercase()));
    assert_eq!(accepted(ics).await, DECLINED);
}

#[tokio::test]
async fn tabs_in_values_and_folds_are_applied() {
    let ics = reply(OUTLOOK, "DECLINED")
        .replace("COMMENT;LANGUAGE=en-US:\\n", "COMMENT;LANGUAGE=en-US:Sorry,\tI am travelling")
        .replace("\r\n f MSMEs", "\r\n\tf MSMEs");
    assert_eq!(accepted(ics).await, DECLINED);
}

// ----- what a careful organizer refuses -----

#[tokio::test]
async fn a_sequence_the_organizer_never_sent_is_refused() {
    let why = refused(reply(GOOGLE, "ACCEPTED").replace("SEQUENCE:0", "SEQUENCE:7")).await;
    assert_eq!(why, "has SEQUENCE 7, newer than the 0 the organizer sent for this event");
}

#[tokio::test]
async fn a_reply_without_dtstamp_is_refused() {
    let ics = reply(THUNDERBIRD, "DECLINED").replace("DTSTAMP:20221111T091544Z\n", "");
    assert_eq!(refused(ics).await, "has a VEVENT without DTSTAMP (RFC 5546 requires it in a REPLY)");
}

#[tokio::test]
async fn a_dtstamp_that_is_not_a_utc_date_time_is_refused() {
    let ics = reply(GOOGLE, "DECLINED").replace("DTSTAMP:20221111T091544Z", "DTSTAMP:yesterday");
    assert!(refused(ics).await.starts_with("has DTSTAMP \"yesterday\""));
}

#[tokio::test]
async fn another_organizer_is_refused() {
    let ics = reply(APPLE, "DECLINED").replace(&format!("mailto:{ORGANIZER}"), "mailto:someone@elsewhere.example");
    assert_eq!(refused(ics).await, "has ORGANIZER someone@elsewhere.example, not the organizer of this session");
}

#[tokio::test]
async fn a_recurrence_id_is_refused() {
    let ics = reply(OUTLOOK, "DECLINED")
        .replace("CLASS:PUBLIC\r\n", "RECURRENCE-ID;TZID=W. Europe Standard Time:20221117T151500\r\nCLASS:PUBLIC\r\n");
    assert_eq!(refused(ics).await, "has a RECURRENCE-ID, but the event does not recur");
}

#[tokio::test]
async fn a_nul_in_the_attendee_address_is_refused() {
    let ics = reply(APPLE, "DECLINED").replace(&format!("mailto:{ATTENDEE}"), "mailto:kathryn.lundquist\0@example.org");
    assert_eq!(refused(ics).await, "has a control character (byte 0x00) on line 8; iCalendar text allows only TAB");
    let hidden =
        reply(APPLE, "DECLINED").replace(&format!("mailto:{ATTENDEE}"), "mailto:kathryn.lundquist%00@example.org");
    assert_eq!(refused(hidden).await, "has ATTENDEE \"kathryn.lundquist%00@example.org\", not a valid e-mail address");
}

#[tokio::test]
async fn a_control_byte_anywhere_is_refused() {
    let bell = reply(GOOGLE, "DECLINED").replace("SUMMARY:Speaker 2", "SUMMARY:Speaker\x07 2");
    assert_eq!(refused(bell).await, "has a control character (byte 0x07) on line 19; iCalendar text allows only TAB");
    let lone_cr = reply(GOOGLE, "DECLINED").replace("TRANSP:OPAQUE\r\n", "TRANSP:OPAQUE\rX-A:1\r\n");
    assert!(refused(lone_cr).await.contains("(byte 0x0d)"));
    let delete = reply(OUTLOOK, "DECLINED").replace("PRIORITY:5", "PRIORITY:5\x7f");
    assert!(refused(delete).await.contains("(byte 0x7f)"));
}
