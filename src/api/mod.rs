//! The gRPC API: one file per service, each a thin layer that parses the request into a
//! command of domain values (`requests`, built from the field parsers in `convert`), calls the
//! app layer, and renders the answer (`convert` again). Errors become statuses in `status`,
//! nowhere else; page tokens are made and read in `page_token`.

mod admin;
mod cache;
mod codec;
mod convert;
mod feeds;
mod invites;
pub mod page_token;
mod people;
mod requests;
mod schedule;
mod sessions;
pub mod status;
mod watch;

pub use admin::AdminApi;
pub use cache::{Bounds, ReadCache};
/// Pre-encoded answers, also sent by the benchmarks' read floor (`bench_floor.rs`).
pub use codec::{Encoded, EncodedCodec};
/// A session as the API answers it; the benchmark driver builds its requests with it.
pub use convert::session_out;
pub use feeds::FeedApi;
pub use invites::InviteApi;
pub use people::PersonApi;
pub use schedule::{LIST_CONFLICTS, ScheduleApi, SeesPrivate};
pub use sessions::SessionApi;

use std::sync::Arc;

use crate::domain::Violations;
use crate::error::Error;

/// SessionService as served: the generated server, with GetSession and ListSessions answered
/// from the read cache in encoded bytes (`codec.rs` says why this shape).
pub type SessionServer = codec::Intercept<
    codec::Intercept<
        crate::pb::session_service_server::SessionServiceServer<SessionApi>,
        sessions::GetSessionEncoded,
        crate::pb::GetSessionRequest,
    >,
    sessions::ListSessionsEncoded,
    crate::pb::ListSessionsRequest,
>;

/// PersonService as served, GetPerson from the read cache.
pub type PersonServer = codec::Intercept<
    crate::pb::person_service_server::PersonServiceServer<PersonApi>,
    people::GetPersonEncoded,
    crate::pb::GetPersonRequest,
>;

/// SessionService over `api`, requests up to `max_message_bytes`.
pub fn session_server(api: SessionApi, max_message_bytes: usize) -> SessionServer {
    let api = Arc::new(api);
    let generated = crate::pb::session_service_server::SessionServiceServer::from_arc(Arc::clone(&api))
        .max_decoding_message_size(max_message_bytes);
    let get = codec::Intercept::new(
        generated,
        sessions::GET_SESSION,
        sessions::GetSessionEncoded(Arc::clone(&api)),
        max_message_bytes,
    );
    codec::Intercept::new(get, sessions::LIST_SESSIONS, sessions::ListSessionsEncoded(api), max_message_bytes)
}

/// PersonService over `api`, requests up to `max_message_bytes`.
pub fn person_server(api: PersonApi, max_message_bytes: usize) -> PersonServer {
    let api = Arc::new(api);
    let generated = crate::pb::person_service_server::PersonServiceServer::from_arc(Arc::clone(&api))
        .max_decoding_message_size(max_message_bytes);
    codec::Intercept::new(generated, people::GET_PERSON, people::GetPersonEncoded(api), max_message_bytes)
}

/// The request field of a write's request id (AIP-155), the same in every request.
const REQUEST_ID: &str = "request_id";

/// Rewrites the field paths of a validation error from the domain's (relative to a session)
/// to the request's.
fn remap(e: Error, f: impl Fn(&str) -> String) -> Error {
    let Some(v) = e.violations() else { return e };
    let mut out = Violations::new("");
    for x in v.violations() {
        // The app refuses a reused request id on the request's own field, not a record's.
        let field = if x.field == REQUEST_ID { x.field.clone() } else { f(&x.field) };
        out.add(field, x.description.clone());
    }
    out.into()
}

/// Paths under a request field: `title` -> `session.title`.
fn under(prefix: &'static str) -> impl Fn(&str) -> String {
    move |field| if field.is_empty() { prefix.to_owned() } else { format!("{prefix}.{field}") }
}

/// Paths of a one-slot request: `slots[3].end_time` -> `slot.end_time`, others under `session`.
fn slot_fields(field: &str) -> String {
    match field.strip_prefix("slots[").and_then(|r| r.split_once(']')) {
        Some((_, rest)) => format!("slot{rest}"),
        None if field == "slots" => "slot".to_owned(),
        None => format!("session.{field}"),
    }
}
