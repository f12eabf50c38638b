//! `agenda`: meeting sessions and their agendas, over gRPC, kept in sled (or etcd).
//!
//! A tour, from the outside in:
//!
//! - [`server::build`] turns a [`config::Config`] into a ready [`server::Service`] (tokens,
//!   TLS, the store, the demo); [`server::Service::run`] serves two listeners until a shutdown
//!   signal: the internal gRPC API ([`api`]) and the HTTP listener ([`http`]) for calendar
//!   clients (the feeds), people (the agenda pages, server-rendered HTML) and operators.
//!   `main` and the integration tests both go through `build`.
//! - [`api`] is a thin layer: it parses protobuf requests into domain values, calls
//!   [`app::Agenda`], and maps [`error::Error`] to gRPC statuses in one place; read answers
//!   go out from a cache of encoded bytes while no write has changed them.
//! - [`app`] holds the operations: read, apply a domain change, validate, write with an etag
//!   check. It is the only caller of the store while serving (`agenda migrate` and `agenda
//!   check` reach it offline).
//! - [`domain`] holds the types and rules (sessions, slots, people, participants). It knows
//!   nothing of protobuf, HTTP or sled.
//! - [`store`] is the async storage contract and its engines: sled (the default; log-first
//!   writes, group commit, query indexes in memory) and etcd (feature `etcd`, for replicas),
//!   with `migrate` between them.
//! - [`ics`] renders iCalendar text from domain values (feeds, VTIMEZONE, content lines);
//!   [`links`] builds the feed URLs given out over gRPC.
//! - [`transfer`] is the JSON import/export format, also used for the demo data.
//! - [`invites`] is the speaker invites end to end: the outbox of each session (which iTIP
//!   REQUEST / CANCEL each speaker and moderator should have, and its state), rendered as
//!   iTIP objects and iMIP e-mails.
//! - [`mail`] speaks e-mail: the iMIP message, the built-in SMTP sender that drains the invite
//!   outbox when `smtp.url` is configured, and the reader of the organizer's mailbox (IMAP)
//!   that applies the iTIP replies it finds, as the ApplyReply RPC does.
//! - [`config`] resolves the configuration and builds each subsystem's settings from it;
//!   no subsystem reads it. [`secret::Secret`] keeps passwords out of logs and printouts.
//!
//! `main.rs` is the command line around all this: parse, trace, bind, run, checkpoint.

pub mod api;
pub mod app;
pub mod auth;
#[cfg(feature = "bench-floor")]
pub mod bench_floor;
pub mod config;
pub mod domain;
pub mod error;
pub mod headers;
pub mod http;
pub mod ics;
pub mod invites;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod secret;
pub mod server;
pub mod store;
pub mod transfer;

/// Code generated from `proto/agenda/v1/*.proto`.
pub mod pb {
    tonic::include_proto!("agenda.v1");
}

/// The encoded descriptors of `proto/` (with their imports), for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/agenda_descriptor.bin"));

/// The demo session's data file, embedded so `agenda serve --demo` works from any directory.
pub const DEMO_DATA: &str = include_str!("../data/demo/fmg-msme-2022-11-17.json");
