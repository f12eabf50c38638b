//! Refusals: each carries its reason from the one table (`agenda::error::Reason`), in gRPC's
//! `ErrorInfo` (domain `agenda`, with the ids it is about as metadata) or in the HTTP
//! `agenda-error-reason` header, with that reason's code or status; and no message shows Rust
//! `Debug` text.

use agenda::config::AuthConfig;
use agenda::domain::Limits;
use agenda::error::Reason;
use agenda::pb;
use tonic::{Code, Request, Status};
use tonic_types::{ErrorInfo, StatusExt};

use crate::helpers::{spawn_demo_app, spawn_with};

/// The ErrorInfo of a refusal, checked against the reason table.
fn refused<T: std::fmt::Debug>(r: Result<T, Status>, reason: Reason) -> (Status, ErrorInfo) {
    let status = r.expect_err("the call should be refused");
    let info = status.get_details_error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!((info.reason.as_str(), info.domain.as_str()), (reason.as_str(), "agenda"), "{status:?}");
    assert_eq!(status.code(), reason.code(), "{status:?}");
    (status, info)
}

fn create_person(token: Option<&str>) -> Request<pb::CreatePersonRequest> {
    let person = pb::Person { name: "Ada Lovelace".into(), ..Default::default() };
    let mut req =
        Request::new(pb::CreatePersonRequest { person_id: "ada".into(), person: Some(person), ..Default::default() });
    if let Some(t) = token {
        req.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

#[tokio::test]
async fn a_missing_unknown_or_under_scoped_token_is_refused_with_error_info() {
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens_file,
        "[[tokens]]\nname = \"reader\"\nscope = \"read\"\ntoken = \"reader-token-0123456789\"\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let app = spawn_with(&store, false, Limits::default(), |c| {
        c.auth = AuthConfig { tokens_file: Some(tokens_file), ..AuthConfig::default() }
    })
    .await;
    let method = "/agenda.v1.PersonService/CreatePerson";

    let (_, info) = refused(app.people.clone().create_person(create_person(None)).await, Reason::MissingToken);
    assert_eq!(info.metadata["method"], method);
    refused(app.people.clone().create_person(create_person(Some("not-a-token-at-all"))).await, Reason::UnknownToken);
    let (status, info) = refused(
        app.people.clone().create_person(create_person(Some("reader-token-0123456789"))).await,
        Reason::InsufficientScope,
    );
    assert_eq!(status.message(), format!("token \"reader\" has scope read; {method} needs write"));
    assert_eq!(
        (
            info.metadata["token_name"].as_str(),
            info.metadata["scope"].as_str(),
            info.metadata["required_scope"].as_str()
        ),
        ("reader", "read", "write")
    );
}

#[tokio::test]
async fn a_watcher_past_the_limit_is_refused_with_too_many_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |o| o.limits.max_watchers = 0).await;
    let r = app.sessions.clone().watch_sessions(pb::WatchSessionsRequest::default()).await;
    refused(r, Reason::TooManyWatchers);
}

#[tokio::test]
async fn deleting_a_person_in_use_names_them_by_id_without_debug_text() {
    let app = spawn_demo_app().await;
    let delete = pb::DeletePersonRequest { person_id: "patrick-low".into(), etag: String::new() };
    let (status, info) = refused(app.people.clone().delete_person(delete).await, Reason::PersonInUse);
    assert!(status.message().starts_with("person \"patrick-low\" is named by 1 session(s)"), "{}", status.message());
    assert!(!status.message().contains("PersonId("), "{}", status.message());
    assert_eq!((info.metadata["person_id"].as_str(), info.metadata["sessions"].as_str()), ("patrick-low", "1"));
}

#[tokio::test]
async fn a_missing_record_and_a_stale_etag_name_the_record_in_metadata() {
    let app = spawn_demo_app().await;
    let get = pb::GetSessionRequest { session_id: "gone".into() };
    let (status, info) = refused(app.sessions.clone().get_session(get).await, Reason::SessionNotFound);
    assert_eq!(status.message(), "session \"gone\" not found");
    assert_eq!(info.metadata["session_id"], "gone");

    let remove = pb::RemoveSlotRequest {
        session_id: "fmg-msme-2022-11-17".into(),
        slot_id: "no-such-slot".into(),
        etag: "0".into(),
    };
    let (status, info) = refused(app.sessions.clone().remove_slot(remove).await, Reason::StaleEtag);
    assert!(status.message().starts_with("session \"fmg-msme-2022-11-17\" has changed"), "{}", status.message());
    assert_eq!(info.metadata["session_id"], "fmg-msme-2022-11-17");
    assert!(!info.metadata["current_etag"].is_empty());
}

#[tokio::test]
async fn feed_refusals_carry_their_reason_and_status_from_the_same_table() {
    let app = spawn_demo_app().await;
    for (path, reason) in [
        ("/feeds/sessions/nope.ics", Reason::FeedNotFound),
        ("/feeds/private/abc.ics", Reason::FeedNotFound),
        ("/feeds/sessions.ics?from=yesterday", Reason::InvalidFeedQuery),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), reason.http_status().as_u16(), "{path}");
        assert_eq!(r.headers()["agenda-error-reason"], reason.as_str(), "{path}");
    }
    assert_eq!(Reason::FeedNotFound.http_status().as_u16(), 404);
    assert_eq!(Reason::InvalidFeedQuery.http_status().as_u16(), 400);

    let dir = tempfile::tempdir().unwrap();
    let full = spawn_with(dir.path(), true, Limits::default(), |o| o.limits.http_max_concurrent_requests = 0).await;
    let r = full.get("/feeds/sessions/fmg-msme-2022-11-17.ics").await;
    assert_eq!(r.status().as_u16(), Reason::ConcurrencyLimit.http_status().as_u16());
    assert_eq!(r.headers()["agenda-error-reason"], Reason::ConcurrencyLimit.as_str());
    assert_eq!(Reason::ConcurrencyLimit.code(), Code::ResourceExhausted, "the gRPC guard's refusal is the same row");
}
