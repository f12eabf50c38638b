//! Replies from the organizer's mailbox (`reply_mailbox`), against a real IMAP server
//! (Dovecot, see `dovecot.rs`): a reply e-mail dropped into the mailbox, in the shape a
//! calendar client sends, changes the speaker's answer and is filed once; what cannot be
//! applied is filed with its reason; a mailbox that is down only delays the replies.

use std::path::PathBuf;

use agenda::domain::Limits;
use agenda::pb::{self, invite_service_client::InviteServiceClient};
use agenda::secret::Secret;

use crate::dovecot::{self, Dovecot};
use crate::helpers::{TestApp, eventually, session, slot, spawn_with};
use crate::invites::reply_to;
use crate::production::pki;

pub(crate) const ID: &str = "mailbox-replies";
pub(crate) const SPEAKER: &str = "jose-luis-cancela";
pub(crate) const ADDRESS: &str = "jose.cancela@example.org";
/// Dovecot's Maildir separator is `.`: the agenda's `Agenda/Applied` is `Agenda.Applied` there.
pub(crate) const APPLIED: &str = "Agenda.Applied";
const REFUSED: &str = "Agenda.Refused";

/// The demo data, and a server reading `dovecot`'s mailbox every second (plain text).
async fn app_reading(mailbox: &Dovecot) -> (TestApp, tempfile::TempDir) {
    app_reading_at(mailbox.url(), None).await
}

/// The demo data, and a server reading the mailbox at `url` every second, trusting `ca`.
async fn app_reading_at(url: String, ca: Option<PathBuf>) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |c| {
        c.reply_mailbox.url = Some(url);
        c.reply_mailbox.password = Some(Secret::new(dovecot::PASSWORD));
        c.reply_mailbox.poll_seconds = 1;
        c.reply_mailbox.ca = ca;
    })
    .await;
    (app, dir)
}

/// A session where Cancela speaks twice and Low moderates, and Cancela's invite to the first
/// slot (`cancela`).
pub(crate) async fn invite_cancela(app: &TestApp) -> pb::Invite {
    let mut s = session("Replies by e-mail", "2036-12-03T14:00:00Z", "2036-12-03T15:00:00Z");
    s.slots = vec![
        pb::Slot {
            speaker_ids: vec![SPEAKER.into()],
            moderator_ids: vec!["patrick-low".into()],
            ..slot("cancela", "Presentation by Cancela", "2036-12-03T14:05:00Z", "2036-12-03T14:15:00Z")
        },
        pb::Slot {
            speaker_ids: vec![SPEAKER.into()],
            ..slot(OTHER_SLOT, "Cancela again", "2036-12-03T14:30:00Z", "2036-12-03T14:40:00Z")
        },
    ];
    app.create(ID, s).await;
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest {
        session_id: ID.into(),
        person_id: SPEAKER.into(),
        slot_id: "cancela".into(),
        ..Default::default()
    };
    c.create_invite(req).await.unwrap().into_inner().invites.remove(0)
}

/// Cancela's second slot: a reply about the first must leave its answer alone.
const OTHER_SLOT: &str = "cancela-again";

#[derive(Clone, Copy)]
pub(crate) enum Encoding {
    Base64,
    QuotedPrintable,
}

/// A reply e-mail as calendar clients send one (Thunderbird, Outlook): multipart/mixed with a
/// readable part and the iTIP REPLY as `text/calendar; method=REPLY`, base64 or
/// quoted-printable.
pub(crate) fn reply_email(message_id: &str, from: &str, ics: &str, encoding: Encoding) -> String {
    let (name, body) = match encoding {
        Encoding::Base64 => {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(ics);
            let lines: Vec<&str> =
                b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>();
            ("base64", lines.join("\r\n"))
        }
        Encoding::QuotedPrintable => ("quoted-printable", quoted_printable(ics)),
    };
    format!(
        "From: <{from}>\r\nTo: <organizer@example.org>\r\nSubject: Accepted: Presentation by Cancela\r\n\
         Message-ID: {message_id}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"------------reply\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n--------------reply\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
         José Luís Cancela has answered the invitation.\r\n\r\n--------------reply\r\n\
         Content-Type: text/calendar; charset=UTF-8; method=REPLY\r\nContent-Transfer-Encoding: {name}\r\n\r\n\
         {body}\r\n--------------reply--\r\n"
    )
}

