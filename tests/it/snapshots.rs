//! Byte-exact snapshots of what leaves the server for calendar and mail clients: the demo
//! session's feed, one speaker invite and its e-mail, one participant invite and its e-mail,
//! beside the third-party parser checks
//! (`interop`, `invites`). A change to any byte shows up here as a diff to review;
//! `UPDATE_EXPECT=1 cargo test --test it -- snapshots::` rewrites them after a deliberate change.
//!
//! The inputs are fixed so the outputs are: the demo data is imported with fixed record times
//! (DTSTAMP, CREATED and LAST-MODIFIED come from them), the public URL is fixed, and every id
//! and MIME boundary is derived from the data. The one value that is not is the time a message
//! was made: an e-mail's `Date` and an iTIP message's DTSTAMP (RFC 5545 section 3.8.7.2). Both
//! are checked (the time of the call, the same instant in both) and then pinned to
//! `PINNED_STAMP`, inside the e-mail's base64 parts too.
//!
//! Text is compared with `\n` line ends after checking that every line ends with CRLF, so the
//! snapshots stay readable and still stand for the exact bytes.

use expect_test::{Expect, expect};

use agenda::domain::Limits;
use agenda::pb::{self, invite_service_client::InviteServiceClient};

use crate::helpers::{TestApp, import_into, spawn_with};

const DEMO: &str = "fmg-msme-2022-11-17";

/// The server on the demo data, imported with fixed record times by `agenda import`, with
/// feed links under a fixed public URL.
async fn demo_with_fixed_times(dir: &std::path::Path) -> TestApp {
    demo_with_fixed_times_and(dir, |_| {}).await
}

/// [`demo_with_fixed_times`] with the demo file changed by `edit` first.
async fn demo_with_fixed_times_and(dir: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) -> TestApp {
    let mut data: serde_json::Value = serde_json::from_str(agenda::DEMO_DATA).unwrap();
    edit(&mut data);
    for kind in ["people", "sessions"] {
        for record in data[kind].as_array_mut().unwrap() {
            record["create_time"] = "2022-10-03T08:00:00Z".into();
            record["update_time"] = "2022-11-10T16:30:00Z".into();
        }
    }
    let file = dir.join("demo.json");
    std::fs::write(&file, data.to_string()).unwrap();
    let store = dir.join("data");
    import_into(&store, &file);
    spawn_with(&store, false, Limits::default(), |c| c.public_url = "https://agenda.example.org".into()).await
}

/// `text` with CRLF line ends shown as `\n`, after checking that every line (the last one
/// included) ends with CRLF and no other line break occurs.
fn crlf(text: &str) -> String {
    assert!(text.ends_with("\r\n"), "the last line ends with CRLF");
    let lf = text.replace("\r\n", "\n");
    assert!(!lf.contains('\r') && lf.matches('\n').count() == text.matches("\r\n").count(), "only CRLF line ends");
    lf
}

fn check(text: &str, expected: &Expect) {
    expected.assert_eq(&crlf(text));
}

/// What an iTIP message's DTSTAMP is pinned to in the snapshots (it is the time of rendering).
const PINNED_STAMP: &str = "DTSTAMP:20000101T000000Z";

/// The DTSTAMP line of an iTIP message made at `t`.
fn stamp_line(t: jiff::Timestamp) -> String {
    format!("DTSTAMP:{}", t.strftime("%Y%m%dT%H%M%SZ"))
}

/// `ics` with its DTSTAMP pinned, after checking that it lies within `during` (the call that
/// made it, to the second).
fn pin_stamp(ics: &str, during: std::ops::RangeInclusive<jiff::Timestamp>) -> String {
    let line = ics.lines().find(|l| l.starts_with("DTSTAMP:")).expect("a DTSTAMP");
    let made = jiff::civil::DateTime::strptime("DTSTAMP:%Y%m%dT%H%M%SZ", line).unwrap();
    let made = jiff::tz::TimeZone::UTC.to_timestamp(made).unwrap();
    let (from, to) = (during.start().as_second(), during.end().as_second());
    assert!((from..=to).contains(&made.as_second()), "DTSTAMP {line} is when the message was made");
    ics.replacen(line, PINNED_STAMP, 1)
}

