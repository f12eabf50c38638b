//! Roles one replica holds at a time: the SMTP sender and the reply-mailbox poller. Every
//! replica is configured the same and campaigns for both; the store elects one holder per role
//! ([`Store::lead`](crate::store::Store::lead)) and fences its writes. On sled (one process)
//! there is nothing to elect: every role is this process's, at once and for good.
//!
//! A [`Campaign`] is what a sender or poller loops on: [`Campaign::won`] waits until this
//! replica holds the role and gives the term's [`Fence`], [`Campaign::lost`] completes when the
//! term ends (the loop then stops acting and waits to win again). Who holds each role, as this
//! replica last saw it, is kept for `/healthz` and `/metrics` ([`Agenda::role_holders`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::Agenda;
use crate::store::{Fence, Lead, Leadership};

/// A role only one replica may hold at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Drains the invite outbox into the mail server (`mail::smtp`).
    SmtpSender,
    /// Reads replies from the organizer's mailbox (`mail::mailbox`).
    ReplyMailbox,
}

impl Role {
    /// Its name: in the store's key, the logs, `/healthz` and the metrics' `role` label.
    pub fn name(self) -> &'static str {
        match self {
            Role::SmtpSender => "smtp-sender",
            Role::ReplyMailbox => "reply-mailbox",
        }
    }
}

/// Who holds a role, as this replica last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Not known yet, or between two terms.
    Unknown,
    /// This replica.
    This,
    /// Another replica: its name.
    Other(String),
}

/// How this replica takes part in elections.
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    /// This replica's name, stored as the holder's and shown by every replica's `/healthz`.
    pub replica: String,
    /// The lease's TTL: a holder killed outright is replaced within about this long.
    pub ttl: Duration,
}

impl Default for LeaderSettings {
    fn default() -> Self {
        Self { replica: "agenda".into(), ttl: Duration::from_secs(15) }
    }
}

/// The election settings and what this replica knows of each role it campaigns for.
#[derive(Default)]
pub(super) struct Roles {
    /// Set once at start ([`Agenda::with_leadership`]); read at each campaign.
    settings: Mutex<LeaderSettings>,
    /// The roles campaigned for, each with its holder as last seen. A std Mutex: held for a
    /// map update or a copy, never across an await.
    holders: Mutex<BTreeMap<Role, Holder>>,
}

impl Roles {
    fn set(&self, role: Role, holder: Holder) {
        let mut holders = self.holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        holders.insert(role, holder);
    }
}

impl Agenda {
    /// This replica's name and the TTL of its leases (see [`LeaderSettings`]).
    pub fn with_leadership(self, settings: LeaderSettings) -> Self {
        *self.shared.roles.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
        self
    }

    /// This replica's name.
    pub fn replica_name(&self) -> String {
        self.shared.roles.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).replica.clone()
    }

    /// Each role this replica campaigns for, with its holder as last seen.
    pub fn role_holders(&self) -> Vec<(Role, Holder)> {
        let holders = self.shared.roles.holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        holders.iter().map(|(r, h)| (*r, h.clone())).collect()
    }

    /// Starts campaigning for `role`.
    pub async fn campaign(&self, role: Role) -> Campaign {
        self.shared.roles.set(role, Holder::Unknown);
        Campaign { agenda: self.clone(), role, lead: self.lead(role).await }
    }

    /// The store's campaign for `role`; `None` when the store has one user (every role held).
    /// An error (none today: etcd's campaign is a task) is retried until it passes.
    async fn lead(&self, role: Role) -> Option<Lead> {
        let LeaderSettings { replica, ttl } =
            self.shared.roles.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        loop {
            match self.store.lead(role.name(), &replica, ttl).await {
                Ok(lead) => return lead,
                Err(e) => {
                    tracing::warn!(role = role.name(), error = %e, "campaigning for a role failed; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// One replica's campaign for one role; see the module documentation.
pub struct Campaign {
    agenda: Agenda,
    role: Role,
    /// `None` on a store with one user: the role is held for good, without a fence.
    lead: Option<Lead>,
}

impl Campaign {
    pub fn role(&self) -> Role {
        self.role
    }

    /// Waits until this replica holds the role: the term's fence (`None` on a store with one
    /// user, whose writes need none).
    pub async fn won(&mut self) -> Option<Fence> {
        loop {
            let Some(lead) = self.lead.as_mut() else {
                self.agenda.shared.roles.set(self.role, Holder::This);
                return None;
            };
            let seen = lead.state.borrow_and_update().clone();
            self.agenda.shared.roles.set(self.role, holder(&seen));
            if let Leadership::Held(fence) = seen {
                return Some(fence);
            }
            if lead.state.changed().await.is_err() {
                // The campaign's task ended (it never does while watched): start another.
                self.restart().await;
            }
        }
    }

    /// Completes when the term of `fence` ends (never on a store with one user). The role's
    /// holder is then no longer this replica: it must stop acting for it at once.
    pub async fn lost(&mut self, fence: Option<&Fence>) {
        let (Some(lead), Some(fence)) = (self.lead.as_mut(), fence) else {
            return std::future::pending().await;
        };
        loop {
            let seen = lead.state.borrow_and_update().clone();
            if seen != Leadership::Held(fence.clone()) {
                self.agenda.shared.roles.set(self.role, holder(&seen));
                return;
            }
            if lead.state.changed().await.is_err() {
                self.agenda.shared.roles.set(self.role, Holder::Unknown);
                return;
            }
        }
    }

    /// Gives the role up and campaigns again: after a fenced write was refused, this replica's
    /// view of its term is wrong, whatever its lease says.
    pub async fn restart(&mut self) {
        if let Some(old) = self.lead.take() {
            old.resign().await;
        }
        self.agenda.shared.roles.set(self.role, Holder::Unknown);
        self.lead = self.agenda.lead(self.role).await;
    }

    /// Gives the role up (at shutdown), so another replica takes it at once.
    pub async fn resign(self) {
        if let Some(lead) = self.lead {
            lead.resign().await;
        }
        self.agenda.shared.roles.set(self.role, Holder::Unknown);
    }
}

fn holder(seen: &Leadership) -> Holder {
    match seen {
        Leadership::Unknown => Holder::Unknown,
        Leadership::Held(_) => Holder::This,
        Leadership::Other(name) => Holder::Other(name.clone()),
    }
}
