//! `agenda`: meeting sessions and their agendas, over gRPC, kept in sled (or etcd).
//!
//! A tour, from the outside in. Dependencies between these modules run one way (no circle:
//! `tests/it/architecture.rs` reads the source and fails on one):
//!
//! - [`server::build`] turns a [`config::Config`] into a ready [`server::Service`]: it maps the
//!   configuration into each subsystem's settings, opens the store, loads the demo and builds
//!   the tokens and TLS; [`server::Service::run`] serves two listeners until a shutdown
//!   signal: the internal gRPC API ([`api`]) and the HTTP listener ([`http`]) for calendar
//!   clients (the feeds), people (the agenda pages, server-rendered HTML) and operators.
//!   `main` and the integration tests both go through `build`.
//! - [`api`] is a thin layer: it parses each protobuf request into a typed command of domain
//!   values (every violation reported at once), calls [`app::Agenda`], and maps
//!   [`error::Error`] to gRPC statuses in one place; read answers go out from a cache of
//!   encoded bytes while no write has changed them. [`auth`] decides, by method name, which
//!   token scope a call needs, before any handler runs.
//! - [`app`] holds the operations: read, apply a domain change, validate, write with an etag
//!   check; import and export. It is the only caller of the store while serving (`agenda
//!   migrate` and `agenda check` reach it offline).
//! - [`domain`] holds the types and rules (sessions, slots, people, participants, the invite
//!   outbox). It knows nothing of protobuf, HTTP or sled, nor of the rest of the crate.
//! - [`store`] is the async storage contract and its engines: sled (the default; log-first
//!   writes, group commit, query indexes in memory) and etcd (feature `etcd`, for replicas),
//!   with `migrate` between them.
//! - [`error`] is the one error type above the domain and the one table of refusal reasons,
//!   each with its gRPC code and HTTP status; [`headers`] names the response headers both
//!   listeners set.
//! - [`ics`] renders iCalendar text from domain values (feeds, invites, VTIMEZONE, content
//!   lines) and parses replies; [`links`] builds the feed URLs given out over gRPC.
//! - [`transfer`] is the JSON import/export file format (also the demo data): conversion only.
//! - [`invites`] is the speaker and participant invites end to end: the outbox of each
//!   session (which iTIP REQUEST / CANCEL each speaker and moderator should have per slot, and
//!   each invited participant for the whole session, and its state), rendered as
//!   iTIP objects and iMIP e-mails ([`invites::imip`]).
//! - [`mail`] talks to mail servers: the built-in SMTP sender that drains the invite outbox
//!   when `smtp.url` is configured, and the reader of the organizer's mailbox (IMAP) that
//!   applies the iTIP replies it finds, as the ApplyReply RPC does. Among replicas each runs
//!   on one at a time: the replica that holds its role (`app`'s roles, elected by the store).
//! - [`config`] resolves the configuration (defaults, file, environment, flags) and builds each
//!   subsystem's settings from it; no subsystem reads it. [`secret::Secret`] keeps passwords
//!   out of logs and printouts.
//! - [`i18n`] is agenda's own words in English, French and Spanish (Fluent messages, dates in
//!   each language's conventions), for pages and e-mails; what people typed is never translated.
//! - [`metrics`] is the one Prometheus registry both listeners count into (`/metrics`).
//! - `bench_floor` (feature `bench-floor` only) serves the benchmarks' gRPC floors.
//!
//! `main.rs` is the command line around all this (its flags in `cli.rs`): parse, trace, bind,
//! run, checkpoint.

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
pub mod i18n;
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
