//! Integration tests: one binary (fast to link), one module per feature. Every test starts the
//! real server on port 0 with its own temporary sled directory and talks to it with a real
//! tonic client (see `helpers::spawn_app`).

mod backup;
mod crash;
mod diskfull;
mod durability;
mod feeds;
mod h2util;
mod helpers;
mod http;
mod interop;
mod invites;
mod load;
mod people;
mod production;
mod properties;
mod sessions;
mod synth;
mod transfer;
mod validation;
