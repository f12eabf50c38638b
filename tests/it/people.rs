//! People: create, search, update, delete (refused while on an agenda), and their slots.

use agenda::pb;
use prost_types::FieldMask;
use tonic::Code;

use crate::helpers::{failure, reason, session, slot, spawn_app, spawn_demo_app, ts};

fn search(query: &str) -> pb::ListPeopleRequest {
    pb::ListPeopleRequest { query: query.into(), ..Default::default() }
}

#[tokio::test]
async fn people_are_searched_by_name_and_affiliation_in_name_order() {
    let app = spawn_demo_app().await;
    let mut c = app.people.clone();
    let names = |r: pb::ListPeopleResponse| r.people.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(names(c.list_people(search("ølberg")).await.unwrap().into_inner()), ["Petter Ølberg"]);
    assert_eq!(names(c.list_people(search("NORWAY")).await.unwrap().into_inner()), ["Petter Ølberg"]);
    let secretariat = names(c.list_people(search("wto secretariat")).await.unwrap().into_inner());
    assert_eq!(secretariat, ["Emmanuelle Ganne", "Gabrielle Marceau", "Kathryn Lundquist"]);

    // Paging through everyone gives every person once, in name order.
    let mut req = pb::ListPeopleRequest { page_size: 5, ..Default::default() };
    let mut all = Vec::new();
    loop {
        let page = c.list_people(req.clone()).await.unwrap().into_inner();
        all.extend(page.people.into_iter().map(|p| p.name));
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    assert_eq!(all.len(), 28);
    let mut sorted = all.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(all, sorted);
}

#[tokio::test]
async fn a_person_is_created_updated_and_deleted() {
    let app = spawn_app().await;
    let mut c = app.people.clone();
    let req = pb::CreatePersonRequest {
        person_id: String::new(),
        person: Some(pb::Person {
            name: "Diane Lacoste".into(),
            position: "Counsellor".into(),
            affiliation: "EU".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = c.create_person(req).await.unwrap().into_inner().person.unwrap();
    assert_eq!(created.id.len(), 16, "generated id");
    let update = pb::UpdatePersonRequest {
        person: Some(pb::Person {
            id: created.id.clone(),
            email: "diane.lacoste@example.org".into(),
            etag: created.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    let updated = c.update_person(update.clone()).await.unwrap().into_inner().person.unwrap();
    assert_eq!((updated.email.as_str(), updated.position.as_str()), ("diane.lacoste@example.org", "Counsellor"));
    assert_eq!(failure(c.update_person(update).await).0, Code::Aborted, "the etag is stale now");
    c.delete_person(pb::DeletePersonRequest { person_id: created.id.clone(), etag: updated.etag }).await.unwrap();
    assert_eq!(reason(c.get_person(pb::GetPersonRequest { person_id: created.id }).await), "PERSON_NOT_FOUND");
}

#[tokio::test]
async fn a_person_on_an_agenda_cannot_be_deleted_until_taken_off() {
    let app = spawn_app().await;
    app.person("rollo", "Valentina Rollo").await;
    let mut s = session("Talk", "2026-08-01T09:00:00Z", "2026-08-01T10:00:00Z");
    s.slots = vec![pb::Slot {
        speaker_ids: vec!["rollo".into()],
        ..slot("t", "T", "2026-08-01T09:00:00Z", "2026-08-01T10:00:00Z")
    }];
    app.create("talk", s).await;
    let delete = pb::DeletePersonRequest { person_id: "rollo".into(), etag: String::new() };
    let r = app.people.clone().delete_person(delete.clone()).await;
    assert_eq!(failure(r).0, Code::FailedPrecondition);
    assert_eq!(reason(app.people.clone().delete_person(delete.clone()).await), "PERSON_IN_USE");
    assert_eq!(
        app.people
            .clone()
            .get_person(pb::GetPersonRequest { person_id: "rollo".into() })
            .await
            .unwrap()
            .into_inner()
            .person
            .unwrap()
            .name,
        "Valentina Rollo"
    );

    app.sessions
        .clone()
        .remove_slot(pb::RemoveSlotRequest { session_id: "talk".into(), slot_id: "t".into(), etag: String::new() })
        .await
        .unwrap();
    app.people.clone().delete_person(delete).await.unwrap();
}

#[tokio::test]
async fn a_persons_slots_are_listed_across_sessions_in_time_order_with_roles() {
    let app = spawn_demo_app().await;
    app.create(
        "later",
        pb::Session {
            slots: vec![pb::Slot {
                speaker_ids: vec!["patrick-low".into()],
                moderator_ids: vec!["patrick-low".into()],
                ..slot("keynote", "Keynote", "2026-09-01T09:00:00Z", "2026-09-01T10:00:00Z")
            }],
            ..session("Later", "2026-09-01T09:00:00Z", "2026-09-01T12:00:00Z")
        },
    )
    .await;
    let req = pb::ListPersonSlotsRequest { person_id: "patrick-low".into(), ..Default::default() };
    let slots = app.people.clone().list_person_slots(req.clone()).await.unwrap().into_inner().slots;
    let seen: Vec<(&str, &str)> =
        slots.iter().map(|s| (s.session_id.as_str(), s.slot.as_ref().unwrap().id.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("fmg-msme-2022-11-17", "opening-remarks"),
            ("fmg-msme-2022-11-17", "speaker-1-cancela"),
            ("fmg-msme-2022-11-17", "speaker-2-lundquist"),
            ("fmg-msme-2022-11-17", "speaker-3-rollo"),
            ("fmg-msme-2022-11-17", "open-discussion"),
            ("later", "keynote"),
        ]
    );
    let speaker = pb::ParticipantRole::Speaker as i32;
    let moderator = pb::ParticipantRole::Moderator as i32;
    assert_eq!(slots[0].roles, [speaker]);
    assert_eq!(slots[1].roles, [moderator]);
    assert_eq!(slots[5].roles, [speaker, moderator]);
    assert_eq!(slots[0].time_zone, "Europe/Zurich");

    // A window, and pages of two.
    let window = pb::ListPersonSlotsRequest {
        from_time: Some(ts("2022-11-17T14:20:00Z")),
        to_time: Some(ts("2022-11-17T14:40:00Z")),
        ..req.clone()
    };
    let ids: Vec<String> = app
        .people
        .clone()
        .list_person_slots(window)
        .await
        .unwrap()
        .into_inner()
        .slots
        .into_iter()
        .map(|s| s.slot.unwrap().id)
        .collect();
    assert_eq!(ids, ["speaker-2-lundquist", "speaker-3-rollo", "open-discussion"]);
    let mut paged = pb::ListPersonSlotsRequest { page_size: 2, ..req };
    let mut count = 0;
    loop {
        let page = app.people.clone().list_person_slots(paged.clone()).await.unwrap().into_inner();
        count += page.slots.len();
        if page.next_page_token.is_empty() {
            break;
        }
        paged.page_token = page.next_page_token;
    }
    assert_eq!(count, 6);
    let unknown = pb::ListPersonSlotsRequest { person_id: "nobody".into(), ..Default::default() };
    assert_eq!(failure(app.people.clone().list_person_slots(unknown).await).0, Code::NotFound);
}