/// Quoted-printable (RFC 2045) of CRLF text: `=` escaped, lines kept under 76 characters.
fn quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.split("\r\n") {
        let escaped = line.replace('=', "=3D");
        let mut rest = escaped.as_str();
        while rest.len() > 70 {
            // Never split an escape: back off to before a `=` in the last two characters.
            let mut cut = 70;
            while rest[cut - 2..cut].contains('=') {
                cut -= 1;
            }
            out.push(format!("{}=", &rest[..cut]));
            rest = &rest[cut..];
        }
        out.push(rest.to_owned());
    }
    out.join("\r\n")
}

/// The person's answer on the slot `cancela` (unspecified while they have none).
pub(crate) async fn answer_of(app: &TestApp, person: &str) -> i32 {
    answer_on(app, "cancela", person).await
}

/// The person's answer on a slot of the session.
async fn answer_on(app: &TestApp, slot: &str, person: &str) -> i32 {
    let s = app.session(ID).await;
    let slot = s.slots.iter().find(|x| x.id == slot).expect("the slot");
    slot.answers.iter().find(|a| a.person_id == person).map_or(0, |a| a.status)
}

/// A sample of the server's /metrics (0 when absent), e.g.
/// `agenda_reply_mailbox_messages_total{outcome="applied"}`.
pub(crate) async fn metric(app: &TestApp, sample: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.strip_prefix(' ')))
        .map_or(0, |v| v.trim().parse().unwrap())
}

pub(crate) const POLLS: &str = "agenda_reply_mailbox_polls_total";
const POLL_ERRORS: &str = "agenda_reply_mailbox_poll_errors_total";

#[tokio::test]
async fn a_reply_dropped_into_the_mailbox_changes_the_answer_and_is_filed_as_applied_once() {
    let mailbox = Dovecot::start().await;
    let (app, _dir) = app_reading(&mailbox).await;
    let invite = invite_cancela(&app).await;
    assert_ne!(answer_of(&app, SPEAKER).await, pb::ParticipationStatus::Accepted as i32);

    let ics = reply_to(&invite, ADDRESS, "ACCEPTED");
    mailbox.deliver("INBOX", &reply_email("<accept-1@example.org>", ADDRESS, &ics, Encoding::Base64)).await;

    eventually("the speaker's answer from the mailbox", || async {
        (answer_of(&app, SPEAKER).await == pb::ParticipationStatus::Accepted as i32).then_some(())
    })
    .await;
    // That slot's answer only: their other slot still waits for one.
    assert_eq!(answer_on(&app, OTHER_SLOT, SPEAKER).await, pb::ParticipationStatus::NeedsAction as i32);
    let applied = eventually("the reply filed in Agenda/Applied", || async {
        let applied = mailbox.messages(APPLIED).await;
        (applied.len() == 1 && mailbox.messages("INBOX").await.is_empty()).then_some(applied)
    })
    .await;
    assert!(applied[0].contains("\r\nMessage-ID: <accept-1@example.org>\r\n"), "the original, as received");

    // Applied once: later polls find nothing to do.
    let etag = app.session(ID).await.etag;
    let polls = metric(&app, POLLS).await;
    eventually("two more polls", || async { (metric(&app, POLLS).await >= polls + 2).then_some(()) }).await;
    assert_eq!(app.session(ID).await.etag, etag);
    assert_eq!(metric(&app, "agenda_reply_mailbox_messages_total{outcome=\"applied\"}").await, 1);
    assert_eq!(mailbox.messages(APPLIED).await.len(), 1);
}

