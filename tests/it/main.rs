//! Integration tests: one binary (fast to link), one module per feature. Every test starts the
//! real server, built from a `Config` by `agenda::server::build` as `agenda serve` does, on
//! port 0 with its own temporary sled directory, and talks to it with a real tonic client (see
//! `helpers::spawn_app`). Tests wait for conditions with `helpers::eventually`, never a fixed
//! sleep.

mod architecture;
mod backup;
mod cache;
mod caldav;
mod conflicts;
mod crash;
mod delivery;
mod diskfull;
mod dovecot;
mod durability;
mod errors;
#[cfg(feature = "etcd")]
mod etcd_cluster;
#[cfg(feature = "etcd")]
mod failover;
mod feeds;
mod flush_failure;
mod format_upgrade;
mod h2util;
mod helpers;
mod http;
mod i18n;
mod index_file;
mod interop;
mod invites;
#[cfg(feature = "etcd")]
mod leadership;
mod load;
#[cfg(feature = "etcd")]
mod local_copy;
mod mailbox;
mod migrate_command;
mod offline_commands;
mod pages;
mod participants;
mod people;
mod production;
mod properties;
mod readme;
#[cfg(feature = "etcd")]
mod replicas;
mod replies;
mod request_ids;
mod sessions;
mod smtp_tls;
mod snapshots;
mod store_contract;
mod synth;
mod times;
mod transfer;
mod validation;