#[tokio::test]
async fn the_demo_session_feed_is_byte_for_byte_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_with_fixed_times(dir.path()).await;
    let feed = app.feed(&format!("/feeds/sessions/{DEMO}.ics")).await;
    check(
        &feed,
        &expect![[r#"
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//agenda//agenda 0.1.0//EN
        CALSCALE:GREGORIAN
        METHOD:PUBLISH
        NAME:Integration of MSMEs within the MTS
        X-WR-CALNAME:Integration of MSMEs within the MTS
        DESCRIPTION:Friends of Multilateralism Group\, 17 November 2022: the agenda
        X-WR-CALDESC:Friends of Multilateralism Group\, 17 November 2022: the agend
         a
        REFRESH-INTERVAL;VALUE=DURATION:PT3600S
        X-PUBLISHED-TTL:PT3600S
        X-WR-TIMEZONE:Europe/Zurich
        BEGIN:VTIMEZONE
        TZID:Europe/Zurich
        BEGIN:STANDARD
        DTSTART:20221030T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        END:STANDARD
        END:VTIMEZONE
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:Speakers: Xiankun Lu (FMG)\; Patrick Low (Co-Chair of FMG\; for
         mer Chief Economist of the WTO\, FMG)\n\nSession: Integration of MSMEs wit
         hin the MTS (Friends of Multilateralism Group (FMG))\nRecording: https://y
         outu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T150500
        DTSTAMP:20221110T163000Z
        DTSTART;TZID=Europe/Zurich:20221117T150000
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Opening Remarks
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.opening-remarks@agenda.invalid
        END:VEVENT
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:Coordinator of the WTO Informal Working Group on MSMEs\, Urugua
         y Ambassador\n\nSpeaker: Amb. José Luís Cancela (Ambassador\; Coordinato
         r of the WTO Informal Working Group on MSMEs\, Uruguay)\nModerator: Patric
         k Low (Co-Chair of FMG\; former Chief Economist of the WTO\, FMG)\nMateria
         ls:\n- Trade4MSMEs – Amb Cancelas presentation\n\nSession: Integration o
         f MSMEs within the MTS (Friends of Multilateralism Group (FMG))\nRecording
         : https://youtu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T151500
        DTSTAMP:20221110T163000Z
        DTSTART;TZID=Europe/Zurich:20221117T150500
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Speaker 1: José Luís Cancela
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.speaker-1-cancela@agenda.invalid
        END:VEVENT
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:WTO\n\nSpeaker: Kathryn Lundquist (Economic Affairs Officer in 
         the Economic Research and Statistics Division\, WTO Secretariat)\nModerato
         r: Patrick Low (Co-Chair of FMG\; former Chief Economist of the WTO\, FMG)
         \nMaterials:\n- Lundquist presentation – 2022 WTO MSME Group Research No
         tes\n\nSession: Integration of MSMEs within the MTS (Friends of Multilater
         alism Group (FMG))\nRecording: https://youtu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T152500
        DTSTAMP:20221110T163000Z
        DTSTART;TZID=Europe/Zurich:20221117T151500
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Speaker 2: Kathryn Lundquist
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid
        END:VEVENT
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:ITC\n\nSpeaker: Valentina Rollo (Economist in the Office of the
          Chief Economist\, ITC)\nModerator: Patrick Low (Co-Chair of FMG\; former 
         Chief Economist of the WTO\, FMG)\nMaterials:\n- SMECO 2022 FMG presentati
         on_final\n\nSession: Integration of MSMEs within the MTS (Friends of Multi
         lateralism Group (FMG))\nRecording: https://youtu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T153500
        DTSTAMP:20221110T163000Z
        DTSTART;TZID=Europe/Zurich:20221117T152500
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Speaker 3: Valentina Rollo
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.speaker-3-rollo@agenda.invalid
        END:VEVENT
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:Moderator: Patrick Low (Co-Chair of FMG\; former Chief Economis
         t of the WTO\, FMG)\n\nSession: Integration of MSMEs within the MTS (Frien
         ds of Multilateralism Group (FMG))\nRecording: https://youtu.be/ulm5tcGudj
         Y
        DTEND;TZID=Europe/Zurich:20221117T163000
        DTSTAMP:20221110T163000Z
        DTSTART;TZID=Europe/Zurich:20221117T153500
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Open Discussion
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.open-discussion@agenda.invalid
        END:VEVENT
        END:VCALENDAR
    "#]],
    );
}

/// The REQUEST (and its e-mail) inviting Kathryn Lundquist to speak in her slot.
async fn lundquist_invite(app: &TestApp) -> pb::Invite {
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest {
        session_id: DEMO.into(),
        person_id: "kathryn-lundquist".into(),
        slot_id: "speaker-2-lundquist".into(),
        ..Default::default()
    };
    let mut invites = c.create_invite(req).await.unwrap().into_inner().invites;
    assert_eq!(invites.len(), 1);
    invites.remove(0)
}

#[tokio::test]
async fn a_speaker_invite_is_byte_for_byte_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_with_fixed_times(dir.path()).await;
    let before = jiff::Timestamp::now();
    let invite = lundquist_invite(&app).await;
    let ics = pin_stamp(&String::from_utf8(invite.ics).unwrap(), before..=jiff::Timestamp::now());
    check(
        &ics,
        &expect![[r#"
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//agenda//agenda 0.1.0//EN
        CALSCALE:GREGORIAN
        METHOD:REQUEST
        X-WR-TIMEZONE:Europe/Zurich
        BEGIN:VTIMEZONE
        TZID:Europe/Zurich
        BEGIN:STANDARD
        DTSTART:20221030T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        END:STANDARD
        END:VTIMEZONE
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:WTO\n\nSpeaker: Kathryn Lundquist (Economic Affairs Officer in 
         the Economic Research and Statistics Division\, WTO Secretariat)\nModerato
         r: Patrick Low (Co-Chair of FMG\; former Chief Economist of the WTO\, FMG)
         \nMaterials:\n- Lundquist presentation – 2022 WTO MSME Group Research No
         tes\n\nSession: Integration of MSMEs within the MTS (Friends of Multilater
         alism Group (FMG))\nRecording: https://youtu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T152500
        DTSTAMP:20000101T000000Z
        DTSTART;TZID=Europe/Zurich:20221117T151500
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Speaker 2: Kathryn Lundquist — Integration of MSMEs within the MT
         S
        TRANSP:OPAQUE
        UID:slot.fmg-msme-2022-11-17.speaker-2-lundquist@agenda.invalid
        ATTENDEE;CN=Patrick Low;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=CHAIR;RSVP
         =TRUE:mailto:patrick.low@example.org
        ATTENDEE;CN=Kathryn Lundquist;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=REQ-
         PARTICIPANT;RSVP=TRUE:mailto:kathryn.lundquist@example.org
        END:VEVENT
        END:VCALENDAR
    "#]],
    );
}

#[tokio::test]
async fn a_speaker_invite_email_is_byte_for_byte_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_with_fixed_times(dir.path()).await;
    let email = String::from_utf8(lundquist_invite(&app).await.email).unwrap();
    // The Date header is when the e-mail was rendered: check its form, then mask its value.
    let date = email.lines().find_map(|l| l.strip_prefix("Date: ")).expect("a Date header").trim_end();
    let made = jiff::fmt::rfc2822::parse(date).unwrap_or_else(|e| panic!("Date {date:?}: {e}")).timestamp();
    assert!(date.ends_with(" +0000"), "{date}");
    // The iTIP parts carry the same instant as DTSTAMP: pinned inside the base64.
    let email = pin_base64_parts(&email.replacen(date, "<the time of rendering>", 1), &stamp_line(made));
    check(
        &email,
        &expect![[r#"
            From: "Friends of Multilateralism Group" <fmg@example.org>
            To: "Kathryn Lundquist" <kathryn.lundquist@example.org>
            Subject: =?UTF-8?B?SW52aXRhdGlvbjogU3BlYWtlciAyOiBLYXRocnluIEx1bmRxdWlzdCDigJQg?=
             =?UTF-8?B?SW50ZWdyYXRpb24gb2YgTVNNRXMgd2l0aGluIHRoZSBNVFMsIFRodXJzZGF5?=
             =?UTF-8?B?LCAxNyBOb3ZlbWJlciAyMDIyLCAxNToxNeKAkzE1OjI1IENFVCAoVVRDKzAx?=
             =?UTF-8?B?OjAwKSwgRXVyb3BlL1p1cmljaA==?=
            Date: <the time of rendering>
            Message-ID: <request.0.speaker-2-lundquist.fmg-msme-2022-11-17.kathryn-lundquist@agenda.invalid>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="agenda-mixed-70af7bb27bae6f06"

            This is a calendar invitation in MIME format.

            --agenda-mixed-70af7bb27bae6f06
            Content-Type: multipart/alternative; boundary="agenda-alt-70af7bb27bae6f06"

            --agenda-alt-70af7bb27bae6f06
            Content-Type: text/plain; charset=UTF-8
            Content-Transfer-Encoding: base64

            RGVhciBLYXRocnluIEx1bmRxdWlzdCwKCllvdSBhcmUgaW52aXRlZCB0byBzcGVhayBhdCAiU3Bl
            YWtlciAyOiBLYXRocnluIEx1bmRxdWlzdCIgaW4gIkludGVncmF0aW9uIG9mIE1TTUVzIHdpdGhp
            biB0aGUgTVRTIiwgb3JnYW5pemVkIGJ5IEZyaWVuZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3Vw
            LgoKV2hlbjogVGh1cnNkYXksIDE3IE5vdmVtYmVyIDIwMjIsIDE1OjE14oCTMTU6MjUgQ0VUIChV
            VEMrMDE6MDApLCBFdXJvcGUvWnVyaWNoClNwZWFrZXJzOiBLYXRocnluIEx1bmRxdWlzdCAoRWNv
            bm9taWMgQWZmYWlycyBPZmZpY2VyIGluIHRoZSBFY29ub21pYyBSZXNlYXJjaCBhbmQgU3RhdGlz
            dGljcyBEaXZpc2lvbiwgV1RPIFNlY3JldGFyaWF0KQpNb2RlcmF0b3JzOiBQYXRyaWNrIExvdyAo
            Q28tQ2hhaXIgb2YgRk1HOyBmb3JtZXIgQ2hpZWYgRWNvbm9taXN0IG9mIHRoZSBXVE8sIEZNRykK
            ClBsZWFzZSBhbnN3ZXIgd2l0aCB5b3VyIGNhbGVuZGFyIChhY2NlcHQsIHRlbnRhdGl2ZSBvciBk
            ZWNsaW5lKTogeW91ciBhbnN3ZXIgdXBkYXRlcyB0aGUgYWdlbmRhLgo=

            --agenda-alt-70af7bb27bae6f06
            Content-Type: text/calendar; method=REQUEST; charset=UTF-8
            Content-Transfer-Encoding: base64

            QkVHSU46VkNBTEVOREFSDQpWRVJTSU9OOjIuMA0KUFJPRElEOi0vL2FnZW5kYS8vYWdlbmRhIDAu
            MS4wLy9FTg0KQ0FMU0NBTEU6R1JFR09SSUFODQpNRVRIT0Q6UkVRVUVTVA0KWC1XUi1USU1FWk9O
            RTpFdXJvcGUvWnVyaWNoDQpCRUdJTjpWVElNRVpPTkUNClRaSUQ6RXVyb3BlL1p1cmljaA0KQkVH
            SU46U1RBTkRBUkQNCkRUU1RBUlQ6MjAyMjEwMzBUMDMwMDAwDQpUWk9GRlNFVEZST006KzAyMDAN
            ClRaT0ZGU0VUVE86KzAxMDANClRaTkFNRTpDRVQNCkVORDpTVEFOREFSRA0KRU5EOlZUSU1FWk9O
            RQ0KQkVHSU46VkVWRU5UDQpDQVRFR09SSUVTOm1zbWUsbXRzLHd0byxicmFpbnN0b3JtaW5nDQpD
            UkVBVEVEOjIwMjIxMDAzVDA4MDAwMFoNCkRFU0NSSVBUSU9OOldUT1xuXG5TcGVha2VyOiBLYXRo
            cnluIEx1bmRxdWlzdCAoRWNvbm9taWMgQWZmYWlycyBPZmZpY2VyIGluIA0KIHRoZSBFY29ub21p
            YyBSZXNlYXJjaCBhbmQgU3RhdGlzdGljcyBEaXZpc2lvblwsIFdUTyBTZWNyZXRhcmlhdClcbk1v
            ZGVyYXRvDQogcjogUGF0cmljayBMb3cgKENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBF
            Y29ub21pc3Qgb2YgdGhlIFdUT1wsIEZNRykNCiBcbk1hdGVyaWFsczpcbi0gTHVuZHF1aXN0IHBy
            ZXNlbnRhdGlvbiDigJMgMjAyMiBXVE8gTVNNRSBHcm91cCBSZXNlYXJjaCBObw0KIHRlc1xuXG5T
            ZXNzaW9uOiBJbnRlZ3JhdGlvbiBvZiBNU01FcyB3aXRoaW4gdGhlIE1UUyAoRnJpZW5kcyBvZiBN
            dWx0aWxhdGVyDQogYWxpc20gR3JvdXAgKEZNRykpXG5SZWNvcmRpbmc6IGh0dHBzOi8veW91dHUu
            YmUvdWxtNXRjR3VkalkNCkRURU5EO1RaSUQ9RXVyb3BlL1p1cmljaDoyMDIyMTExN1QxNTI1MDAN
            CkRUU1RBTVA6MjAwMDAxMDFUMDAwMDAwWg0KRFRTVEFSVDtUWklEPUV1cm9wZS9adXJpY2g6MjAy
            MjExMTdUMTUxNTAwDQpMQVNULU1PRElGSUVEOjIwMjIxMTEwVDE2MzAwMFoNCk9SR0FOSVpFUjtD
            Tj1GcmllbmRzIG9mIE11bHRpbGF0ZXJhbGlzbSBHcm91cCAoRk1HKTptYWlsdG86Zm1nQGV4YW1w
            bGUub3JnDQpTRVFVRU5DRTowDQpTVEFUVVM6Q09ORklSTUVEDQpTVU1NQVJZOlNwZWFrZXIgMjog
            S2F0aHJ5biBMdW5kcXVpc3Qg4oCUIEludGVncmF0aW9uIG9mIE1TTUVzIHdpdGhpbiB0aGUgTVQN
            CiBTDQpUUkFOU1A6T1BBUVVFDQpVSUQ6c2xvdC5mbWctbXNtZS0yMDIyLTExLTE3LnNwZWFrZXIt
            Mi1sdW5kcXVpc3RAYWdlbmRhLmludmFsaWQNCkFUVEVOREVFO0NOPVBhdHJpY2sgTG93O0NVVFlQ
            RT1JTkRJVklEVUFMO1BBUlRTVEFUPUFDQ0VQVEVEO1JPTEU9Q0hBSVI7UlNWUA0KID1UUlVFOm1h
            aWx0bzpwYXRyaWNrLmxvd0BleGFtcGxlLm9yZw0KQVRURU5ERUU7Q049S2F0aHJ5biBMdW5kcXVp
            c3Q7Q1VUWVBFPUlORElWSURVQUw7UEFSVFNUQVQ9QUNDRVBURUQ7Uk9MRT1SRVEtDQogUEFSVElD
            SVBBTlQ7UlNWUD1UUlVFOm1haWx0bzprYXRocnluLmx1bmRxdWlzdEBleGFtcGxlLm9yZw0KRU5E
            OlZFVkVOVA0KRU5EOlZDQUxFTkRBUg0K

            --agenda-alt-70af7bb27bae6f06--

            --agenda-mixed-70af7bb27bae6f06
            Content-Type: application/ics; name="invite.ics"
            Content-Disposition: attachment; filename="invite.ics"
            Content-Transfer-Encoding: base64

            QkVHSU46VkNBTEVOREFSDQpWRVJTSU9OOjIuMA0KUFJPRElEOi0vL2FnZW5kYS8vYWdlbmRhIDAu
            MS4wLy9FTg0KQ0FMU0NBTEU6R1JFR09SSUFODQpNRVRIT0Q6UkVRVUVTVA0KWC1XUi1USU1FWk9O
            RTpFdXJvcGUvWnVyaWNoDQpCRUdJTjpWVElNRVpPTkUNClRaSUQ6RXVyb3BlL1p1cmljaA0KQkVH
            SU46U1RBTkRBUkQNCkRUU1RBUlQ6MjAyMjEwMzBUMDMwMDAwDQpUWk9GRlNFVEZST006KzAyMDAN
            ClRaT0ZGU0VUVE86KzAxMDANClRaTkFNRTpDRVQNCkVORDpTVEFOREFSRA0KRU5EOlZUSU1FWk9O
            RQ0KQkVHSU46VkVWRU5UDQpDQVRFR09SSUVTOm1zbWUsbXRzLHd0byxicmFpbnN0b3JtaW5nDQpD
            UkVBVEVEOjIwMjIxMDAzVDA4MDAwMFoNCkRFU0NSSVBUSU9OOldUT1xuXG5TcGVha2VyOiBLYXRo
            cnluIEx1bmRxdWlzdCAoRWNvbm9taWMgQWZmYWlycyBPZmZpY2VyIGluIA0KIHRoZSBFY29ub21p
            YyBSZXNlYXJjaCBhbmQgU3RhdGlzdGljcyBEaXZpc2lvblwsIFdUTyBTZWNyZXRhcmlhdClcbk1v
            ZGVyYXRvDQogcjogUGF0cmljayBMb3cgKENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBF
            Y29ub21pc3Qgb2YgdGhlIFdUT1wsIEZNRykNCiBcbk1hdGVyaWFsczpcbi0gTHVuZHF1aXN0IHBy
            ZXNlbnRhdGlvbiDigJMgMjAyMiBXVE8gTVNNRSBHcm91cCBSZXNlYXJjaCBObw0KIHRlc1xuXG5T
            ZXNzaW9uOiBJbnRlZ3JhdGlvbiBvZiBNU01FcyB3aXRoaW4gdGhlIE1UUyAoRnJpZW5kcyBvZiBN
            dWx0aWxhdGVyDQogYWxpc20gR3JvdXAgKEZNRykpXG5SZWNvcmRpbmc6IGh0dHBzOi8veW91dHUu
            YmUvdWxtNXRjR3VkalkNCkRURU5EO1RaSUQ9RXVyb3BlL1p1cmljaDoyMDIyMTExN1QxNTI1MDAN
            CkRUU1RBTVA6MjAwMDAxMDFUMDAwMDAwWg0KRFRTVEFSVDtUWklEPUV1cm9wZS9adXJpY2g6MjAy
            MjExMTdUMTUxNTAwDQpMQVNULU1PRElGSUVEOjIwMjIxMTEwVDE2MzAwMFoNCk9SR0FOSVpFUjtD
            Tj1GcmllbmRzIG9mIE11bHRpbGF0ZXJhbGlzbSBHcm91cCAoRk1HKTptYWlsdG86Zm1nQGV4YW1w
            bGUub3JnDQpTRVFVRU5DRTowDQpTVEFUVVM6Q09ORklSTUVEDQpTVU1NQVJZOlNwZWFrZXIgMjog
            S2F0aHJ5biBMdW5kcXVpc3Qg4oCUIEludGVncmF0aW9uIG9mIE1TTUVzIHdpdGhpbiB0aGUgTVQN
            CiBTDQpUUkFOU1A6T1BBUVVFDQpVSUQ6c2xvdC5mbWctbXNtZS0yMDIyLTExLTE3LnNwZWFrZXIt
            Mi1sdW5kcXVpc3RAYWdlbmRhLmludmFsaWQNCkFUVEVOREVFO0NOPVBhdHJpY2sgTG93O0NVVFlQ
            RT1JTkRJVklEVUFMO1BBUlRTVEFUPUFDQ0VQVEVEO1JPTEU9Q0hBSVI7UlNWUA0KID1UUlVFOm1h
            aWx0bzpwYXRyaWNrLmxvd0BleGFtcGxlLm9yZw0KQVRURU5ERUU7Q049S2F0aHJ5biBMdW5kcXVp
            c3Q7Q1VUWVBFPUlORElWSURVQUw7UEFSVFNUQVQ9QUNDRVBURUQ7Uk9MRT1SRVEtDQogUEFSVElD
            SVBBTlQ7UlNWUD1UUlVFOm1haWx0bzprYXRocnluLmx1bmRxdWlzdEBleGFtcGxlLm9yZw0KRU5E
            OlZFVkVOVA0KRU5EOlZDQUxFTkRBUg0K

            --agenda-mixed-70af7bb27bae6f06--
        "#]],
    );
}

/// The e-mail's calendar part and attachment, as Python's `email` package decodes them, with
/// DTSTAMP (the time of rendering) pinned.
fn calendar_parts(mail: &serde_json::Value) -> (String, String) {
    let pin = |ics: &str| {
        let line = ics.lines().find(|l| l.starts_with("DTSTAMP:")).expect("a DTSTAMP").to_owned();
        ics.replacen(&line, PINNED_STAMP, 1)
    };
    let attachment = mail["attachments"][0]["text"].as_str().unwrap();
    (pin(mail["calendar"]["text"].as_str().unwrap()), pin(attachment))
}

#[tokio::test]
async fn a_speaker_who_reads_french_gets_the_email_in_french_and_the_same_calendar() {
    let english = tempfile::tempdir().unwrap();
    let english = crate::interop::mime(&lundquist_invite(&demo_with_fixed_times(english.path()).await).await.email);
    let dir = tempfile::tempdir().unwrap();
    let app = demo_with_fixed_times_and(dir.path(), |data| {
        let people = data["people"].as_array_mut().unwrap();
        let lundquist = people.iter_mut().find(|p| p["id"] == "kathryn-lundquist").unwrap();
        lundquist["language"] = "fr".into();
    })
    .await;
    let french = crate::interop::mime(&lundquist_invite(&app).await.email);
    assert_eq!(calendar_parts(&french), calendar_parts(&english), "the iTIP part is the same in every language");
    assert_eq!(french["calendar"]["method"], "REQUEST");
    // French typography's no-break spaces (before a colon, inside guillemets) made visible.
    let text =
        format!("Subject: {}\n\n{}", french["subject"].as_str().unwrap(), french["text_plain"].as_str().unwrap())
            .replace('\u{a0}', "<nbsp>");
    expect![[r#"
        Subject: Invitation<nbsp>: Speaker 2: Kathryn Lundquist — Integration of MSMEs within the MTS, jeudi 17 novembre 2022, 15:15–15:25 CET (UTC+01:00), Europe/Zurich

        Bonjour Kathryn Lundquist,

        Nous vous invitons à intervenir sur «<nbsp>Speaker 2: Kathryn Lundquist<nbsp>» lors de «<nbsp>Integration of MSMEs within the MTS<nbsp>», organisé par Friends of Multilateralism Group.

        Date et heure<nbsp>: jeudi 17 novembre 2022, 15:15–15:25 CET (UTC+01:00), Europe/Zurich
        Intervenants<nbsp>: Kathryn Lundquist (Economic Affairs Officer in the Economic Research and Statistics Division, WTO Secretariat)
        Modération<nbsp>: Patrick Low (Co-Chair of FMG; former Chief Economist of the WTO, FMG)

        Merci de répondre depuis votre agenda (accepter, provisoire ou refuser)<nbsp>: votre réponse met à jour le programme.
    "#]]
    .assert_eq(&text);
}

/// The demo as a session that invites its participants, and the REQUEST (and its e-mail)
/// inviting Sherry Stephenson (FMG) to the whole session: a preview, the session being past.
async fn stephenson_invite(dir: &std::path::Path) -> pb::Invite {
    let app = demo_with_fixed_times_and(dir, |data| data["sessions"][0]["invite_participants"] = true.into()).await;
    let mut c = InviteServiceClient::connect(app.grpc_base.clone()).await.unwrap();
    let req = pb::CreateInviteRequest {
        session_id: DEMO.into(),
        person_id: "sherry-stephenson".into(),
        ..Default::default()
    };
    let mut invites = c.create_invite(req).await.unwrap().into_inner().invites;
    assert_eq!(invites.len(), 1);
    invites.remove(0)
}

#[tokio::test]
async fn a_participant_invite_is_byte_for_byte_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let before = jiff::Timestamp::now();
    let invite = stephenson_invite(dir.path()).await;
    let ics = pin_stamp(&String::from_utf8(invite.ics).unwrap(), before..=jiff::Timestamp::now());
    check(
        &ics,
        &expect![[r#"
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//agenda//agenda 0.1.0//EN
        CALSCALE:GREGORIAN
        METHOD:REQUEST
        X-WR-TIMEZONE:Europe/Zurich
        BEGIN:VTIMEZONE
        TZID:Europe/Zurich
        BEGIN:STANDARD
        DTSTART:20221030T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        END:STANDARD
        END:VTIMEZONE
        BEGIN:VEVENT
        CATEGORIES:msme,mts,wto,brainstorming
        CREATED:20221003T080000Z
        DESCRIPTION:On 17 November 2022\, the Friends of Multilateralism Group (FMG
         ) has organized an online brainstorming session titled “Integration of M
         SMEs within the MTS”. Patrick Low\, Co-Chair of FMG and former Chief Eco
         nomist of the WTO moderated this session.\n\nJosé Luís Cancela\, Ambassa
         dor of Uruguay to the WTO and Coordinator of the WTO Informal Working Grou
         p on MSMEs\; Kathryn Lundquist\, economic affairs officer in the Economic 
         Research and Statistics Division of the WTO\; and Valentina Rollo\, Econom
         ist in the Office of the Chief Economist at the International Trade Centre
          (ITC) shared their insightful views on the importance of MSMEs\, the diff
         iculties they face\, and how international cooperation can be strengthened
          to better support them to integrate into global value chains.\n\nNearly 3
         0 participants joined the brainstorming\, including members of FMG\, Ambas
         sadors/DPRs of WTO members\, Directors of WTO divisions\, representatives 
         from related international organizations\, and experts from renowned think
          tanks and universities etc.\n\nOrganizer: Friends of Multilateralism Grou
         p (FMG)\n\nProgramme:\n15:00–15:05 CET (UTC+01:00) Opening Remarks — X
         iankun Lu (FMG)\, Patrick Low (Co-Chair of FMG\; former Chief Economist of
          the WTO\, FMG)\n15:05–15:15 CET (UTC+01:00) Speaker 1: José Luís Canc
         ela — Amb. José Luís Cancela (Ambassador\; Coordinator of the WTO Info
         rmal Working Group on MSMEs\, Uruguay) (moderator: Patrick Low (Co-Chair o
         f FMG\; former Chief Economist of the WTO\, FMG))\n15:15–15:25 CET (UTC+
         01:00) Speaker 2: Kathryn Lundquist — Kathryn Lundquist (Economic Affair
         s Officer in the Economic Research and Statistics Division\, WTO Secretari
         at) (moderator: Patrick Low (Co-Chair of FMG\; former Chief Economist of t
         he WTO\, FMG))\n15:25–15:35 CET (UTC+01:00) Speaker 3: Valentina Rollo 
         — Valentina Rollo (Economist in the Office of the Chief Economist\, ITC)
          (moderator: Patrick Low (Co-Chair of FMG\; former Chief Economist of the 
         WTO\, FMG))\n15:35–16:30 CET (UTC+01:00) Open Discussion (moderator: Pat
         rick Low (Co-Chair of FMG\; former Chief Economist of the WTO\, FMG))\n\nM
         aterials:\n- Trade4MSMEs – Amb Cancelas presentation\n- Lundquist presen
         tation – 2022 WTO MSME Group Research Notes\n- SMECO 2022 FMG presentati
         on_final\n- Program of this session\n- List of Confirmed Participants\n\nR
         ecording: https://youtu.be/ulm5tcGudjY
        DTEND;TZID=Europe/Zurich:20221117T163000
        DTSTAMP:20000101T000000Z
        DTSTART;TZID=Europe/Zurich:20221117T150000
        LAST-MODIFIED:20221110T163000Z
        ORGANIZER;CN=Friends of Multilateralism Group (FMG):mailto:fmg@example.org
        SEQUENCE:0
        STATUS:CONFIRMED
        SUMMARY:Integration of MSMEs within the MTS
        TRANSP:OPAQUE
        UID:session.fmg-msme-2022-11-17@agenda.invalid
        URL:https://youtu.be/ulm5tcGudjY
        ATTENDEE;CN=Sherry Stephenson;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=REQ-
         PARTICIPANT;RSVP=TRUE:mailto:sherry.stephenson@example.org
        END:VEVENT
        END:VCALENDAR
    "#]],
    );
}

#[tokio::test]
async fn a_participant_invite_email_is_byte_for_byte_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let email = String::from_utf8(stephenson_invite(dir.path()).await.email).unwrap();
    let date = email.lines().find_map(|l| l.strip_prefix("Date: ")).expect("a Date header").trim_end();
    let made = jiff::fmt::rfc2822::parse(date).unwrap_or_else(|e| panic!("Date {date:?}: {e}")).timestamp();
    let email = pin_base64_parts(&email.replacen(date, "<the time of rendering>", 1), &stamp_line(made));
    check(
        &email,
        &expect![[r#"
            From: "Friends of Multilateralism Group" <fmg@example.org>
            To: "Sherry Stephenson" <sherry.stephenson@example.org>
            Subject: =?UTF-8?B?SW52aXRhdGlvbjogSW50ZWdyYXRpb24gb2YgTVNNRXMgd2l0aGluIHRoZSBN?=
             =?UTF-8?B?VFMsIFRodXJzZGF5LCAxNyBOb3ZlbWJlciAyMDIyLCAxNTowMOKAkzE2OjMw?=
             =?UTF-8?B?IENFVCAoVVRDKzAxOjAwKSwgRXVyb3BlL1p1cmljaA==?=
            Date: <the time of rendering>
            Message-ID: <request.0._session.fmg-msme-2022-11-17.sherry-stephenson@agenda.invalid>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="agenda-mixed-448424ff40698bfb"

            This is a calendar invitation in MIME format.

            --agenda-mixed-448424ff40698bfb
            Content-Type: multipart/alternative; boundary="agenda-alt-448424ff40698bfb"

            --agenda-alt-448424ff40698bfb
            Content-Type: text/plain; charset=UTF-8
            Content-Transfer-Encoding: base64

            RGVhciBTaGVycnkgU3RlcGhlbnNvbiwKCllvdSBhcmUgaW52aXRlZCB0byB0YWtlIHBhcnQgaW4g
            IkludGVncmF0aW9uIG9mIE1TTUVzIHdpdGhpbiB0aGUgTVRTIiwgb3JnYW5pemVkIGJ5IEZyaWVu
            ZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3VwLgoKV2hlbjogVGh1cnNkYXksIDE3IE5vdmVtYmVy
            IDIwMjIsIDE1OjAw4oCTMTY6MzAgQ0VUIChVVEMrMDE6MDApLCBFdXJvcGUvWnVyaWNoCgpQbGVh
            c2UgYW5zd2VyIHdpdGggeW91ciBjYWxlbmRhciAoYWNjZXB0LCB0ZW50YXRpdmUgb3IgZGVjbGlu
            ZSk6IHlvdXIgYW5zd2VyIHVwZGF0ZXMgdGhlIGxpc3Qgb2YgcGFydGljaXBhbnRzLgo=

            --agenda-alt-448424ff40698bfb
            Content-Type: text/calendar; method=REQUEST; charset=UTF-8
            Content-Transfer-Encoding: base64

            QkVHSU46VkNBTEVOREFSDQpWRVJTSU9OOjIuMA0KUFJPRElEOi0vL2FnZW5kYS8vYWdlbmRhIDAu
            MS4wLy9FTg0KQ0FMU0NBTEU6R1JFR09SSUFODQpNRVRIT0Q6UkVRVUVTVA0KWC1XUi1USU1FWk9O
            RTpFdXJvcGUvWnVyaWNoDQpCRUdJTjpWVElNRVpPTkUNClRaSUQ6RXVyb3BlL1p1cmljaA0KQkVH
            SU46U1RBTkRBUkQNCkRUU1RBUlQ6MjAyMjEwMzBUMDMwMDAwDQpUWk9GRlNFVEZST006KzAyMDAN
            ClRaT0ZGU0VUVE86KzAxMDANClRaTkFNRTpDRVQNCkVORDpTVEFOREFSRA0KRU5EOlZUSU1FWk9O
            RQ0KQkVHSU46VkVWRU5UDQpDQVRFR09SSUVTOm1zbWUsbXRzLHd0byxicmFpbnN0b3JtaW5nDQpD
            UkVBVEVEOjIwMjIxMDAzVDA4MDAwMFoNCkRFU0NSSVBUSU9OOk9uIDE3IE5vdmVtYmVyIDIwMjJc
            LCB0aGUgRnJpZW5kcyBvZiBNdWx0aWxhdGVyYWxpc20gR3JvdXAgKEZNRw0KICkgaGFzIG9yZ2Fu
            aXplZCBhbiBvbmxpbmUgYnJhaW5zdG9ybWluZyBzZXNzaW9uIHRpdGxlZCDigJxJbnRlZ3JhdGlv
            biBvZiBNDQogU01FcyB3aXRoaW4gdGhlIE1UU+KAnS4gUGF0cmljayBMb3dcLCBDby1DaGFpciBv
            ZiBGTUcgYW5kIGZvcm1lciBDaGllZiBFY28NCiBub21pc3Qgb2YgdGhlIFdUTyBtb2RlcmF0ZWQg
            dGhpcyBzZXNzaW9uLlxuXG5Kb3PDqSBMdcOtcyBDYW5jZWxhXCwgQW1iYXNzYQ0KIGRvciBvZiBV
            cnVndWF5IHRvIHRoZSBXVE8gYW5kIENvb3JkaW5hdG9yIG9mIHRoZSBXVE8gSW5mb3JtYWwgV29y
            a2luZyBHcm91DQogcCBvbiBNU01Fc1w7IEthdGhyeW4gTHVuZHF1aXN0XCwgZWNvbm9taWMgYWZm
            YWlycyBvZmZpY2VyIGluIHRoZSBFY29ub21pYyANCiBSZXNlYXJjaCBhbmQgU3RhdGlzdGljcyBE
            aXZpc2lvbiBvZiB0aGUgV1RPXDsgYW5kIFZhbGVudGluYSBSb2xsb1wsIEVjb25vbQ0KIGlzdCBp
            biB0aGUgT2ZmaWNlIG9mIHRoZSBDaGllZiBFY29ub21pc3QgYXQgdGhlIEludGVybmF0aW9uYWwg
            VHJhZGUgQ2VudHJlDQogIChJVEMpIHNoYXJlZCB0aGVpciBpbnNpZ2h0ZnVsIHZpZXdzIG9uIHRo
            ZSBpbXBvcnRhbmNlIG9mIE1TTUVzXCwgdGhlIGRpZmYNCiBpY3VsdGllcyB0aGV5IGZhY2VcLCBh
            bmQgaG93IGludGVybmF0aW9uYWwgY29vcGVyYXRpb24gY2FuIGJlIHN0cmVuZ3RoZW5lZA0KICB0
            byBiZXR0ZXIgc3VwcG9ydCB0aGVtIHRvIGludGVncmF0ZSBpbnRvIGdsb2JhbCB2YWx1ZSBjaGFp
            bnMuXG5cbk5lYXJseSAzDQogMCBwYXJ0aWNpcGFudHMgam9pbmVkIHRoZSBicmFpbnN0b3JtaW5n
            XCwgaW5jbHVkaW5nIG1lbWJlcnMgb2YgRk1HXCwgQW1iYXMNCiBzYWRvcnMvRFBScyBvZiBXVE8g
            bWVtYmVyc1wsIERpcmVjdG9ycyBvZiBXVE8gZGl2aXNpb25zXCwgcmVwcmVzZW50YXRpdmVzIA0K
            IGZyb20gcmVsYXRlZCBpbnRlcm5hdGlvbmFsIG9yZ2FuaXphdGlvbnNcLCBhbmQgZXhwZXJ0cyBm
            cm9tIHJlbm93bmVkIHRoaW5rDQogIHRhbmtzIGFuZCB1bml2ZXJzaXRpZXMgZXRjLlxuXG5Pcmdh
            bml6ZXI6IEZyaWVuZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3UNCiBwIChGTUcpXG5cblByb2dy
            YW1tZTpcbjE1OjAw4oCTMTU6MDUgQ0VUIChVVEMrMDE6MDApIE9wZW5pbmcgUmVtYXJrcyDigJQg
            WA0KIGlhbmt1biBMdSAoRk1HKVwsIFBhdHJpY2sgTG93IChDby1DaGFpciBvZiBGTUdcOyBmb3Jt
            ZXIgQ2hpZWYgRWNvbm9taXN0IG9mDQogIHRoZSBXVE9cLCBGTUcpXG4xNTowNeKAkzE1OjE1IENF
            VCAoVVRDKzAxOjAwKSBTcGVha2VyIDE6IEpvc8OpIEx1w61zIENhbmMNCiBlbGEg4oCUIEFtYi4g
            Sm9zw6kgTHXDrXMgQ2FuY2VsYSAoQW1iYXNzYWRvclw7IENvb3JkaW5hdG9yIG9mIHRoZSBXVE8g
            SW5mbw0KIHJtYWwgV29ya2luZyBHcm91cCBvbiBNU01Fc1wsIFVydWd1YXkpIChtb2RlcmF0b3I6
            IFBhdHJpY2sgTG93IChDby1DaGFpciBvDQogZiBGTUdcOyBmb3JtZXIgQ2hpZWYgRWNvbm9taXN0
            IG9mIHRoZSBXVE9cLCBGTUcpKVxuMTU6MTXigJMxNToyNSBDRVQgKFVUQysNCiAwMTowMCkgU3Bl
            YWtlciAyOiBLYXRocnluIEx1bmRxdWlzdCDigJQgS2F0aHJ5biBMdW5kcXVpc3QgKEVjb25vbWlj
            IEFmZmFpcg0KIHMgT2ZmaWNlciBpbiB0aGUgRWNvbm9taWMgUmVzZWFyY2ggYW5kIFN0YXRpc3Rp
            Y3MgRGl2aXNpb25cLCBXVE8gU2VjcmV0YXJpDQogYXQpIChtb2RlcmF0b3I6IFBhdHJpY2sgTG93
            IChDby1DaGFpciBvZiBGTUdcOyBmb3JtZXIgQ2hpZWYgRWNvbm9taXN0IG9mIHQNCiBoZSBXVE9c
            LCBGTUcpKVxuMTU6MjXigJMxNTozNSBDRVQgKFVUQyswMTowMCkgU3BlYWtlciAzOiBWYWxlbnRp
            bmEgUm9sbG8gDQog4oCUIFZhbGVudGluYSBSb2xsbyAoRWNvbm9taXN0IGluIHRoZSBPZmZpY2Ug
            b2YgdGhlIENoaWVmIEVjb25vbWlzdFwsIElUQykNCiAgKG1vZGVyYXRvcjogUGF0cmljayBMb3cg
            KENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBFY29ub21pc3Qgb2YgdGhlIA0KIFdUT1ws
            IEZNRykpXG4xNTozNeKAkzE2OjMwIENFVCAoVVRDKzAxOjAwKSBPcGVuIERpc2N1c3Npb24gKG1v
            ZGVyYXRvcjogUGF0DQogcmljayBMb3cgKENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBF
            Y29ub21pc3Qgb2YgdGhlIFdUT1wsIEZNRykpXG5cbk0NCiBhdGVyaWFsczpcbi0gVHJhZGU0TVNN
            RXMg4oCTIEFtYiBDYW5jZWxhcyBwcmVzZW50YXRpb25cbi0gTHVuZHF1aXN0IHByZXNlbg0KIHRh
            dGlvbiDigJMgMjAyMiBXVE8gTVNNRSBHcm91cCBSZXNlYXJjaCBOb3Rlc1xuLSBTTUVDTyAyMDIy
            IEZNRyBwcmVzZW50YXRpDQogb25fZmluYWxcbi0gUHJvZ3JhbSBvZiB0aGlzIHNlc3Npb25cbi0g
            TGlzdCBvZiBDb25maXJtZWQgUGFydGljaXBhbnRzXG5cblINCiBlY29yZGluZzogaHR0cHM6Ly95
            b3V0dS5iZS91bG01dGNHdWRqWQ0KRFRFTkQ7VFpJRD1FdXJvcGUvWnVyaWNoOjIwMjIxMTE3VDE2
            MzAwMA0KRFRTVEFNUDoyMDAwMDEwMVQwMDAwMDBaDQpEVFNUQVJUO1RaSUQ9RXVyb3BlL1p1cmlj
            aDoyMDIyMTExN1QxNTAwMDANCkxBU1QtTU9ESUZJRUQ6MjAyMjExMTBUMTYzMDAwWg0KT1JHQU5J
            WkVSO0NOPUZyaWVuZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3VwIChGTUcpOm1haWx0bzpmbWdA
            ZXhhbXBsZS5vcmcNClNFUVVFTkNFOjANClNUQVRVUzpDT05GSVJNRUQNClNVTU1BUlk6SW50ZWdy
            YXRpb24gb2YgTVNNRXMgd2l0aGluIHRoZSBNVFMNClRSQU5TUDpPUEFRVUUNClVJRDpzZXNzaW9u
            LmZtZy1tc21lLTIwMjItMTEtMTdAYWdlbmRhLmludmFsaWQNClVSTDpodHRwczovL3lvdXR1LmJl
            L3VsbTV0Y0d1ZGpZDQpBVFRFTkRFRTtDTj1TaGVycnkgU3RlcGhlbnNvbjtDVVRZUEU9SU5ESVZJ
            RFVBTDtQQVJUU1RBVD1BQ0NFUFRFRDtST0xFPVJFUS0NCiBQQVJUSUNJUEFOVDtSU1ZQPVRSVUU6
            bWFpbHRvOnNoZXJyeS5zdGVwaGVuc29uQGV4YW1wbGUub3JnDQpFTkQ6VkVWRU5UDQpFTkQ6VkNB
            TEVOREFSDQo=

            --agenda-alt-448424ff40698bfb--

            --agenda-mixed-448424ff40698bfb
            Content-Type: application/ics; name="invite.ics"
            Content-Disposition: attachment; filename="invite.ics"
            Content-Transfer-Encoding: base64

            QkVHSU46VkNBTEVOREFSDQpWRVJTSU9OOjIuMA0KUFJPRElEOi0vL2FnZW5kYS8vYWdlbmRhIDAu
            MS4wLy9FTg0KQ0FMU0NBTEU6R1JFR09SSUFODQpNRVRIT0Q6UkVRVUVTVA0KWC1XUi1USU1FWk9O
            RTpFdXJvcGUvWnVyaWNoDQpCRUdJTjpWVElNRVpPTkUNClRaSUQ6RXVyb3BlL1p1cmljaA0KQkVH
            SU46U1RBTkRBUkQNCkRUU1RBUlQ6MjAyMjEwMzBUMDMwMDAwDQpUWk9GRlNFVEZST006KzAyMDAN
            ClRaT0ZGU0VUVE86KzAxMDANClRaTkFNRTpDRVQNCkVORDpTVEFOREFSRA0KRU5EOlZUSU1FWk9O
            RQ0KQkVHSU46VkVWRU5UDQpDQVRFR09SSUVTOm1zbWUsbXRzLHd0byxicmFpbnN0b3JtaW5nDQpD
            UkVBVEVEOjIwMjIxMDAzVDA4MDAwMFoNCkRFU0NSSVBUSU9OOk9uIDE3IE5vdmVtYmVyIDIwMjJc
            LCB0aGUgRnJpZW5kcyBvZiBNdWx0aWxhdGVyYWxpc20gR3JvdXAgKEZNRw0KICkgaGFzIG9yZ2Fu
            aXplZCBhbiBvbmxpbmUgYnJhaW5zdG9ybWluZyBzZXNzaW9uIHRpdGxlZCDigJxJbnRlZ3JhdGlv
            biBvZiBNDQogU01FcyB3aXRoaW4gdGhlIE1UU+KAnS4gUGF0cmljayBMb3dcLCBDby1DaGFpciBv
            ZiBGTUcgYW5kIGZvcm1lciBDaGllZiBFY28NCiBub21pc3Qgb2YgdGhlIFdUTyBtb2RlcmF0ZWQg
            dGhpcyBzZXNzaW9uLlxuXG5Kb3PDqSBMdcOtcyBDYW5jZWxhXCwgQW1iYXNzYQ0KIGRvciBvZiBV
            cnVndWF5IHRvIHRoZSBXVE8gYW5kIENvb3JkaW5hdG9yIG9mIHRoZSBXVE8gSW5mb3JtYWwgV29y
            a2luZyBHcm91DQogcCBvbiBNU01Fc1w7IEthdGhyeW4gTHVuZHF1aXN0XCwgZWNvbm9taWMgYWZm
            YWlycyBvZmZpY2VyIGluIHRoZSBFY29ub21pYyANCiBSZXNlYXJjaCBhbmQgU3RhdGlzdGljcyBE
            aXZpc2lvbiBvZiB0aGUgV1RPXDsgYW5kIFZhbGVudGluYSBSb2xsb1wsIEVjb25vbQ0KIGlzdCBp
            biB0aGUgT2ZmaWNlIG9mIHRoZSBDaGllZiBFY29ub21pc3QgYXQgdGhlIEludGVybmF0aW9uYWwg
            VHJhZGUgQ2VudHJlDQogIChJVEMpIHNoYXJlZCB0aGVpciBpbnNpZ2h0ZnVsIHZpZXdzIG9uIHRo
            ZSBpbXBvcnRhbmNlIG9mIE1TTUVzXCwgdGhlIGRpZmYNCiBpY3VsdGllcyB0aGV5IGZhY2VcLCBh
            bmQgaG93IGludGVybmF0aW9uYWwgY29vcGVyYXRpb24gY2FuIGJlIHN0cmVuZ3RoZW5lZA0KICB0
            byBiZXR0ZXIgc3VwcG9ydCB0aGVtIHRvIGludGVncmF0ZSBpbnRvIGdsb2JhbCB2YWx1ZSBjaGFp
            bnMuXG5cbk5lYXJseSAzDQogMCBwYXJ0aWNpcGFudHMgam9pbmVkIHRoZSBicmFpbnN0b3JtaW5n
            XCwgaW5jbHVkaW5nIG1lbWJlcnMgb2YgRk1HXCwgQW1iYXMNCiBzYWRvcnMvRFBScyBvZiBXVE8g
            bWVtYmVyc1wsIERpcmVjdG9ycyBvZiBXVE8gZGl2aXNpb25zXCwgcmVwcmVzZW50YXRpdmVzIA0K
            IGZyb20gcmVsYXRlZCBpbnRlcm5hdGlvbmFsIG9yZ2FuaXphdGlvbnNcLCBhbmQgZXhwZXJ0cyBm
            cm9tIHJlbm93bmVkIHRoaW5rDQogIHRhbmtzIGFuZCB1bml2ZXJzaXRpZXMgZXRjLlxuXG5Pcmdh
            bml6ZXI6IEZyaWVuZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3UNCiBwIChGTUcpXG5cblByb2dy
            YW1tZTpcbjE1OjAw4oCTMTU6MDUgQ0VUIChVVEMrMDE6MDApIE9wZW5pbmcgUmVtYXJrcyDigJQg
            WA0KIGlhbmt1biBMdSAoRk1HKVwsIFBhdHJpY2sgTG93IChDby1DaGFpciBvZiBGTUdcOyBmb3Jt
            ZXIgQ2hpZWYgRWNvbm9taXN0IG9mDQogIHRoZSBXVE9cLCBGTUcpXG4xNTowNeKAkzE1OjE1IENF
            VCAoVVRDKzAxOjAwKSBTcGVha2VyIDE6IEpvc8OpIEx1w61zIENhbmMNCiBlbGEg4oCUIEFtYi4g
            Sm9zw6kgTHXDrXMgQ2FuY2VsYSAoQW1iYXNzYWRvclw7IENvb3JkaW5hdG9yIG9mIHRoZSBXVE8g
            SW5mbw0KIHJtYWwgV29ya2luZyBHcm91cCBvbiBNU01Fc1wsIFVydWd1YXkpIChtb2RlcmF0b3I6
            IFBhdHJpY2sgTG93IChDby1DaGFpciBvDQogZiBGTUdcOyBmb3JtZXIgQ2hpZWYgRWNvbm9taXN0
            IG9mIHRoZSBXVE9cLCBGTUcpKVxuMTU6MTXigJMxNToyNSBDRVQgKFVUQysNCiAwMTowMCkgU3Bl
            YWtlciAyOiBLYXRocnluIEx1bmRxdWlzdCDigJQgS2F0aHJ5biBMdW5kcXVpc3QgKEVjb25vbWlj
            IEFmZmFpcg0KIHMgT2ZmaWNlciBpbiB0aGUgRWNvbm9taWMgUmVzZWFyY2ggYW5kIFN0YXRpc3Rp
            Y3MgRGl2aXNpb25cLCBXVE8gU2VjcmV0YXJpDQogYXQpIChtb2RlcmF0b3I6IFBhdHJpY2sgTG93
            IChDby1DaGFpciBvZiBGTUdcOyBmb3JtZXIgQ2hpZWYgRWNvbm9taXN0IG9mIHQNCiBoZSBXVE9c
            LCBGTUcpKVxuMTU6MjXigJMxNTozNSBDRVQgKFVUQyswMTowMCkgU3BlYWtlciAzOiBWYWxlbnRp
            bmEgUm9sbG8gDQog4oCUIFZhbGVudGluYSBSb2xsbyAoRWNvbm9taXN0IGluIHRoZSBPZmZpY2Ug
            b2YgdGhlIENoaWVmIEVjb25vbWlzdFwsIElUQykNCiAgKG1vZGVyYXRvcjogUGF0cmljayBMb3cg
            KENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBFY29ub21pc3Qgb2YgdGhlIA0KIFdUT1ws
            IEZNRykpXG4xNTozNeKAkzE2OjMwIENFVCAoVVRDKzAxOjAwKSBPcGVuIERpc2N1c3Npb24gKG1v
            ZGVyYXRvcjogUGF0DQogcmljayBMb3cgKENvLUNoYWlyIG9mIEZNR1w7IGZvcm1lciBDaGllZiBF
            Y29ub21pc3Qgb2YgdGhlIFdUT1wsIEZNRykpXG5cbk0NCiBhdGVyaWFsczpcbi0gVHJhZGU0TVNN
            RXMg4oCTIEFtYiBDYW5jZWxhcyBwcmVzZW50YXRpb25cbi0gTHVuZHF1aXN0IHByZXNlbg0KIHRh
            dGlvbiDigJMgMjAyMiBXVE8gTVNNRSBHcm91cCBSZXNlYXJjaCBOb3Rlc1xuLSBTTUVDTyAyMDIy
            IEZNRyBwcmVzZW50YXRpDQogb25fZmluYWxcbi0gUHJvZ3JhbSBvZiB0aGlzIHNlc3Npb25cbi0g
            TGlzdCBvZiBDb25maXJtZWQgUGFydGljaXBhbnRzXG5cblINCiBlY29yZGluZzogaHR0cHM6Ly95
            b3V0dS5iZS91bG01dGNHdWRqWQ0KRFRFTkQ7VFpJRD1FdXJvcGUvWnVyaWNoOjIwMjIxMTE3VDE2
            MzAwMA0KRFRTVEFNUDoyMDAwMDEwMVQwMDAwMDBaDQpEVFNUQVJUO1RaSUQ9RXVyb3BlL1p1cmlj
            aDoyMDIyMTExN1QxNTAwMDANCkxBU1QtTU9ESUZJRUQ6MjAyMjExMTBUMTYzMDAwWg0KT1JHQU5J
            WkVSO0NOPUZyaWVuZHMgb2YgTXVsdGlsYXRlcmFsaXNtIEdyb3VwIChGTUcpOm1haWx0bzpmbWdA
            ZXhhbXBsZS5vcmcNClNFUVVFTkNFOjANClNUQVRVUzpDT05GSVJNRUQNClNVTU1BUlk6SW50ZWdy
            YXRpb24gb2YgTVNNRXMgd2l0aGluIHRoZSBNVFMNClRSQU5TUDpPUEFRVUUNClVJRDpzZXNzaW9u
            LmZtZy1tc21lLTIwMjItMTEtMTdAYWdlbmRhLmludmFsaWQNClVSTDpodHRwczovL3lvdXR1LmJl
            L3VsbTV0Y0d1ZGpZDQpBVFRFTkRFRTtDTj1TaGVycnkgU3RlcGhlbnNvbjtDVVRZUEU9SU5ESVZJ
            RFVBTDtQQVJUU1RBVD1BQ0NFUFRFRDtST0xFPVJFUS0NCiBQQVJUSUNJUEFOVDtSU1ZQPVRSVUU6
            bWFpbHRvOnNoZXJyeS5zdGVwaGVuc29uQGV4YW1wbGUub3JnDQpFTkQ6VkVWRU5UDQpFTkQ6VkNB
            TEVOREFSDQo=

            --agenda-mixed-448424ff40698bfb--
        "#]],
    );
}

/// `email` with `stamp` replaced by `PINNED_STAMP` inside every base64 part (decoded, replaced,
/// encoded again in lines of 76 characters, as the server writes them).
fn pin_base64_parts(email: &str, stamp: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    let mut parts = email.split("Content-Transfer-Encoding: base64\r\n\r\n");
    out.push_str(parts.next().unwrap());
    for part in parts {
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        let (body, rest) = part.split_once("\r\n\r\n").expect("a blank line after the body");
        let text = String::from_utf8(b64.decode(body.replace("\r\n", "")).unwrap()).unwrap();
        let pinned = b64.encode(text.replace(stamp, PINNED_STAMP));
        let lines: Vec<&str> = pinned.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
        out.push_str(&lines.join("\r\n"));
        out.push_str("\r\n\r\n");
        out.push_str(rest);
    }
    out
}