#[tokio::test]
async fn a_refused_reply_and_a_message_without_a_calendar_are_filed_with_their_reason() {
    let mailbox = Dovecot::start().await;
    let (app, _dir) = app_reading(&mailbox).await;
    let invite = invite_cancela(&app).await;
    let before = app.session(ID).await;

    let stranger = reply_to(&invite, ADDRESS, "DECLINED").replace(&ADDRESS.to_uppercase(), "someone@example.org");
    let refused = reply_email("<decline-2@example.org>", "someone@example.org", &stranger, Encoding::QuotedPrintable);
    mailbox.deliver("INBOX", &refused).await;
    let thanks = "From: <jose.cancela@example.org>\r\nTo: <organizer@example.org>\r\nSubject: Thanks\r\n\
                  Message-ID: <thanks-3@example.org>\r\n\r\nSee you there.\r\n";
    mailbox.deliver("INBOX", thanks).await;

    let filed = eventually("both filed in Agenda/Refused, each beside a note", || async {
        let filed = mailbox.messages(REFUSED).await;
        (filed.len() == 4 && mailbox.messages("INBOX").await.is_empty()).then_some(filed)
    })
    .await;
    let original = |id: &str| filed.iter().any(|m| m.contains(&format!("\r\nMessage-ID: {id}\r\n")));
    let note = |id: &str| {
        filed
            .iter()
            .find(|m| m.contains(&format!("X-Agenda-Original-Message-ID: {id}\r\n")))
            .unwrap_or_else(|| panic!("a note about {id} in {filed:#?}"))
    };
    assert!(original("<decline-2@example.org>") && original("<thanks-3@example.org>"), "never deleted: {filed:#?}");
    let refused_note = note("<decline-2@example.org>");
    assert!(
        refused_note.contains("Subject: Reply not applied: someone@example.org is not the address"),
        "{refused_note}"
    );
    assert!(refused_note.contains("(NOT_AN_ATTENDEE)"), "{refused_note}");
    let unreadable_note = note("<thanks-3@example.org>");
    assert!(unreadable_note.contains("no calendar part"), "{unreadable_note}");

    assert_eq!(app.session(ID).await, before, "the store is unchanged");
    assert_eq!(metric(&app, "agenda_reply_mailbox_messages_total{outcome=\"refused\"}").await, 1);
    assert_eq!(metric(&app, "agenda_reply_mailbox_messages_total{outcome=\"unreadable\"}").await, 1);
}

#[tokio::test]
async fn replies_wait_while_the_mailbox_is_down_and_are_applied_when_it_returns() {
    let mut mailbox = Dovecot::start().await;
    mailbox.stop().await;
    let (app, _dir) = app_reading(&mailbox).await;
    eventually("a failed poll", || async { (metric(&app, POLL_ERRORS).await >= 1).then_some(()) }).await;

    // Delivered while the IMAP server is down (the delivery agent writes Maildir directly).
    let invite = invite_cancela(&app).await;
    let ics = reply_to(&invite, ADDRESS, "TENTATIVE");
    mailbox.drop_into_maildir(&reply_email("<maybe-4@example.org>", ADDRESS, &ics, Encoding::Base64));
    let errors = metric(&app, POLL_ERRORS).await;
    eventually("another failed poll", || async { (metric(&app, POLL_ERRORS).await > errors).then_some(()) }).await;
    assert_ne!(answer_of(&app, SPEAKER).await, pb::ParticipationStatus::Tentative as i32);

    mailbox.restart().await;
    eventually("the answer once the mailbox is back", || async {
        (answer_of(&app, SPEAKER).await == pb::ParticipationStatus::Tentative as i32).then_some(())
    })
    .await;
    eventually("the reply filed in Agenda/Applied", || async {
        (mailbox.messages(APPLIED).await.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn replies_are_read_over_implicit_tls_and_starttls_from_a_server_the_ca_vouches_for() {
    let pki = pki();
    let mailbox = Dovecot::start_with_tls(&pki.server_cert, &pki.server_key).await;
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("mail-ca.pem");
    std::fs::write(&ca, &pki.ca).unwrap();

    // Without the CA, the certificate is not trusted: no poll gets past the handshake.
    let (app, _dir) = app_reading_at(mailbox.imaps_url(), None).await;
    eventually("a refused TLS handshake", || async { (metric(&app, POLL_ERRORS).await >= 1).then_some(()) }).await;
    assert_eq!(metric(&app, POLLS).await, 0);
    app.stop().await;

    // With it, over implicit TLS and over STARTTLS.
    for (filed, (url, partstat, status)) in [
        (mailbox.imaps_url(), "ACCEPTED", pb::ParticipationStatus::Accepted),
        (mailbox.starttls_url(), "DECLINED", pb::ParticipationStatus::Declined),
    ]
    .into_iter()
    .enumerate()
    {
        let (app, _dir) = app_reading_at(url.clone(), Some(ca.clone())).await;
        let invite = invite_cancela(&app).await;
        let ics = reply_to(&invite, ADDRESS, partstat);
        let id = format!("<tls-{filed}@example.org>");
        mailbox.deliver("INBOX", &reply_email(&id, ADDRESS, &ics, Encoding::Base64)).await;
        eventually(&format!("the answer read over {url}"), || async {
            (answer_of(&app, SPEAKER).await == status as i32).then_some(())
        })
        .await;
        eventually("the reply filed", || async { (mailbox.messages(APPLIED).await.len() == filed + 1).then_some(()) })
            .await;
        app.stop().await;
    }
}
