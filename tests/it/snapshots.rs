//! Byte-exact snapshots of what leaves the server for calendar and mail clients: the demo
//! session's feed, one invite and one invite e-mail, beside the third-party parser checks
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
    let mut data: serde_json::Value = serde_json::from_str(agenda::DEMO_DATA).unwrap();
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
         =?UTF-8?B?IDE3IE5vdmVtYmVyIDIwMjIsIDE1OjE14oCTMTU6MjUgQ0VUIChVVEMrMDE6?=
         =?UTF-8?B?MDApLCBFdXJvcGUvWnVyaWNo?=
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
        LgoKV2hlbjogVGh1cnNkYXkgMTcgTm92ZW1iZXIgMjAyMiwgMTU6MTXigJMxNToyNSBDRVQgKFVU
        QyswMTowMCksIEV1cm9wZS9adXJpY2gKU3BlYWtlcnM6IEthdGhyeW4gTHVuZHF1aXN0IChFY29u
        b21pYyBBZmZhaXJzIE9mZmljZXIgaW4gdGhlIEVjb25vbWljIFJlc2VhcmNoIGFuZCBTdGF0aXN0
        aWNzIERpdmlzaW9uLCBXVE8gU2VjcmV0YXJpYXQpCk1vZGVyYXRvcnM6IFBhdHJpY2sgTG93IChD
        by1DaGFpciBvZiBGTUc7IGZvcm1lciBDaGllZiBFY29ub21pc3Qgb2YgdGhlIFdUTywgRk1HKQoK
        UGxlYXNlIGFuc3dlciB3aXRoIHlvdXIgY2FsZW5kYXIgKGFjY2VwdCwgdGVudGF0aXZlIG9yIGRl
        Y2xpbmUpOiB5b3VyIGFuc3dlciB1cGRhdGVzIHRoZSBhZ2VuZGEuCg==

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
